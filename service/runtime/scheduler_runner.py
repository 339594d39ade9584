"""The scheduler runner: claims due jobs (escalations, digests, check-ins, closing notes, reminders) and runs
each in its own transaction; a job that fails is logged and tried again later, and the others go on."""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime

from service.core.incident_policy import SECRET_WARNING_DAYS, IncidentKind, Trouble, secret_trouble
from service.errors import TokenRenewalError
from service.flows import incidents
from service.runtime.context import RunContext
from service.runtime.job_registry import JobOutcome, run_job
from service.runtime.metrics import METRICS
from service.store import jobs
from service.store.db import is_postgres, transaction
from service.store.outage import is_infrastructure_error

log = logging.getLogger("followup.worker")

# jobs claimed at once: each then runs in its own transaction
CLAIM_LIMIT = 20


class SchedulerRunner:
    """Runs due jobs every `FOLLOWUP_SCHEDULER_INTERVAL_S`; several workers share them safely."""

    name = "scheduler"

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx

    # -- the steps the supervisor runs ------------------------------------------------

    def retryable(self, exc: Exception) -> bool:
        """The database gone away (a job's own failure is handled, not raised)."""
        return is_infrastructure_error(exc)

    async def step(self) -> None:
        """Run every job due now."""
        await self.run_due()

    async def rest(self) -> None:
        """Wait for the next look at the jobs."""
        await self.ctx.sleep(self.ctx.settings.scheduler_interval_s)

    async def pause(self, seconds: float) -> None:
        """Back off for `seconds` (or until asked to stop)."""
        await self.ctx.sleep(seconds)

    async def recover(self, exc: Exception) -> None:
        """Nothing to drop: a job cut off mid-run is claimed again after its lease."""

    # -- the part `run_once` uses too --------------------------------------------------

    async def run_due(self) -> int:
        """Review the operator's incidents, then run every job due now, each in its own transaction; return
        how many jobs ran."""
        ctx = self.ctx
        await self.review_incidents()
        ran = 0
        skip_locked = is_postgres(ctx.engine)
        while not ctx.stopping.is_set():
            now = ctx.clock.now()
            async with transaction(ctx.sessions) as session:
                claimed = await jobs.claim_jobs(session, now, limit=CLAIM_LIMIT, lease_s=ctx.settings.job_lease_s,
                                                skip_locked=skip_locked)
                ids = [job.id for job in claimed]
            if not ids:
                break
            for job_id in ids:
                await self._run(job_id, now)
                ran += 1
        if ran:
            ctx.outbox_ready.set()
        ctx.stats.jobs += ran
        return ran

    async def review_incidents(self) -> None:
        """Tell the operator of trouble that lasted, and of its end (`service.flows.incidents`)."""
        ctx = self.ctx
        if ctx.tokens is not None and ctx.tokens.status.renewals:
            # renewed ahead of its expiry even while the inbox idles on a connection that outlives it, so a
            # provider that stopped renewing is noticed (and told) before a login needs the token
            with contextlib.suppress(TokenRenewalError):  # kept in the token's status, logged there
                await ctx.tokens.token()
        now = ctx.clock.now()
        seen = ctx.watch.seen()
        if ctx.tokens is not None:
            status = ctx.tokens.status
            if status.failing_since is not None:
                seen[IncidentKind.TOKEN] = Trouble(status.failing_since, status.last_error or "renewal failed")
            elif status.renewals:  # not asked for yet in this process: nothing seen, nothing ended
                seen[IncidentKind.TOKEN] = None
            if ctx.tokens.client.client_secret is not None:
                seen[IncidentKind.SECRET] = secret_trouble(status.client_secret_expires, now.date(),
                                                           SECRET_WARNING_DAYS)
        try:
            async with transaction(ctx.sessions) as session:
                result = await incidents.review(session, ctx.settings, seen, now)
        except Exception as exc:
            if is_infrastructure_error(exc):
                raise
            # another worker started the same incident at the same moment (its open kind is unique), or a
            # bug: the jobs still run, and the next tick reviews again
            log.warning("incident review failed: %s: %s; trying again at the next look", type(exc).__name__, exc)
            return
        if result.told or result.ended:
            ctx.outbox_ready.set()
        for kind in result.told:
            METRICS.incidents.labels(kind.value).inc()
        METRICS.set_incidents({k.value: v.isoformat() for k, v in result.open_since.items()},
                              [k.value for k in IncidentKind])

    async def _run(self, job_id: int, now: datetime) -> None:
        outcome: JobOutcome | None = None
        try:
            async with transaction(self.ctx.sessions) as session:
                job = await jobs.claimed_job(session, job_id)
                if job is not None:
                    outcome = await run_job(session, job, self.ctx.settings, now)
        except Exception as exc:
            if is_infrastructure_error(exc):
                raise
            # a bug or bad data in one job must not stop the others: it is retried after a delay
            log.exception("job failed", extra={"job": job_id})
            async with transaction(self.ctx.sessions) as session:
                await jobs.reschedule_failed(session, job_id, f"{type(exc).__name__}: {exc}", now)
            return
        if outcome is not None:  # counted once committed: a run rolled back made no escalation
            for level in outcome.escalations:
                METRICS.escalations.labels(str(level)).inc()
