"""Not a weapon (issue 17, point 8): the real worker on Maildir with real SQLite and PostgreSQL.

Acknowledgements go to the author (a Reply-To only within the author's organisation), the caps
count mailboxes however they are spelt, and a breaker that strangers tripped never silences a
client we knew before; an address that asked us to stop gets nothing automatic.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import select, update

from service.clock import UTC, ManualClock
from service.runtime.worker import Worker
from service.settings import Settings
from service.store.models import Client, Concern, MessageRow, OutboxRow

from mailfactory import client_mail, drop

T0 = datetime(2026, 12, 7, 9, tzinfo=UTC)
PHISH = "Your account is locked: log in at https://login.evil.example/reset within 24 hours. This is unacceptable."


def settings_for(tmp_path: Path, db_url: str, **kw: object) -> Settings:
    return Settings(inbox_url=f"maildir://{tmp_path / 'in'}", outbox_url=f"maildir://{tmp_path / 'out'}",
                    database_url=db_url, shared_address="care@example.test", default_owner="owner@example.test",
                    fetch_batch=50, **kw)  # type: ignore[arg-type]


async def resolve_all(settings: Settings) -> None:
    worker = Worker(settings)
    try:
        async with worker.sessions() as s, s.begin():
            await s.execute(update(Concern).values(status="resolved"))
    finally:
        await worker.engine.dispose()


def recipients(tmp_path: Path) -> list[str]:
    new = tmp_path / "out" / "new"
    msgs: list[EmailMessage] = [message_from_bytes(p.read_bytes(), policy=policy.default)  # type: ignore[misc]
                                for p in sorted(new.iterdir())] if new.exists() else []
    # the clients' mail only: an owner's digest (the late runs here stand for a worker that was down
    # at the digest hour, so it goes out at once) is not what the caps count
    return [a.addr_spec.lower() for m in msgs for a in m["To"].addresses
            if not a.addr_spec.lower().endswith("@example.test")]


async def outbox_and_messages(settings: Settings) -> tuple[list[OutboxRow], list[MessageRow]]:
    worker = Worker(settings)
    try:
        async with worker.sessions() as s:
            return (list((await s.scalars(select(OutboxRow))).all()),
                    list((await s.scalars(select(MessageRow).where(MessageRow.direction == "in"))).all()))
    finally:
        await worker.engine.dispose()


async def test_a_hundred_reply_to_victims_get_nothing(tmp_path: Path, db_url: str) -> None:
    # one sender, a hundred victims at a hundred domains in Reply-To, every spelling of Reply-To
    for n in range(100):
        victim = [f"victim{n}@domain{n}.example", f"Victim {n} <VICTIM{n}@Domain{n}.Example>",
                  f"<victim{n}+x@mail.domain{n}.example>"][n % 3]
        drop(tmp_path / "in", client_mail(sender="Eve <eve@evil.example>", subject=f"Security alert {n}", body=PHISH,
                                          headers={"Reply-To": victim}))
    settings = settings_for(tmp_path, db_url)
    stats = await Worker(settings, clock=ManualClock(T0)).run_once()
    # every one filed: one concern with the hundred messages in it, which the owner sees
    assert stats.outcomes == {"new_concern": 1, "follow_up": 99}
    got = recipients(tmp_path)
    assert not [r for r in got if "domain" in r], "a victim was written to"
    assert got == ["eve@evil.example"]  # the author alone, once
    _, rows = await outbox_and_messages(settings)
    assert len({r.concern_id for r in rows}) == 1 and None not in {r.concern_id for r in rows}
    # the same, with the From changed each time (a new client each): the mailbox cap holds
    for n in range(30):
        drop(tmp_path / "in", client_mail(sender=f"Eve <eve+{n}@evil.example>", subject=f"Notice {n}", body=PHISH,
                                          headers={"Reply-To": f"victim{n}@domain{n}.example"}))
    stats = await Worker(settings, clock=ManualClock(T0)).run_once()
    assert stats.outcomes == {"new_concern": 30}
    got = recipients(tmp_path)
    assert not [r for r in got if "domain" in r], "a victim was written to"
    assert len(got) == 3 and all(r.startswith("eve") for r in got)  # up to the mailbox's cap
    _, rows = await outbox_and_messages(settings)
    assert sum("reply-to-elsewhere" in (r.rules or {}).get("hit", []) for r in rows) == 31


async def test_one_sender_cannot_reach_many_mailboxes_through_its_own_domain(tmp_path: Path, db_url: str) -> None:
    # a Reply-To in the sender's own organisation is answered, but one sender causes at most sender_ack_cap
    for n in range(12):
        # From varied by +tag: a new client each (one client's messages would join one concern)
        drop(tmp_path / "in", client_mail(sender=f"Eve <eve+{n}@evil.example>", subject=f"Ticket {n}", body=PHISH,
                                          headers={"Reply-To": f"user{n}@mail.evil.example"}))
    settings = settings_for(tmp_path, db_url, sender_ack_cap=4)
    assert (await Worker(settings, clock=ManualClock(T0)).run_once()).outcomes == {"new_concern": 12}
    got = recipients(tmp_path)
    assert len(got) == len(set(got)) == 4 and all(r.endswith("@mail.evil.example") for r in got)


async def test_spellings_of_one_mailbox_share_one_cap(tmp_path: Path, db_url: str) -> None:
    # +tags, case, a trailing dot, subdomains: one mailbox, one cap (auto_reply_cap = 3 a day)
    spellings = ["victim+{n}@victim.example", "Victim+{n}@VICTIM.EXAMPLE", "victim@victim.example.",
                 "victim+{n}@mail.victim.example", "VICTIM@eu.mx.victim.example"]
    for n in range(40):
        drop(tmp_path / "in", client_mail(sender=f"V <{spellings[n % 5].format(n=n)}>", subject=f"Order {n}", body=PHISH))
    settings = settings_for(tmp_path, db_url)
    clock = ManualClock(T0)
    # a spelling without the +tag is one client each time: their later messages join their first concern
    assert (await Worker(settings, clock=clock).run_once()).outcomes == {"new_concern": 26, "follow_up": 14}
    clock.current = T0 + timedelta(hours=2)
    for n in range(40, 60):
        drop(tmp_path / "in", client_mail(sender=f"V <{spellings[n % 5].format(n=n)}>", subject=f"Order {n}", body=PHISH))
    assert (await Worker(settings, clock=clock).run_once()).outcomes == {"new_concern": 12, "follow_up": 8}
    got = recipients(tmp_path)
    assert len(got) == 3 and all(r.endswith("victim.example") for r in got)  # no trailing dot is written to
    outbox, _ = await outbox_and_messages(settings)
    assert {o.to_mailbox for o in outbox} == {"victim@victim.example"}


async def test_a_known_client_is_acknowledged_after_strangers_trip_the_breaker(tmp_path: Path, db_url: str) -> None:
    settings = settings_for(tmp_path, db_url, domain_reply_cap=5)
    clock = ManualClock(T0)
    drop(tmp_path / "in", client_mail(sender="Kim Park <kim@bigcorp.example>", subject="Invoice wrong"))
    assert (await Worker(settings, clock=clock).run_once()).outcomes == {"new_concern": 1}
    # three days later, forty strangers at the client's domain (forged, or a flood of reflections)
    clock.current = T0 + timedelta(days=3)
    for n in range(40):
        drop(tmp_path / "in", client_mail(sender=f"S{n} <stranger{n}@bigcorp.example>", subject=f"Alert {n}",
                                          body=PHISH))
    assert (await Worker(settings, clock=clock).run_once()).outcomes == {"new_concern": 40}
    assert len(recipients(tmp_path)) == 1 + 5  # the breaker opened after five
    clock.current += timedelta(minutes=10)
    await resolve_all(settings)  # Kim's first concern: a new one is filed, and acknowledged
    drop(tmp_path / "in", client_mail(sender="Kim Park <kim@bigcorp.example>", subject="Delivery late again",
                                      body="I am really worried: the delivery is three days late and nobody answers."))
    drop(tmp_path / "in", client_mail(sender="New One <new.one@bigcorp.example>", subject="Refund",
                                      body="This is unacceptable, the invoice is wrong again and nobody called back."))
    assert (await Worker(settings, clock=clock).run_once()).outcomes == {"new_concern": 2}
    got = recipients(tmp_path)
    assert got.count("kim@bigcorp.example") == 2  # known before the flood: still answered
    assert "new.one@bigcorp.example" not in got  # a stranger: the breaker holds
    _, rows = await outbox_and_messages(settings)
    [kim] = [r for r in rows if r.subject == "Delivery late again"]
    assert kim.rules is not None and "circuit-breaker" in kim.rules["missed"]


async def test_an_opted_out_address_gets_no_acknowledgement(tmp_path: Path, db_url: str) -> None:
    settings = settings_for(tmp_path, db_url)
    clock = ManualClock(T0)
    drop(tmp_path / "in", client_mail(sender="Ana <ana@client.example>", subject="stop", body="stop"))
    assert (await Worker(settings, clock=clock).run_once()).outcomes == {"opt_out": 1}
    assert recipients(tmp_path) == ["ana@client.example"]  # the one note confirming her opt-out (issue 17, 1)
    clock.current += timedelta(hours=1)
    # a colleague's complaint asks for replies at Ana's address (same organisation: would be answered there)
    drop(tmp_path / "in", client_mail(sender="Bo <bo@client.example>", subject="Invoice wrong",
                                      headers={"Reply-To": "Ana <ana@client.example>"}))
    assert (await Worker(settings, clock=clock).run_once()).outcomes == {"new_concern": 1}
    assert recipients(tmp_path) == ["ana@client.example"]  # and nothing more
    worker = Worker(settings)
    try:
        async with worker.sessions() as s:
            ana = await s.scalar(select(Client).where(Client.email == "ana@client.example"))
            assert ana is not None and ana.opted_out_at is not None
    finally:
        await worker.engine.dispose()
