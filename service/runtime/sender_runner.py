"""The sender runner: claims due outbox rows, sends them over several SMTP connections at once (lanes),
renews its lease on a slow claim, marks each row sent, and carries out the retry decision of a refused one."""

from __future__ import annotations

import asyncio
import logging
import time

from service.adapters.transport import Transport
from service.core.incident_policy import IncidentKind
from service.core.letters import Purpose
from service.core.retry import send_retry_decision
from service.errors import SendError
from service.runtime.context import RunContext
from service.runtime.metrics import METRICS
from service.store import outbox
from service.store.db import is_postgres, transaction
from service.store.models import OutboxRow
from service.store.outage import is_infrastructure_error

log = logging.getLogger("followup.worker")

# with nothing due, the sender still looks every this many seconds (rows queued by another worker)
LOOK_AGAIN_S = 30.0


class SenderRunner:
    """Sends the outbox; one transport per SMTP connection it keeps (FOLLOWUP_SMTP_CONNECTIONS)."""

    name = "sender"

    def __init__(self, ctx: RunContext, transports: list[Transport]) -> None:
        self.ctx = ctx
        self.transports = transports
        self._rest_s = LOOK_AGAIN_S

    # -- the steps the supervisor runs ------------------------------------------------

    def retryable(self, exc: Exception) -> bool:
        """The database gone away (a refused send is not an error: it is retried as a value)."""
        return is_infrastructure_error(exc)

    async def step(self) -> None:
        """Send everything due, then note when the next row falls due."""
        self.ctx.outbox_ready.clear()
        await self.drain()
        self._rest_s = await self._until_next_due()

    async def rest(self) -> None:
        """Wait until the next row is due or something new is queued."""
        await self.ctx.until_outbox_ready(self._rest_s)

    async def pause(self, seconds: float) -> None:
        """Back off for `seconds`, or less when the inbox queued something (the database is back)."""
        await self.ctx.until_outbox_ready(seconds)

    async def recover(self, exc: Exception) -> None:
        """Nothing to drop: rows cut off mid-claim stay 'sending' and are claimed again after their lease."""

    # -- the parts `run_once` uses too -------------------------------------------------

    async def drain(self) -> int:
        """Send every due row; return how many were sent."""
        ctx = self.ctx
        sent = 0
        skip_locked = is_postgres(ctx.engine)
        while not ctx.stopping.is_set():
            async with transaction(ctx.sessions) as session:
                rows = await outbox.claim_outbox(session, ctx.clock.now(), limit=50,
                                                 lease_s=ctx.settings.send_lease_s, skip_locked=skip_locked)
            if not rows:
                break
            sent += await self._send_claimed(rows)
        return sent

    async def release_claims(self) -> None:
        """On SQLite (one worker), rows left 'sending' were cut off by a crash: queue them again."""
        if is_postgres(self.ctx.engine):
            return
        async with transaction(self.ctx.sessions) as session:
            released = await outbox.release_all_claims(session)
        if released:
            log.warning("re-queued %d messages left in 'sending' by an earlier run", released)

    async def close(self) -> None:
        """Close every SMTP connection."""
        for transport in self.transports:
            await transport.close()

    # -- sending -----------------------------------------------------------------------

    async def _until_next_due(self) -> float:
        async with self.ctx.sessions() as session:
            due = await outbox.next_due(session)
        if due is None:
            return LOOK_AGAIN_S
        return max(0.0, min(LOOK_AGAIN_S, (due - self.ctx.clock.now()).total_seconds()))

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
        ctx = self.ctx
        sent = 0
        renewed_at = time.monotonic()
        lost: set[int] = set()
        async with outbox.sent_marks(ctx.engine) as marks:
            for k, row in enumerate(rows):
                if time.monotonic() - renewed_at > ctx.settings.send_lease_s / 3:
                    async with transaction(ctx.sessions) as session:
                        mine = await outbox.renew_claims(session, rows[k:], ctx.clock.now())
                    renewed_at = time.monotonic()
                    lost.update(r.id for r in rows[k:] if r.id not in mine)
                if row.id in lost:
                    log.warning("not sending: another worker took it after this worker's lease ran out",
                                extra={"message_id": row.message_id})
                    continue
                sent += await self._send_one(row, transport, marks)
        return sent

    async def _send_one(self, row: OutboxRow, transport: Transport, marks: outbox.SentMarks) -> int:
        ctx, s = self.ctx, self.ctx.settings
        concern = f"C-{row.concern_id}" if row.concern_id else None
        try:
            await transport.send(row.raw, mail_from=s.shared_address, to=row.to_addr)
        except SendError as exc:
            ctx.stats.send_failures += 1
            if not exc.permanent:  # the server, not this one recipient: mail cannot be sent
                ctx.watch.failed(IncidentKind.SENDING, str(exc), ctx.clock.now())
            decision = send_retry_decision(
                attempts=row.attempts, permanent=exc.permanent, error=str(exc),
                now=ctx.clock.now(), max_attempts=s.send_max_attempts,
                base_s=s.send_backoff_s, cap_s=s.send_backoff_max_s, rand=ctx.rand,
            )
            async with transaction(ctx.sessions) as session:
                await outbox.record_send_failure(session, row.id, decision.reason, decision.retry_at)
            (METRICS.send_failed if decision.retry_at is None else METRICS.retries).inc()
            level = logging.ERROR if decision.retry_at is None else logging.WARNING
            log.log(level, "send %s", decision.reason, extra={
                "message_id": row.message_id, "concern": concern, "attempts": row.attempts,
                "retry_at": decision.retry_at.isoformat() if decision.retry_at else None,
            })
            return 0
        await marks.mark(row.id, ctx.clock.now())
        ctx.watch.ok(IncidentKind.SENDING)
        ctx.stats.sent += 1
        METRICS.sent.labels(row.purpose).inc()
        if row.purpose == Purpose.ACK:
            # from the client's side: since their message reached our server (a row from before that
            # was kept, or a mailbox that does not say, counts from when the acknowledgement was queued)
            since = row.answers_arrived_at or row.created_at
            METRICS.ack_latency.observe(max(0.0, (ctx.clock.now() - since).total_seconds()))
        log.info("sent %s to %s", row.purpose, row.to_addr, extra={"message_id": row.message_id, "concern": concern})
        return 1
