"""Sending: the outbox against a real SMTP server (aiosmtpd sink, and Postfix with STARTTLS), and TLS settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from service.adapters.imap import tls_context
from service.adapters.transport import SmtpTransport
from service.adapters.urls import parse_mail_url
from service.errors import SendError
from service.runtime.worker import Worker
from service.settings import Settings
from service.store import outbox
from service.store.models import OutboxRow

from conftest import SmtpSink, free_port
from mailfactory import client_mail, drop


@dataclass
class MovableClock:
    current: datetime

    def now(self) -> datetime:
        return self.current


def settings_for(tmp_path: Path, outbox_url: str, **kw: Any) -> Settings:
    return Settings(inbox_url=f"maildir://{tmp_path / 'inbox'}", outbox_url=outbox_url,
                    database_url=f"sqlite+aiosqlite:///{tmp_path / 'f.db'}",
                    shared_address="care@example.test", **kw)


async def outbox_rows(settings: Settings) -> list[OutboxRow]:
    worker = Worker(settings)
    try:
        async with worker.sessions() as s:
            return list((await s.scalars(select(OutboxRow))).all())
    finally:
        await worker.engine.dispose()


async def test_acknowledgement_reaches_smtp_server(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    drop(tmp_path / "inbox", client_mail(message_id="<s1@client.example>"))
    stats = await Worker(settings_for(tmp_path, smtp_sink.url)).run_once()
    assert stats.sent == 1
    [(mail_from, rcpts, data)] = smtp_sink.wait_for(1)
    assert (mail_from, rcpts) == ("care@example.test", ["ana@client.example"])
    assert message_from_bytes(data, policy=policy.default)["In-Reply-To"] == "<s1@client.example>"


async def test_temporary_failure_is_retried_with_backoff(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    smtp_sink.handler.fail_with, smtp_sink.handler.fail_count = (451, "try later"), 1
    clock = MovableClock(datetime(2026, 11, 21, 9, 0, tzinfo=UTC))
    settings = settings_for(tmp_path, smtp_sink.url, send_backoff_s=60)
    drop(tmp_path / "inbox", client_mail())
    assert (await Worker(settings, clock=clock).run_once()).sent == 0
    [row] = await outbox_rows(settings)
    assert row.status == "pending" and row.attempts == 1 and "451" in (row.last_error or "")
    assert row.next_attempt_at > clock.current
    assert (await Worker(settings, clock=clock).run_once()).sent == 0  # not due yet
    clock.current += timedelta(minutes=5)
    assert (await Worker(settings, clock=clock).run_once()).sent == 1
    [row] = await outbox_rows(settings)
    assert row.status == "sent" and row.attempts == 2
    assert len(smtp_sink.handler.messages) == 1


async def test_permanent_failure_is_not_retried(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    smtp_sink.handler.fail_with, smtp_sink.handler.fail_count = (550, "no such user"), 5
    settings = settings_for(tmp_path, smtp_sink.url)
    drop(tmp_path / "inbox", client_mail())
    await Worker(settings).run_once()
    [row] = await outbox_rows(settings)
    assert row.status == "failed" and "550 no such user" in (row.last_error or "")


async def test_refused_connection_is_temporary(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, f"smtp://127.0.0.1:{free_port()}")
    drop(tmp_path / "inbox", client_mail())
    await Worker(settings).run_once()
    [row] = await outbox_rows(settings)
    assert row.status == "pending" and "Connect" in (row.last_error or "")


async def test_one_connection_is_reused(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    for n in range(5):
        drop(tmp_path / "inbox", client_mail(sender=f"C{n} <c{n}@client.example>"))
    settings = settings_for(tmp_path, smtp_sink.url)
    transport = SmtpTransport(settings.outbox, secret=None, auth="password",
                              ssl_context=tls_context(None, True))
    worker = Worker(settings, transport=transport)
    connections: list[object] = []
    original = transport._connection

    async def spy() -> Any:
        conn = await original()
        if conn not in connections:
            connections.append(conn)
        return conn

    transport._connection = spy  # type: ignore[method-assign]
    assert (await worker.run_once()).sent == 5
    assert len(connections) == 1


# -- Postfix: STARTTLS with certificate verification, submission with login ------------------


@pytest.mark.servers
async def test_postfix_starttls_verifies_the_certificate(mailstack: Any) -> None:
    url = parse_mail_url(f"smtp://127.0.0.1:{mailstack.smtp_port}", kinds=("smtp",))
    raw = client_mail(sender="Care <care@example.test>", to="erin@example.test", subject="tls-check")
    good = SmtpTransport(url, secret=None, auth="password", ssl_context=tls_context(str(mailstack.ca_file), True))
    await good.send(raw, mail_from="care@example.test", to="erin@example.test")
    await good.close()
    mailstack.wait_for_message("erin", lambda m: m["Subject"] == "tls-check")
    # without our CA the self-signed certificate must be refused, as a temporary failure
    bad = SmtpTransport(url, secret=None, auth="password", ssl_context=tls_context(None, True))
    with pytest.raises(SendError) as info:
        await bad.send(raw, mail_from="care@example.test", to="erin@example.test")
    assert "CERTIFICATE_VERIFY_FAILED" in str(info.value) and not info.value.permanent


@pytest.mark.servers
@pytest.mark.parametrize("scheme", ["smtp", "smtps"])
async def test_postfix_submission_with_login(mailstack: Any, scheme: str) -> None:
    port = mailstack.submission_port if scheme == "smtp" else mailstack.smtps_port
    url = parse_mail_url(f"{scheme}://support@127.0.0.1:{port}", kinds=("smtp", "smtps"))
    ctx = tls_context(str(mailstack.ca_file), True)
    subject = f"submission-{scheme}"
    raw = client_mail(sender="Care <support@example.test>", to="erin@example.test", subject=subject)
    transport = SmtpTransport(url, secret=mailstack.password, auth="password", ssl_context=ctx)
    await transport.send(raw, mail_from="support@example.test", to="erin@example.test")
    await transport.close()
    mailstack.wait_for_message("erin", lambda m: m["Subject"] == subject)
    wrong = SmtpTransport(url, secret="wrong", auth="password", ssl_context=ctx)
    with pytest.raises(SendError) as info:
        await wrong.send(raw, mail_from="support@example.test", to="erin@example.test")
    assert "535" in str(info.value) or "login" in str(info.value)


async def test_a_claim_taken_over_after_its_lease_is_not_renewed(db_url: str, tmp_path: Path) -> None:
    # worker A claims, stalls past the lease; B takes the rows over; A must not send them too
    from service.store.db import transaction

    drop(tmp_path / "inbox", client_mail(message_id="<lease@client.example>"))
    settings = Settings(inbox_url=f"maildir://{tmp_path / 'inbox'}", outbox_url=f"maildir://{tmp_path / 'out'}",
                        database_url=db_url, shared_address="care@example.test", send_lease_s=60)
    worker = Worker(settings)
    await worker.start()
    await worker.open_inbox()
    await worker.drain_inbox()  # one acknowledgement waits in the outbox
    t0 = datetime.now(UTC)
    try:
        async with transaction(worker.sessions) as s:
            a_rows = await outbox.claim_outbox(s, t0, limit=10, lease_s=60, skip_locked=False)
        async with transaction(worker.sessions) as s:
            assert await outbox.renew_claims(s, a_rows, t0 + timedelta(seconds=10)) == {a_rows[0].id}
        async with transaction(worker.sessions) as s:  # within the renewed lease: nobody else may take it
            assert await outbox.claim_outbox(s, t0 + timedelta(seconds=65), limit=10, lease_s=60,
                                           skip_locked=False) == []
        async with transaction(worker.sessions) as s:
            b_rows = await outbox.claim_outbox(s, t0 + timedelta(seconds=75), limit=10, lease_s=60,
                                             skip_locked=False)
        assert [r.id for r in b_rows] == [r.id for r in a_rows]
        async with transaction(worker.sessions) as s:
            assert await outbox.renew_claims(s, a_rows, t0 + timedelta(seconds=76)) == set()
    finally:
        await worker.close()


async def test_turning_tls_verification_off_is_loud(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from service.runtime.worker import Worker
    from service.settings import Settings

    settings = Settings(inbox_url=f"maildir://{tmp_path / 'in'}", outbox_url=f"maildir://{tmp_path / 'out'}",
                        database_url=f"sqlite:///{tmp_path / 'f.db'}", shared_address="care@example.test",
                        tls_verify=False)
    with caplog.at_level("WARNING"):
        await Worker(settings).run_once()
    assert "TLS CERTIFICATE VERIFICATION IS OFF" in caplog.text
