"""Scheduled work as rows: made, moved, cancelled and claimed safely by several workers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.core.retry import job_retry_delay_s
from service.core.states import JobKind, JobStatus
from service.store.db import is_postgres
from service.store.models import Job


def job_row(key: str, kind: JobKind, due_at: datetime) -> dict[str, Any]:
    """A new pending job's row, for a key the caller knows is not taken (a concern made in this transaction)."""
    return {"key": key, "kind": kind, "due_at": due_at, "status": JobStatus.PENDING, "claimed_at": None, "attempts": 0}


async def schedule(session: AsyncSession, key: str, kind: JobKind, due_at: datetime, *, exact: bool = False,
                   new: bool = False) -> None:
    """Create or move the job `key` to run at `due_at` (unless `exact`, an earlier pending time wins).

    `new`: the caller knows no such job exists (a concern created in this transaction).
    """
    if new:
        session.add(Job(**job_row(key, kind, due_at)))
        return
    job = await session.scalar(select(Job).where(Job.key == key))
    if job is None:
        # two workers can both find no digest job for an owner and both insert it: the second
        # insert waits for the first and yields to it, and the row it made is then moved
        result = await session.execute(_insert_unless_taken(session, key, kind, due_at))
        if getattr(result, "rowcount", 0) == 1:
            return
        job = await session.scalar(select(Job).where(Job.key == key).execution_options(populate_existing=True))
        if job is None:  # inserted and removed again meanwhile: nothing left to move
            return
    if exact or job.status != JobStatus.PENDING or due_at < job.due_at:
        job.due_at, job.status = due_at, JobStatus.PENDING


def _insert_unless_taken(session: AsyncSession, key: str, kind: JobKind, due_at: datetime) -> Any:
    # the dialects are imported here: a tenth of a second that the read-only commands never need
    values = {"key": key, "kind": kind, "due_at": due_at, "status": JobStatus.PENDING, "claimed_at": None,
              "attempts": 0}
    if is_postgres(session):
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(Job).values(**values).on_conflict_do_nothing(index_elements=["key"])
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(Job).values(**values).on_conflict_do_nothing(index_elements=["key"])


async def cancel_jobs(session: AsyncSession, prefix: str, keep: set[str] | None = None) -> None:
    """Cancel the pending jobs whose key starts with `prefix` (except those in `keep`)."""
    jobs = await session.scalars(select(Job).where(Job.key.startswith(prefix), Job.status == JobStatus.PENDING))
    for job in jobs.all():
        if not keep or job.key not in keep:
            job.status = JobStatus.CANCELLED


async def next_job_due(session: AsyncSession) -> datetime | None:
    """When the earliest pending job is due (None when nothing is pending)."""
    return await session.scalar(select(func.min(Job.due_at)).where(Job.status == JobStatus.PENDING))


async def claim_jobs(session: AsyncSession, now: datetime, *, limit: int, lease_s: float,
                     skip_locked: bool) -> list[Job]:
    """Take due jobs (and jobs whose worker died) for this worker."""
    stale = now - timedelta(seconds=lease_s)
    query = (select(Job)
             .where(or_((Job.status == JobStatus.PENDING) & (Job.due_at <= now),
                        (Job.status == JobStatus.RUNNING) & (Job.claimed_at < stale)))
             .order_by(Job.due_at, Job.id).limit(limit))
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    jobs = list((await session.scalars(query)).all())
    for job in jobs:
        job.status, job.claimed_at, job.attempts = JobStatus.RUNNING, now, job.attempts + 1
    return jobs


async def claimed_job(session: AsyncSession, job_id: int) -> Job | None:
    """A job this worker claimed, loaded in `session` to be run there."""
    return await session.get(Job, job_id)


def finish_job(job: Job, next_at: datetime | None) -> None:
    """A job that ran: done, or pending again at `next_at` when its work comes back (the next check-in)."""
    job.claimed_at, job.last_error = None, None
    if next_at is None:
        job.status = JobStatus.DONE
    else:
        job.status, job.due_at = JobStatus.PENDING, next_at


async def reschedule_failed(session: AsyncSession, job_id: int, error: str, now: datetime) -> None:
    """A job that raised: pending again after a delay that grows with its attempts, with the error kept."""
    job = await session.get(Job, job_id)
    if job is None:
        return
    job.last_error = error[:2000]
    job.status, job.claimed_at = JobStatus.PENDING, None
    job.due_at = now + timedelta(seconds=job_retry_delay_s(job.attempts))
