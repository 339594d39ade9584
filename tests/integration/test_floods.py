"""A client who writes again and again while a concern of theirs is open (issue 17, point 9).

Their new messages join the open concern instead of filing one each: one concern, one
acknowledgement, one escalation, every message attached and counted where the owner looks
(the digest or alert, `followup concerns`, `followup show`). Run on the real worker, on
Maildir folders and SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from service.clock import ManualClock
from service.runtime.worker import Worker
from service.settings import Settings
from service.store.models import Client, Concern, ConcernEvent, MessageRow, OutboxRow

from mailfactory import client_mail, drop
from support import maildir_settings as settings_for
from support import sent

ROOT = Path(__file__).resolve().parents[2]
SHARED = "care@example.test"
MONDAY = datetime(2026, 11, 23, 10, tzinfo=UTC)


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "inbox", tmp_path / "outbox"



def text_of(msg: EmailMessage) -> str:
    return str(msg.get_body(("plain",)).get_content())  # type: ignore[union-attr]


async def stored(settings: Settings) -> tuple[list[Concern], list[MessageRow], list[OutboxRow], list[ConcernEvent]]:
    worker = Worker(settings)
    try:
        async with worker.sessions() as s:
            return (list((await s.scalars(select(Concern).order_by(Concern.id))).all()),
                    list((await s.scalars(select(MessageRow).where(MessageRow.direction == "in")
                                          .order_by(MessageRow.id))).all()),
                    list((await s.scalars(select(OutboxRow).order_by(OutboxRow.id))).all()),
                    list((await s.scalars(select(ConcernEvent).order_by(ConcernEvent.id))).all()))
    finally:
        await worker.engine.dispose()


def flood(inbox: Path, sender: str, count: int, subject: str = "URGENT complaint {n}", start: int = 0) -> None:
    for n in range(start, start + count):
        drop(inbox, client_mail(sender=sender, to=SHARED, subject=subject.format(n=n),
                                message_id=f"<flood-{n}@flood.example>",
                                body=f"Complaint number {n}: the delivery is late again and nobody answers "
                                     "the phone. I am really angry about this."))


@pytest.mark.parametrize("batch", [7, 100], ids=["across batches", "one batch"])
async def test_a_flood_from_one_client_is_one_concern_with_every_message(
        folders: tuple[Path, Path], db_url: str, batch: int) -> None:
    inbox, outbox = folders
    flood(inbox, "Flo Rida <flo@flood.example>", 40)
    drop(inbox, client_mail(sender="Other <other@else.example>", to=SHARED, subject="Broken boiler",
                            message_id="<other-1@else.example>",
                            body="The boiler you fitted is broken again and we are cold. I am furious."))
    settings = settings_for(folders, db_url, fetch_batch=batch)
    await Worker(settings, clock=ManualClock(MONDAY)).run_once()

    concerns, inbound, out, _ = await stored(settings)
    mine = [c for c in concerns if c.subject.startswith("URGENT")]
    assert len(mine) == 1, [(c.token, c.subject) for c in concerns]
    assert len(concerns) == 2, "the other client's message files a concern of its own"
    [concern] = mine
    flo = [m for m in inbound if m.from_addr == "flo@flood.example"]
    assert len(flo) == 40 and {m.concern_id for m in flo} == {concern.id}
    joined = [m for m in flo if "joined-open-concern" in m.reasons]
    assert len(joined) == 39, [(m.message_id, m.decision, m.reasons) for m in flo]
    assert all(m.decision == "follow_up" and "joins-open-concern" in (m.rules or {}).get("hit", []) for m in joined)
    acks = [o for o in out if o.to_addr == "flo@flood.example"]
    assert len(acks) == 1, [o.purpose for o in acks]
    assert len([m for m in sent(outbox) if "flo@flood.example" in str(m["To"])]) == 1


async def test_the_owner_gets_one_alert_that_counts_the_messages(folders: tuple[Path, Path], db_url: str) -> None:
    inbox, outbox = folders
    flood(inbox, "Flo <flo@flood.example>", 25)
    settings = settings_for(folders, db_url, fetch_batch=10)
    clock = ManualClock(MONDAY)
    await Worker(settings, clock=clock).run_once()
    clock.current = datetime(2026, 11, 23, 13, tzinfo=UTC)  # past the two working hours of high severity
    await Worker(settings, clock=clock).run_once()

    to_owner = [m for m in sent(outbox) if "owner@example.test" in str(m["To"])]
    assert len(to_owner) == 1, [str(m["Subject"]) for m in to_owner]
    [alert] = to_owner
    assert str(alert["Subject"]).startswith("Urgent: 1 concern")
    assert "Messages: 25 from the client" in text_of(alert)

    env = {**os.environ, "FOLLOWUP_DATABASE_URL": settings.database_url, "FOLLOWUP_INBOX_URL": settings.inbox_url,
           "FOLLOWUP_OUTBOX_URL": settings.outbox_url, "FOLLOWUP_SHARED_ADDRESS": SHARED}

    def cli(*args: str) -> str:
        return subprocess.run([sys.executable, "-m", "service", *args], env=env, cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout

    [row] = json.loads(await asyncio.to_thread(cli, "concerns", "--format", "json"))
    assert row["messages"] == 25
    assert "messages (25 from the client):" in await asyncio.to_thread(cli, "show", row["id"])


async def test_an_urgent_message_joining_a_normal_concern_raises_it(folders: tuple[Path, Path], db_url: str) -> None:
    inbox, _ = folders
    drop(inbox, client_mail(sender="Ana <ana@client.example>", to=SHARED, subject="Invoice",
                            message_id="<first@client.example>",
                            body="The invoice is wrong again and nobody has called me back. I am annoyed."))
    settings = settings_for(folders, db_url)
    clock = ManualClock(MONDAY)
    await Worker(settings, clock=clock).run_once()
    [concern], *_ = await stored(settings)
    assert concern.severity == "normal"

    drop(inbox, client_mail(sender="Ana <ana@client.example>", to=SHARED, subject="URGENT: still no invoice",
                            message_id="<second@client.example>",
                            body="This is the third time I write and the invoice is still wrong. I am angry."))
    await Worker(settings, clock=clock).run_once()
    [concern], inbound, _, events = await stored(settings)
    assert concern.severity == "high"
    second = next(m for m in inbound if m.message_id == "<second@client.example>")
    assert second.concern_id == concern.id and "urgent-message" in (second.rules or {}).get("hit", [])
    assert any(e.kind == "severity" and "<second@client.example>" in e.detail for e in events)


async def test_once_resolved_a_new_message_files_a_new_concern(folders: tuple[Path, Path], db_url: str) -> None:
    inbox, _ = folders
    flood(inbox, "Flo <flo@flood.example>", 3, subject="Late delivery {n}")
    settings = settings_for(folders, db_url)
    clock = ManualClock(MONDAY)
    await Worker(settings, clock=clock).run_once()
    worker = Worker(settings)
    try:
        async with worker.sessions() as s, s.begin():
            [concern] = (await s.scalars(select(Concern))).all()
            concern.status = "resolved"
    finally:
        await worker.engine.dispose()

    flood(inbox, "Flo <flo@flood.example>", 2, subject="Late delivery {n}", start=3)
    await Worker(settings, clock=clock).run_once()
    concerns, inbound, _, _ = await stored(settings)
    assert len(concerns) == 2
    later = [m for m in inbound if m.message_id in ("<flood-3@flood.example>", "<flood-4@flood.example>")]
    assert {m.concern_id for m in later} == {concerns[1].id}


async def test_a_client_with_an_open_concern_may_still_stop_us(folders: tuple[Path, Path], db_url: str) -> None:
    inbox, _ = folders
    flood(inbox, "Flo <flo@flood.example>", 1)
    drop(inbox, client_mail(sender="Flo <flo@flood.example>", to=SHARED, subject="stop",
                            message_id="<stop@flood.example>", body="stop"))
    settings = settings_for(folders, db_url)
    await Worker(settings, clock=ManualClock(MONDAY)).run_once()
    concerns, inbound, _, _ = await stored(settings)
    assert len(concerns) == 1
    stop = next(m for m in inbound if m.message_id == "<stop@flood.example>")
    assert stop.decision == "opt_out", (stop.decision, stop.reasons)
    worker = Worker(settings)
    try:
        async with worker.sessions() as s:
            [client] = (await s.scalars(select(Client))).all()
    finally:
        await worker.engine.dispose()
    assert client.opted_out_at is not None


# -- alerts to one owner, coalesced -----------------------------------------------------------------

def urgent_from_five(inbox: Path) -> None:
    for n in range(5):  # five clients, one high-severity concern each, all the same owner's
        drop(inbox, client_mail(sender=f"Client {n} <c{n}@clients.example>", to=SHARED, subject=f"URGENT order {n}",
                                message_id=f"<urgent-{n}@clients.example>",
                                body=f"Order {n} never arrived and nobody answers the phone. I am furious."))


def alerts(outbox: Path) -> list[EmailMessage]:
    return [m for m in sent(outbox) if "owner@example.test" in str(m["To"]) and str(m["Subject"]).startswith("Urgent")]


def tokens_in(msgs: list[EmailMessage]) -> list[str]:
    return sorted(t for m in msgs for t in ("C-1", "C-2", "C-3", "C-4", "C-5") if f"{t} " in text_of(m))


@pytest.mark.parametrize(("window", "by_12_30"), [(60, 1), (10, 2)])
async def test_alerts_to_one_owner_are_one_per_window_and_none_is_lost(
        folders: tuple[Path, Path], db_url: str, window: int, by_12_30: int) -> None:
    inbox, outbox = folders
    urgent_from_five(inbox)
    settings = settings_for(folders, db_url, alert_window_minutes=window)
    clock = ManualClock(MONDAY)
    await Worker(settings, clock=clock).run_once()
    clock.current = datetime(2026, 11, 23, 12, 5, tzinfo=UTC)  # all five past their two working hours
    await Worker(settings, clock=clock).run_once()
    [first] = alerts(outbox)
    assert str(first["Subject"]).startswith("Urgent: 1 concern needs"), first["Subject"]
    clock.current = datetime(2026, 11, 23, 12, 30, tzinfo=UTC)
    await Worker(settings, clock=clock).run_once()
    assert len(alerts(outbox)) == by_12_30
    clock.current = datetime(2026, 11, 23, 13, 10, tzinfo=UTC)
    await Worker(settings, clock=clock).run_once()
    sent_alerts = alerts(outbox)
    # by content, not by order: Maildir file names written within one second do not sort by time
    assert sorted(str(m["Subject"]) for m in sent_alerts) == ["Urgent: 1 concern needs an action plan now",
                                                              "Urgent: 4 concerns need an action plan now"]
    assert tokens_in(sent_alerts) == ["C-1", "C-2", "C-3", "C-4", "C-5"]  # each once, none lost


async def test_held_alerts_go_in_the_digest_if_it_comes_first(folders: tuple[Path, Path], db_url: str) -> None:
    inbox, outbox = folders
    urgent_from_five(inbox)
    settings = settings_for(folders, db_url, alert_window_minutes=24 * 60)
    clock = ManualClock(MONDAY)
    await Worker(settings, clock=clock).run_once()
    clock.current = datetime(2026, 11, 23, 12, 5, tzinfo=UTC)
    await Worker(settings, clock=clock).run_once()
    clock.current = datetime(2026, 11, 24, 8, 31, tzinfo=UTC)  # Tuesday's digest, before the window ends
    await Worker(settings, clock=clock).run_once()
    to_owner = [m for m in sent(outbox) if "owner@example.test" in str(m["To"])]
    digests = [m for m in to_owner if str(m["Subject"]).startswith("Digest")]
    assert len(alerts(outbox)) == 1 and len(digests) == 1, [str(m["Subject"]) for m in to_owner]
    assert tokens_in(alerts(outbox)) + tokens_in(digests) == tokens_in(to_owner)
    assert sorted(tokens_in(alerts(outbox)) + tokens_in(digests)) == ["C-1", "C-2", "C-3", "C-4", "C-5"]
    clock.current = datetime(2026, 11, 24, 12, 10, tzinfo=UTC)  # the held alert's time: nothing left to say
    await Worker(settings, clock=clock).run_once()
    assert len(alerts(outbox)) == 1
