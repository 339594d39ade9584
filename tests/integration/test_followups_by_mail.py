"""Issue 5 end to end on Dovecot and Postfix with a moved clock: check-ins and reminders until 'stop'."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from email.message import Message
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
import time_machine

from service import cli
from service.clock import ManualClock
from service.runtime.worker import Worker
from service.settings import AccountConfig, Settings

from mailfactory import client_mail
from support import empty_mailbox

pytestmark = pytest.mark.servers


ACCOUNT = AccountConfig(name="Movers", owner="boss@example.test", addresses=["client2@example.test"],
                        timezone="Europe/Lisbon")


def body(msg: Message) -> str:
    return str(msg.get_body(("plain",)).get_content())  # type: ignore[attr-defined]


def ics(uid: str, title: str, start: str) -> bytes:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:{uid}\r\nDTSTAMP:20261120T090000Z\r\nDTSTART;TZID=Europe/Lisbon:{start}\r\n"
            f"SUMMARY:{title}\r\nLOCATION:12 Harbour Road\r\nCATEGORIES:move\r\n"
            "ATTENDEE:mailto:client2@example.test\r\n"
            "DESCRIPTION:Checklist:\\n- Book the lift with the building\\n- Label the server rack\\n"
            "- Keys for the new office\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n").encode()


async def test_anxious_client_with_a_move_gets_checkins_and_reminders_until_stop(
        mailstack: Any, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tag = uuid.uuid4().hex[:8]
    empty_mailbox(mailstack, "helpdesk")
    settings = Settings(
        inbox_url=f"imaps://helpdesk@127.0.0.1:{mailstack.imaps_port}/INBOX", imap_password=mailstack.password,
        outbox_url=f"smtp://helpdesk@127.0.0.1:{mailstack.submission_port}", smtp_password=mailstack.password,
        tls_ca_file=mailstack.ca_file, shared_address="helpdesk@example.test", database_url=db_url,
        processed_keyword=f"$Done{tag}", accounts=[ACCOUNT], checkin_every_days=2.0)
    env = {"FOLLOWUP_INBOX_URL": settings.inbox_url, "FOLLOWUP_IMAP_PASSWORD": mailstack.password,
           "FOLLOWUP_OUTBOX_URL": settings.outbox_url, "FOLLOWUP_SMTP_PASSWORD": mailstack.password,
           "FOLLOWUP_TLS_CA_FILE": str(mailstack.ca_file), "FOLLOWUP_SHARED_ADDRESS": "helpdesk@example.test",
           "FOLLOWUP_DATABASE_URL": db_url, "FOLLOWUP_ACCOUNTS": ACCOUNT.model_dump_json().join("[]"),
           "FOLLOWUP_LOG_FORMAT": "text"}

    clock = ManualClock(datetime(2026, 11, 23, 10, tzinfo=UTC))  # Monday; the move is Saturday

    def followup(*args: str) -> int:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        # the command reads the wall clock: it runs at the scenario's time, whatever today's date is
        with time_machine.travel(clock.current, tick=False):
            return cli.main(list(args))

    mid = make_msgid(domain="example.test")
    mailstack.send(client_mail(sender="Client Two <client2@example.test>", to="helpdesk@example.test",
                               subject=f"Our move {tag}", message_id=mid,
                               body="I'm really worried we won't be ready for the office move on Saturday. "
                                    "What happens if the lift isn't booked in time?"),
                   mail_from="client2@example.test", rcpt_to=["helpdesk@example.test"])
    mailstack.wait_for_message("helpdesk", lambda m: m["Message-ID"] == mid)
    await Worker(settings, clock=clock).run_once()
    ack = mailstack.wait_for_message("client2", lambda m: m["In-Reply-To"] == mid)
    assert tag in str(ack["Subject"])

    title = f"Office move {tag}"
    cal = tmp_path / "moves.ics"
    cal.write_bytes(ics(f"move-{tag}@example.test", title, "20261128T090000"))
    assert await asyncio.to_thread(followup, "events", "import", str(cal)) == 0
    # the date changes: re-importing moves the event and its reminders, it does not add one
    cal.write_bytes(ics(f"move-{tag}@example.test", title, "20261201T090000"))  # Tuesday 1 December
    assert await asyncio.to_thread(followup, "events", "import", str(cal)) == 0

    def mine() -> list[Message]:
        return [m for m in mailstack.messages("client2") if tag in str(m["Subject"])]

    async def at(*when: int) -> None:
        clock.current = datetime(*when, tzinfo=UTC)  # type: ignore[misc]
        await Worker(settings, clock=clock).run_once()

    await at(2026, 11, 25, 9, 5)  # the old date's 3-day reminder time: nothing
    await at(2026, 11, 25, 10, 5)  # two working days after the acknowledgement: a check-in
    checkin = mailstack.wait_for_message("client2", lambda m: tag in str(m["Subject"]) and
                                         "checking in" in body(m))
    assert str(checkin["List-Unsubscribe"]).strip().startswith("<mailto:helpdesk+o-u")
    await at(2026, 11, 27, 9, 5)  # Friday: 3 days before Tuesday's move (the weekend skipped)
    three = mailstack.wait_for_message("client2", lambda m: str(m["Subject"]).startswith(f"{title}: in 3 days"))
    text = body(three)
    assert "Tuesday 01 December at 09:00" in text and "12 Harbour Road" in text
    assert "[ ] Book the lift with the building" in text and "[ ] Keys for the new office" in text
    await at(2026, 11, 30, 9, 5)  # Monday: the day before
    tomorrow = mailstack.wait_for_message("client2", lambda m: str(m["Subject"]).startswith(f"{title}: tomorrow"))
    assert "[ ] Label the server rack" in body(tomorrow)
    reminders = [m for m in mine() if str(m["Subject"]).startswith(title)]
    assert len(reminders) == 2  # one per offset, for the new date only

    # the client says stop: nothing more, ever
    stop_id = make_msgid(domain="example.test")
    mailstack.send(client_mail(sender="Client Two <client2@example.test>", to="helpdesk@example.test",
                               subject=f"Re: {checkin['Subject']}", message_id=stop_id,
                               in_reply_to=str(checkin["Message-ID"]), body="stop"),
                   mail_from="client2@example.test", rcpt_to=["helpdesk@example.test"])
    mailstack.wait_for_message("helpdesk", lambda m: m["Message-ID"] == stop_id)
    await at(2026, 11, 30, 10, 0)
    before = len(mine())
    for day in (2, 4, 9, 16):
        await at(2026, 12, day, 11, 0)
    await asyncio.sleep(1.0)  # anything sent would be in the mailbox by now
    assert len(mine()) == before
    assert len([m for m in mine() if "checking in" in body(m)]) >= 1
