"""Accounts: look-ups, the account of a concern, and an account's business hours."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar
from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from service.core.businesstime import BusinessHours
from service.core.escalation_policy import ConcernState, Item
from service.errors import AccountError, PlanError
from service.settings import AccountConfig, Settings
from service.store.db import is_postgres
from service.store.models import Account, ActionItem, Client, Concern, ConcernEvent, Job


_ACCOUNTS_LOCK_KEY = 0x666F6C61  # any constant shared by every worker


def hours_of(account: Account) -> BusinessHours:
    return BusinessHours.parse(account.timezone, account.business_hours, account.business_days or None)


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
