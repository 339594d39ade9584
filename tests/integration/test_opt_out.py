"""Issue 17 point 1 through the real pipeline and store (SQLite and PostgreSQL), with a moved clock.

"Stop" inside a complaint is not an opt-out; a concern in the same message as a real request to
stop is filed and reaches the owner; the opt-out is confirmed to the client once; writing to us
again lifts it before anything answers the new message, and `followup show` says so.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from service import cli
from service.clock import ManualClock
from service.runtime.worker import Worker
from service.settings import AccountConfig, Settings
from service.store.models import Client, Concern, ConcernEvent, EscalationRow, MessageRow, OutboxRow

from mailfactory import client_mail, drop
from support import query

ACME = AccountConfig(name="Acme", owner="boss@example.test", domains=["client.example"], timezone="Europe/Lisbon",
                     business_hours="09:00-17:00", digest_time="08:30")
MONDAY_10 = datetime(2026, 11, 23, 10, tzinfo=UTC)


def settings_for(tmp_path: Path, db_url: str) -> Settings:
    return Settings(inbox_url=f"maildir://{tmp_path / 'in'}", outbox_url=f"maildir://{tmp_path / 'out'}",
                    database_url=db_url, shared_address="care@example.test", accounts=[ACME],
                    checkin_every_days=2.0, signing_key="test-key", fetch_batch=20)


def sent(tmp_path: Path) -> list[EmailMessage]:
    new = tmp_path / "out" / "new"
    return [message_from_bytes(p.read_bytes(), policy=policy.default)  # type: ignore[misc]
            for p in sorted(new.iterdir(), key=lambda p: p.stat().st_mtime_ns)] if new.exists() else []


def body(msg: EmailMessage) -> str:
    return str(msg.get_body(("plain",)).get_content())  # type: ignore[union-attr]


async def run(settings: Settings, clock: ManualClock) -> dict[str, int]:
    return dict((await Worker(settings, clock=clock).run_once()).outcomes)


async def opted_out(settings: Settings, address: str) -> bool:
    """Whether the client of `address` is opted out (no client: nothing filed, nobody opted out)."""
    return any(c.opted_out_at is not None for c in await query(settings, Client, Client.email == address))


# complaints whose "stop", "remove me" or "no more" is about something else, as clients write them
COMPLAINTS = [
    ("Charged twice", "Please stop charging my card twice! I am furious."),
    ("Invoices", "Stop sending me invoices for services I cancelled"),
    ("Tuesday delivery", "Remove me from the Tuesday delivery schedule, your driver was rude"),
    ("Stop", "The boiler is broken again and nobody came to fix it. We have no hot water for three days."),
    ("Billing", "No more of these billing errors please, I am really worried"),
    ("STOP", "STOP. Your technician flooded our kitchen and just left. This is unacceptable."),
    ("Calls", "Stop calling me at work! Your sales people are rude and I am furious."),
    ("Noise", "Please make them stop the drilling at 6am, it is unbearable and nobody listens to us."),
]
# the same in other languages: whatever the (English) detector makes of them, nobody is opted out
ELSEWHERE = [
    ("Rechnung", "Hören Sie auf, mir falsche Rechnungen zu schicken! Das ist inakzeptabel."),
    ("Facturation", "Arrêtez de me facturer deux fois, c'est inadmissible !"),
    ("Factura", "Dejen de cobrarme dos veces, es inaceptable."),
    ("Levering", "Stop met het sturen van verkeerde facturen!"),
    ("Addebito", "Smettete di addebitarmi il servizio che ho disdetto!"),
    ("Cobrança", "Parem de me cobrar duas vezes!"),
]


async def test_stop_inside_a_complaint_is_a_complaint_filed_and_acknowledged(tmp_path: Path, db_url: str) -> None:
    settings = settings_for(tmp_path, db_url)
    clock = ManualClock(MONDAY_10)
    for k, (subject, text) in enumerate(COMPLAINTS):
        drop(tmp_path / "in", client_mail(sender=f"Client {k} <c{k}@client.example>", subject=subject, body=text,
                                          message_id=f"<c{k}@client.example>"))
    assert await run(settings, clock) == {"new_concern": len(COMPLAINTS)}
    assert sorted(str(m["To"]) for m in sent(tmp_path)) == sorted(
        f"Client {k} <c{k}@client.example>" for k in range(len(COMPLAINTS)))  # each acknowledged
    for k in range(len(COMPLAINTS)):
        assert not await opted_out(settings, f"c{k}@client.example")
    rows = await query(settings, MessageRow, MessageRow.direction == "in")
    assert all("opt-out-request" in m.rules["missed"] for m in rows if isinstance(m, MessageRow))


async def test_stop_inside_a_complaint_in_other_languages_opts_nobody_out(tmp_path: Path, db_url: str) -> None:
    settings = settings_for(tmp_path, db_url)
    for k, (subject, text) in enumerate(ELSEWHERE):
        drop(tmp_path / "in", client_mail(sender=f"Client {k} <c{k}@client.example>", subject=subject, body=text))
    outcomes = await run(settings, ManualClock(MONDAY_10))
    assert "opt_out" not in outcomes and sum(outcomes.values()) == len(ELSEWHERE)
    for k in range(len(ELSEWHERE)):
        assert not await opted_out(settings, f"c{k}@client.example")


async def test_a_concern_in_a_request_to_stop_is_filed_for_the_owner_and_the_stop_confirmed_once(
        tmp_path: Path, db_url: str) -> None:
    settings = settings_for(tmp_path, db_url)
    clock = ManualClock(MONDAY_10)
    drop(tmp_path / "in", client_mail(message_id="<s1@client.example>", subject="Refund",
                                      body="Stop emailing me and fix it. You charged me twice and nobody called "
                                           "back, this is unacceptable."))
    assert await run(settings, clock) == {"new_concern": 1}
    assert await opted_out(settings, "ana@client.example")
    # no acknowledgement; one confirmation, which says a person has the concern
    [confirmation] = sent(tmp_path)
    assert confirmation["In-Reply-To"] == "<s1@client.example>" and "[#C-1]" in str(confirmation["Subject"])
    assert "no more automatic messages" in body(confirmation) and "C-1" in body(confirmation)
    [row] = await query(settings, OutboxRow)
    assert isinstance(row, OutboxRow) and row.purpose == "optout_confirm"
    [concern] = await query(settings, Concern)
    assert isinstance(concern, Concern) and concern.kind == "complaint" and concern.acknowledged_at is None
    history = [e.kind for e in await query(settings, ConcernEvent) if isinstance(e, ConcernEvent)]
    assert history == ["created", "opted_out"]
    # a second "stop" while opted out: recorded, not confirmed again
    drop(tmp_path / "in", client_mail(message_id="<s2@client.example>", subject="Stop", body="STOP!!!"))
    assert await run(settings, clock) == {"opt_out": 1}
    assert len(sent(tmp_path)) == 1
    # the owner's view is untouched: past the deadline the concern escalates into the owner's digest
    clock.current = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    await run(settings, clock)
    assert [e.recipient for e in await query(settings, EscalationRow)] == ["boss@example.test"]
    clock.current = datetime(2026, 11, 26, 8, 31, tzinfo=UTC)  # the owner's digest time
    await run(settings, clock)
    assert [str(m["To"]) for m in sent(tmp_path)[1:]] == ["boss@example.test"]
    assert "C-1" in body(sent(tmp_path)[1])


@pytest.mark.parametrize(("subject", "text"), [
    ("", "stop"), ("Unsubscribe", ""), ("", "Please remove me from your mailing list."),
    ("", "Bitte keine E-Mails mehr."), ("", "Désabonnez-moi s'il vous plaît"), ("", "No me envíen más correos"),
    ("", "Ik wil geen e-mails meer ontvangen."), ("", "Non voglio più ricevere messaggi"),
    ("", "Parem de me enviar e-mails"), ("STOP", "STOP SENDING ME THESE EMAILS!!!"),
])
async def test_a_request_to_stop_and_nothing_else_opts_out_and_files_nothing(
        tmp_path: Path, db_url: str, subject: str, text: str) -> None:
    settings = settings_for(tmp_path, db_url)
    clock = ManualClock(MONDAY_10)
    drop(tmp_path / "in", client_mail(message_id="<o1@client.example>", subject=subject, body=text))
    assert await run(settings, clock) == {"opt_out": 1}
    assert await opted_out(settings, "ana@client.example")
    assert await query(settings, Concern) == []
    [confirmation] = sent(tmp_path)
    assert confirmation["In-Reply-To"] == "<o1@client.example>"


def cli_run(env: dict[str, str], monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return cli.main(list(args))


async def test_writing_again_lifts_the_opt_out_before_anything_answers_and_show_explains_it(
        tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    settings = settings_for(tmp_path, db_url)
    clock = ManualClock(MONDAY_10)
    drop(tmp_path / "in", client_mail(message_id="<l1@client.example>", subject="Heater",
                                      body="The heater broke again and nobody answers the phone. This is "
                                           "unacceptable."))
    assert await run(settings, clock) == {"new_concern": 1}
    [ack] = sent(tmp_path)
    # the client asks us to stop, in the thread: the concern keeps going, our mail stops
    drop(tmp_path / "in", client_mail(message_id="<l2@client.example>", subject=f"Re: {ack['Subject']}",
                                      in_reply_to=str(ack["Message-ID"]),
                                      body="Please stop sending me these check-ins.\n\nAna"))
    assert await run(settings, clock) == {"follow_up": 1}
    assert await opted_out(settings, "ana@client.example")
    assert [str(m["In-Reply-To"]) for m in sent(tmp_path)] == [ack["In-Reply-To"], "<l2@client.example>"]
    clock.current = datetime(2026, 11, 25, 10, 5, tzinfo=UTC)  # a check-in was due: none comes
    await run(settings, clock)
    assert not [m for m in sent(tmp_path) if "checking in" in body(m)]
    # the client writes to us again: opted back in before the message is handled, and check-ins resume
    drop(tmp_path / "in", client_mail(message_id="<l3@client.example>", subject=f"Re: {ack['Subject']}",
                                      in_reply_to=str(ack["Message-ID"]),
                                      body="It broke again this morning. When is the engineer coming?"))
    assert await run(settings, clock) == {"follow_up": 1}
    assert not await opted_out(settings, "ana@client.example")
    clock.current = datetime(2026, 11, 30, 10, 5, tzinfo=UTC)
    await run(settings, clock)
    assert [m for m in sent(tmp_path) if "checking in" in body(m)]
    # `followup show` explains both: the rules of each message and the concern's history
    env = {"FOLLOWUP_INBOX_URL": settings.inbox_url, "FOLLOWUP_OUTBOX_URL": settings.outbox_url,
           "FOLLOWUP_DATABASE_URL": db_url, "FOLLOWUP_SHARED_ADDRESS": "care@example.test",
           "FOLLOWUP_ACCOUNTS": ACME.model_dump_json().join("[]"), "FOLLOWUP_LOG_FORMAT": "text"}
    capsys.readouterr()
    assert await asyncio.to_thread(cli_run, env, monkeypatch, "show", "C-1", "--format", "json") == 0
    shown = json.loads(capsys.readouterr().out)
    rules = {m["message_id"]: m["rules"]["hit"] for m in shown["messages"] if m["direction"] == "in"}
    assert "opt-out-request" in rules["<l2@client.example>"] and "opt-out-lifted" in rules["<l3@client.example>"]
    kinds = [e["kind"] for e in shown["history"]]
    assert kinds.index("opted_out") < kinds.index("opt_out_lifted")


async def test_an_opted_out_client_with_a_new_concern_is_opted_back_in_and_acknowledged(
        tmp_path: Path, db_url: str) -> None:
    settings = settings_for(tmp_path, db_url)
    clock = ManualClock(MONDAY_10)
    drop(tmp_path / "in", client_mail(message_id="<n1@client.example>", subject="Unsubscribe", body=""))
    drop(tmp_path / "in", client_mail(message_id="<n2@client.example>", subject="Invoice charged twice",
                                      body="This is unacceptable. We were charged twice and nobody called back."))
    assert await run(settings, clock) == {"opt_out": 1, "new_concern": 1}
    assert not await opted_out(settings, "ana@client.example")
    assert [str(m["In-Reply-To"]) for m in sent(tmp_path)] == ["<n1@client.example>", "<n2@client.example>"]
    lifted = [m for m in await query(settings, MessageRow, MessageRow.message_id == "<n2@client.example>")]
    assert isinstance(lifted[0], MessageRow) and "opt-out-lifted" in lifted[0].rules["hit"]
