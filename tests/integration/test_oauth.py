"""OAuth2 that renews itself, against Dovecot's oauth2 passdb (IMAP, and SMTP through Postfix's SASL)
and the loopback provider of tests/oauth_provider.py, whose access tokens die within each test."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest

from service.adapters.imap import ImapInbox, tls_context
from service.adapters.oauth import OAuthClient, RenewingToken
from service.adapters.transport import SmtpTransport
from service.adapters.urls import parse_mail_url
from service.errors import AuthenticationError, SendError, TokenRenewalError
from service.runtime.wiring import StoredRefreshToken, make_token_source
from service.runtime.worker import Worker
from service.settings import Settings
from service.store.db import make_engine, migrate, session_factory

from mailfactory import client_mail
from support import empty_mailbox

pytestmark = pytest.mark.servers
USER = "oauthdesk@example.test"


def now() -> datetime:
    return datetime.now(UTC)


def settings_for(stack: Any, provider: Any, db_url: str, refresh_token: str, **kw: Any) -> Settings:
    return Settings(
        inbox_url=f"imaps://{USER}@127.0.0.1:{stack.imaps_port}/INBOX", imap_auth="xoauth2",
        outbox_url=f"smtp://{USER}@127.0.0.1:{stack.submission_port}", smtp_auth="xoauth2",
        oauth2_token_url=provider.token_url, oauth2_client_id="followup-test", oauth2_client_secret="s3cret",
        oauth2_refresh_token=refresh_token, oauth2_renew_before_s=1.0,
        tls_ca_file=stack.ca_file, shared_address=USER, default_owner="owner@example.test", database_url=db_url,
        processed_keyword=f"$Done{uuid.uuid4().hex[:8]}", **kw)


def token_for(stack: Any, provider: Any, refresh_token: str | None, *, grant: str = "refresh_token",
              secret: str = "s3cret", store: Any = None) -> RenewingToken:
    client = OAuthClient(provider.token_url, grant, "followup-test", secret, refresh_token,  # type: ignore[arg-type]
                         renew_before_s=1.0)
    return RenewingToken(client, store, now, tls_context(str(stack.ca_file), True))


def imap(stack: Any, tokens: RenewingToken) -> ImapInbox:
    url = parse_mail_url(f"imaps://{USER}@127.0.0.1:{stack.imaps_port}/INBOX", kinds=("imaps",))
    return ImapInbox(url, secret="", auth="xoauth2", ssl_context=tls_context(str(stack.ca_file), True), tokens=tokens)


def smtp(stack: Any, tokens: RenewingToken) -> SmtpTransport:
    url = parse_mail_url(f"smtp://{USER}@127.0.0.1:{stack.submission_port}", kinds=("smtp",))
    return SmtpTransport(url, secret=None, auth="xoauth2", ssl_context=tls_context(str(stack.ca_file), True),
                         tokens=tokens)


async def login(stack: Any, tokens: RenewingToken) -> None:
    inbox = imap(stack, tokens)
    await inbox.open(None)
    await inbox.close()


async def test_imap_and_smtp_log_in_again_after_the_token_expired(oauth_stack: Any) -> None:
    stack, provider = oauth_stack
    tokens = token_for(stack, provider, provider.issue_refresh_token())
    granted = len(provider.state.grants)
    await login(stack, tokens)
    first = tokens.status
    assert first.expires_at is not None and first.renewals == 1
    out = smtp(stack, tokens)
    subject = f"oauth {uuid.uuid4().hex[:8]}"
    raw = f"Subject: {subject}\r\nFrom: {USER}\r\nTo: client1@example.test\r\n\r\nhello\r\n".encode()
    await out.send(raw, mail_from=USER, to="client1@example.test")
    await out.close()
    assert len(provider.state.grants) == granted + 1  # IMAP and SMTP shared one token
    await asyncio.sleep(3.2)  # the provider's tokens live 3 s: Dovecot refuses this one now
    await login(stack, tokens)
    await out.send(raw, mail_from=USER, to="client1@example.test")
    await out.close()
    assert tokens.status.renewals == 2 and len(provider.state.grants) == granted + 2
    assert tokens.status.expires_at is not None and tokens.status.expires_at > first.expires_at
    stack.wait_for_message("client1", lambda m: m["Subject"] == subject)


async def test_a_token_revoked_before_its_time_is_renewed_when_refused(oauth_stack: Any) -> None:
    stack, provider = oauth_stack
    tokens = token_for(stack, provider, provider.issue_refresh_token())
    await login(stack, tokens)
    provider.expire_all()  # revoked at the provider: the token still looks fresh to followup
    await login(stack, tokens)  # refused once, renewed, accepted
    assert tokens.status.renewals == 2
    provider.expire_all()
    out = smtp(stack, tokens)
    await out.send(f"Subject: x\r\nFrom: {USER}\r\n\r\nx\r\n".encode(), mail_from=USER, to="client1@example.test")
    await out.close()
    assert tokens.status.renewals == 3


async def test_a_refusing_provider_is_a_clear_error_and_the_login_is_not_tried(oauth_stack: Any) -> None:
    stack, provider = oauth_stack
    tokens = token_for(stack, provider, "rt-never-issued")
    with pytest.raises(TokenRenewalError, match="invalid_grant"):
        await login(stack, tokens)
    assert tokens.status.last_error and "refresh token unknown or spent" in tokens.status.last_error
    with pytest.raises(SendError, match="invalid_grant"):
        await smtp(stack, tokens).send(b"Subject: x\r\n\r\nx\r\n", mail_from=USER, to="client1@example.test")
    provider.state.down = True
    try:
        with pytest.raises(TokenRenewalError, match=r"503|temporarily_unavailable"):
            await login(stack, token_for(stack, provider, provider.issue_refresh_token()))
    finally:
        provider.state.down = False


async def test_the_client_credentials_grant(oauth_stack: Any) -> None:
    stack, provider = oauth_stack
    tokens = token_for(stack, provider, None, grant="client_credentials")
    await login(stack, tokens)
    assert provider.state.grants[-1] == "client_credentials"
    with pytest.raises(TokenRenewalError, match="invalid_client"):
        await login(stack, token_for(stack, provider, None, grant="client_credentials", secret="wrong"))


async def test_a_fixed_token_that_expired_is_refused_plainly(oauth_stack: Any) -> None:
    # what FOLLOWUP_IMAP_OAUTH2_TOKEN alone gives: it works for an hour, then the login is refused
    stack, provider = oauth_stack
    tokens = token_for(stack, provider, provider.issue_refresh_token())
    fixed = await tokens.token()
    url = parse_mail_url(f"imaps://{USER}@127.0.0.1:{stack.imaps_port}/INBOX", kinds=("imaps",))
    inbox = ImapInbox(url, secret=fixed, auth="xoauth2", ssl_context=tls_context(str(stack.ca_file), True))
    await inbox.open(None)
    await inbox.close()
    provider.expire_all()
    with pytest.raises(AuthenticationError, match="login refused"):
        await inbox.open(None)


async def test_a_rotated_refresh_token_is_kept_for_the_next_start(oauth_stack: Any, tmp_path: Path) -> None:
    stack, provider = oauth_stack
    seed = provider.issue_refresh_token()
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    try:
        await migrate(engine)
        sessions = session_factory(engine)
        store = StoredRefreshToken(sessions, "identity", seed, now)
        await login(stack, token_for(stack, provider, seed, store=store))
        assert seed not in provider.state.refresh_tokens  # the provider rotated it: spent
        kept = await store.load()
        assert kept is not None and kept != seed and kept in provider.state.refresh_tokens
        # a new start with the same settings: the seed alone would be refused, the kept one is used
        await login(stack, token_for(stack, provider, seed, store=StoredRefreshToken(sessions, "identity", seed, now)))
        with pytest.raises(TokenRenewalError, match="invalid_grant"):
            await login(stack, token_for(stack, provider, seed))
        # the operator consents again and sets the new refresh token: theirs wins over the kept one
        fresh = provider.issue_refresh_token()
        assert await StoredRefreshToken(sessions, "identity", fresh, now).load() is None
    finally:
        await engine.dispose()


async def test_the_worker_answers_by_oauth_across_token_expiry(oauth_stack: Any, db_url: str) -> None:
    stack, provider = oauth_stack
    empty_mailbox(stack, "oauthdesk")
    settings = settings_for(stack, provider, db_url, provider.issue_refresh_token())
    refused = len(provider.state.refused)
    replies = []
    for round_, client in enumerate(("client1", "client2")):  # two clients: two concerns, two acknowledgements
        mid = make_msgid(domain="example.test")
        stack.send(client_mail(sender=f"Client <{client}@example.test>", to=USER, subject=f"Invoice wrong {round_}",
                               message_id=mid, body="The invoice is wrong for the third time and I am furious."),
                   mail_from=f"{client}@example.test", rcpt_to=[USER])
        stack.wait_for_message("oauthdesk", lambda m, mid=mid: m["Message-ID"] == mid)
        worker = Worker(settings)  # a new process each round, as cron's `followup run --once`
        try:
            assert worker.tokens is not None
            await worker.run_once()
            assert worker.tokens.status.renewals == 1
        finally:
            await worker.engine.dispose()
        replies.append(stack.wait_for_message(client, lambda m, mid=mid: m["In-Reply-To"] == mid))
        await asyncio.sleep(3.2 if round_ == 0 else 0)  # the first round's token is dead by the second
    assert len(replies) == 2
    # the second start renewed with the refresh token the first one was given, not the spent seed
    assert provider.state.refused[refused:] == []


def test_settings_need_what_the_grant_needs() -> None:
    base = dict(inbox_url=f"imaps://{USER}@imap.example.com/INBOX", imap_auth="xoauth2", outbox_url="maildir:///tmp/o",
                shared_address=USER, oauth2_client_id="app")
    from service.errors import SettingsError
    from service.settings import load_settings

    with pytest.raises(SettingsError, match="FOLLOWUP_OAUTH2_REFRESH_TOKEN"):
        load_settings(**base, oauth2_token_url="https://oauth2.example.com/token")
    with pytest.raises(SettingsError, match="FOLLOWUP_OAUTH2_CLIENT_SECRET"):
        load_settings(**base, oauth2_token_url="https://oauth2.example.com/token", oauth2_grant="client_credentials")
    with pytest.raises(SettingsError, match="FOLLOWUP_OAUTH2_TOKEN_URL: must be https"):
        load_settings(**base, oauth2_token_url="http://oauth2.example.com/token", oauth2_refresh_token="r")
    with pytest.raises(SettingsError, match="FOLLOWUP_IMAP_OAUTH2_TOKEN"):
        load_settings(**{**base, "oauth2_client_id": None})
    ok = load_settings(**base, oauth2_token_url="https://oauth2.example.com/token", oauth2_refresh_token="r")
    assert make_token_source(ok, None, now) is not None


async def test_the_operator_is_told_when_the_token_cannot_be_renewed_and_when_it_can(
        oauth_stack: Any, tmp_path: Path) -> None:
    stack, provider = oauth_stack
    settings = settings_for(stack, provider, f"sqlite:///{tmp_path / 'f.db'}", provider.issue_refresh_token(),
                            operator_address="owner@example.test", send_backoff_s=0.05, send_backoff_max_s=0.1)
    subjects = ("[followup] Incident: the OAuth2 access token cannot be renewed",
                "[followup] Resolved: the OAuth2 access token cannot be renewed")

    def told() -> list[str]:
        return [str(m["Subject"]) for m in stack.messages("owner") if m["Subject"] in subjects]

    before = len(told())
    provider.state.down = True
    try:
        with pytest.raises(TokenRenewalError, match=r"503|temporarily_unavailable"):
            await Worker(settings).run_once()  # the inbox cannot log in; jobs, incidents and the outbox still ran
        with pytest.raises(TokenRenewalError):
            await Worker(settings).run_once()  # still down: no second mail about it
    finally:
        provider.state.down = False
    await asyncio.sleep(0.2)
    await Worker(settings).run_once()  # renewed: the incident ends, and both mails leave (SMTP needs the token)
    stack.wait_for_message("owner", lambda m: m["Subject"] == subjects[1])
    await asyncio.sleep(1)
    assert sorted(told()[before:]) == sorted(subjects)


async def test_a_refusing_provider_is_asked_again_only_after_a_pause(oauth_stack: Any) -> None:
    stack, provider = oauth_stack
    at = [datetime(2026, 12, 3, 9, 0, tzinfo=UTC)]
    client = OAuthClient(provider.token_url, "refresh_token", "followup-test", "s3cret", "rt-never-issued")
    tokens = RenewingToken(client, None, lambda: at[0], tls_context(str(stack.ca_file), True))
    asked = len(provider.state.refused)
    with pytest.raises(TokenRenewalError, match="invalid_grant"):
        await tokens.token()
    with pytest.raises(TokenRenewalError, match=r"invalid_grant.*next try at"):
        await tokens.token()  # within the pause: refused from memory, the provider is not asked
    assert len(provider.state.refused) == asked + 1
    at[0] += timedelta(minutes=6)  # past the longest pause
    with pytest.raises(TokenRenewalError, match="invalid_grant"):
        await tokens.token()
    assert len(provider.state.refused) == asked + 2
    assert tokens.status.failing_since == datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
