"""No reply to machines, in every common form; a circuit breaker per domain. Maildir + real SQLite."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import func, select

from service.runtime.worker import Worker
from service.settings import Settings
from service.store.models import MessageRow, OutboxRow

from mailfactory import drop

COMPLAINT = "This is unacceptable, the invoice is wrong again and nobody called back."


def raw(headers: str, body: str = COMPLAINT, *, sender: str = "Lee <lee@client.example>",
        content_type: str = "text/plain; charset=utf-8") -> bytes:
    return (f"From: {sender}\r\nTo: care@example.test\r\nMessage-ID: <{abs(hash(headers + body))}@x.example>\r\n"
            f"Content-Type: {content_type}\r\n{headers}\r\n{body}\r\n").encode()


DSN = ("--b\r\nContent-Type: text/plain\r\n\r\nDelivery to the following recipient failed permanently.\r\n"
       "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.client.example\r\n"
       "Final-Recipient: rfc822; gone@client.example\r\nAction: failed\r\nStatus: 5.1.1\r\n--b--\r\n")

MACHINES = {
    "exchange out of office": raw("Subject: Automatic reply: Invoice 2291\r\nAuto-Submitted: auto-generated\r\n"
                                  "X-Auto-Response-Suppress: All\r\nX-MS-Exchange-Inbox-Rules-Loop: lee@client.example\r\n",
                                  "I am out of the office until Monday. This is unacceptable timing, sorry."),
    "gmail vacation": raw("Subject: Re: Invoice\r\nAuto-Submitted: auto-replied\r\nPrecedence: bulk\r\n",
                          "I'm on vacation and worried I'll miss your reply. Back on the 3rd."),
    "postfix vacation": raw("Subject: away\r\nPrecedence: junk\r\nX-Autoreply: yes\r\n",
                            "Away until Friday. Nobody called back about the broken delivery."),
    "out of office by subject only": raw("Subject: Out of Office: Invoice\r\n",
                                         "I am away, nobody will answer; this is unacceptable."),
    "german absence note": raw("Subject: Abwesenheitsnotiz: Rechnung\r\n", "Ich bin nicht im Büro."),
    "bounce": raw("Subject: Delivery Status Notification (Failure)\r\n", DSN,
                  sender="Mail Delivery Subsystem <mailer-daemon@client.example>",
                  content_type='multipart/report; report-type=delivery-status; boundary="b"'),
    "bounce with null return path": raw("Subject: Undelivered Mail Returned to Sender\r\nReturn-Path: <>\r\n",
                                        "The message could not be delivered. Unacceptable mailbox full.",
                                        sender="Postmaster <postmaster@client.example>"),
    "challenge-response by header": raw("Subject: Re: Invoice\r\nX-TMDA-Fingerprint: abc\r\n",
                                        "Please reply to confirm you are not a spammer. This is unacceptable."),
    "challenge-response by subject": raw("Subject: Please confirm your message\r\n",
                                         "Your message is held until you confirm. Nobody called back."),
    "mailing list": raw("Subject: [users] invoice broken again\r\nList-Id: <users.lists.client.example>\r\n"
                        "List-Unsubscribe: <mailto:leave@lists.client.example>\r\n"),
    "another followup answering us": raw("Subject: Re: Invoice [#C-9]\r\nX-Followup-Instance: care@other.example\r\n"
                                         "Auto-Submitted: auto-replied\r\n", "We are sorry, we recorded it."),
    "another followup without auto-submitted": raw("Subject: Re: Invoice\r\nX-Followup-Instance: care@other.example\r\n",
                                                   "Thank you for telling us, and we are sorry. You wrote: unacceptable"),
    "our own reply coming back": raw("Subject: Re: Invoice [#C-1]\r\n", COMPLAINT, sender="Care <care@example.test>"),
    "no-reply sender": raw("Subject: Your invoice\r\n", COMPLAINT, sender="Billing <no-reply@client.example>"),
}


def settings_for(tmp_path: Path, **kw: object) -> Settings:
    return Settings(inbox_url=f"maildir://{tmp_path / 'in'}", outbox_url=f"maildir://{tmp_path / 'out'}",
                    database_url=f"sqlite:///{tmp_path / 'f.db'}", shared_address="care@example.test",
                    **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(MACHINES))
async def test_no_reply_to_a_machine(tmp_path: Path, name: str) -> None:
    drop(tmp_path / "in", MACHINES[name])
    settings = settings_for(tmp_path)
    stats = await Worker(settings).run_once()
    assert stats.outcomes == {"ignore": 1} and stats.sent == 0, stats.outcomes
    worker = Worker(settings)
    async with worker.sessions() as s:
        [row] = (await s.scalars(select(MessageRow))).all()
        assert row.decision == "ignore" and row.reasons  # the reason is stored
        assert int(await s.scalar(select(func.count(OutboxRow.id))) or 0) == 0
    await worker.engine.dispose()


async def test_circuit_breaker_stops_replies_to_a_flooding_domain(tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    for n in range(6):
        drop(tmp_path / "in", raw(f"Subject: Invoice {n}\r\n", sender=f"Person {n} <p{n}@flood.example>"))
    drop(tmp_path / "in", raw("Subject: Invoice\r\n", sender="Other <o@elsewhere.example>"))
    settings = settings_for(tmp_path, domain_reply_cap=3)
    with caplog.at_level(logging.WARNING):
        stats = await Worker(settings).run_once()
    assert stats.outcomes == {"new_concern": 7} and stats.sent == 4  # 3 to flood.example, 1 elsewhere
    assert "circuit breaker open: no automatic replies to flood.example" in caplog.text
    worker = Worker(settings)
    async with worker.sessions() as s:
        reasons = [r for rs in (await s.scalars(select(MessageRow.reasons))).all() for r in rs]
    await worker.engine.dispose()
    assert sum(r.startswith("circuit-open:flood.example") for r in reasons) == 3
