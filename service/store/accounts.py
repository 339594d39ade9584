"""Accounts: look-ups, the account of a concern, and an account's business hours."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from service.core.businesstime import BusinessHours
from service.errors import AccountError
from service.store.db import is_postgres
from service.store.models import Account, Client, Concern

_ACCOUNTS_LOCK_KEY = 0x666F6C61  # any constant shared by every worker


def hours_of(account: Account) -> BusinessHours:
    return BusinessHours.parse(account.timezone, account.business_hours, account.business_days or None)


async def lock_accounts(session: AsyncSession) -> None:
    """On PostgreSQL, hold the accounts lock until the transaction ends (a no-op on SQLite, one writer)."""
    if is_postgres(session):
        # workers started together would each insert the same new account and all but one
        # die on its unique name: one at a time, each sees what the one before committed
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ACCOUNTS_LOCK_KEY})


async def by_name(session: AsyncSession, name: str) -> Account | None:
    return await session.scalar(select(Account).where(Account.name == name))


async def has_clients(session: AsyncSession, account_id: int) -> bool:
    """Whether any client belongs to the account (its concerns keep it)."""
    return await session.scalar(select(Client.id).where(Client.account_id == account_id).limit(1)) is not None


async def all_accounts(session: AsyncSession) -> list[Account]:
    return list((await session.scalars(select(Account).order_by(Account.name))).all())


async def account_of(session: AsyncSession, concern: Concern) -> tuple[Account, Client]:
    client = await session.get(Client, concern.client_id)
    if client is None:
        raise AccountError(f"{concern.token} has no client")
    account = await session.get(Account, client.account_id)
    if account is None:
        raise AccountError(f"{concern.token}'s client has no account")
    return account, client
