"""What the supervisor and its runners share: settings, clock, database, counters, and the two signals.

`stopping` asks every runner to finish what it holds and return; `outbox_ready` wakes the sender
when the inbox or a job has queued something, so a reply does not wait for the sender's next look.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from service.adapters.oauth import RenewingToken
from service.clock import Clock
from service.core.triage import Action
from service.flows.intake_batch import Outcome
from service.runtime.metrics import METRICS
from service.runtime.trouble_watch import TroubleWatch
from service.settings import Settings
from service.store.db import AsyncEngine, AsyncSession, async_sessionmaker


@dataclass
class Stats:
    """Counters of one worker's life, for `--once` summaries and tests."""

    processed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    sent: int = 0
    send_failures: int = 0
    reconnects: int = 0
    jobs: int = 0

    def count(self, outcome: Outcome) -> None:
        """Count one inbound message's outcome, here and in the metrics."""
        self.processed += 1
        self.outcomes[outcome.decision] = self.outcomes.get(outcome.decision, 0) + 1
        METRICS.ingested.labels(outcome.decision).inc()
        if outcome.decision == Action.QUARANTINED:
            METRICS.quarantined.inc()
        if outcome.decision == Action.NEW_CONCERN and outcome.label:
            METRICS.concerns.labels(outcome.label).inc()
        answerable = outcome.decision in {Action.NEW_CONCERN, Action.FOLLOW_UP, Action.IGNORE}
        if answerable and not outcome.outbox_ids and outcome.reasons:
            METRICS.suppressed.labels(outcome.reasons[-1].split(":")[0]).inc()


@dataclass
class RunContext:
    """One worker's shared state; every runner holds the same one."""

    settings: Settings
    clock: Clock
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    stats: Stats = field(default_factory=Stats)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    outbox_ready: asyncio.Event = field(default_factory=asyncio.Event)
    rand: random.Random = field(default_factory=random.Random)
    # what went wrong and since when, for the operator's incidents (`service.flows.incidents`)
    watch: TroubleWatch = field(default_factory=TroubleWatch)
    # the self-renewing OAuth2 token the inbox and the SMTP connections share, if the settings ask for one
    tokens: RenewingToken | None = None

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds`, or less when asked to stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)

    async def until_outbox_ready(self, seconds: float) -> None:
        """Wait `seconds`, or less when something was queued to send (a stop also wakes this)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.outbox_ready.wait(), timeout=seconds)

    async def unless_stopped(self, waiter: Coroutine[Any, Any, object]) -> None:
        """Await `waiter` (an IDLE wait), cancelling it when asked to stop; its errors are raised."""
        task = asyncio.ensure_future(waiter)
        stop = asyncio.ensure_future(self.stopping.wait())
        done, _ = await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        if task not in done:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        else:
            stop.cancel()
            task.result()
