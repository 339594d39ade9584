"""Scheduled work by kind: each `JobKind` maps to the flow that does it.

A new kind of job is a member of `JobKind` (service/core/states.py) and one handler here;
tests/test_runners.py checks that every kind has one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from service.core.states import JobKind
from service.flows import checkins, escalations, event_reminders
from service.settings import Settings
from service.store import jobs
from service.store.db import AsyncSession
from service.store.models import Job


@dataclass(frozen=True)
class JobOutcome:
    """What a job did: when its work comes back (None: it is done), and the levels of the escalations it made."""

    next_at: datetime | None = None
    escalations: tuple[int, ...] = ()


JobHandler = Callable[[AsyncSession, str, Settings, datetime], Awaitable[JobOutcome]]


async def _escalate(session: AsyncSession, token: str, settings: Settings, now: datetime) -> JobOutcome:
    escalated = await escalations.escalate_concern(session, token, settings, now)
    return JobOutcome(escalated.next_at, escalated.levels)


async def _digest(session: AsyncSession, owner: str, settings: Settings, now: datetime) -> JobOutcome:
    await escalations.send_digest(session, owner, settings, now)
    return JobOutcome()


async def _alert(session: AsyncSession, owner: str, settings: Settings, now: datetime) -> JobOutcome:
    # held once more if an alert went out meanwhile (a concern's own, at once): the job comes back then
    return JobOutcome(await escalations.alert_or_hold(session, owner, settings, now))


async def _checkin(session: AsyncSession, token: str, settings: Settings, now: datetime) -> JobOutcome:
    return JobOutcome(await checkins.run_checkin(session, token, settings, now))


async def _closing(session: AsyncSession, token: str, settings: Settings, now: datetime) -> JobOutcome:
    await checkins.run_closing(session, token, settings, now)
    return JobOutcome()


async def _remind(session: AsyncSession, reminder: str, settings: Settings, now: datetime) -> JobOutcome:
    await event_reminders.run_reminder(session, reminder, settings, now)
    return JobOutcome()


HANDLERS: Mapping[JobKind, JobHandler] = {
    JobKind.ESCALATE: _escalate,
    JobKind.DIGEST: _digest,
    JobKind.CHECKIN: _checkin,
    JobKind.CLOSING: _closing,
    JobKind.REMIND: _remind,
    JobKind.ALERT: _alert,
}


def kind_of(kind: str, key: str) -> JobKind:
    """The stored kind as a `JobKind`; a kind no handler knows is an error for that job alone."""
    try:
        return JobKind(kind)
    except ValueError:
        raise ValueError(f"unknown job kind {kind!r} ({key})") from None


async def run_job(session: AsyncSession, job: Job, settings: Settings, now: datetime) -> JobOutcome:
    """Run one claimed job (loaded in `session`) by its kind, and reschedule or finish it."""
    kind = kind_of(job.kind, job.key)
    outcome = await HANDLERS[kind](session, kind.subject_of(job.key), settings, now)
    jobs.finish_job(job, outcome.next_at)
    return outcome
