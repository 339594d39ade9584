"""Parsing and scoring in a process of their own (FOLLOWUP_PREPARE_PROCESS), and replies over several
SMTP connections (FOLLOWUP_SMTP_CONNECTIONS): the same outcomes as in one process over one connection."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
from datetime import UTC, datetime
from email import message_from_bytes, policy
from typing import Any

import pytest

from service.core import letters
from service.mailformat.parse import parse_message
from service.runtime import prepare
from service.runtime.prepare import Preparer, Recipe, prepare_batch, recipe_of
from service.runtime.worker import Worker
from service.settings import Settings

from conftest import SmtpSink
from mailfactory import THANKS, WORRIES, client_mail, mixed_batch


def recipe() -> Recipe:
    return recipe_of(Settings(inbox_url="maildir:///tmp/unused-in", outbox_url="maildir:///tmp/unused-out",
                              shared_address="care@example.test"))


async def test_a_prepare_process_gives_what_this_process_gives() -> None:
    datas = [*mixed_batch(9), b"no headers at all, \xff\xfe not even valid UTF-8"]
    preparer = Preparer(recipe(), separate=True)
    try:
        there = await preparer.submit(datas)
    finally:
        preparer.close()
    here = prepare_batch(datas, recipe())
    assert there == here
    assert [p.verdict.label for p in here[:3]] == ["complaint", "anxiety", "none"]  # type: ignore[union-attr]


async def test_a_killed_prepare_process_loses_no_batch(caplog: pytest.LogCaptureFixture) -> None:
    datas = mixed_batch(6)
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


async def test_auto_prepares_here_until_a_backlog_then_in_a_second_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prepare, "cpus", lambda: 2)
    preparer = Preparer(recipe(), separate="auto", backlog_at=4)
    three, four = mixed_batch(3), mixed_batch(4)
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
    full, small = mixed_batch(3), mixed_batch(1)
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
            await preparer.submit(mixed_batch(5))
        assert preparer._pool is None and preparer.separate is False
    finally:
        preparer.close()


async def test_auto_keeps_preparing_here_when_the_second_process_cannot_start(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(prepare, "cpus", lambda: 2)
    # the second process's start-up fails (logging refuses the level) where this process's does not
    preparer = Preparer(recipe(), separate="auto", backlog_at=2, log_level="NO-SUCH-LEVEL")
    datas = mixed_batch(3)
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


def readable(raw: bytes) -> tuple[list[tuple[str, str]], list[str]]:
    """A message's headers and decoded parts, without its random MIME boundary."""
    msg = message_from_bytes(raw, policy=policy.default)
    headers = [(k, v) for k, v in msg.items() if k != "Content-Type"]
    return headers, [str(part.get_content()) for part in msg.walk() if not part.is_multipart()]


async def test_acknowledgements_composed_there_read_as_those_composed_here() -> None:
    now = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
    sender = letters.Sender("care@example.test", "Client care", "example.test")
    requests = [letters.acknowledgement(
        parse_message(data), sender=sender, token=f"C-{k}", kind="complaint", evidence=["charged twice"],
        respond_by="Monday 23 November, 17:00 UTC", template="ack_complaint", handler_name="Mia",
        unsubscribe=f"mailto:care+o-u{k}-sig@example.test?subject=stop", links=letters.Links(k, k), now=now)
                for k, data in enumerate(mixed_batch(4))]
    requests.append(dataclasses.replace(requests[0], to_addr="two addresses@a.example, b@b.example"))
    preparer = Preparer(recipe(), separate=True)
    try:
        there = await preparer.compose(requests)
    finally:
        preparer.close()
    here = letters.compose_letters(requests)
    assert isinstance(there[-1], letters.Refusal) and there[-1] == here[-1]
    assert "not a single plain address" in there[-1].reason
    for a, b in zip(there[:-1], here[:-1], strict=True):
        assert isinstance(a, letters.Composed) and isinstance(b, letters.Composed)
        assert (a.message_id, a.to_addr) == (b.message_id, b.to_addr)
        assert readable(a.raw) == readable(b.raw)
    headers, parts = readable(there[1].raw)  # type: ignore[union-attr]
    assert ("Subject", "Re: Migration on Monday 1 [#C-1]") in headers and "C-1" in parts[0]
    assert ("List-Unsubscribe", "<mailto:care+o-u1-sig@example.test?subject=stop>") in headers


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
