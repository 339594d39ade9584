"""Plans, escalations and digests through the real store (SQLite and PostgreSQL), with a moved clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import func, select

from service import cli
from service.clock import ManualClock
from service.runtime.worker import Worker
from service.settings import AccountConfig, Settings
from service.store import jobs
from service.store.models import Concern, ConcernEvent, Digest, EscalationRow, Job, MessageRow, OutboxRow

from mailfactory import client_mail, drop
from support import query

MONDAY_10 = datetime(2026, 11, 23, 10, tzinfo=UTC)  # Lisbon is UTC+0 in winter


ACME = AccountConfig(name="Acme", owner="boss@example.test", domains=["client.example"],
                     second_level="chief@example.test", staff=["ben@example.test"], timezone="Europe/Lisbon",
                     business_hours="09:00-17:00", digest_time="08:30")


def settings_for(tmp_path: Path, db_url: str, **kw: object) -> Settings:
    return Settings(inbox_url=f"maildir://{tmp_path / 'in'}", outbox_url=f"maildir://{tmp_path / 'out'}",
                    database_url=db_url, shared_address="care@example.test", default_owner="owner@example.test",
                    accounts=[ACME], signing_key="test-key", **kw)  # type: ignore[arg-type]


def sent(tmp_path: Path) -> list[EmailMessage]:
    new = tmp_path / "out" / "new"
    return [message_from_bytes(p.read_bytes(), policy=policy.default)  # type: ignore[misc]
            for p in sorted(new.iterdir(), key=lambda p: p.stat().st_mtime_ns)] if new.exists() else []


async def run(settings: Settings, clock: ManualClock) -> dict[str, int]:
    stats = await Worker(settings, clock=clock).run_once()
    return {**stats.outcomes, "jobs": stats.jobs, "sent": stats.sent}


async def test_unplanned_concern_escalates_once_into_the_owners_digest(tmp_path: Path, db_url: str) -> None:
    settings = settings_for(tmp_path, db_url)
    clock = ManualClock(MONDAY_10)
    drop(tmp_path / "in", client_mail(body="We were charged twice and nobody has called back. This is unacceptable."))
    assert (await run(settings, clock))["new_concern"] == 1
    [concern] = await query(settings, Concern)
    assert isinstance(concern, Concern) and concern.status == "acknowledged" and concern.severity == "normal"
    assert concern.respond_by == datetime(2026, 11, 24, 10, tzinfo=UTC)  # one working day in Lisbon
    # before the deadline nothing happens; after it, one escalation waits for the digest
    clock.current = datetime(2026, 11, 24, 9, 59, tzinfo=UTC)
    assert (await run(settings, clock))["jobs"] == 0
    clock.current = datetime(2026, 11, 24, 10, 1, tzinfo=UTC)
    assert (await run(settings, clock))["jobs"] == 1
    [esc] = await query(settings, EscalationRow)
    assert isinstance(esc, EscalationRow) and esc.recipient == "boss@example.test" and esc.digest_id is None
    [job] = await query(settings, Job, Job.kind == "digest")
    assert isinstance(job, Job) and job.due_at == datetime(2026, 11, 25, 8, 30, tzinfo=UTC)
    # the digest goes out at 08:30 Lisbon time, once
    clock.current = datetime(2026, 11, 25, 8, 31, tzinfo=UTC)
    result = await run(settings, clock)
    assert result["jobs"] >= 1 and result["sent"] == 1
    digest = sent(tmp_path)[-1]
    assert digest["To"] == "boss@example.test" and digest["Auto-Submitted"] == "auto-generated"
    assert digest["Reply-To"].startswith("care+o-d")
    text = digest.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "C-1" in text and "charged twice" in text and "no action plan 1 working day" in text
    clock.current = datetime(2026, 11, 25, 9, 31, tzinfo=UTC)  # nothing new: no second digest
    assert (await run(settings, clock))["sent"] == 0
    # still no plan a working day after the first deadline (25 Nov 10:00): level 2. No worker ran at the
    # 26 Nov 08:30 digest that would have carried it (cron was off): the next run sends it at once,
    # not at the next day's (issue 18, point 4), and that slot sends nothing again
    clock.current = datetime(2026, 11, 26, 14, 31, tzinfo=UTC)
    assert (await run(settings, clock))["sent"] == 1
    clock.current = datetime(2026, 11, 27, 8, 31, tzinfo=UTC)
    assert (await run(settings, clock))["sent"] == 0
    clock.current = datetime(2026, 12, 10, 8, 31, tzinfo=UTC)  # and then nothing, ever
    assert (await run(settings, clock))["sent"] == 0
    assert len([m for m in sent(tmp_path) if m["To"] == "boss@example.test"]) == 1
    escalated = [m for m in sent(tmp_path) if m["To"] == "chief@example.test"]
    assert len(escalated) == 1 and "escalated to level 2" in escalated[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]


async def test_a_digest_written_before_a_crash_is_sent_once(tmp_path: Path, db_url: str) -> None:
    settings = settings_for(tmp_path, db_url)
    clock = ManualClock(MONDAY_10)
    drop(tmp_path / "in", client_mail(body="The invoice is wrong again and nobody has answered my emails."))
    await run(settings, clock)
    clock.current = datetime(2026, 11, 24, 10, 1, tzinfo=UTC)  # past the deadline: escalated
    assert (await run(settings, clock))["jobs"] == 1
    clock.current = datetime(2026, 11, 25, 8, 31, tzinfo=UTC)  # digest time
    # a worker that writes the digest, then dies before sending it
    worker = Worker(settings, clock=clock)
    await worker.start()
    assert await worker.run_due_jobs() == 1
    await worker.close()
    [digest_row] = await query(settings, OutboxRow, OutboxRow.purpose == "digest")
    assert isinstance(digest_row, OutboxRow) and digest_row.status == "pending"
    # and a stale claim of the same job by another worker changes nothing
    async with Worker(settings).sessions() as s:
        assert int(await s.scalar(select(func.count(Digest.id))) or 0) == 1
    first = await run(settings, clock)
    second = await run(settings, clock)
    assert first["sent"] == 1 and second["sent"] == 0
    assert len([m for m in sent(tmp_path) if m["To"] == "boss@example.test"]) == 1


async def test_high_severity_alerts_at_once(tmp_path: Path, db_url: str) -> None:
    settings = settings_for(tmp_path, db_url)
    clock = ManualClock(MONDAY_10)
    drop(tmp_path / "in", client_mail(
        subject="URGENT: payroll failed", body="This is absolutely unacceptable. Our whole staff has not been paid "
        "and you promised it was fixed. I am furious and I want a call NOW."))
    await run(settings, clock)
    [concern] = await query(settings, Concern)
    assert isinstance(concern, Concern)
    if concern.severity != "high":
        pytest.skip(f"the detector scored this {concern.score}: not high severity, covered by the pure tests")
    clock.current = MONDAY_10 + timedelta(hours=2, minutes=1)
    result = await run(settings, clock)
    assert result["sent"] == 1
    [alert] = [m for m in sent(tmp_path) if m["To"] == "boss@example.test"]
    assert alert["Subject"].startswith("Urgent:")


def cli_run(settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    for key, value in settings_env.items():
        monkeypatch.setenv(key, value)
    return cli.main(list(args))


async def test_cli_plan_done_resolve_show_and_reopen(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    settings = settings_for(tmp_path, db_url)
    clock = ManualClock(datetime.now(UTC))
    drop(tmp_path / "in", client_mail(message_id="<first@client.example>",
                                      body="We were charged twice and nobody has called back. This is unacceptable."))
    await run(settings, clock)
    env = {"FOLLOWUP_INBOX_URL": settings.inbox_url, "FOLLOWUP_OUTBOX_URL": settings.outbox_url,
           "FOLLOWUP_DATABASE_URL": db_url, "FOLLOWUP_SHARED_ADDRESS": "care@example.test",
           "FOLLOWUP_ACCOUNTS": ACME.model_dump_json().join("[]"), "FOLLOWUP_LOG_FORMAT": "text"}
    capsys.readouterr()
    # the CLI is synchronous (asyncio.run): run it off the test's event loop
    import asyncio

    async def call(*args: str) -> tuple[int, str]:
        code = await asyncio.to_thread(cli_run, env, monkeypatch, *args)
        out = capsys.readouterr()
        return code, out.out + out.err

    code, out = await call("plan", "C-1", "Call Ana about the refund", "--owner", "ben@example.test",
                           "--due", "2099-01-15")
    assert code == 0 and "C-1 #1: Call Ana about the refund (owner ben@example.test" in out
    code, out = await call("plan", "C-1", "Too late", "--due", "2001-01-01")
    assert code == 1 and "not in the future" in out
    code, out = await call("concerns", "--format", "json")
    assert code == 0 and '"status": "planned"' in out and '"id": "C-1"' in out
    code, out = await call("done", "C-1")
    assert code == 0 and "C-1 #1 done" in out
    code, out = await call("resolve", "C-1", "--note", "refunded")
    assert code == 0
    code, out = await call("show", "C-1")
    assert code == 0
    for needle in ("acknowledged", "planned", "resolved", "Call Ana about the refund", "verdict complaint",
                   "evidence:", "-> ana@client.example  ack [sent]"):
        assert needle in out, (needle, out)
    code, out = await call("show", "C-99")
    assert code == 1 and "no concern C-99" in out
    # the client writes again on the resolved concern: it reopens
    drop(tmp_path / "in", client_mail(message_id="<again@client.example>", in_reply_to="<first@client.example>",
                                      subject="Re: Invoice charged twice [#C-1]", body="It happened again."))
    await run(settings, clock)
    [concern] = await query(settings, Concern)
    assert isinstance(concern, Concern) and concern.status == "open"
    kinds = [e.kind for e in await query(settings, ConcernEvent) if isinstance(e, ConcernEvent)]
    assert kinds == ["created", "acknowledged", "plan", "done", "resolved", "reopened"]


async def test_digest_preview_and_accounts_cli(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio

    settings = settings_for(tmp_path, db_url)
    env = {"FOLLOWUP_INBOX_URL": settings.inbox_url, "FOLLOWUP_OUTBOX_URL": settings.outbox_url,
           "FOLLOWUP_DATABASE_URL": db_url, "FOLLOWUP_SHARED_ADDRESS": "care@example.test",
           "FOLLOWUP_ACCOUNTS": ACME.model_dump_json().join("[]"), "FOLLOWUP_LOG_FORMAT": "text"}

    async def call(*args: str) -> tuple[int, str]:
        code = await asyncio.to_thread(cli_run, env, monkeypatch, *args)
        out = capsys.readouterr()
        return code, out.out + out.err

    code, out = await call("digest", "--owner", "boss@example.test", "--preview")
    assert code == 0 and "nothing to send" in out
    clock = ManualClock(MONDAY_10)
    drop(tmp_path / "in", client_mail(body="We were charged twice <script>alert(1)</script> and nobody called."))
    await run(settings, clock)
    clock.current = datetime(2026, 11, 24, 10, 5, tzinfo=UTC)  # just past the deadline: the digest slot is ahead
    worker = Worker(settings, clock=clock)
    await worker.start()
    await worker.run_due_jobs()  # escalates; the digest itself waits for 08:30
    await worker.close()
    html = tmp_path / "digest.html"
    code, out = await call("digest", "--owner", "boss@example.test", "--preview", "--html", str(html))
    assert code == 0 and out.startswith("Subject: Digest")
    assert "&lt;script&gt;" in html.read_text() or "script" not in html.read_text()
    assert "<script>" not in html.read_text()
    assert not [m for m in sent(tmp_path) if m["To"] == "boss@example.test"]  # preview sends nothing
    code, out = await call("accounts", "set", "Globex", "--owner", "gina@example.test", "--domain", "globex.example",
                           "--timezone", "America/New_York")
    assert code == 0 and "saved" in out
    code, out = await call("accounts", "set", "Bad", "--owner", "x@example.test", "--timezone", "Nowhere/Else")
    assert code == 1 and "unknown time zone" in out
    code, out = await call("accounts", "set", "Acme", "--owner", "x@example.test")
    assert code == 1 and "settings file" in out
    code, out = await call("accounts", "list", "--format", "json")
    assert code == 0 and '"Globex"' in out and '"Acme"' in out and '"default"' in out
    code, out = await call("accounts", "remove", "Globex")
    assert code == 0


async def test_two_workers_share_due_jobs_without_doing_one_twice(tmp_path: Path, pg_url: str) -> None:
    import asyncio

    settings = settings_for(tmp_path, pg_url)
    clock = ManualClock(MONDAY_10)
    for n in range(6):
        drop(tmp_path / "in", client_mail(sender=f"Client {n} <c{n}@client.example>", subject=f"Invoice {n}",
                                          body="The invoice is wrong again and nobody has answered my emails."))
    await run(settings, clock)
    clock.current = datetime(2026, 11, 24, 10, 1, tzinfo=UTC)
    workers = [Worker(settings, clock=clock) for _ in range(3)]
    for w in workers:
        await w.start()
    ran = await asyncio.gather(*(w.run_due_jobs() for w in workers))
    for w in workers:
        await w.close()
    assert sum(ran) == 6  # six escalation jobs, each run by exactly one worker
    assert len(await query(settings, EscalationRow)) == 6
    clock.current = datetime(2026, 11, 25, 8, 31, tzinfo=UTC)
    workers = [Worker(settings, clock=clock) for _ in range(3)]
    for w in workers:
        await w.start()
    await asyncio.gather(*(w.run_due_jobs() for w in workers))
    for w in workers:
        await w.close()
    [digest] = await query(settings, Digest)
    assert isinstance(digest, Digest) and digest.recipient == "boss@example.test"


@pytest.mark.parametrize(("sender", "auth", "decision"), [
    ("boss@example.test", "mx.example.test; dkim=pass; dmarc=pass", "owner_commands"),
    ("boss@example.test", "mx.example.test; dkim=fail; dmarc=fail header.from=example.test", "refused_command"),
    ("mallory@example.test", "", "refused_command"),  # a valid tag, but signed for someone else
    ("ben@example.test", "", "owner_commands"),  # staff answering the owner's forwarded digest
])
async def test_email_plans_need_the_signed_tag_the_right_sender_and_no_failed_dmarc(
        tmp_path: Path, sender: str, auth: str, decision: str, caplog: pytest.LogCaptureFixture) -> None:
    settings = settings_for(tmp_path, f"sqlite:///{tmp_path / 'f.db'}")
    clock = ManualClock(MONDAY_10)
    drop(tmp_path / "in", client_mail(body="The invoice is wrong again and nobody has answered my emails."))
    await run(settings, clock)
    clock.current = datetime(2026, 11, 24, 10, 1, tzinfo=UTC)
    await run(settings, clock)
    clock.current = datetime(2026, 11, 25, 8, 31, tzinfo=UTC)
    await run(settings, clock)
    [digest] = [m for m in sent(tmp_path) if m["To"] == "boss@example.test"]
    headers = {"Authentication-Results": auth} if auth else {}
    drop(tmp_path / "in", client_mail(sender=f"X <{sender}>", to=str(digest["Reply-To"]), subject="Re: digest",
                                      message_id="<answer@example.test>", headers=headers,
                                      body="C-1: call the client by Friday"))
    with caplog.at_level("WARNING"):
        result = await run(settings, clock)
    assert result.get(decision) == 1
    [concern] = await query(settings, Concern)
    assert isinstance(concern, Concern)
    assert concern.status == ("planned" if decision == "owner_commands" else "acknowledged")
    if decision == "refused_command":
        assert "owner command refused" in caplog.text
    [answer] = await query(settings, MessageRow, MessageRow.message_id == "<answer@example.test>")
    assert answer.decision == decision and answer.rules["hit"][0] == "reply-tag"
    assert ("authorised-sender" in answer.rules["hit"]) == (decision == "owner_commands")


async def test_two_transactions_scheduling_one_job_make_one_row(tmp_path: Path, pg_url: str) -> None:
    # both find no digest job for the owner; the second insert waits for the first and yields to it
    import asyncio

    from service.store.db import transaction

    settings = settings_for(tmp_path, pg_url)
    worker = Worker(settings)
    await worker.start()
    later, earlier = datetime(2026, 11, 25, 9, tzinfo=UTC), datetime(2026, 11, 25, 8, tzinfo=UTC)
    try:
        first_inserted = asyncio.Event()
        release_first = asyncio.Event()

        async def first() -> None:
            async with transaction(worker.sessions) as s:
                await jobs.schedule(s, "digest:boss@example.test", "digest", later)
                first_inserted.set()
                await release_first.wait()

        async def second() -> None:
            await first_inserted.wait()
            async with transaction(worker.sessions) as s:
                await jobs.schedule(s, "digest:boss@example.test", "digest", earlier)

        task_first, task_second = asyncio.create_task(first()), asyncio.create_task(second())
        await asyncio.sleep(0.5)  # the second is now waiting on the first's uncommitted row
        assert not task_second.done()
        release_first.set()
        await asyncio.gather(task_first, task_second)
    finally:
        await worker.close()
    [job] = [j for j in await query(settings, Job) if j.key == "digest:boss@example.test"]
    assert job.due_at == earlier and job.status == "pending"  # the earlier time wins, as in one transaction


async def test_workers_started_together_all_start(tmp_path: Path, pg_url: str) -> None:
    # each writes the TOML accounts at start; without a lock all but one died on accounts_name_key
    import asyncio

    settings = settings_for(tmp_path, pg_url)
    workers = [Worker(settings) for _ in range(6)]
    try:
        results = await asyncio.gather(*(w.start() for w in workers), return_exceptions=True)
    finally:
        for w in workers:
            await w.close()
    assert [r for r in results if isinstance(r, BaseException)] == []
    from service.store.models import Account

    assert sorted(a.name for a in await query(settings, Account)) == ["Acme", "default"]
