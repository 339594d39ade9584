"""Accounts from the settings file and the CLI written into the store (the file wins); a sender's account."""

from __future__ import annotations

import time

from service.core import routing
from service.core.routing import DEFAULT_ACCOUNT
from service.settings import AccountConfig, Settings
from service.store import accounts
from service.store.db import AsyncSession
from service.store.models import Account


def _apply_config(account: Account, config: AccountConfig) -> None:
    account.owner_email, account.owner_name = config.owner, config.owner_name
    account.domains, account.addresses, account.staff = config.domains, config.addresses, config.staff
    account.second_level, account.timezone = config.second_level, config.timezone
    account.business_hours, account.business_days = config.business_hours, config.business_days
    account.digest_time = config.digest_time
    account.language, account.owner_language = config.language, config.owner_language or config.language


async def sync_accounts(session: AsyncSession, settings: Settings) -> None:
    """Write the TOML file's accounts and the default account into the store (the file wins)."""
    await accounts.lock_accounts(session)
    for config in settings.accounts:
        account = await accounts.by_name(session, config.name)
        if account is None:
            account = Account(name=config.name)
            session.add(account)
        _apply_config(account, config)
        account.source = "config"
    await default_account(session, settings)


async def save_account(session: AsyncSession, config: AccountConfig) -> Account:
    """Create or change an account from the CLI."""
    account = await accounts.by_name(session, config.name)
    if account is None:
        account = Account(name=config.name, source="cli")
        session.add(account)
    _apply_config(account, config)
    await session.flush()
    return account


async def default_account(session: AsyncSession, settings: Settings) -> Account:
    account = await accounts.by_name(session, DEFAULT_ACCOUNT)
    if account is None:
        account = Account(name=DEFAULT_ACCOUNT, source="config")
        session.add(account)
    account.owner_email = settings.default_owner
    account.owner_name = settings.default_owner_name
    account.timezone, account.business_hours = settings.default_timezone, settings.default_business_hours
    account.business_days = ["mon", "tue", "wed", "thu", "fri"]
    account.digest_time, account.second_level = settings.default_digest_time, settings.default_second_level
    account.domains, account.addresses, account.staff = [], [], []
    account.language = settings.default_language
    account.owner_language = settings.default_owner_language or settings.default_language
    await session.flush()
    return account


class AccountRouter:
    """The account each sender belongs to, with the routing data kept between messages.

    Accounts change rarely: routing data is read once per `ttl_s`, not once per message; the
    account itself is then a primary-key get in the caller's session (ORM objects never outlive one).
    """

    def __init__(self, settings: Settings, ttl_s: float = 10.0) -> None:
        self.settings = settings
        self.ttl_s = ttl_s
        self._routes: tuple[float, list[routing.Route]] | None = None

    async def sender_account(self, session: AsyncSession, address: str) -> Account:
        """The sender's account, else the default one."""
        if self._routes is None or time.monotonic() - self._routes[0] > self.ttl_s:
            snapshot = [routing.Route(a.id, a.name, tuple(a.addresses or ()), tuple(a.domains or ()))
                        for a in await accounts.all_accounts(session)]
            self._routes = (time.monotonic(), snapshot)
        routes = self._routes[1]
        found = routing.route(address, routes) or next((r for r in routes if r.name == DEFAULT_ACCOUNT), None)
        account = await session.get(Account, found.id) if found is not None else None
        if account is None:  # not there yet, or removed since the snapshot
            self._routes = None
            return await default_account(session, self.settings)
        return account
