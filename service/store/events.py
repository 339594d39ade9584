"""Clients' events: look-ups by uid and the listing with each event's client."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.store.models import Client, Event


async def event_by_uid(session: AsyncSession, uid: str) -> Event | None:
    """The event with this uid (an iCalendar UID, or one the CLI made), if stored."""
    return await session.scalar(select(Event).where(Event.uid == uid))


async def events_with_clients(session: AsyncSession) -> list[tuple[Event, Client]]:
    """Every event with its client, soonest first."""
    rows = await session.execute(select(Event, Client).join(Client, Client.id == Event.client_id).order_by(Event.at))
    return [(e, c) for e, c in rows.all()]
