"""The inbox runner: takes the mailbox's lock, opens it where the last run stopped, files every new message
(fetching the next batch while the preparer works on this one), then waits in IMAP IDLE or polls."""

from __future__ import annotations

import logging

from service.adapters.inbox import Inbox, RawMessage, ReadPosition
from service.core.incident_policy import IncidentKind
from service.errors import MailServerError
from service.flows.intake import Pipeline
from service.flows.prepared import Prepared
from service.runtime.context import RunContext
from service.runtime.metrics import METRICS
from service.runtime.prepare import Preparer
from service.store import checkpoints
from service.store.db import transaction
from service.store.mailbox_lock import MailboxLock
from service.store.outage import is_infrastructure_error

log = logging.getLogger("followup.worker")


class InboxRunner:
    """Reads one mailbox; only the worker holding its lock reads it, the others stand by to take over."""

    name = "inbox"

    def __init__(self, ctx: RunContext, inbox: Inbox, pipeline: Pipeline, preparer: Preparer) -> None:
        self.ctx = ctx
        self.inbox = inbox
        self.pipeline = pipeline
        self.preparer = preparer
        self.lock = MailboxLock(ctx.engine, inbox.name)
        self._reading = False
        self._standby_logged = False

    # -- the steps the supervisor runs ------------------------------------------------

    def retryable(self, exc: Exception) -> bool:
        """A mail server gone away or refusing us, or the database gone: back off and reconnect.

        A refused login or a token that cannot be renewed is retried too: the operator (told by an
        incident mail) may fix the credentials, and the worker must not need a restart for it.
        """
        return isinstance(exc, MailServerError) or is_infrastructure_error(exc)

    async def step(self) -> None:
        """Read the mailbox if this worker may (taking it over when free), filing everything new."""
        if self._reading and not await self.lock.alive():
            await self.inbox.close()  # another worker may take the mailbox now: stop reading, try again
            self._reading = False
        if not self._reading:
            if not await self.take_mailbox(quiet=self._standby_logged):
                self._standby_logged = True  # standing by is healthy: said once, not at every try
                self.ctx.watch.unseen(IncidentKind.INBOX)  # the worker reading it says how it is
                return
            self._standby_logged = False
        await self.drain()
        self.ctx.watch.ok(IncidentKind.INBOX)

    async def rest(self) -> None:
        """Wait for new mail (IDLE, or a poll's interval); standing by, wait before trying the lock again."""
        if not self._reading:
            await self.ctx.sleep(self.ctx.settings.mailbox_lock_retry_s)
            return
        METRICS.idle.set(1 if self.inbox.supports_push else 0)
        try:
            await self.ctx.unless_stopped(self.inbox.wait(self.ctx.settings.idle_renew_s))
        finally:
            METRICS.idle.set(0)

    async def pause(self, seconds: float) -> None:
        """Back off for `seconds` (or until asked to stop)."""
        await self.ctx.sleep(seconds)

    async def recover(self, exc: Exception) -> None:
        """After a failure: drop the connection, which the next step opens again."""
        if isinstance(exc, MailServerError):  # the database being away is not the inbox's trouble
            self.ctx.watch.failed(IncidentKind.INBOX, str(exc), self.ctx.clock.now())
        self.ctx.stats.reconnects += 1
        self._reading = False
        await self.inbox.close()

    # -- the parts `run_once` uses too -------------------------------------------------

    async def take_mailbox(self, *, quiet: bool = False) -> bool:
        """Take the mailbox's lock and open it where the last run stopped; False when another worker reads it."""
        if not await self.lock.acquire():
            if not quiet:
                log.info("mailbox %s is read by another worker; standing by to take over", self.inbox.name)
            return False
        await self.open()
        log.info("inbox %s open (%s)", self.inbox.name, "IDLE" if self.inbox.supports_push else "polling")
        self._reading = True
        return True

    async def open(self) -> None:
        """Open the inbox at the read position this mailbox's last reader saved."""
        async with self.ctx.sessions() as session:
            stored = await checkpoints.load_checkpoint(session, self.inbox.name)
        await self.inbox.open(ReadPosition(*stored) if stored else None)

    async def drain(self) -> int:
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
            while batch and ready is not None and not self.ctx.stopping.is_set():
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
        ctx = self.ctx
        outcomes = await self.pipeline.handle_batch(batch, ctx.clock.now(), prepared)
        for outcome in outcomes:
            ctx.stats.count(outcome)
            if outcome.outbox_ids:
                ctx.outbox_ready.set()
        # marked only after every row above is committed (promise 1)
        await self.inbox.mark_processed([raw.key for raw in batch])
        checkpoint = self.inbox.checkpoint()
        if checkpoint is not None:
            async with transaction(ctx.sessions) as session:
                await checkpoints.save_checkpoint(session, self.inbox.name, checkpoint.uidvalidity,
                                                  checkpoint.last_uid, ctx.clock.now())
        return len(batch)

    async def close(self) -> None:
        """Close the mailbox, give up its lock and stop the prepare process."""
        await self.inbox.close()
        await self.lock.release()
        self.preparer.close()
