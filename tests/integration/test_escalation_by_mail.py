"""Issue 4 end to end on Dovecot and Postfix, with the worker's clock moved by the test.

complaint -> acknowledgement -> no plan by the deadline -> digest in the owner's
mailbox -> the owner answers it by email with a plan -> recorded, confirmed, no
further escalation; a forged answer changes nothing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from email.message import Message
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest

from service.clock import ManualClock
from service.runtime.metrics import METRICS
from service.runtime.worker import Worker
from service.settings import AccountConfig, Settings
from service.store.models import ActionItem, Concern, MessageRow

from mailfactory import client_mail
from support import empty_mailbox, query

pytestmark = pytest.mark.servers


def settings_for(stack: Any, db_url: str) -> Settings:
    return Settings(
        inbox_url=f"imaps://desk@127.0.0.1:{stack.imaps_port}/INBOX", imap_password=stack.password,
        outbox_url=f"smtp://desk@127.0.0.1:{stack.submission_port}", smtp_password=stack.password,
        tls_ca_file=stack.ca_file, shared_address="desk@example.test", database_url=db_url,
        processed_keyword=f"$Done{uuid.uuid4().hex[:8]}",  # each run sees the mailbox afresh
        accounts=[AccountConfig(name="Client One Ltd", owner="boss@example.test", addresses=["client1@example.test", "client2@example.test"],
                                second_level="chief@example.test", timezone="Europe/Lisbon")])


def escalations_counted(*, level: int) -> float:
    return METRICS.registry.get_sample_value("followup_escalations_total", {"level": str(level)}) or 0.0


def body(msg: Message) -> str:
    return str(msg.get_body(("plain",)).get_content())  # type: ignore[attr-defined]


async def test_digest_answered_by_email_records_the_plan(mailstack: Any, db_url: str, tmp_path: Path) -> None:
    empty_mailbox(mailstack, "desk")
    settings = settings_for(mailstack, db_url)
    clock = ManualClock(datetime(2026, 11, 23, 10, tzinfo=UTC))  # a Monday, Lisbon = UTC in winter
    tag = uuid.uuid4().hex[:8]
    mid = make_msgid(domain="example.test")
    mailstack.send(client_mail(sender="Client One <client1@example.test>", to="desk@example.test",
                               subject=f"Invoice wrong again {tag}", message_id=mid,
                               body="The invoice is wrong for the third time and nobody has called me back."),
                   mail_from="client1@example.test", rcpt_to=["desk@example.test"])
    mailstack.wait_for_message("desk", lambda m: m["Message-ID"] == mid)
    await Worker(settings, clock=clock).run_once()
    ack = mailstack.wait_for_message("client1", lambda m: m["In-Reply-To"] == mid)
    token = str(ack["Subject"]).rsplit("[#", 1)[1].rstrip("]")
    assert "Tuesday 24 November, 10:00" in body(ack)  # the promise is the owner's deadline

    clock.current = datetime(2026, 11, 24, 10, 5, tzinfo=UTC)  # deadline passed, no plan: escalated
    before = escalations_counted(level=1)
    await Worker(settings, clock=clock).run_once()
    assert escalations_counted(level=1) > before  # the job said what it did, the runtime counted it
    clock.current = datetime(2026, 11, 25, 8, 31, tzinfo=UTC)  # the owner's digest time
    await Worker(settings, clock=clock).run_once()
    digest = mailstack.wait_for_message("boss", lambda m: tag in body(m) and "Digest" in str(m["Subject"]))
    assert str(digest["Subject"]).startswith("Digest Wednesday 25 November 2026")
    assert token in body(digest) and "third time" in body(digest)
    reply_to = str(digest["Reply-To"])
    assert reply_to.startswith("desk+o-d") and reply_to.endswith("@example.test")

    # forged: the owner's From, but sent to the plain address; and to a tag made for someone else
    for to in ("desk@example.test", reply_to.replace("desk+o-d", "desk+o-x")):
        forged = make_msgid(domain="evil.example")
        mailstack.send(client_mail(sender="Boss <boss@example.test>", to=to, subject=f"Re: {digest['Subject']}",
                                   message_id=forged, body=f"{token} resolved"),
                       mail_from="boss@example.test", rcpt_to=[to])
        mailstack.wait_for_message("desk", lambda m, f=forged: m["Message-ID"] == f)
    await Worker(settings, clock=clock).run_once()
    [concern] = await query(settings, Concern, Concern.id == int(token.removeprefix("C-")))
    assert concern.status == "acknowledged"
    decisions = {m.decision for m in await query(settings, MessageRow, MessageRow.from_addr == "boss@example.test")}
    assert "refused_command" in decisions

    # the real answer, to the signed Reply-To
    answer = make_msgid(domain="example.test")
    mailstack.send(client_mail(sender="Boss <boss@example.test>", to=reply_to, subject=f"Re: {digest['Subject']}",
                               message_id=answer, in_reply_to=str(digest["Message-ID"]),
                               body=f"{token}: call the client about the invoice by Friday\n"
                                    f"{token}: nonsense without a date\n\n> quoted digest {token} resolved"),
                   mail_from="boss@example.test", rcpt_to=[reply_to])
    mailstack.wait_for_message("desk", lambda m: m["Message-ID"] == answer)
    await Worker(settings, clock=clock).run_once()
    confirmation = mailstack.wait_for_message("boss", lambda m: m["In-Reply-To"] == answer)
    text = body(confirmation)
    assert f"{token} #1: call the client about the invoice" in text and "Fri 27 Nov 17:00" in text
    assert "nonsense without a date" in text and "by <date>" in text
    [concern] = await query(settings, Concern, Concern.id == concern.id)
    assert concern.status == "planned" and concern.escalation_level == 1
    [item] = await query(settings, ActionItem, ActionItem.concern_id == concern.id)
    assert item.owner == "boss@example.test" and item.due_at == datetime(2026, 11, 27, 17, tzinfo=UTC)

    # planned: the second level never hears of it, and nothing more goes to the owner before the item is due
    before = len(mailstack.messages("boss"))
    clock.current = datetime(2026, 11, 27, 9, tzinfo=UTC)
    await Worker(settings, clock=clock).run_once()
    assert not [m for m in mailstack.messages("chief") if tag in body(m)]
    assert len(mailstack.messages("boss")) == before


async def test_an_owner_reply_quoting_the_digest_unmarked_runs_only_the_owners_line(
        mailstack: Any, db_url: str) -> None:
    # issue 17, points 5 and 6 on Dovecot and Postfix: one client's subject carries a line separator and
    # another client's command; the owner answers one line above a Russian Outlook quote with no `>`
    empty_mailbox(mailstack, "desk")
    settings = settings_for(mailstack, db_url)
    clock = ManualClock(datetime(2026, 11, 23, 10, tzinfo=UTC))
    tag = uuid.uuid4().hex[:8]
    first, second = make_msgid(domain="example.test"), make_msgid(domain="example.test")
    # two clients of one account (one client's second message would join their first concern)
    for mid, subject, user in ((first, f"Invoice wrong again {tag}", "client1"),
                               (second, f"Boiler {tag}\u2028C-1 resolved", "client2")):
        raw = client_mail(sender=f"Client <{user}@example.test>", to="desk@example.test", subject="x",
                          message_id=mid, body="The invoice is wrong for the third time and nobody has called me.")
        encoded = "=?utf-8?b?" + __import__("base64").b64encode(subject.encode()).decode() + "?="
        mailstack.send(raw.replace(b"Subject: x", b"Subject: " + encoded.encode()),
                       mail_from=f"{user}@example.test", rcpt_to=["desk@example.test"])
        mailstack.wait_for_message("desk", lambda m, mid=mid: m["Message-ID"] == mid)
    await Worker(settings, clock=clock).run_once()
    # Postfix delivers the two acknowledgements on its own time: wait for each, not for the first
    acks = [mailstack.wait_for_message(user, lambda m, mid=mid: m["In-Reply-To"] == mid)
            for user, mid in (("client1", first), ("client2", second))]
    tokens = sorted(str(m["Subject"]).rsplit("[#", 1)[1].rstrip("]") for m in acks)
    clock.current = datetime(2026, 11, 24, 10, 5, tzinfo=UTC)
    await Worker(settings, clock=clock).run_once()
    clock.current = datetime(2026, 11, 25, 8, 31, tzinfo=UTC)
    await Worker(settings, clock=clock).run_once()
    digest = mailstack.wait_for_message("boss", lambda m: tag in body(m) and "Digest" in str(m["Subject"]))
    top, other = tokens  # the digest's example names the first
    answer = make_msgid(domain="example.test")
    quoted = (f"{other}: call the client about the boiler by Friday\n\n"
              f"От: Client care <desk@example.test>\nОтправлено: 25 ноября 2026 г. 8:31\n"
              f"Кому: boss@example.test\nТема: {digest['Subject']}\n\n{body(digest)}")
    mailstack.send(client_mail(sender="Boss <boss@example.test>", to=str(digest["Reply-To"]),
                               subject=f"RE: {digest['Subject']}", message_id=answer,
                               in_reply_to=str(digest["Message-ID"]), body=quoted),
                   mail_from="boss@example.test", rcpt_to=[str(digest["Reply-To"])])
    mailstack.wait_for_message("desk", lambda m: m["Message-ID"] == answer)
    await Worker(settings, clock=clock).run_once()
    confirmation = mailstack.wait_for_message("boss", lambda m: m["In-Reply-To"] == answer)
    statuses = {c.token: c.status for c in await query(settings, Concern) if c.token in tokens}
    assert statuses == {top: "acknowledged", other: "planned"}
    assert f"{other} #1: call the client about the boiler" in body(confirmation)
    assert "Not understood" not in body(confirmation)
    assert "\u2028" not in body(digest)
