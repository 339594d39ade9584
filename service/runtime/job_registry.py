"""Due work as rows: claim them safely, run each by its kind, reschedule or finish it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.flows import checkins, escalations, event_reminders
from service.settings import Settings
from service.store.models import Job


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
        await event_reminders.run_reminder(session, job.key.removeprefix("remind:"), settings, now)
    else:
        raise ValueError(f"unknown job kind {job.kind!r} ({job.key})")
    job.claimed_at, job.last_error = None, None
    if next_at is None:
        job.status = "done"
    else:
        job.status, job.due_at = "pending", next_at
