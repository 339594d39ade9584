"""The mail adapters a worker (or `followup check`) talks through, built from the settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from service.adapters.imap import ImapInbox, tls_context
from service.adapters.inbox import Inbox, MaildirInbox
from service.adapters.oauth import OAuthClient, RenewingToken, TokenSource
from service.adapters.transport import MaildirTransport, SmtpTransport, Transport
from service.settings import Settings
from service.store import oauth_tokens
from service.store.db import AsyncSession, async_sessionmaker, transaction


class StoredRefreshToken:
    """The refresh token a provider rotated, kept in the database for every worker and the next start."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], identity: str, seed: str | None,
                 now: Callable[[], datetime]) -> None:
        self._sessions = sessions
        self._identity = identity
        self._seed = seed
        self._now = now
        self.rotated_at: str | None = None

    async def load(self) -> str | None:
        async with self._sessions() as session:
            kept = await oauth_tokens.load_refresh_token(session, self._identity, self._seed)
        if kept is None:
            return None
        token, self.rotated_at = kept
        return token

    async def save(self, refresh_token: str) -> None:
        async with transaction(self._sessions) as session:
            await oauth_tokens.save_refresh_token(session, self._identity, self._seed, refresh_token, self._now())
        self.rotated_at = self._now().isoformat()


def make_token_source(settings: Settings, sessions: async_sessionmaker[AsyncSession] | None,
                      now: Callable[[], datetime]) -> RenewingToken | None:
    """The self-renewing XOAUTH2 token when `FOLLOWUP_OAUTH2_TOKEN_URL` is set; None otherwise.

    One per process: the inbox and every SMTP connection share it, so they make one renewal between them.
    """
    if not settings.oauth2_renews or settings.oauth2_token_url is None or settings.oauth2_client_id is None:
        return None
    seed = settings.oauth2_refresh_token.get_secret_value() if settings.oauth2_refresh_token else None
    secret = settings.oauth2_client_secret.get_secret_value() if settings.oauth2_client_secret else None
    client = OAuthClient(
        token_url=settings.oauth2_token_url, grant=settings.oauth2_grant, client_id=settings.oauth2_client_id,
        client_secret=secret, refresh_token=seed, scope=settings.oauth2_scope,
        renew_before_s=settings.oauth2_renew_before_s, client_secret_expires=settings.oauth2_client_secret_expires,
    )
    identity = f"{settings.oauth2_token_url} {settings.oauth2_client_id} {settings.inbox.user or ''}"
    store = StoredRefreshToken(sessions, identity, seed, now) if sessions is not None else None
    return RenewingToken(client, store, now, tls_context(_ca(settings), settings.tls_verify))


def make_inbox(settings: Settings, tokens: TokenSource | None = None) -> Inbox:
    """The inbox `FOLLOWUP_INBOX_URL` names: a Maildir, or an IMAP mailbox with the configured login."""
    url = settings.inbox
    if url.is_maildir:
        return MaildirInbox(Path(url.path), batch=settings.fetch_batch)
    secret = settings.imap_oauth2_token if settings.imap_auth == "xoauth2" else settings.imap_password
    return ImapInbox(
        url,
        secret=secret.get_secret_value() if secret else "",
        auth=settings.imap_auth,
        ssl_context=tls_context(_ca(settings), settings.tls_verify),
        processed_keyword=settings.processed_keyword,
        processed_folder=settings.processed_folder,
        batch=settings.fetch_batch,
        poll_s=settings.poll_interval_s,
        idle_renew_s=settings.idle_renew_s,
        heartbeat_s=settings.imap_heartbeat_s,
        tokens=tokens if settings.imap_auth == "xoauth2" else None,
    )


def make_transport(settings: Settings, tokens: TokenSource | None = None) -> Transport:
    """The way out `FOLLOWUP_OUTBOX_URL` names: a Maildir, or an SMTP server with the configured login."""
    url = settings.outbox
    if url.is_maildir:
        return MaildirTransport(Path(url.path))
    secret = settings.smtp_oauth2_token if settings.smtp_auth == "xoauth2" else settings.smtp_password
    return SmtpTransport(
        url, secret=secret.get_secret_value() if secret else None, auth=settings.smtp_auth,
        ssl_context=tls_context(_ca(settings), settings.tls_verify),
        tokens=tokens if settings.smtp_auth == "xoauth2" else None,
    )


def _ca(settings: Settings) -> str | None:
    return str(settings.tls_ca_file) if settings.tls_ca_file else None
