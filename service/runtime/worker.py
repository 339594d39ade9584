"""The worker: an inbox loop and a sender loop, each retrying with backoff when its server goes away."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from service.adapters.imap import ImapInbox, tls_context
from service.adapters.inbox import Inbox, MaildirInbox, RawMessage, ReadPosition
from service.adapters.transport import MaildirTransport, SmtpTransport, Transport
from service.clock import Clock, SystemClock
from service.core.retry import backoff_s, send_retry_decision
from service.errors import InboxError, SendError
from service.flows import account_setup
from service.flows.intake import Outcome, Pipeline
from service.runtime.job_registry import run_job
from service.runtime.metrics import METRICS, serve
from service.runtime.prepare import Prepared, Preparer, recipe_of
from service.settings import Settings
from service.store import checkpoints, outbox
from service.store.db import is_postgres, make_engine, migrate, session_factory, transaction
from service.store.jobs import claim_jobs
from service.store.mailbox_lock import MailboxLock
from service.store.models import Job, OutboxRow
from service.store.outage import is_infrastructure_error

log = logging.getLogger("followup.worker")

# built once: SQLAlchemy then reuses its compiled form, where a statement built per send
# and run through an ORM session cost more than the SMTP dialogue itself (py-spy)
_MARK_SENT = (update(OutboxRow).where(OutboxRow.id == bindparam("row_id"))
              .values(status="sent", sent_at=bindparam("sent"), last_error=None))
# on PostgreSQL the mark's own transaction does not wait for the WAL flush (SET LOCAL, in the same
# round trip): a killed worker's marks are already with the server, and a mark lost by a crash of
# the server itself only lets its reply be sent again once the lease runs out, never lost.
# Measured: marks 3.4 s -> about 2 s of the sender's time in a 5,000-message loop (bench/loop_throughput.py)
_MARK_SENT_PG = _MARK_SENT.where(func.set_config("synchronous_commit", "off", True).is_not(None))


def make_inbox(settings: Settings) -> Inbox:
    url = settings.inbox
    if url.is_maildir:
        return MaildirInbox(Path(url.path), batch=settings.fetch_batch)
    secret = settings.imap_oauth2_token if settings.imap_auth == "xoauth2" else settings.imap_password
    return ImapInbox(
        url,
        secret=secret.get_secret_value() if secret else "",
        auth=settings.imap_auth,
        ssl_context=tls_context(_ca(settings), settings.tls_verify),
        processed_keyword=settings.processed_keyword,
        processed_folder=settings.processed_folder,
        batch=settings.fetch_batch,
        poll_s=settings.poll_interval_s,
        idle_renew_s=settings.idle_renew_s,
    )


def make_transport(settings: Settings) -> Transport:
    url = settings.outbox
    if url.is_maildir:
        return MaildirTransport(Path(url.path))
    secret = settings.smtp_oauth2_token if settings.smtp_auth == "xoauth2" else settings.smtp_password
    return SmtpTransport(
        url, secret=secret.get_secret_value() if secret else None, auth=settings.smtp_auth,
        ssl_context=tls_context(_ca(settings), settings.tls_verify),
    )


def _ca(settings: Settings) -> str | None:
    return str(settings.tls_ca_file) if settings.tls_ca_file else None


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
        self.processed += 1
        self.outcomes[outcome.decision] = self.outcomes.get(outcome.decision, 0) + 1
        METRICS.ingested.labels(outcome.decision).inc()
        if outcome.decision == "quarantined":
            METRICS.quarantined.inc()
        if outcome.decision == "new_concern" and outcome.label:
            METRICS.concerns.labels(outcome.label).inc()
        if outcome.decision in {"new_concern", "follow_up", "ignore"} and not outcome.outbox_ids and outcome.reasons:
            METRICS.suppressed.labels(outcome.reasons[-1].split(":")[0]).inc()


class Worker:
    """Reads the inbox, files concerns, sends the outbox; `once` drains both and returns."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None,
                 engine: AsyncEngine | None = None, inbox: Inbox | None = None,
                 transport: Transport | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.engine = engine or make_engine(settings.database_url)
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(self.engine)
        self.inbox = inbox or make_inbox(settings)
        # one transport per SMTP connection the sender keeps (FOLLOWUP_SMTP_CONNECTIONS)
        self.transports = [transport] if transport is not None else [
            make_transport(settings) for _ in range(settings.smtp_connections)]
        self.preparer = Preparer(recipe_of(settings), separate=settings.prepare_process,
                                 backlog_at=settings.fetch_batch, log_level=settings.log_level)
        # acknowledgements are composed in the prepare process on PostgreSQL only: on SQLite the
        # batch transaction holds the database's one write lock while it waits for them, and every
        # sent reply's mark waits behind it (measured: SQLite 515 -> 407 msg/s, PostgreSQL 555 -> 592)
        self.pipeline = Pipeline(settings, self.sessions, self.preparer, compose_apart=is_postgres(self.engine))
        self.mailbox_lock = MailboxLock(self.engine, self.inbox.name)
        self._mark_sent = _MARK_SENT_PG if is_postgres(self.engine) else _MARK_SENT
        self.stats = Stats()
        self.stopping = asyncio.Event()
        self._outbox_ready = asyncio.Event()
        self._rand = random.Random()
        self.metrics_port: int | None = None

    # -- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        if not self.settings.tls_verify:
            log.warning("TLS CERTIFICATE VERIFICATION IS OFF (FOLLOWUP_TLS_VERIFY=false): "
                        "use only against a test server")
        await migrate(self.engine)
        async with transaction(self.sessions) as session:
            await account_setup.sync_accounts(session, self.settings)
        if not is_postgres(self.engine):
            # SQLite means one worker: rows left 'sending' were cut off by a crash
            async with transaction(self.sessions) as session:
                released = await outbox.release_all_claims(session)
            if released:
                log.warning("re-queued %d messages left in 'sending' by an earlier run", released)

    async def close(self) -> None:
        await self.inbox.close()
        await self.mailbox_lock.release()
        for transport in self.transports:
            await transport.close()
        self.preparer.close()
        await self.engine.dispose()

    def stop(self) -> None:
        """Ask both loops to finish what they hold and return."""
        self.stopping.set()
        self._outbox_ready.set()

    async def run_once(self) -> Stats:
        """Drain the inbox and the outbox once, like a cron job."""
        await self.start()
        try:
            if await self.mailbox_lock.acquire():
                await self._open_inbox()
                await self._drain_inbox_while_sending()
            else:
                log.info("mailbox %s is being read by another worker; running jobs and the outbox only",
                         self.inbox.name)
            await self.run_due_jobs()
            await self.drain_outbox(wait_for_retries=False)
        finally:
            await self.close()
        return self.stats

    async def _drain_inbox_while_sending(self) -> None:
        # acknowledgements leave while the rest of a backlog is read: the first client of a
        # thousand waiting hears from us in seconds, not after the thousandth is filed
        inbox_done = asyncio.Event()

        async def send() -> None:
            while True:
                await self._outbox_ready.wait()
                self._outbox_ready.clear()
                await self.drain_outbox()
                if inbox_done.is_set():
                    return

        sender = asyncio.create_task(send())
        try:
            await self.drain_inbox()
        except BaseException:
            sender.cancel()  # a row cut off mid-send stays 'sending' and is sent again, as after a crash
            [result] = await asyncio.gather(sender, return_exceptions=True)
            if isinstance(result, Exception):
                log.error("the outbox failed too while the inbox failed: %s", result)
            raise
        inbox_done.set()
        self._outbox_ready.set()
        await sender

    async def run_forever(self) -> Stats:
        await self.start()
        server = None
        if self.settings.metrics_port is not None:
            stale = max(self.settings.idle_renew_s, self.settings.poll_interval_s, self.settings.scheduler_interval_s)
            server = serve(self.settings.metrics_host, self.settings.metrics_port, METRICS, stale + 60)
            self.metrics_port = server.server_port
        try:
            await asyncio.gather(self._inbox_loop(), self._sender_loop(), self._scheduler_loop())
        finally:
            if server is not None:
                server.shutdown()
                server.server_close()
            await self.close()
        return self.stats

    # -- inbox ----------------------------------------------------------------------

    async def _open_inbox(self) -> None:
        async with self.sessions() as session:
            stored = await checkpoints.load_checkpoint(session, self.inbox.name)
        await self.inbox.open(ReadPosition(*stored) if stored else None)

    async def drain_inbox(self) -> int:
        """Process every unprocessed message; return how many.

        The next batch is fetched and handed to the preparer before this one is stored, so
        with a prepare process the two overlap.
        """
        total = 0
        batch = await self.inbox.fetch_batch()
        if not batch:
            self.preparer.idle()  # a prepare process started for a backlog is not kept for nothing
        ready = self.preparer.submit([raw.data for raw in batch]) if batch else None
        try:
            while batch and ready is not None and not self.stopping.is_set():
                prepared = await ready
                following = await self.inbox.fetch_batch()
                ready = self.preparer.submit([raw.data for raw in following]) if following else None
                total += await self._store_batch(batch, prepared)
                batch = following
        finally:
            if ready is not None and not ready.done():
                ready.cancel()  # fetched ahead and not stored: still unmarked, so read again later
        return total

    async def _store_batch(self, batch: list[RawMessage], prepared: list[Prepared]) -> int:
        outcomes = await self.pipeline.handle_batch(batch, self.clock.now(), prepared)
        for outcome in outcomes:
            self.stats.count(outcome)
            if outcome.outbox_ids:
                self._outbox_ready.set()
        # marked only after every row above is committed (promise 1)
        await self.inbox.mark_processed([raw.key for raw in batch])
        checkpoint = self.inbox.checkpoint()
        if checkpoint is not None:
            async with transaction(self.sessions) as session:
                await checkpoints.save_checkpoint(session, self.inbox.name, checkpoint.uidvalidity, checkpoint.last_uid,
                                                  self.clock.now())
        return len(batch)

    async def _inbox_loop(self) -> None:
        attempt = 0
        standby_logged = False
        while not self.stopping.is_set():
            try:
                if not await self.mailbox_lock.acquire():
                    if not standby_logged:
                        log.info("mailbox %s is read by another worker; standing by to take over",
                                 self.inbox.name)
                        standby_logged = True
                    METRICS.beat("inbox")  # standing by is healthy
                    await self._sleep(self.settings.mailbox_lock_retry_s)
                    continue
                standby_logged = False
                await self._open_inbox()
                mode = "IDLE" if self.inbox.supports_push else "polling"
                if attempt:
                    log.info("inbox %s is back after %d attempts (%s)", self.inbox.name, attempt, mode)
                else:
                    log.info("inbox %s open (%s)", self.inbox.name, mode)
                attempt = 0
                while not self.stopping.is_set():
                    if not await self.mailbox_lock.alive():
                        await self.inbox.close()
                        break
                    await self.drain_inbox()
                    METRICS.beat("inbox")
                    if self.stopping.is_set():
                        break
                    METRICS.idle.set(1 if self.inbox.supports_push else 0)
                    try:
                        await self._interruptible(self.inbox.wait(self.settings.idle_renew_s))
                    finally:
                        METRICS.idle.set(0)
            except Exception as exc:
                if not isinstance(exc, InboxError) and not is_infrastructure_error(exc):
                    raise
                attempt += 1
                self.stats.reconnects += 1
                METRICS.beat("inbox", up=False)
                delay = backoff_s(attempt, base_s=1.0, cap_s=self.settings.reconnect_max_s,
                                  rand=self._rand)
                log.warning("inbox loop: %s; retrying in %.1fs", exc, delay,
                            extra={"attempt": attempt})
                await self.inbox.close()
                await self._sleep(delay)
        await self.inbox.close()

    async def _interruptible(self, waiter: Coroutine[Any, Any, object]) -> None:
        task = asyncio.ensure_future(waiter)
        stop = asyncio.ensure_future(self.stopping.wait())
        done, _ = await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        if task not in done:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        else:
            stop.cancel()
            task.result()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)

    # -- scheduled jobs -------------------------------------------------------------

    async def run_due_jobs(self) -> int:
        """Run every job due now (escalations, digests), each in its own transaction; return how many."""
        ran = 0
        skip_locked = is_postgres(self.engine)
        while not self.stopping.is_set():
            now = self.clock.now()
            async with transaction(self.sessions) as session:
                claimed = await claim_jobs(session, now, limit=20, lease_s=self.settings.job_lease_s,
                                           skip_locked=skip_locked)
                ids = [job.id for job in claimed]
            if not ids:
                break
            for job_id in ids:
                await self._run_job(job_id, now)
                ran += 1
        if ran:
            self._outbox_ready.set()
        self.stats.jobs += ran
        return ran

    async def _run_job(self, job_id: int, now: datetime) -> None:
        try:
            async with transaction(self.sessions) as session:
                job = await session.get(Job, job_id)
                if job is not None:
                    await run_job(session, job, self.settings, now)
        except Exception as exc:
            if is_infrastructure_error(exc):
                raise
            # a bug or bad data in one job must not stop the others: it is retried after the lease
            log.exception("job failed", extra={"job": job_id})
            async with transaction(self.sessions) as session:
                job = await session.get(Job, job_id)
                if job is not None:
                    job.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                    job.status, job.claimed_at = "pending", None
                    job.due_at = now + timedelta(seconds=min(3600.0, 60.0 * 2 ** min(job.attempts, 6)))

    async def _scheduler_loop(self) -> None:
        attempt = 0
        while not self.stopping.is_set():
            try:
                await self.run_due_jobs()
                METRICS.beat("scheduler")
                attempt = 0
                wait_s = self.settings.scheduler_interval_s
            except Exception as exc:
                if not is_infrastructure_error(exc):
                    raise
                attempt += 1
                wait_s = backoff_s(attempt, base_s=1.0, cap_s=self.settings.reconnect_max_s, rand=self._rand)
                METRICS.beat("scheduler", up=False)
                log.warning("scheduler: database unavailable: %s; retrying in %.1fs", exc, wait_s)
            await self._sleep(wait_s)

    # -- outbox ---------------------------------------------------------------------

    async def drain_outbox(self, *, wait_for_retries: bool = False) -> int:
        """Send every due row; return how many were sent."""
        sent = 0
        skip_locked = is_postgres(self.engine)
        while not self.stopping.is_set():
            async with transaction(self.sessions) as session:
                rows = await outbox.claim_outbox(session, self.clock.now(), limit=50,
                                               lease_s=self.settings.send_lease_s, skip_locked=skip_locked)
            if not rows:
                break
            sent += await self._send_claimed(rows)
        return sent

    async def _send_claimed(self, rows: list[OutboxRow]) -> int:
        lanes = min(len(self.transports), len(rows))
        if lanes == 1:
            return await self._send_lane(rows, self.transports[0])
        # each connection sends every lanes-th row; a failure is raised once all lanes are done
        results = await asyncio.gather(*(self._send_lane(rows[i::lanes], self.transports[i]) for i in range(lanes)),
                                       return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return sum(r for r in results if isinstance(r, int))

    async def _send_lane(self, rows: list[OutboxRow], transport: Transport) -> int:
        # a slow server can make a whole claim outlast its lease, and another worker would then
        # send the rest too: past a third of the lease, the rest is renewed first, and rows
        # another worker has taken meanwhile are left to it
        sent = 0
        renewed_at = time.monotonic()
        lost: set[int] = set()
        # one connection for the whole claim, each UPDATE committing on its own: a mark is then one
        # round trip, not a checkout, a ping, BEGIN, UPDATE and COMMIT (py-spy: half a send's time)
        async with self.engine.connect() as conn:
            marks = await conn.execution_options(isolation_level="AUTOCOMMIT")
            for k, row in enumerate(rows):
                if time.monotonic() - renewed_at > self.settings.send_lease_s / 3:
                    async with transaction(self.sessions) as session:
                        mine = await outbox.renew_claims(session, rows[k:], self.clock.now())
                    renewed_at = time.monotonic()
                    lost.update(r.id for r in rows[k:] if r.id not in mine)
                if row.id in lost:
                    log.warning("not sending: another worker took it after this worker's lease ran out",
                                extra={"message_id": row.message_id})
                    continue
                sent += await self._send_one(row, transport, marks)
        return sent

    async def _send_one(self, row: OutboxRow, transport: Transport, marks: AsyncConnection) -> int:
        s = self.settings
        try:
            await transport.send(row.raw, mail_from=s.shared_address, to=row.to_addr)
        except SendError as exc:
            self.stats.send_failures += 1
            decision = send_retry_decision(
                attempts=row.attempts, permanent=exc.permanent, error=str(exc),
                now=self.clock.now(), max_attempts=s.send_max_attempts,
                base_s=s.send_backoff_s, cap_s=s.send_backoff_max_s, rand=self._rand,
            )
            async with transaction(self.sessions) as session:
                fresh = await session.get(OutboxRow, row.id)
                assert fresh is not None
                fresh.last_error = decision.reason[:2000]
                fresh.claimed_at = None
                if decision.retry_at is None:
                    fresh.status = "failed"
                    METRICS.send_failed.inc()
                else:
                    METRICS.retries.inc()
                    fresh.status = "pending"
                    fresh.next_attempt_at = decision.retry_at
            level = logging.ERROR if decision.retry_at is None else logging.WARNING
            log.log(level, "send %s", decision.reason, extra={
                "message_id": row.message_id,
                "concern": f"C-{row.concern_id}" if row.concern_id else None,
                "attempts": row.attempts,
                "retry_at": decision.retry_at.isoformat() if decision.retry_at else None,
            })
            return 0
        # one statement, committed at once: the window in which a crash resends is one UPDATE wide
        await marks.execute(self._mark_sent, {"row_id": row.id, "sent": self.clock.now()})
        self.stats.sent += 1
        METRICS.sent.labels(row.purpose).inc()
        if row.purpose == "ack":
            METRICS.ack_latency.observe(max(0.0, (self.clock.now() - row.created_at).total_seconds()))
        log.info("sent %s to %s", row.purpose, row.to_addr, extra={
            "message_id": row.message_id, "concern": f"C-{row.concern_id}" if row.concern_id else None,
        })
        return 1

    async def _next_due(self) -> float:
        async with self.sessions() as session:
            due = await session.scalar(
                select(OutboxRow.next_attempt_at).where(OutboxRow.status == "pending")
                .order_by(OutboxRow.next_attempt_at).limit(1)
            )
        if due is None:
            return 30.0
        return max(0.0, min(30.0, (due - self.clock.now()).total_seconds()))

    async def _sender_loop(self) -> None:
        attempt = 0
        while not self.stopping.is_set():
            try:
                self._outbox_ready.clear()
                await self.drain_outbox()
                attempt = 0
                wait_s = await self._next_due()
                METRICS.beat("sender")
            except Exception as exc:
                if not is_infrastructure_error(exc):
                    raise
                attempt += 1
                wait_s = backoff_s(attempt, base_s=1.0, cap_s=self.settings.reconnect_max_s,
                                   rand=self._rand)
                METRICS.beat("sender", up=False)
                log.warning("sender loop: database unavailable: %s; retrying in %.1fs", exc, wait_s)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outbox_ready.wait(), timeout=wait_s)
