"""Parsing and scoring in a process of their own (FOLLOWUP_PREPARE_PROCESS), and replies over several
SMTP connections (FOLLOWUP_SMTP_CONNECTIONS): the same outcomes as in one process over one connection."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from service.core import acks
from service.mailformat.parse import parse_message
from service.runtime import prepare
from service.runtime.prepare import Preparer, Recipe, Unprepared, prepare_batch, recipe_of
from service.runtime.worker import Worker
from service.settings import Settings

from conftest import SmtpSink
from mailfactory import client_mail

WORRIES = [("Invoice charged twice", "This is unacceptable. We were charged twice and nobody called back."),
           ("Migration on Monday", "I'm really worried the migration fails and we lose our client records.")]
THANKS = ("Thanks", "Thanks a lot for the quick help, everything works again.")


def recipe() -> Recipe:
    return recipe_of(Settings(inbox_url="maildir:///tmp/unused-in", outbox_url="maildir:///tmp/unused-out",
                              shared_address="care@example.test"))


def mails(n: int) -> list[bytes]:
    out = []
    for k in range(n):
        subject, body = THANKS if k % 3 == 2 else WORRIES[k % 2]
        out.append(client_mail(sender=f"Client {k} <c{k}@client.example>", subject=f"{subject} {k}", body=body))
    return out


def test_a_batch_that_fails_to_score_is_scored_one_by_one_and_the_culprit_named(
        monkeypatch: pytest.MonkeyPatch) -> None:
    datas = mails(3)

    def batch_fails(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("batch pass broke")

    real_detect = prepare.detect

    def one_fails(text: str, **kw: Any) -> Any:
        if "worried" in text:
            raise ValueError("cannot score this one")
        return real_detect(text, **kw)

    monkeypatch.setattr(prepare, "detect_many", batch_fails)
    monkeypatch.setattr(prepare, "detect", one_fails)
    got = prepare_batch(datas, recipe())
    assert [type(p.verdict).__name__ for p in got] == ["Verdict", "Unprepared", "Verdict"]
    assert isinstance(got[1].verdict, Unprepared)
    assert prepare.reason(got[1].verdict) == "ValueError: cannot score this one"
    assert got[0].verdict is not None and got[0].verdict.label == "complaint"  # type: ignore[union-attr]


async def test_a_prepare_process_gives_what_this_process_gives() -> None:
    datas = [*mails(9), b"no headers at all, \xff\xfe not even valid UTF-8"]
    preparer = Preparer(recipe(), separate=True)
    try:
        there = await preparer.submit(datas)
    finally:
        preparer.close()
    here = prepare_batch(datas, recipe())
    assert there == here
    assert [p.verdict.label for p in here[:3]] == ["complaint", "anxiety", "none"]  # type: ignore[union-attr]


async def test_a_killed_prepare_process_loses_no_batch(caplog: pytest.LogCaptureFixture) -> None:
    datas = mails(6)
    preparer = Preparer(recipe(), separate=True)
    try:
        first = await preparer.submit(datas)
        assert preparer._pool is not None and preparer._model is None
        [pid] = list(preparer._pool._processes)  # type: ignore[attr-defined]
        os.kill(pid, signal.SIGKILL)
        await asyncio.sleep(0.2)
        with caplog.at_level(logging.ERROR, logger="followup.prepare"):
            second = await preparer.submit(datas)
        assert second == first  # prepared here instead
        assert "the prepare process died" in caplog.text
        assert preparer.separate is False  # and here from now on, said in the log
        assert (await preparer.submit(datas)) == first
    finally:
        preparer.close()


def test_auto_wants_a_second_process_for_a_full_batch_on_two_cores() -> None:
    assert prepare.wants_helper(50, 50, 2)
    assert prepare.wants_helper(100, 50, 8)
    assert not prepare.wants_helper(49, 50, 2)  # a quiet inbox: one message at a time
    assert not prepare.wants_helper(50, 50, 1)  # one core: a second process only competes
    assert not prepare.wants_helper(50, 0, 2)


async def test_auto_prepares_here_until_a_backlog_then_in_a_second_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prepare, "cpus", lambda: 2)
    preparer = Preparer(recipe(), separate="auto", backlog_at=4)
    three, four = mails(3), mails(4)
    try:
        small = await preparer.submit(three)
        assert preparer._pool is None and preparer._warming is None
        full = await preparer.submit(four)  # prepared here while the second process starts
        assert preparer._pool is not None and preparer._warming is not None
        await preparer._warming
        assert preparer.separate is True
        [pid] = list(preparer._pool._processes)  # type: ignore[attr-defined]
        assert pid != os.getpid()
        there = await preparer.submit(four)
        assert preparer._model is None  # the second process scores: the worker dropped its copy
        assert there == full == prepare_batch(four, recipe())
        assert small == prepare_batch(three, recipe())
    finally:
        preparer.close()
    assert preparer._pool is None


async def test_auto_stops_the_second_process_after_the_backlog_and_starts_it_for_the_next(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prepare, "cpus", lambda: 2)
    monkeypatch.setattr(prepare, "BACKLOG_QUIET_S", 0.0)
    preparer = Preparer(recipe(), separate="auto", backlog_at=3)
    full, small = mails(3), mails(1)
    try:
        await preparer.submit(full)
        assert preparer._warming is not None
        await preparer._warming
        first = preparer._pool
        assert preparer.separate is True and first is not None
        assert (await preparer.submit(small)) == prepare_batch(small, recipe())  # the backlog is read
        assert preparer.separate is False and preparer._pool is None and preparer._warming is None
        assert preparer._model is not None  # read again to prepare here
        await preparer.submit(full)  # the next backlog
        assert preparer._pool is not None and preparer._pool is not first and preparer._warming is not None
        await preparer._warming
        assert preparer.separate is True
        preparer.idle()  # then nothing new in the inbox: stopped without waiting for a message
        assert preparer.separate is False and preparer._pool is None and preparer._warming is None
    finally:
        preparer.close()
    monkeypatch.undo()  # the real quiet time
    assert not prepare.backlog_over(1, 3, 59.0)  # a pause in a backlog keeps the process
    assert prepare.backlog_over(1, 3, 60.0) and not prepare.backlog_over(3, 3, 600.0)


async def test_auto_on_one_core_never_starts_a_second_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prepare, "cpus", lambda: 1)
    preparer = Preparer(recipe(), separate="auto", backlog_at=2)
    try:
        for _ in range(3):
            await preparer.submit(mails(5))
        assert preparer._pool is None and preparer.separate is False
    finally:
        preparer.close()


async def test_auto_keeps_preparing_here_when_the_second_process_cannot_start(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(prepare, "cpus", lambda: 2)
    # the second process's start-up fails (logging refuses the level) where this process's does not
    preparer = Preparer(recipe(), separate="auto", backlog_at=2, log_level="NO-SUCH-LEVEL")
    datas = mails(3)
    try:
        with caplog.at_level(logging.ERROR, logger="followup.prepare"):
            first = await preparer.submit(datas)
            assert preparer._warming is not None
            await preparer._warming
        assert "the prepare process did not start" in caplog.text
        assert preparer.separate is False and preparer._pool is None
        assert (await preparer.submit(datas)) == first == prepare_batch(datas, recipe())
        assert preparer._pool is None  # not started again for every batch
    finally:
        preparer.close()


CHILD_SCRIPT = """
import asyncio, time
from service.runtime.prepare import Preparer, recipe_of
from service.settings import Settings

async def main():
    settings = Settings(inbox_url="maildir:///tmp/unused-in", outbox_url="maildir:///tmp/unused-out",
                        shared_address="care@example.test")
    preparer = Preparer(recipe_of(settings), separate=True)
    await preparer.submit([b"Subject: hello\\n\\nA first batch starts the process."])
    print(*preparer._pool._processes, flush=True)
    time.sleep(120)

if __name__ == "__main__":
    asyncio.run(main())
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie has ended; it only waits to be reaped
        return stat.read().split(") ", 1)[1][0] != "Z"


def test_the_prepare_process_ignores_sigterm_and_ends_with_a_killed_worker(tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(CHILD_SCRIPT)
    worker = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[2])
    child = 0
    try:
        assert worker.stdout is not None
        child = int(worker.stdout.readline())
        os.kill(child, signal.SIGTERM)  # as a service manager signals the whole group: the worker decides
        time.sleep(0.5)
        assert alive(child)
        worker.kill()
        worker.wait(10)
        deadline = time.monotonic() + 10
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(child)
    finally:
        worker.kill()
        if child and alive(child):
            os.kill(child, signal.SIGKILL)


def readable(raw: bytes) -> tuple[list[tuple[str, str]], list[str]]:
    """A message's headers and decoded parts, without its random MIME boundary."""
    msg = message_from_bytes(raw, policy=policy.default)
    headers = [(k, v) for k, v in msg.items() if k != "Content-Type"]
    return headers, [str(part.get_content()) for part in msg.walk() if not part.is_multipart()]


async def test_acknowledgements_composed_there_read_as_those_composed_here() -> None:
    now = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
    requests = [acks.request(parse_message(data), token=f"C-{k}", kind="complaint", evidence=["charged twice"],
                             respond_by="Monday 23 November, 17:00 UTC", template="ack_complaint",
                             templates_dir=None, shared_address="care@example.test", shared_name="Client care",
                             shared_domain="example.test", handler_name="Mia", now=now)
                for k, data in enumerate(mails(4))]
    requests.append(dataclasses.replace(requests[0], to_addr="two addresses@a.example, b@b.example"))
    preparer = Preparer(recipe(), separate=True)
    try:
        there = await preparer.compose(requests)
    finally:
        preparer.close()
    here = acks.compose_all(requests)
    assert isinstance(there[-1], acks.NoAck) and there[-1] == here[-1]
    assert "not a single plain address" in there[-1].reason
    for a, b in zip(there[:-1], here[:-1], strict=True):
        assert not isinstance(a, acks.NoAck) and not isinstance(b, acks.NoAck)
        assert (a.message_id, a.to_addr) == (b.message_id, b.to_addr)
        assert readable(a.raw) == readable(b.raw)
    headers, parts = readable(there[1].raw)  # type: ignore[union-attr]
    assert ("Subject", "Re: Migration on Monday 1 [#C-1]") in headers and "C-1" in parts[0]


@pytest.mark.servers
@pytest.mark.parametrize("mode", [True, "auto"])
async def test_prepare_process_and_three_connections_end_to_end(mailstack: Any, smtp_sink: SmtpSink, db_url: str,
                                                                 mode: bool | str, caplog: pytest.LogCaptureFixture,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # a mailbox per run
    user = ("prepare" if mode is True else "auto") + ("sqlite" if db_url.startswith("sqlite") else "postgresql")
    monkeypatch.setattr(prepare, "cpus", lambda: 2)  # "auto" as on the two cores CI has
    keyword = f"$Prep{os.getpid()}"
    datas = [client_mail(to=f"{user}@example.test", sender=f"Client {k} <c{k}-{keyword[1:]}@client.example>",
                         subject=f"{subject} {k}", body=body)
             for k, (subject, body) in enumerate(THANKS if k % 3 == 2 else WORRIES[k % 2] for k in range(21))]
    for data in datas:
        mailstack.send(data, mail_from="x@client.example", rcpt_to=[f"{user}@example.test"])
    for k in range(21):
        mailstack.wait_for_message(user, lambda m, k=k: str(m["Subject"]).endswith(f" {k}"))
    settings = Settings(
        inbox_url=f"imaps://{user}@127.0.0.1:{mailstack.imaps_port}/INBOX", imap_password=mailstack.password,
        tls_ca_file=mailstack.ca_file, outbox_url=smtp_sink.url, database_url=db_url,
        shared_address=f"{user}@example.test", processed_keyword=keyword, fetch_batch=4,
        prepare_process=mode, smtp_connections=3)
    with caplog.at_level(logging.INFO, logger="followup.prepare"):
        stats = await Worker(settings).run_once()
    # "auto": the first full batch of 4 is a backlog, and starts the second process
    assert caplog.text.count("a backlog: starting the prepare process") == (mode == "auto")
    assert stats.outcomes.get("new_concern") == 14 and stats.sent == 14
    received = smtp_sink.wait_for(14)
    assert len(received) == 14
    to = sorted(rcpt for _, [rcpt], _ in received)
    assert to == sorted(f"c{k}-{keyword[1:]}@client.example".lower() for k in range(21) if k % 3 != 2)
    assert len({message_from_bytes(data)["In-Reply-To"] for _, _, data in received}) == 14  # each once
    assert len(smtp_sink.handler.peers) == 3
    again = await Worker(settings).run_once()  # everything was flagged: nothing is read twice
    assert again.processed == 0 and again.sent == 0
