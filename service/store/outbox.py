"""The outbox table: what was queued to whom, claims and leases of the rows being sent."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from service.store.models import (
    OutboxRow,
)

# what the per-domain circuit breaker counts: messages we start, not answers to an owner
DOMAIN_CAPPED = ("ack", "checkin", "reminder", "closing")


async def auto_replies_since(session: AsyncSession, addresses: Collection[str],
                             since: datetime) -> dict[str, int]:
    """Messages queued to each of these (lower-case) addresses since `since`: one query for all."""
    return await _queued_since(session, OutboxRow.to_addr, addresses, since)


async def auto_replies_to_domains_since(session: AsyncSession, domains: Collection[str],
                                        since: datetime) -> dict[str, int]:
    """Automatic messages queued to any address at each of these (lower-case) domains since `since`."""
    return await _queued_since(session, OutboxRow.to_domain, domains, since, OutboxRow.purpose.in_(DOMAIN_CAPPED))


async def _queued_since(session: AsyncSession, column: InstrumentedAttribute[Any], values: Collection[str],
                        since: datetime, *where: ColumnElement[bool]) -> dict[str, int]:
    if not values:
        return {}
    rows = await session.execute(
        select(column, func.count(OutboxRow.id))
        .where(column.in_(set(values)), OutboxRow.created_at >= since, *where)
        .group_by(column))
    return {str(value): int(count) for value, count in rows.all()}


async def claim_outbox(session: AsyncSession, now: datetime, *, limit: int,
                       lease_s: float, skip_locked: bool) -> list[OutboxRow]:
    """Take due rows (and rows whose sender died mid-send) for this worker."""
    stale = now - timedelta(seconds=lease_s)
    query = (
        select(OutboxRow)
        .where(or_(
            (OutboxRow.status == "pending") & (OutboxRow.next_attempt_at <= now),
            (OutboxRow.status == "sending") & (OutboxRow.claimed_at < stale),
        ))
        .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
        .limit(limit)
    )
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    rows = list((await session.scalars(query)).all())
    for row in rows:
        row.status = "sending"
        row.claimed_at = now
        row.attempts += 1
    return rows


async def renew_claims(session: AsyncSession, rows: Sequence[OutboxRow], now: datetime) -> set[int]:
    """Extend this worker's lease on rows it claimed; return the ids still its own.

    A row re-claimed by another worker after the lease ran out has had its
    `attempts` raised by that claim, so it no longer matches and is left alone.
    """
    mine: set[int] = set()
    for row in rows:
        result = await session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == row.id, OutboxRow.status == "sending", OutboxRow.attempts == row.attempts)
            .values(claimed_at=now))
        if getattr(result, "rowcount", 0) == 1:
            mine.add(row.id)
    return mine


async def release_all_claims(session: AsyncSession) -> int:
    """On a single-worker start, every 'sending' row was left by a crash: send it again."""
    result = await session.execute(
        update(OutboxRow).where(OutboxRow.status == "sending").values(status="pending")
    )
    return int(getattr(result, "rowcount", 0) or 0)
