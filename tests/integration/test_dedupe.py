"""Issue 17 point 3a on the real pipeline and store (SQLite and PostgreSQL): dedupe on Message-ID and content.

The same message delivered twice (again, through a second mailbox, with other Received and
Delivered-To lines, re-encoded on the way) is stored once; a different message that reuses a
Message-ID is stored and handled as the new message it is, and replies to it still thread.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import select

from service.clock import ManualClock
from service.runtime.worker import Worker
from service.settings import Settings
from service.store.db import migrate, transaction
from service.store.models import Concern, MessageRow

from mailfactory import client_mail, drop
from support import query

MONDAY_10 = datetime(2026, 11, 23, 10, tzinfo=UTC)
REUSED = "<reused@mailer.example>"


def settings_for(tmp_path: Path, db_url: str, **kw: object) -> Settings:
    return Settings(inbox_url=f"maildir://{tmp_path / 'in'}", outbox_url=f"maildir://{tmp_path / 'out'}",
                    database_url=db_url, shared_address="care@example.test", default_owner="owner@example.test",
                    **kw)  # type: ignore[arg-type]


async def run(settings: Settings) -> dict[str, int]:
    return dict((await Worker(settings, clock=ManualClock(MONDAY_10)).run_once()).outcomes)


def delivered(raw: bytes, *trace: str) -> bytes:
    """`raw` as another delivery of it arrives: trace headers added on top by the servers on the way."""
    return "".join(f"{line}\r\n" for line in trace).encode() + raw


def reencoded(sender: str, subject: str, text: str, message_id: str | None, date: str) -> bytes:
    """The same message as another server passes it on: quoted-printable, other line ends, a Received line."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Date"] = sender, "care@example.test", subject, date
    if message_id:
        msg["Message-ID"] = message_id
    msg.set_content(text, cte="quoted-printable")
    return b"Received: from relay2.example by mx.example.test\r\n" + msg.as_bytes(policy=policy.SMTP)


async def test_a_different_message_reusing_a_message_id_is_stored_and_handled(tmp_path: Path, db_url: str) -> None:
    settings = settings_for(tmp_path, db_url, fetch_batch=10)
    drop(tmp_path / "in", client_mail(message_id=REUSED, sender="Ana <ana@client.example>",
                                      subject="Invoice charged twice", body="This is unacceptable. Nobody called."))
    assert await run(settings) == {"new_concern": 1}
    # a broken mail program, elsewhere, gives its messages the same Message-ID: in a later batch, and two in one
    drop(tmp_path / "in", client_mail(message_id=REUSED, sender="Bo <bo@other.example>", subject="Server down",
                                      body="I'm really worried: the server is down and we lose orders."))
    assert await run(settings) == {"new_concern": 1}
    drop(tmp_path / "in", client_mail(message_id=REUSED, sender="Cy <cy@third.example>", subject="Late again",
                                      body="This is unacceptable, the engineer never came."))
    drop(tmp_path / "in", client_mail(message_id=REUSED, sender="Di <di@fourth.example>", subject="Thanks",
                                      body="Thanks, all good here."))
    assert await run(settings) == {"new_concern": 1, "no_concern": 1}
    rows = await query(settings, MessageRow, MessageRow.message_id == REUSED)
    assert sorted(r.from_addr for r in rows) == ["ana@client.example", "bo@other.example", "cy@third.example",
                                                 "di@fourth.example"]
    assert len({r.fingerprint for r in rows}) == 4  # each row told apart by its content
    assert all("message-id-reused" in r.rules["hit"] for r in rows if r.from_addr != "ana@client.example")
    assert len(await query(settings, Concern)) == 3
    # a reply to that Message-ID threads onto the replier's own concern, whichever row came last
    drop(tmp_path / "in", client_mail(message_id="<again@client.example>", sender="Ana <ana@client.example>",
                                      subject="Re: Invoice charged twice", in_reply_to=REUSED,
                                      body="Still nothing, this is unacceptable."))
    drop(tmp_path / "in", client_mail(message_id="<again@other.example>", sender="Bo <bo@other.example>",
                                      subject="Re: Server down", in_reply_to=REUSED, body="Any news?"))
    assert await run(settings) == {"follow_up": 2}
    replies = {r.from_addr: r.concern_id for r in await query(settings, MessageRow, MessageRow.message_id.in_(
        ["<again@client.example>", "<again@other.example>"]))}
    firsts = {r.from_addr: r.concern_id for r in rows}
    assert replies == {"ana@client.example": firsts["ana@client.example"],
                       "bo@other.example": firsts["bo@other.example"]}


async def test_the_same_message_delivered_twice_is_one_message(tmp_path: Path, db_url: str) -> None:
    settings = settings_for(tmp_path, db_url, fetch_batch=10)
    raw = client_mail(message_id="<once@client.example>")
    drop(tmp_path / "in", delivered(raw, "Delivered-To: care@example.test", "Received: from a by mx1"))
    # the same message through a second mailbox, in the same batch and in a later one
    drop(tmp_path / "in", delivered(raw, "Delivered-To: support@example.test", "X-Original-To: support@example.test",
                                    "Received: from b by mx2", "Received: from a by relay"))
    assert await run(settings) == {"new_concern": 1, "duplicate": 1}
    drop(tmp_path / "in", delivered(raw, "Delivered-To: help@example.test", "Received: from c by mx3"))
    assert await run(settings) == {"duplicate": 1}
    assert len(await query(settings, MessageRow, MessageRow.direction == "in")) == 1


async def test_a_message_without_message_id_delivered_twice_re_encoded_is_one_message(
        tmp_path: Path, db_url: str) -> None:
    settings = settings_for(tmp_path, db_url)
    date = "Mon, 23 Nov 2026 09:58:00 +0000"
    text = "This is unacceptable.\nWe were charged twice and nobody called back.\n"
    first = reencoded("Ana <ana@client.example>", "Invoice", text, None, date)
    drop(tmp_path / "in", first.replace(b"Received: from relay2.example", b"Received: from relay1.example"))
    assert await run(settings) == {"new_concern": 1}
    drop(tmp_path / "in", reencoded("Ana <ana@client.example>", "Invoice", text.replace("\n", "\r\n"), None, date))
    assert await run(settings) == {"duplicate": 1}
    # another message without a Message-ID, from the same sender: not the same one (stored, and it joins
    # the concern still open)
    drop(tmp_path / "in", reencoded("Ana <ana@client.example>", "Invoice", "Still nothing. This is unacceptable.",
                                    None, "Mon, 23 Nov 2026 10:30:00 +0000"))
    assert await run(settings) == {"follow_up": 1}


async def test_a_row_stored_before_fingerprints_were_kept_still_dedupes(tmp_path: Path, db_url: str) -> None:
    settings = settings_for(tmp_path, db_url)
    worker = Worker(settings)
    try:
        await migrate(worker.engine)
        async with transaction(worker.sessions) as session:
            session.add(MessageRow(message_id="<old@client.example>", direction="in", from_addr="ana@client.example",
                                   decision="new_concern", created_at=MONDAY_10, fingerprint=None))
        async with worker.sessions() as session:
            assert (await session.scalars(select(MessageRow.fingerprint))).all() == [None]
    finally:
        await worker.engine.dispose()
    drop(tmp_path / "in", client_mail(message_id="<old@client.example>"))
    assert await run(settings) == {"duplicate": 1}
