"""The worker: the supervisor with its three runners, built from the settings.

`Worker(settings)` is what `followup run`, the tests and the benchmarks start; the work itself is in
`supervisor.py` (the loop), `inbox_runner.py`, `sender_runner.py` and `scheduler_runner.py`.
"""

from __future__ import annotations

from service.adapters.inbox import Inbox
from service.adapters.transport import Transport
from service.clock import Clock, SystemClock
from service.flows.intake import Pipeline
from service.runtime.context import RunContext, Stats
from service.runtime.inbox_runner import InboxRunner
from service.runtime.prepare import Preparer, recipe_of
from service.runtime.scheduler_runner import SchedulerRunner
from service.runtime.sender_runner import SenderRunner
from service.runtime.supervisor import Supervisor
from service.runtime.wiring import make_inbox, make_token_source, make_transport
from service.settings import Settings
from service.store.db import AsyncEngine, AsyncSession, async_sessionmaker, is_postgres, make_engine, session_factory


class Worker(Supervisor):
    """Reads the inbox, files concerns, runs due jobs, sends the outbox; `run_once` drains all and returns."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None,
                 engine: AsyncEngine | None = None, inbox: Inbox | None = None,
                 transport: Transport | None = None) -> None:
        engine = engine or make_engine(settings.database_url)
        ctx = RunContext(settings, clock or SystemClock(), engine, session_factory(engine))
        # it loads the model: a missing or broken one stops the worker at start, not per message
        preparer = Preparer(recipe_of(settings), separate=settings.prepare_process,
                            backlog_at=settings.fetch_batch, log_level=settings.log_level)
        # acknowledgements are composed in the prepare process on PostgreSQL only: on SQLite the
        # batch transaction holds the database's one write lock while it waits for them, and every
        # sent reply's mark waits behind it (measured: SQLite 515 -> 407 msg/s, PostgreSQL 555 -> 592)
        pipeline = Pipeline(settings, ctx.sessions, preparer, compose_apart=is_postgres(engine))
        # one transport per SMTP connection the sender keeps (FOLLOWUP_SMTP_CONNECTIONS)
        # the self-renewing OAuth2 token, when the settings ask for one: shared by the inbox and every
        # SMTP connection, its rotated refresh token kept in the database
        self.tokens = ctx.tokens = make_token_source(settings, ctx.sessions, ctx.clock.now)
        transports = [transport] if transport is not None else [
            make_transport(settings, self.tokens) for _ in range(settings.smtp_connections)]
        super().__init__(ctx, InboxRunner(ctx, inbox or make_inbox(settings, self.tokens), pipeline, preparer),
                         SenderRunner(ctx, transports), SchedulerRunner(ctx))

    # -- what `followup`, the tests and the benchmarks reach for -------------------------

    @property
    def engine(self) -> AsyncEngine:
        return self.ctx.engine

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.ctx.sessions

    @property
    def stats(self) -> Stats:
        return self.ctx.stats

    @property
    def pipeline(self) -> Pipeline:
        return self.inbox.pipeline

    @property
    def preparer(self) -> Preparer:
        return self.inbox.preparer

    async def open_inbox(self) -> None:
        """Open the inbox where the last run stopped (without taking the mailbox's lock)."""
        await self.inbox.open()

    async def drain_inbox(self) -> int:
        """File every unprocessed message; return how many."""
        return await self.inbox.drain()

    async def drain_outbox(self) -> int:
        """Send every due row; return how many were sent."""
        return await self.sender.drain()

    async def run_due_jobs(self) -> int:
        """Run every job due now, each in its own transaction; return how many."""
        return await self.scheduler.run_due()
