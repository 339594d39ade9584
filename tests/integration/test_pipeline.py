"""The loop on Maildir folders with real SQLite and PostgreSQL: dedupe, threading, quarantine, cap."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from service.runtime.worker import Worker
from service.settings import Settings
from service.store.models import Concern, ConcernEvent, Job, MessageRow, OutboxRow, Quarantine

from mailfactory import client_mail, deep_nesting, drop
from support import maildir_settings as settings_for
from support import sent


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "inbox", tmp_path / "outbox"



async def count(db_url: str, settings: Settings, model: type, *where: object) -> int:
    worker = Worker(settings)
    try:
        async with worker.sessions() as s:
            return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)
    finally:
        await worker.engine.dispose()


async def test_complaint_is_filed_and_acknowledged_with_threading(dirs: tuple[Path, Path], db_url: str) -> None:
    inbox, outbox = dirs
    drop(inbox, client_mail(message_id="<c1@client.example>"))
    settings = settings_for(dirs, db_url)
    stats = await Worker(settings).run_once()
    assert stats.outcomes == {"new_concern": 1} and stats.sent == 1
    [ack] = sent(outbox)
    assert ack["In-Reply-To"] == "<c1@client.example>"
    assert ack["References"] == "<c1@client.example>"
    assert ack["Subject"] == "Re: Invoice charged twice [#C-1]"
    assert ack["Auto-Submitted"] == "auto-replied"
    assert [a.addr_spec for a in ack["To"].addresses] == ["ana@client.example"]
    text = ack.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "This is unacceptable." in text or "Nobody called back." in text  # their own words
    assert "C-1" in text
    assert not list((inbox / "new").iterdir())
    assert [p.name.endswith(":2,S") for p in (inbox / "cur").iterdir()] == [True]


async def test_a_batch_writes_every_row_of_its_new_concerns(dirs: tuple[Path, Path], db_url: str) -> None:
    # on SQLite events, jobs and message rows go in by executemany, outside the ORM's unit of work
    inbox, _ = dirs
    for n in range(3):
        drop(inbox, client_mail(sender=f"C{n} <c{n}@client.example>", message_id=f"<w{n}@client.example>"))
    drop(inbox, client_mail(subject="Thanks", body="Thank you, all good now.", message_id="<w9@client.example>"))
    settings = settings_for(dirs, db_url, fetch_batch=10)
    assert (await Worker(settings).run_once()).outcomes == {"new_concern": 3, "no_concern": 1}
    worker = Worker(settings)
    try:
        async with worker.sessions() as s:
            events = sorted((await s.execute(select(ConcernEvent.concern_id, ConcernEvent.kind))).all())
            jobs = sorted((await s.scalars(select(Job.key))).all())
            messages = sorted((await s.execute(select(MessageRow.direction, MessageRow.message_id))).all())
    finally:
        await worker.engine.dispose()
    assert events == [(c, kind) for c in (1, 2, 3) for kind in ("acknowledged", "created")]
    assert [k.split(":")[0] for k in jobs] == ["checkin"] * 3 + ["escalate"] * 3
    assert [m for d, m in messages if d == "in"] == [f"<w{n}@client.example>" for n in (0, 1, 2, 9)]
    assert len([m for d, m in messages if d == "out"]) == 3


async def test_one_acknowledgement_per_concern_across_a_thread(dirs: tuple[Path, Path], db_url: str) -> None:
    inbox, outbox = dirs
    settings = settings_for(dirs, db_url)
    drop(inbox, client_mail(message_id="<t1@client.example>"))
    await Worker(settings).run_once()
    [ack] = sent(outbox)
    # the client answers our acknowledgement, worried again, and writes once more by token only
    drop(inbox, client_mail(message_id="<t2@client.example>", in_reply_to=ack["Message-ID"],
                            subject=ack["Subject"], body="I am furious, still nothing."))
    drop(inbox, client_mail(message_id="<t3@client.example>", subject="Update [#C-1]",
                            body="This is unacceptable, third time I write."))
    stats = await Worker(settings).run_once()
    assert stats.outcomes == {"follow_up": 2}
    assert len(sent(outbox)) == 1
    assert await count(db_url, settings, Concern) == 1
    assert await count(db_url, settings, MessageRow, MessageRow.concern_id == 1,
                       MessageRow.direction == "in") == 3


async def test_processed_twice_gives_one_concern_and_one_reply(dirs: tuple[Path, Path], db_url: str) -> None:
    inbox, outbox = dirs
    settings = settings_for(dirs, db_url)
    raw = client_mail(message_id="<dup@client.example>")
    drop(inbox, raw)
    await Worker(settings).run_once()
    # a crash after commit but before the server flag: the message is still unprocessed there
    for path in list((inbox / "cur").iterdir()):
        shutil.move(path, inbox / "new" / path.name.split(":2,")[0])
    drop(inbox, raw)  # and a second delivery of the same message
    stats = await Worker(settings).run_once()
    assert stats.outcomes == {"duplicate": 2}
    assert len(sent(outbox)) == 1
    assert await count(db_url, settings, Concern) == 1
    assert await count(db_url, settings, OutboxRow) == 1


async def test_broken_message_is_quarantined_and_the_next_one_processed(
        dirs: tuple[Path, Path], db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # a message the parser cannot read: deep MIME nesting was one until the parser was given only the
    # first 32 levels (service/mailformat/readers.py), so the failure is made here
    from service.runtime import prepare

    real = prepare.parse_message

    def breaks_on_deep_nesting(data: bytes, **kw: tuple[str, ...]) -> object:
        if data == deep_nesting():
            raise RecursionError("maximum recursion depth exceeded")
        return real(data, **kw)

    monkeypatch.setattr(prepare, "parse_message", breaks_on_deep_nesting)
    inbox, outbox = dirs
    settings = settings_for(dirs, db_url)
    drop(inbox, deep_nesting())
    drop(inbox, client_mail(message_id="<after@client.example>"))
    stats = await Worker(settings).run_once()
    assert stats.outcomes == {"quarantined": 1, "new_concern": 1}
    assert len(sent(outbox)) == 1
    worker = Worker(settings)
    async with worker.sessions() as s:
        [q] = (await s.scalars(select(Quarantine))).all()
    await worker.engine.dispose()
    assert "RecursionError" in q.reason
    assert q.raw == deep_nesting()  # kept whole
    assert not list((inbox / "new").iterdir())  # marked, so it never blocks the inbox


async def test_a_message_failing_mid_batch_is_quarantined_alone(
        dirs: tuple[Path, Path], db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # the batch is one transaction: a failure rolls it back and it is stored again message by message
    from service.flows import intake

    real = intake.triage_context

    async def fails_for_one(session: object, msg: object, *args: object) -> object:
        if getattr(msg, "message_id", "") == "<m3@client.example>":
            raise ValueError("cannot store this one")
        return await real(session, msg, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(intake, "triage_context", fails_for_one)
    inbox, outbox = dirs
    for n in range(6):
        drop(inbox, client_mail(message_id=f"<m{n}@client.example>", sender=f"C {n} <c{n}@client.example>"))
    settings = settings_for(dirs, db_url)
    stats = await Worker(settings).run_once()
    assert stats.outcomes == {"new_concern": 5, "quarantined": 1}
    assert len(sent(outbox)) == 5
    assert await count(db_url, settings, MessageRow, MessageRow.direction == "in") == 5
    assert await count(db_url, settings, Quarantine, Quarantine.reason.contains("cannot store this one")) == 1
    assert await count(db_url, settings, Concern) == 5


async def test_per_sender_cap(dirs: tuple[Path, Path], db_url: str) -> None:
    inbox, outbox = dirs
    settings = settings_for(dirs, db_url, auto_reply_cap=2)
    for n in range(4):  # one mailbox, four clients (one client's would join their first concern)
        drop(inbox, client_mail(sender=f"Ana <ana+{n}@client.example>", subject=f"Problem {n}",
                                body=f"This is unacceptable, problem {n}."))
    stats = await Worker(settings).run_once()
    assert stats.outcomes == {"new_concern": 4}
    assert len(sent(outbox)) == 2
    assert await count(db_url, settings, MessageRow, MessageRow.decision == "new_concern") == 4


async def test_a_reply_in_the_same_batch_joins_the_concern_its_first_message_opened(
        dirs: tuple[Path, Path], db_url: str) -> None:
    # new concerns of a batch are written together at its end: a message answering one of
    # them must still find its thread (and the first's acknowledgement still counts once)
    inbox, outbox = dirs
    drop(inbox, client_mail(message_id="<b1@client.example>"))
    drop(inbox, client_mail(message_id="<b2@client.example>", in_reply_to="<b1@client.example>",
                            subject="Re: Invoice charged twice", body="And still nothing. This is unacceptable."))
    drop(inbox, client_mail(sender="Bo <bo@other.example>", message_id="<b3@other.example>"))
    settings = settings_for(dirs, db_url)
    stats = await Worker(settings).run_once()
    assert stats.outcomes == {"new_concern": 2, "follow_up": 1}
    assert await count(db_url, settings, Concern) == 2
    assert await count(db_url, settings, MessageRow, MessageRow.message_id == "<b2@client.example>",
                       MessageRow.concern_id.is_not(None)) == 1
    assert sorted(m["Subject"] for m in sent(outbox)) == ["Re: Invoice charged twice [#C-1]",
                                                         "Re: Invoice charged twice [#C-2]"]


async def test_a_reply_in_the_same_batch_to_a_follow_up_finds_its_concern(dirs: tuple[Path, Path],
                                                                            db_url: str) -> None:
    # inbound rows of messages that open no concern are written at the batch's end too: a later
    # message of the batch that answers only such a message must still find the thread
    inbox, _ = dirs
    drop(inbox, client_mail(message_id="<f1@client.example>"))
    settings = settings_for(dirs, db_url)
    assert (await Worker(settings).run_once()).outcomes == {"new_concern": 1}
    drop(inbox, client_mail(subject="Re: Invoice charged twice [#C-1]", body="Any news on this?",
                            message_id="<f2@client.example>"))
    drop(inbox, client_mail(subject="Re: Invoice charged twice", body="Hello? Any news?",
                            message_id="<f3@client.example>", in_reply_to="<f2@client.example>"))
    assert (await Worker(settings).run_once()).outcomes == {"follow_up": 2}
    assert await count(db_url, settings, Concern) == 1
    assert await count(db_url, settings, MessageRow, MessageRow.concern_id == 1, MessageRow.direction == "in") == 3


async def test_a_batch_of_new_concerns_takes_a_few_inserts_not_one_per_row(dirs: tuple[Path, Path], db_url: str) -> None:
    # one row per statement was most of the cost of storing a batch on SQLite (bench/pipeline_only.py)
    inbox, _ = dirs
    for n in range(6):
        drop(inbox, client_mail(sender=f"C{n} <c{n}@client.example>", message_id=f"<i{n}@client.example>"))
        drop(inbox, client_mail(sender=f"T{n} <t{n}@client.example>", subject="Thanks", body="All good now.",
                                message_id=f"<t{n}@client.example>"))
    worker = Worker(settings_for(dirs, db_url, fetch_batch=20))
    inserts: Counter[str] = Counter()

    def seen(conn: object, cursor: object, statement: str, *rest: object) -> None:
        if statement.startswith("INSERT INTO"):
            inserts[statement.split()[2].strip('"')] += 1

    event.listen(worker.engine.sync_engine, "before_cursor_execute", seen)
    assert (await worker.run_once()).outcomes == {"new_concern": 6, "no_concern": 6}
    # 6 rows each (18 messages); SQLAlchemy may split an executemany by which columns are NULL
    tables = ("clients", "concerns", "outbox", "messages", "concern_events", "jobs")
    assert all(1 <= inserts[t] <= 3 for t in tables), inserts


async def test_thanks_quoting_an_old_complaint_is_not_a_concern(dirs: tuple[Path, Path], db_url: str) -> None:
    inbox, outbox = dirs
    body = ("Thanks so much, all sorted now!\n\nOn Mon, 3 Nov 2026 at 10:00, Care <care@example.test> wrote:\n"
            "> This is unacceptable, I am furious\n> nobody called\n")
    drop(inbox, client_mail(body=body, subject="Re: sorted"))
    stats = await Worker(settings_for(dirs, db_url)).run_once()
    assert stats.outcomes == {"no_concern": 1} and sent(outbox) == []


async def test_automatic_mail_gets_no_reply(dirs: tuple[Path, Path], db_url: str) -> None:
    inbox, outbox = dirs
    drop(inbox, client_mail(headers={"Auto-Submitted": "auto-replied"}))
    drop(inbox, client_mail(sender="MAILER-DAEMON <mailer-daemon@mx.client.example>"))
    drop(inbox, client_mail(headers={"List-Id": "<news.client.example>"}))
    drop(inbox, client_mail(sender="Care <care@example.test>"))  # our own address
    stats = await Worker(settings_for(dirs, db_url)).run_once()
    assert stats.outcomes == {"ignore": 4} and sent(outbox) == []


async def test_run_once_sends_acknowledgements_while_the_backlog_is_read(dirs: tuple[Path, Path],
                                                                         db_url: str) -> None:
    inbox, outbox = dirs
    for n in range(16):
        drop(inbox, client_mail(message_id=f"<b{n}@client.example>", sender=f"C {n} <c{n}@client.example>"))
    worker = Worker(settings_for(dirs, db_url, fetch_batch=2))
    seen_before_batch: list[int] = []
    handle = worker.pipeline.handle_batch

    async def watching(raws: list[object], now: object, prepared: object = None) -> object:
        seen_before_batch.append(len(sent(outbox)))
        return await handle(raws, now, prepared)  # type: ignore[arg-type]

    worker.pipeline.handle_batch = watching  # type: ignore[assignment,method-assign]
    stats = await worker.run_once()
    assert stats.outcomes == {"new_concern": 16} and len(sent(outbox)) == 16
    # eight batches of two: before the last one, earlier clients already have an acknowledgement
    # (sequentially, none would leave before the whole backlog is filed)
    assert len(seen_before_batch) == 8 and seen_before_batch[-1] >= 1


async def test_a_unique_clash_with_another_worker_is_retried_not_taken_for_a_duplicate(
        dirs: tuple[Path, Path], db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # e.g. the same new client written by a worker of another mailbox at the same moment: the
    # message must be filed on a second try, not marked done as if its Message-ID were known
    from sqlalchemy.exc import IntegrityError

    from service.flows import intake

    real = intake.triage_context
    clashes = {"left": 2}  # the batch attempt and the first attempt alone

    async def clashing(session: object, msg: object, *args: object) -> object:
        if clashes["left"]:
            clashes["left"] -= 1
            raise IntegrityError("INSERT INTO clients", {}, Exception("duplicate key clients_email_key"))
        return await real(session, msg, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(intake, "triage_context", clashing)
    inbox, outbox = dirs
    drop(inbox, client_mail(message_id="<clash@client.example>"))
    settings = settings_for(dirs, db_url)
    stats = await Worker(settings).run_once()
    assert stats.outcomes == {"new_concern": 1} and len(sent(outbox)) == 1
    assert clashes["left"] == 0
