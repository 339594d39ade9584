"""Incident rows: the open ones, opening and ending one; and what the quarantine took in a window."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from service.store.db import is_postgres
from service.store.models import Incident, Quarantine

_INCIDENTS_LOCK_KEY = 0x666F6C69  # any constant shared by every worker


async def lock_incidents(session: AsyncSession) -> None:
    """Serialise incident reviews of several workers on PostgreSQL (SQLite's writer lock does it there)."""
    if is_postgres(session):
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _INCIDENTS_LOCK_KEY})


async def open_incidents(session: AsyncSession) -> list[Incident]:
    """Every incident not ended yet, oldest first."""
    rows = await session.scalars(select(Incident).where(Incident.ended_at.is_(None)).order_by(Incident.id))
    return list(rows.all())


async def recent_incidents(session: AsyncSession, limit: int = 50) -> list[Incident]:
    """The latest incidents, open or ended, newest first."""
    return list((await session.scalars(select(Incident).order_by(Incident.id.desc()).limit(limit))).all())


async def start_incident(session: AsyncSession, kind: str, since: datetime, detail: str) -> Incident:
    """A new open incident of `kind`, not told yet (its id is set)."""
    row = Incident(kind=kind, open_kind=kind, since=since, told_at=None, ended_at=None, detail=detail[:4000])
    session.add(row)
    await session.flush()
    return row


async def end_incident(session: AsyncSession, incident_id: int, now: datetime) -> Incident | None:
    """Mark the incident ended; None when it is gone or already ended (another worker did it)."""
    row = await session.get(Incident, incident_id)
    if row is None or row.ended_at is not None:
        return None
    row.ended_at = now
    row.open_kind = None
    return row


async def quarantined_since(session: AsyncSession, since: datetime) -> tuple[int, datetime | None, str | None]:
    """How many messages were quarantined since `since`, the first one's time and the last one's reason."""
    count, first = (await session.execute(
        select(func.count(Quarantine.id), func.min(Quarantine.created_at)).where(Quarantine.created_at >= since)
    )).one()
    if not count:
        return 0, None, None
    reason = await session.scalar(select(Quarantine.reason).where(Quarantine.created_at >= since)
                                  .order_by(Quarantine.id.desc()).limit(1))
    return int(count), first, reason
