"""The one way out against the real store: acknowledgements carry List-Unsubscribe, and mailing it opts the
client out; every message's outbox row and message row are written together; the gate holds back the rest."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from service.clock import ManualClock
from service.core import letters
from service.core.letters import Links, Purpose, Refusal
from service.flows import checkins, outgoing
from service.mailformat.parse import parse_message
from service.runtime.worker import Worker
from service.settings import AccountConfig, Settings
from service.store.db import transaction
from service.store.models import Client, Concern, MessageRow, OutboxRow

from mailfactory import client_mail, drop
from support import query

ACME = AccountConfig(name="Acme", owner="boss@example.test", domains=["client.example"], timezone="Europe/Lisbon")
MONDAY_10 = datetime(2026, 11, 23, 10, tzinfo=UTC)


def settings_for(tmp_path: Path, db_url: str) -> Settings:
    return Settings(inbox_url=f"maildir://{tmp_path / 'in'}", outbox_url=f"maildir://{tmp_path / 'out'}",
                    database_url=db_url, shared_address="care@example.test", accounts=[ACME],
                    checkin_every_days=2.0)


def sent(tmp_path: Path) -> list[EmailMessage]:
    new = tmp_path / "out" / "new"
    return [message_from_bytes(p.read_bytes(), policy=policy.default)  # type: ignore[misc]
            for p in sorted(new.iterdir(), key=lambda p: p.stat().st_mtime_ns)] if new.exists() else []


async def test_an_acknowledgement_carries_list_unsubscribe_and_mailing_it_opts_the_client_out(
        tmp_path: Path, db_url: str) -> None:
    settings = settings_for(tmp_path, db_url)
    clock = ManualClock(MONDAY_10)
    drop(tmp_path / "in", client_mail(message_id="<u1@client.example>", subject="Invoice",
                                      body="The invoice is wrong again and nobody has answered my emails."))
    assert (await Worker(settings, clock=clock).run_once()).outcomes == {"new_concern": 1}
    [ack] = sent(tmp_path)
    assert ack["Auto-Submitted"] == "auto-replied" and ack["In-Reply-To"] == "<u1@client.example>"
    header = str(ack["List-Unsubscribe"]).strip()
    assert header.startswith("<mailto:care+o-u") and header.endswith("?subject=stop>")
    # its outbox row and its message row, written together; the message row after the one it answers
    [row] = await query(settings, OutboxRow)
    assert (row.purpose, row.message_id, row.dedupe_key) == ("ack", ack["Message-ID"], "ack:C-1")
    rows = sorted(await query(settings, MessageRow), key=lambda m: m.id)
    assert [(m.direction, m.message_id, m.decision) for m in rows] == [
        ("in", "<u1@client.example>", "new_concern"), ("out", ack["Message-ID"], "ack")]
    assert rows[1].concern_id == rows[0].concern_id == 1 and rows[1].client_id == rows[0].client_id

    # the client writes to that address, with no words at all: opted out
    unsubscribe = header.strip("<>").removeprefix("mailto:").split("?")[0]
    drop(tmp_path / "in", client_mail(message_id="<u2@client.example>", to=unsubscribe, subject="", body=""))
    assert (await Worker(settings, clock=clock).run_once()).outcomes == {"opt_out": 1}
    [client] = await query(settings, Client, Client.email == "ana@client.example")
    assert isinstance(client, Client) and client.opted_out_at is not None
    # confirmed to the client, once (issue 17): threaded onto what they sent
    [_, confirmation] = sent(tmp_path)
    assert confirmation["In-Reply-To"] == "<u2@client.example>" and confirmation["Auto-Submitted"] == "auto-replied"
    # the check-in that was due two working days on never comes
    clock.current = datetime(2026, 11, 25, 10, 5, tzinfo=UTC)
    await Worker(settings, clock=clock).run_once()
    assert len([m for m in sent(tmp_path) if "ana@client.example" in str(m["To"])]) == 2


async def test_every_kind_writes_both_rows_and_the_gate_holds_back_the_rest(tmp_path: Path, db_url: str) -> None:
    settings = settings_for(tmp_path, db_url)
    drop(tmp_path / "in", client_mail(message_id="<g1@client.example>", subject="Invoice",
                                      body="The invoice is wrong again and nobody has answered my emails."))
    await Worker(settings, clock=ManualClock(MONDAY_10)).run_once()  # the acknowledgement: one automatic mail
    now = MONDAY_10 + timedelta(days=1)
    worker = Worker(settings)
    try:
        async with transaction(worker.sessions) as session:
            [client] = (await session.scalars(select(Client))).all()
            concern = await session.get(Concern, 1)
            assert concern is not None
            context = {**await checkins.base_context(session, client, settings, concern), "news": [],
                       "open_steps": [], "done_steps": [], "planned_steps": [], "still_open": [],
                       "severity": "normal"}

            def checkin(n: int) -> letters.LetterRequest:
                return letters.to_client(
                    Purpose.CHECKIN, sender=outgoing.sender_of(settings), template="checkin", context=context,
                    to_addr=client.email, to_name=client.name, subject="Re: Invoice [#C-1]",
                    dedupe_key=f"checkin:C-1:{n}", last_message_id=None, concern="C-1",
                    links=Links(concern.id, client.id), now=now)

            owner = parse_message(client_mail(sender="Boss <boss@example.test>", message_id="<o1@example.test>",
                                              subject="Re: Digest"))
            confirm = letters.confirmation(owner, sender=outgoing.sender_of(settings), now=now,
                                           context={"recorded": [], "problems": [], "team_name": "Care"})
            # the same key twice in one batch goes once; the third automatic mail of the week fills the cap
            first = await outgoing.queue(session, [checkin(1), checkin(1), checkin(2), confirm], settings, now)
            assert [type(r).__name__ for r in first] == ["Queued", "Refusal", "Queued", "Queued"]
            assert first[1] == Refusal("already-queued")
            capped = await outgoing.queue(session, [checkin(3)], settings, now)
            assert capped == [Refusal("client-cap", MONDAY_10 + timedelta(days=7))]  # when the ack leaves the week
            again = await outgoing.queue(session, [confirm], settings, now)
            assert again == [Refusal("already-queued")]
            client.opted_out_at = now
            reminder = letters.to_client(
                Purpose.REMINDER, sender=outgoing.sender_of(settings), template="reminder",
                context={**context, "title": "Move", "type": "move", "when": "Friday", "days": 3, "place": "",
                         "open_items": [], "done_items": []},
                to_addr=client.email, to_name="", subject="Move: in 3 days [#E-1]", dedupe_key="remind:E-1:3",
                last_message_id=None, concern=None, links=Links(None, client.id), now=now)
            assert await outgoing.queue(session, [reminder], settings, now) == [Refusal("client-asked-to-stop")]
    finally:
        await worker.engine.dispose()
    queued = [r for r in first if isinstance(r, outgoing.Queued)]
    boxed = {r.message_id: r for r in await query(settings, OutboxRow)}
    messages = {m.message_id: m for m in await query(settings, MessageRow) if m.direction == "out"}
    for q in queued:
        assert boxed[q.message_id].id == q.id and boxed[q.message_id].purpose == q.purpose
        assert messages[q.message_id].decision == q.purpose and messages[q.message_id].to_addr == q.to_addr
    assert [messages[q.message_id].client_id for q in queued] == [client.id, client.id, None]
    assert len(boxed) == len(messages) == 4  # the acknowledgement, two check-ins, the confirmation


async def test_a_second_acknowledgement_of_a_concern_is_refused(tmp_path: Path, db_url: str) -> None:
    settings = settings_for(tmp_path, db_url)
    drop(tmp_path / "in", client_mail(message_id="<a1@client.example>"))
    await Worker(settings, clock=ManualClock(MONDAY_10)).run_once()
    worker = Worker(settings)
    try:
        async with worker.sessions() as session:
            [client] = (await session.scalars(select(Client))).all()
            ack = letters.acknowledgement(
                parse_message(client_mail(message_id="<a2@client.example>")), sender=outgoing.sender_of(settings),
                token="C-1", kind="complaint", evidence=[], respond_by="Monday", template="ack_complaint",
                handler_name="Mia", unsubscribe="mailto:care+o-u1-x@example.test?subject=stop",
                links=Links(1, client.id), now=MONDAY_10)
            # after the first was written: the outbox's unique key refuses it (the batch is stored again
            # one message per transaction, as before this module)
            with pytest.raises(IntegrityError):
                await outgoing.queue(session, [ack], settings, MONDAY_10)
            await session.rollback()
            # twice in one batch: the second goes nowhere
            fresh = dataclasses.replace(ack, dedupe_key="ack:C-1:test")
            twice = [fresh, dataclasses.replace(fresh, message_id="<other@example.test>")]
            result = await outgoing.queue(session, twice, settings, MONDAY_10)
            assert isinstance(result[0], outgoing.Queued) and result[1] == Refusal("already-queued")
            await session.rollback()
    finally:
        await worker.engine.dispose()
