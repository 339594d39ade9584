"""Events, reminders and replies to follow-ups, through the real store with a moved clock (Maildir)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from service import cli
from service.clock import ManualClock
from service.runtime.worker import Worker
from service.settings import AccountConfig, Settings
from service.store.models import Client, Concern, EscalationRow, Event, Job, MessageRow

from mailfactory import client_mail, drop
from support import query

ACME = AccountConfig(name="Acme", owner="boss@example.test", domains=["client.example"], timezone="Europe/Lisbon")
MONDAY_10 = datetime(2026, 11, 23, 10, tzinfo=UTC)


def settings_for(tmp_path: Path, db_url: str) -> Settings:
    return Settings(inbox_url=f"maildir://{tmp_path / 'in'}", outbox_url=f"maildir://{tmp_path / 'out'}",
                    database_url=db_url, shared_address="care@example.test", accounts=[ACME],
                    signing_key="k", checkin_every_days=2.0)


def env_for(settings: Settings) -> dict[str, str]:
    return {"FOLLOWUP_INBOX_URL": settings.inbox_url, "FOLLOWUP_OUTBOX_URL": settings.outbox_url,
            "FOLLOWUP_DATABASE_URL": settings.database_url, "FOLLOWUP_SHARED_ADDRESS": "care@example.test",
            "FOLLOWUP_ACCOUNTS": ACME.model_dump_json().join("[]"), "FOLLOWUP_SIGNING_KEY": "k",
            "FOLLOWUP_LOG_FORMAT": "text"}


def sent(tmp_path: Path) -> list[EmailMessage]:
    new = tmp_path / "out" / "new"
    return [message_from_bytes(p.read_bytes(), policy=policy.default)  # type: ignore[misc]
            for p in sorted(new.iterdir(), key=lambda p: p.stat().st_mtime_ns)] if new.exists() else []


def text(msg: EmailMessage) -> str:
    return str(msg.get_body(("plain",)).get_content())  # type: ignore[union-attr]


async def test_csv_import_update_tick_and_cancel(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    settings = settings_for(tmp_path, db_url)

    async def followup(*args: str) -> tuple[int, str]:
        def call() -> int:
            for key, value in env_for(settings).items():
                monkeypatch.setenv(key, value)
            return cli.main(list(args))
        code = await asyncio.to_thread(call)
        out = capsys.readouterr()
        return code, out.out + out.err

    csv_file = tmp_path / "event_reminders.csv"
    csv_file.write_text("uid,client,title,type,at,place,checklist,status\n"
                        "a1,ana@client.example,Office move,move,2099-03-10 09:00,Dock 4,Book lift;Labels;Keys,\n"
                        "a2,ben@client.example,Audit,audit,2099-04-01,,Ledger export,\n")
    code, out = await followup("events", "import", str(csv_file))
    assert code == 0 and "E-1 added: Office move" in out and "E-2 added: Audit" in out
    csv_file.write_text("uid,client,title,type,at,place,checklist,status\n"
                        "a1,ana@client.example,Office move,move,2099-03-12 09:00,Dock 4,Book lift;Labels;Keys,\n"
                        "a2,ben@client.example,Audit,audit,2099-04-01,,Ledger export,cancelled\n")
    code, out = await followup("events", "import", str(csv_file))
    assert code == 0 and "E-1 moved" in out and "E-2 cancelled" in out
    assert len(await query(settings, Event)) == 2  # updated, not duplicated
    jobs = {j.key: j for j in await query(settings, Job) if isinstance(j, Job)}
    assert {k for k, j in jobs.items() if j.status == "pending"} == {"remind:E-1:14", "remind:E-1:3", "remind:E-1:1"}
    assert jobs["remind:E-1:1"].due_at == datetime(2099, 3, 11, 9, tzinfo=UTC)  # Lisbon, winter
    assert all(j.status == "cancelled" for k, j in jobs.items() if k.startswith("remind:E-2"))
    code, out = await followup("events", "done", "E-1", "--item", "2")
    assert code == 0 and "2 item(s) still open: Book lift; Keys" in out
    code, out = await followup("events", "done", "E-1", "--item", "9")
    assert code == 1 and "no item 9" in out
    code, out = await followup("events", "add", "cara@client.example", "--title", "Boiler installation",
                               "--at", "2099-05-02 08:00", "--type", "installation", "--checklist", "Clear the loft",
                               "Pets away")
    assert code == 0 and "E-3 added" in out
    code, out = await followup("events", "list", "--format", "json")
    assert code == 0 and '"Clear the loft"' in out and '"cancelled"' in out
    code, out = await followup("events", "remove", "E-3")
    assert code == 0 and "cancelled" in out
    bad = tmp_path / "bad.ics"
    bad.write_text("not a calendar")
    code, out = await followup("events", "import", str(bad))
    assert code == 1 and "iCalendar" in out


async def test_reminder_lists_only_open_items_from_the_type_template(tmp_path: Path, db_url: str) -> None:
    from service.flows import event_reminders
    from service.store.db import transaction

    settings = settings_for(tmp_path, db_url)
    clock = ManualClock(MONDAY_10)
    worker = Worker(settings, clock=clock)
    await worker.start()
    async with transaction(worker.sessions) as session:
        event, _ = await event_reminders.save_event(session, event_reminders.EventSpec(
            uid="x", client="ana@client.example", title="Audit <b>day</b>", type="audit",
            at=datetime(2026, 11, 27, 10, tzinfo=UTC), checklist=("Ledger export", "Bank statements")),
            settings, clock.current, "test")
        await event_reminders.tick(session, event.id, [1], clock.current)
    await worker.close()
    clock.current = datetime(2026, 11, 24, 9, 1, tzinfo=UTC)  # Tuesday: 3 days before Friday
    await Worker(settings, clock=clock).run_once()
    [reminder] = sent(tmp_path)
    body = text(reminder)
    assert reminder["Subject"] == "Audit <b>day</b>: in 3 days [#E-1]"
    assert "auditors ask for" in body and "[ ] Bank statements" in body and "[x] Ledger export" in body
    html = str(reminder.get_body(("html",)).get_content())  # type: ignore[union-attr]
    assert "Audit &lt;b&gt;day&lt;/b&gt;" in html


async def test_replies_raise_severity_suggest_resolving_and_unsubscribe(tmp_path: Path, db_url: str) -> None:
    settings = settings_for(tmp_path, db_url)
    clock = ManualClock(MONDAY_10)
    drop(tmp_path / "in", client_mail(message_id="<q1@client.example>", subject="Invoice",
                                      body="The invoice is wrong again and nobody has answered my emails."))
    await Worker(settings, clock=clock).run_once()
    [concern] = await query(settings, Concern)
    assert isinstance(concern, Concern) and concern.severity == "normal"
    clock.current = datetime(2026, 11, 25, 10, 5, tzinfo=UTC)
    await Worker(settings, clock=clock).run_once()
    # to the client (the owner's digest of the escalation that fell due meanwhile goes out too)
    checkin = [m for m in sent(tmp_path) if "client.example" in str(m["To"])][-1]
    assert "checking in" in text(checkin)
    # a worry in the reply raises the concern's severity
    drop(tmp_path / "in", client_mail(message_id="<q2@client.example>", subject=f"Re: {checkin['Subject']}",
                                      in_reply_to=str(checkin["Message-ID"]),
                                      body="I'm really worried we'll fail the audit next week because of this."))
    await Worker(settings, clock=clock).run_once()
    [concern] = await query(settings, Concern)
    assert isinstance(concern, Concern) and concern.severity == "high"
    # 'all sorted' is surfaced to the owner as a suggestion, never a resolution
    drop(tmp_path / "in", client_mail(message_id="<q3@client.example>", subject=f"Re: {checkin['Subject']}",
                                      in_reply_to=str(checkin["Message-ID"]), body="All sorted now, thank you!"))
    await Worker(settings, clock=clock).run_once()
    [concern] = await query(settings, Concern)
    assert isinstance(concern, Concern) and concern.status != "resolved"
    suggestions = [e for e in await query(settings, EscalationRow) if isinstance(e, EscalationRow) and e.level == 0]
    assert len(suggestions) == 1 and "C-1 resolved" in suggestions[0].reason
    # the List-Unsubscribe address stops everything for this client
    unsubscribe = str(checkin["List-Unsubscribe"]).strip().strip("<>").removeprefix("mailto:").split("?")[0]
    drop(tmp_path / "in", client_mail(message_id="<q4@client.example>", to=unsubscribe, subject="stop", body=""))
    await Worker(settings, clock=clock).run_once()
    [client] = await query(settings, Client, Client.email == "ana@client.example")
    assert isinstance(client, Client) and client.opted_out_at is not None
    before = len(sent(tmp_path))
    clock.current = datetime(2026, 12, 15, 10, tzinfo=UTC)
    await Worker(settings, clock=clock).run_once()
    assert [m["To"] for m in sent(tmp_path)[before:]] in ([], ["boss@example.test"], ["boss@example.test"] * 2)
    # each reply is stored with the rules that decided what it changed
    hits = {m.message_id: m.rules["hit"] for m in await query(settings, MessageRow, MessageRow.direction == "in")}
    assert hits["<q2@client.example>"][-1] == "new-worry" and hits["<q3@client.example>"][-1] == "all-is-well"
    assert hits["<q4@client.example>"] == ["reply-tag", "unsubscribe-address", "nothing-but-stop"]
