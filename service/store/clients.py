"""Clients: found or made by address, a batch at a time."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.store.models import (
    Account,
    Client,
)


async def client_for(session: AsyncSession, email: str, name: str, account: Account,
                     now: datetime, known: dict[str, Client] | None = None) -> Client:
    """The client writing from `email`, made if new (with `known`: not flushed, so no id yet).

    `known` holds the clients of a batch's senders (`clients_by_email`) and takes new ones.
    """
    if known is None:
        client = await session.scalar(select(Client).where(Client.email == email))
    else:
        client = known.get(email)
    if client is None:
        client = Client(email=email, name=name, account_id=account.id, created_at=now)
        session.add(client)
        if known is None:
            await session.flush()
        else:
            known[email] = client
    elif name and not client.name:
        client.name = name
    return client


async def clients_by_email(session: AsyncSession, emails: Collection[str]) -> dict[str, Client]:
    """The stored clients among these addresses, by address: one query for a whole batch."""
    if not emails:
        return {}
    rows = await session.scalars(select(Client).where(Client.email.in_(set(emails))))
    return {client.email: client for client in rows.all()}


async def opted_out(session: AsyncSession, email: str) -> bool:
    """Whether the client of this (lower-case) address asked us to stop writing."""
    found = await session.scalar(select(Client.id).where(Client.email == email, Client.opted_out_at.is_not(None)))
    return found is not None
