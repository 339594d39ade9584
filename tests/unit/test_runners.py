"""The runtime's pure parts: job kinds and their handlers, stored states, the failed-job delay, and the
supervisor's backoff-and-heartbeat loop driven with fake runners (no database, no servers)."""

from __future__ import annotations

import asyncio
import logging
import random

import pytest

from service.core.retry import job_retry_delay_s
from service.core.states import ConcernStatus, JobKind, JobStatus, OutboxStatus
from service.errors import InboxError
from service.runtime.job_registry import HANDLERS, kind_of
from service.runtime.metrics import Metrics
from service.runtime.supervisor import supervise


@pytest.mark.parametrize(("member", "stored"), [
    (JobStatus.PENDING, "pending"), (JobStatus.RUNNING, "running"), (JobStatus.DONE, "done"),
    (JobStatus.CANCELLED, "cancelled"),
    (OutboxStatus.PENDING, "pending"), (OutboxStatus.SENDING, "sending"), (OutboxStatus.SENT, "sent"),
    (OutboxStatus.FAILED, "failed"),
    (ConcernStatus.OPEN, "open"), (ConcernStatus.ACKNOWLEDGED, "acknowledged"), (ConcernStatus.PLANNED, "planned"),
    (ConcernStatus.RESOLVED, "resolved"),
    (JobKind.ESCALATE, "escalate"), (JobKind.DIGEST, "digest"), (JobKind.CHECKIN, "checkin"),
    (JobKind.CLOSING, "closing"), (JobKind.REMIND, "remind"),
])
def test_states_are_the_stored_strings(member: str, stored: str) -> None:
    assert member == stored and f"{member}" == stored and type(member)(stored) is member


def test_every_job_kind_has_a_handler() -> None:
    assert set(HANDLERS) == set(JobKind)


@pytest.mark.parametrize(("kind", "key", "subject"), [
    ("escalate", "escalate:C-12", "C-12"),
    ("digest", "digest:owner@example.test", "owner@example.test"),
    ("checkin", "checkin:C-3", "C-3"),
    ("closing", "closing:C-3", "C-3"),
    ("remind", "remind:E-4:7", "E-4:7"),
])
def test_a_job_key_names_its_kind_and_subject(kind: str, key: str, subject: str) -> None:
    assert kind_of(kind, key).subject_of(key) == subject


@pytest.mark.parametrize("kind", ["", "Escalate", "escalation", "cleanup"])
def test_an_unknown_job_kind_is_an_error_naming_the_job(kind: str) -> None:
    with pytest.raises(ValueError, match=rf"unknown job kind '{kind}' \({kind}:x\)"):
        kind_of(kind, f"{kind}:x")


@pytest.mark.parametrize(("attempts", "delay_s"), [
    (0, 60.0), (1, 120.0), (2, 240.0), (5, 1920.0), (6, 3600.0), (7, 3600.0), (40, 3600.0),
])
def test_a_failed_job_waits_longer_each_time_up_to_an_hour(attempts: int, delay_s: float) -> None:
    assert job_retry_delay_s(attempts) == delay_s


class FakeRunner:
    """Fails its first `failures` steps with `error`, then stops the loop after `steps` good ones."""

    name = "inbox"

    def __init__(self, stopping: asyncio.Event, *, failures: int = 0, error: Exception | None = None,
                 steps: int = 1) -> None:
        self.stopping = stopping
        self.failures, self.error, self.steps = failures, error or InboxError("server gone"), steps
        self.calls: list[str] = []
        self.pauses: list[float] = []

    def retryable(self, exc: Exception) -> bool:
        return isinstance(exc, InboxError)

    async def step(self) -> None:
        self.calls.append("step")
        if self.failures:
            self.failures -= 1
            raise self.error
        self.steps -= 1
        if not self.steps:
            self.stopping.set()

    async def rest(self) -> None:
        self.calls.append("rest")

    async def pause(self, seconds: float) -> None:
        self.calls.append("pause")
        self.pauses.append(seconds)

    async def recover(self, exc: Exception) -> None:
        self.calls.append("recover")


async def run(runner: FakeRunner, metrics: Metrics, cap_s: float = 300.0) -> None:
    await asyncio.wait_for(supervise(runner, runner.stopping, cap_s=cap_s, rand=random.Random(7),
                                     metrics=metrics), timeout=5)


@pytest.mark.parametrize(("failures", "steps", "calls"), [
    (0, 1, ["step"]),
    (0, 3, ["step", "rest", "step", "rest", "step"]),
    (1, 1, ["step", "recover", "pause", "step"]),
    (2, 2, ["step", "recover", "pause", "step", "recover", "pause", "step", "rest", "step"]),
])
async def test_the_supervisor_steps_rests_and_backs_off(failures: int, steps: int, calls: list[str]) -> None:
    runner = FakeRunner(asyncio.Event(), failures=failures, steps=steps)
    await run(runner, Metrics())
    assert runner.calls == calls


async def test_backoff_grows_up_to_its_cap() -> None:
    runner = FakeRunner(asyncio.Event(), failures=8)
    await run(runner, Metrics(), cap_s=10.0)
    assert len(runner.pauses) == 8
    assert all(0.5 <= p <= 10.0 for p in runner.pauses)
    assert runner.pauses[0] <= 2.0 and max(runner.pauses) > 4.0  # 1 s * 2**attempt, jittered, capped


async def test_the_heartbeat_says_down_while_backing_off_and_up_once_back(caplog: pytest.LogCaptureFixture) -> None:
    metrics = Metrics()
    stopping = asyncio.Event()

    class Watched(FakeRunner):
        async def pause(self, seconds: float) -> None:
            await super().pause(seconds)
            assert metrics.health(60)[1]["inbox"] == "down"

    runner = Watched(stopping, failures=2)
    with caplog.at_level(logging.INFO, logger="followup.worker"):
        await run(runner, metrics)
    assert metrics.health(60)[1]["inbox"] == "up"
    messages = [r.getMessage() for r in caplog.records]
    assert sum("inbox loop: server gone; retrying in" in m for m in messages) == 2
    assert "inbox loop is back after 2 attempts" in messages


async def test_an_error_that_is_not_an_outage_ends_the_loop() -> None:
    metrics = Metrics()
    runner = FakeRunner(asyncio.Event(), failures=1, error=KeyError("a bug"))
    with pytest.raises(KeyError, match="a bug"):
        await run(runner, metrics)
    assert runner.calls == ["step"]
    assert metrics.health(60)[1]["inbox"] == "down"  # never reported in


async def test_nothing_runs_once_asked_to_stop() -> None:
    stopping = asyncio.Event()
    stopping.set()
    runner = FakeRunner(stopping)
    await run(runner, Metrics())
    assert runner.calls == []
