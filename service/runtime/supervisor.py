"""The supervisor: starts the worker, runs its three runners under one backoff-and-heartbeat loop, stops them.

Every runner is run the same way (`supervise`): a step of work, a heartbeat, a rest until there is
more to do. A step that fails because a server or the database went away is retried with jittered
exponential backoff while the runner reports itself down; any other error is a bug and ends the worker.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Protocol

from service.core.incident_policy import IncidentKind
from service.core.retry import backoff_s
from service.errors import MailServerError
from service.flows import account_setup
from service.runtime.context import RunContext, Stats
from service.runtime.inbox_runner import InboxRunner
from service.runtime.metrics import METRICS, Metrics, serve
from service.runtime.scheduler_runner import SchedulerRunner
from service.runtime.sender_runner import SenderRunner
from service.store.db import migrate, transaction

log = logging.getLogger("followup.worker")


class Runner(Protocol):
    """One of the worker's loops, as the supervisor drives it."""

    @property
    def name(self) -> str:
        """The loop's name in logs, metrics and /healthz."""

    def retryable(self, exc: Exception) -> bool:
        """True when `exc` means a server or the database went away: back off and try again."""

    async def step(self) -> None:
        """One round of work."""

    async def rest(self) -> None:
        """Wait until the next round has work (IDLE, a due row, the scheduler's interval)."""

    async def pause(self, seconds: float) -> None:
        """Back off for at most `seconds` after a failed round."""

    async def recover(self, exc: Exception) -> None:
        """Drop what a failed round (failing with `exc`) may have left broken, before backing off."""


async def supervise(runner: Runner, stopping: asyncio.Event, *, cap_s: float, rand: random.Random,
                    metrics: Metrics = METRICS) -> None:
    """Run `runner` until `stopping`: step, heartbeat, rest; back off (reported down) when a step fails.

    Backoff is jittered and exponential from 1 s up to `cap_s`; the first good step after failures
    says how many attempts it took.
    """
    attempt = 0
    while not stopping.is_set():
        try:
            await runner.step()
            if attempt:
                log.info("%s loop is back after %d attempts", runner.name, attempt)
            attempt = 0
            metrics.beat(runner.name)
            if stopping.is_set():
                break
            await runner.rest()
        except Exception as exc:
            if not runner.retryable(exc):
                raise
            attempt += 1
            delay = backoff_s(attempt, base_s=1.0, cap_s=cap_s, rand=rand)
            metrics.beat(runner.name, up=False)
            log.warning("%s loop: %s; retrying in %.1fs", runner.name, exc, delay, extra={"attempt": attempt})
            await runner.recover(exc)
            await runner.pause(delay)


class Supervisor:
    """Owns the worker's life: `start`, `run_once` (drain everything, like a cron job), `run_forever`, `stop`."""

    def __init__(self, ctx: RunContext, inbox: InboxRunner, sender: SenderRunner, scheduler: SchedulerRunner) -> None:
        self.ctx = ctx
        self.inbox = inbox
        self.sender = sender
        self.scheduler = scheduler
        self.metrics_port: int | None = None

    async def start(self) -> None:
        """Bring the database up to date, sync the configured accounts, re-queue sends a crash cut off."""
        settings = self.ctx.settings
        if not settings.tls_verify:
            log.warning("TLS CERTIFICATE VERIFICATION IS OFF (FOLLOWUP_TLS_VERIFY=false): "
                        "use only against a test server")
        await migrate(self.ctx.engine)
        async with transaction(self.ctx.sessions) as session:
            await account_setup.sync_accounts(session, settings)
        await self.sender.release_claims()

    async def close(self) -> None:
        """Close the mailbox, its lock, the SMTP connections, the prepare process and the database pool."""
        await self.inbox.close()
        await self.sender.close()
        await self.ctx.engine.dispose()

    def stop(self) -> None:
        """Ask every runner to finish what it holds and return."""
        self.ctx.stopping.set()
        self.ctx.outbox_ready.set()

    async def run_once(self) -> Stats:
        """Drain the inbox, the due jobs and the outbox once, like a cron job."""
        await self.start()
        inbox_failed: MailServerError | None = None
        try:
            try:
                if await self.inbox.take_mailbox(quiet=True):
                    await self._drain_inbox_while_sending()
                    self.ctx.watch.ok(IncidentKind.INBOX)
                else:
                    log.info("mailbox %s is being read by another worker; running jobs and the outbox only",
                             self.inbox.inbox.name)
            except MailServerError as exc:
                # the jobs and the outbox still run (and the incident review sees the inbox's trouble,
                # which this run's exit status reports too)
                inbox_failed = exc
                self.ctx.watch.failed(IncidentKind.INBOX, str(exc), self.ctx.clock.now())
            await self.scheduler.run_due()
            await self.sender.drain()
        finally:
            await self.close()
        if inbox_failed is not None:
            raise inbox_failed
        return self.ctx.stats

    async def run_forever(self) -> Stats:
        """Run the inbox, sender and scheduler until `stop`, serving /metrics and /healthz when configured."""
        await self.start()
        settings = self.ctx.settings
        server = None
        if settings.metrics_port is not None:
            # the inbox loop reports in after every IDLE heartbeat or poll
            stale = max(min(settings.idle_renew_s, settings.imap_heartbeat_s), settings.poll_interval_s,
                        settings.scheduler_interval_s)
            server = serve(settings.metrics_host, settings.metrics_port, METRICS, stale + 60)
            self.metrics_port = server.server_port
        try:
            await asyncio.gather(*(supervise(runner, self.ctx.stopping, cap_s=settings.reconnect_max_s,
                                             rand=self.ctx.rand)
                                   for runner in (self.inbox, self.sender, self.scheduler)))
        finally:
            if server is not None:
                server.shutdown()
                server.server_close()
            await self.close()
        return self.ctx.stats

    async def _drain_inbox_while_sending(self) -> None:
        # acknowledgements leave while the rest of a backlog is read: the first client of a
        # thousand waiting hears from us in seconds, not after the thousandth is filed
        inbox_done = asyncio.Event()
        ready = self.ctx.outbox_ready

        async def send() -> None:
            while True:
                await ready.wait()
                ready.clear()
                await self.sender.drain()
                if inbox_done.is_set():
                    return

        sender = asyncio.create_task(send())
        try:
            await self.inbox.drain()
        except BaseException:
            sender.cancel()  # a row cut off mid-send stays 'sending' and is sent again, as after a crash
            [result] = await asyncio.gather(sender, return_exceptions=True)
            if isinstance(result, Exception):
                log.error("the outbox failed too while the inbox failed: %s", result)
            raise
        inbox_done.set()
        ready.set()
        await sender
