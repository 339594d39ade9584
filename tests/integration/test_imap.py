"""The IMAP inbox against Dovecot, and the worker reading it (in this process)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest

from service.adapters.imap import ImapInbox, tls_context
from service.adapters.inbox import ReadPosition
from service.adapters.urls import parse_mail_url

from mailfactory import client_mail

pytestmark = pytest.mark.servers


def inbox_for(stack: Any, user: str, *, scheme: str = "imaps", **kw: Any) -> ImapInbox:
    port = stack.imaps_port if scheme == "imaps" else stack.imap_port
    url = parse_mail_url(f"{scheme}://{user}@127.0.0.1:{port}/INBOX", kinds=("imaps", "imap"))
    return ImapInbox(url, secret=stack.password, ssl_context=tls_context(str(stack.ca_file), True), **kw)


def deliver(stack: Any, user: str, n: int, tag: str) -> list[str]:
    ids = []
    for i in range(n):
        mid = make_msgid(domain="client.example")
        stack.send(client_mail(to=f"{user}@example.test", subject=f"{tag} {i}", message_id=mid),
                   mail_from="ana@client.example", rcpt_to=[f"{user}@example.test"])
        ids.append(mid)
    for i in range(n):
        stack.wait_for_message(user, lambda m, i=i: m["Subject"] == f"{tag} {i}")
    return ids


@pytest.mark.parametrize("scheme", ["imaps", "imap"])
async def test_fetch_mark_and_checkpoint(mailstack: Any, scheme: str) -> None:
    user = "carol" if scheme == "imaps" else "dave"
    deliver(mailstack, user, 3, f"fetch-{scheme}")
    inbox = inbox_for(mailstack, user, scheme=scheme, batch=2)
    await inbox.open(None)
    try:
        assert inbox._imap is not None
        # STARTTLS was used on imap:// because Dovecot offers it, even on loopback
        assert inbox._imap.protocol.transport.get_extra_info("ssl_object") is not None
        assert inbox.supports_push
        first = await inbox.fetch_batch()
        second = await inbox.fetch_batch()
        assert [len(first), len(second)] == [2, 1]
        assert all(b"Subject: fetch-" in m.data for m in first + second)
        await inbox.mark_processed([m.key for m in first + second])
        checkpoint = inbox.checkpoint()
        assert checkpoint is not None and checkpoint.last_uid == max(int(m.key) for m in second)
        assert await inbox.fetch_batch() == []
    finally:
        await inbox.close()
    # a new session with the checkpoint sees nothing new; the keyword is on the server
    again = inbox_for(mailstack, user, scheme=scheme)
    await again.open(checkpoint)
    try:
        assert await again.fetch_batch() == []
    finally:
        await again.close()


async def test_a_message_fetched_and_not_yet_marked_is_not_fetched_again(mailstack: Any, tmp_path: Path) -> None:
    # issue 18, point 3: the fetch-ahead searched again before the batch being stored was marked,
    # so every message was read twice and counted as a duplicate
    from service.runtime.metrics import METRICS
    from service.runtime.worker import Worker
    from service.settings import Settings

    deliver(mailstack, "readonce", 5, "read-once")
    inbox = inbox_for(mailstack, "readonce", batch=2)
    await inbox.open(None)
    try:
        handed = [await inbox.fetch_batch() for _ in range(4)]
        assert [len(b) for b in handed] == [2, 2, 1, 0]
        # each with the time Dovecot received it (INTERNALDATE): acknowledgement latency counts from it
        assert all(m.arrived_at is not None and abs((datetime.now(UTC) - m.arrived_at).total_seconds()) < 600
                   for b in handed for m in b)
        await inbox.mark_processed([m.key for m in handed[0]])
        assert await inbox.fetch_batch() == []  # the other three are still being stored
    finally:
        await inbox.close()

    def duplicates() -> float:
        return METRICS.registry.get_sample_value("followup_messages_ingested_total", {"decision": "duplicate"}) or 0.0

    deliver(mailstack, "readonce", 7, "read-once-worker")
    settings = Settings(
        inbox_url=f"imaps://readonce@127.0.0.1:{mailstack.imaps_port}/INBOX", imap_password=mailstack.password,
        tls_ca_file=mailstack.ca_file, outbox_url=f"maildir://{tmp_path / 'out'}",
        database_url=f"sqlite:///{tmp_path / 'f.db'}", shared_address="readonce@example.test", fetch_batch=2,
        processed_keyword="$DoneReadOnce")
    before = duplicates()
    stats = await Worker(settings).run_once()
    assert stats.processed == 12 and "duplicate" not in stats.outcomes, stats.outcomes
    assert duplicates() == before


async def test_uidvalidity_change_rescans(mailstack: Any) -> None:
    deliver(mailstack, "rescan", 1, "uidv")
    inbox = inbox_for(mailstack, "rescan")
    await inbox.open(ReadPosition(uidvalidity=1, last_uid=10_000))
    try:
        assert inbox.checkpoint() is not None and inbox.checkpoint().last_uid == 0  # type: ignore[union-attr]
        assert any(b"Subject: uidv 0" in m.data for m in await inbox.fetch_batch())
    finally:
        await inbox.close()


async def test_wrong_password_is_an_authentication_error(mailstack: Any) -> None:
    from service.errors import AuthenticationError

    url = parse_mail_url(f"imaps://alice@127.0.0.1:{mailstack.imaps_port}/INBOX", kinds=("imaps",))
    inbox = ImapInbox(url, secret="wrong", ssl_context=tls_context(str(mailstack.ca_file), True))
    with pytest.raises(AuthenticationError):
        await inbox.open(None)


async def test_certificate_is_verified(mailstack: Any) -> None:
    from service.errors import InboxError

    url = parse_mail_url(f"imaps://alice@127.0.0.1:{mailstack.imaps_port}/INBOX", kinds=("imaps",))
    inbox = ImapInbox(url, secret=mailstack.password, ssl_context=tls_context(None, True))
    with pytest.raises(InboxError, match="CERTIFICATE_VERIFY_FAILED"):
        await inbox.open(None)




async def test_processed_mail_can_move_to_a_folder(mailstack: Any) -> None:
    deliver(mailstack, "frank", 2, "move")
    inbox = inbox_for(mailstack, "frank", processed_folder="Processed")
    await inbox.open(None)
    try:
        batch = [m for m in await inbox.fetch_batch() if b"Subject: move" in m.data]
        await inbox.mark_processed([m.key for m in batch])
        assert [m for m in await inbox.fetch_batch() if b"Subject: move" in m.data] == []
    finally:
        await inbox.close()
    folder = mailstack.maildir("frank") / ".Processed" / "cur"
    moved = [p.read_bytes() for p in folder.iterdir()] if folder.exists() else []
    moved += [p.read_bytes() for p in (folder.parent / "new").iterdir()] if (folder.parent / "new").exists() else []
    assert sum(b"Subject: move" in m for m in moved) == 2


async def test_polling_when_the_server_has_no_idle(mailstack: Any) -> None:
    inbox = inbox_for(mailstack, "alice", poll_s=0.2)
    await inbox.open(None)
    try:
        inbox.supports_push = False  # as with a server that lacks IDLE
        loop_time = __import__("asyncio").get_running_loop().time
        start = loop_time()
        assert await inbox.wait(30) is True
        assert 0.15 <= loop_time() - start < 5
    finally:
        await inbox.close()


async def test_imap_restart_before_flag_gives_one_concern(mailstack: Any, tmp_path: Path) -> None:
    from service.runtime.worker import Worker
    from service.settings import Settings

    settings = Settings(
        inbox_url=f"imaps://grace@127.0.0.1:{mailstack.imaps_port}/INBOX", imap_password=mailstack.password,
        tls_ca_file=mailstack.ca_file, outbox_url=f"maildir://{tmp_path / 'out'}",
        database_url=f"sqlite:///{tmp_path / 'f.db'}", shared_address="support@example.test",
        processed_keyword="$DoneRestart")
    [mid] = deliver(mailstack, "grace", 1, "restart-before-flag")
    first = await Worker(settings).run_once()
    assert first.outcomes.get("new_concern", 0) >= 1
    # undo the server flag, as if the worker died between commit and STORE
    inbox = inbox_for(mailstack, "grace")
    await inbox.open(None)
    assert inbox._imap is not None
    await inbox._imap.uid("store", "1:*", "-FLAGS.SILENT", "($DoneRestart)")
    await inbox.close()
    second = await Worker(settings).run_once()
    assert second.outcomes.get("duplicate", 0) >= 1 and "new_concern" not in second.outcomes
    acks = [p for p in (tmp_path / "out" / "new").iterdir() if mid.encode() in p.read_bytes()]
    assert len(acks) == 1


async def test_raw_utf8_headers_delivered_by_dovecot_are_stored_as_the_client_wrote_them(
        mailstack: Any, tmp_path: Path) -> None:
    from sqlalchemy import select

    from service.runtime.worker import Worker
    from service.settings import Settings
    from service.store.models import Client, Concern, MessageRow, OutboxRow

    body = "We were charged twice for March and nobody has called back. This is unacceptable, I am worried."
    clients = {  # From as an SMTPUTF8 mail program writes it -> (name, address, subject)
        "<utf8-idn@client.example>": ("Renée Müller <juergen@bücher.example>", "Überweisung fehlt – schon wieder"),
        "<utf8-eai@client.example>": ("José Núñez <josé@correo.example>", "Factura duplicada, ¿por qué?"),
        "<utf8-cyr@client.example>": ("Анна Иванова <anna@client.example>", "Счёт снова неверный"),
    }
    for mid, (sender, subject) in clients.items():
        raw = (f"From: {sender}\r\nTo: utf8desk@example.test\r\nSubject: {subject}\r\nMessage-ID: {mid}\r\n"
               "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
               f"\r\n{body}\r\n").encode()
        mailstack.send(raw, mail_from="client@client.example", rcpt_to=["utf8desk@example.test"])
        mailstack.wait_for_message("utf8desk", lambda m, mid=mid: m["Message-ID"] == mid)
    delivered = (mailstack.maildir("utf8desk") / "new").iterdir()
    assert any("Renée".encode() in p.read_bytes() for p in delivered)  # Dovecot kept the raw UTF-8
    settings = Settings(
        inbox_url=f"imaps://utf8desk@127.0.0.1:{mailstack.imaps_port}/INBOX", imap_password=mailstack.password,
        tls_ca_file=mailstack.ca_file, outbox_url=f"maildir://{tmp_path / 'out'}",
        database_url=f"sqlite:///{tmp_path / 'f.db'}", shared_address="utf8desk@example.test")
    stats = await Worker(settings).run_once()
    assert stats.outcomes.get("new_concern") == 3
    worker = Worker(settings)
    async with worker.sessions() as s:
        stored = {c.email: c.name for c in (await s.scalars(select(Client))).all()}
        subjects = set((await s.scalars(select(MessageRow.subject).where(MessageRow.direction == "in"))).all())
        concerns = len((await s.scalars(select(Concern))).all())
        acks = {row.to_addr: row.raw for row in (await s.scalars(select(OutboxRow))).all()}
    await worker.engine.dispose()
    assert stored == {"juergen@bücher.example": "Renée Müller", "josé@correo.example": "José Núñez",
                      "anna@client.example": "Анна Иванова"}
    assert subjects == {"Überweisung fehlt – schon wieder", "Factura duplicada, ¿por qué?", "Счёт снова неверный"}
    assert concerns == 3  # the client whose address cannot be answered without SMTPUTF8 still has a concern
    # the acknowledgement's To carries the domain's ASCII form; a non-ASCII local part gets none
    assert set(acks) == {"juergen@bücher.example", "anna@client.example"}
    assert b"<juergen@xn--bcher-kva.example>" in acks["juergen@bücher.example"]
