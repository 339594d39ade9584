"""Due work as rows: claim them safely, run each by its kind, reschedule or finish it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.flows import checkins, escalations, events
from service.settings import Settings
from service.store.models import Job


async def claim_jobs(session: AsyncSession, now: datetime, *, limit: int, lease_s: float,
                     skip_locked: bool) -> list[Job]:
    """Take due jobs (and jobs whose worker died) for this worker."""
    stale = now - timedelta(seconds=lease_s)
    query = (select(Job)
             .where(or_((Job.status == "pending") & (Job.due_at <= now),
                        (Job.status == "running") & (Job.claimed_at < stale)))
             .order_by(Job.due_at, Job.id).limit(limit))
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    jobs = list((await session.scalars(query)).all())
    for job in jobs:
        job.status, job.claimed_at, job.attempts = "running", now, job.attempts + 1
    return jobs


async def run_job(session: AsyncSession, job: Job, settings: Settings, now: datetime) -> None:
    """Run one claimed job (reloaded in `session`) and reschedule or finish it."""
    next_at: datetime | None = None
    if job.kind == "escalate":
        next_at = await escalations.escalate_concern(session, job.key.removeprefix("escalate:"), settings, now)
    elif job.kind == "digest":
        await escalations.send_digest(session, job.key.removeprefix("digest:"), settings, now)
    elif job.kind == "checkin":
        next_at = await checkins.run_checkin(session, job.key.removeprefix("checkin:"), settings, now)
    elif job.kind == "closing":
        await checkins.run_closing(session, job.key.removeprefix("closing:"), settings, now)
    elif job.kind == "remind":
        await events.run_reminder(session, job.key.removeprefix("remind:"), settings, now)
    else:
        raise ValueError(f"unknown job kind {job.kind!r} ({job.key})")
    job.claimed_at, job.last_error = None, None
    if next_at is None:
        job.status = "done"
    else:
        job.status, job.due_at = "pending", next_at
