"""Clients: found or made by address, a batch at a time."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import AccountError
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


def remember_language(client: Client, lang: str | None) -> None:
    """Keep the language identified in the client's latest mail, unless one was set by hand."""
    if lang and not client.lang_by_hand:
        client.lang = lang


async def set_language(session: AsyncSession, email: str, lang: str | None) -> Client:
    """Set (or, with None, clear) the client's language by hand; AccountError when no such client."""
    client = await session.scalar(select(Client).where(Client.email == email))
    if client is None:
        raise AccountError(f"no client {email!r} (a client is known once they wrote or have an event)")
    client.lang, client.lang_by_hand = lang, lang is not None
    return client


async def all_clients(session: AsyncSession) -> list[Client]:
    """Every client, by address."""
    return list((await session.scalars(select(Client).order_by(Client.email))).all())
