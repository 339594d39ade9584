"""A concern's life in the store: status changes with their history, action items, accounts, jobs.

Every change is written with who or what caused it, in the caller's transaction.
"""

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

STATUSES = ("open", "acknowledged", "planned", "resolved")


class _Routable(Protocol):
    @property
    def addresses(self) -> Sequence[str] | None: ...
    @property
    def domains(self) -> Sequence[str] | None: ...


A = TypeVar("A", bound=_Routable)
DEFAULT_ACCOUNT = "default"


async def record(session: AsyncSession, concern: Concern, kind: str, actor: str, now: datetime,
                 detail: str = "", to_status: str | None = None) -> None:
    """Write one history event; with `to_status`, also move the concern there."""
    session.add(ConcernEvent(**change(concern, kind, actor, now, detail, to_status)))


def change(concern: Concern, kind: str, actor: str, now: datetime, detail: str = "",
           to_status: str | None = None) -> dict[str, Any]:
    """Move the concern (with `to_status`) and return its history event's row, for the caller to write."""
    before = concern.status
    if to_status is not None:
        concern.status = to_status
    concern.updated_at = now
    return {"concern_id": concern.id, "kind": kind, "from_status": before if to_status else None,
            "to_status": to_status, "actor": actor[:320], "detail": detail[:4000], "at": now}


def job_row(key: str, kind: str, due_at: datetime) -> dict[str, Any]:
    """A new pending job's row, for a key the caller knows is not taken (a concern made in this transaction)."""
    return {"key": key, "kind": kind, "due_at": due_at, "status": "pending", "claimed_at": None, "attempts": 0}


async def items_of(session: AsyncSession, concern_id: int) -> list[ActionItem]:
    rows = await session.scalars(select(ActionItem).where(ActionItem.concern_id == concern_id)
                                 .order_by(ActionItem.number))
    return list(rows.all())


async def add_item(session: AsyncSession, concern: Concern, text: str, owner: str, due_at: datetime,
                   actor: str, now: datetime) -> ActionItem:
    """Add a plan step; the concern becomes planned (a resolved one must be reopened first)."""
    if concern.status == "resolved":
        raise PlanError(f"{concern.token} is resolved; a new message from the client reopens it")
    if not text.strip():
        raise PlanError("an action item needs a text")
    if due_at <= now:
        raise PlanError(f"the due date {due_at:%Y-%m-%d %H:%M} UTC is not in the future")
    number = int(await session.scalar(select(func.count(ActionItem.id))
                                      .where(ActionItem.concern_id == concern.id)) or 0) + 1
    item = ActionItem(concern_id=concern.id, number=number, text=text.strip()[:2000], owner=owner.lower(),
                      due_at=due_at, done_at=None, created_by=actor, created_at=now)
    session.add(item)
    await session.flush()
    detail = f"#{number} {item.text} (owner {item.owner}, due {due_at:%Y-%m-%d %H:%M} UTC)"
    await record(session, concern, "plan", actor, now, detail,
                 to_status="planned" if concern.status != "planned" else None)
    await schedule(session, f"escalate:{concern.token}", "escalate", now)
    return item


async def mark_done(session: AsyncSession, concern: Concern, number: int | None, actor: str,
                    now: datetime) -> ActionItem:
    """Mark item `number` done (or the only open one when no number is given)."""
    open_items = [i for i in await items_of(session, concern.id) if i.done_at is None]
    if number is None:
        if len(open_items) != 1:
            raise PlanError(f"{concern.token} has {len(open_items)} open items: say which (e.g. done 2)")
        item = open_items[0]
    else:
        found = [i for i in open_items if i.number == number]
        if not found:
            raise PlanError(f"{concern.token} has no open item #{number}")
        item = found[0]
    item.done_at = now
    await record(session, concern, "done", actor, now, f"#{item.number} {item.text}")
    return item


async def resolve(session: AsyncSession, concern: Concern, actor: str, now: datetime, note: str = "") -> None:
    if concern.status == "resolved":
        raise PlanError(f"{concern.token} is already resolved")
    await record(session, concern, "resolved", actor, now, note, to_status="resolved")
    await schedule(session, f"closing:{concern.token}", "closing", now)  # tell the client what was done
    await cancel_jobs(session, f"checkin:{concern.token}")


async def reopen(session: AsyncSession, concern: Concern, actor: str, now: datetime, why: str) -> None:
    """A client wrote again on a resolved concern: it is open again and its deadlines restart."""
    await record(session, concern, "reopened", actor, now, why, to_status="open")
    concern.created_at = now  # the escalation clock restarts from the new message
    await schedule(session, f"escalate:{concern.token}", "escalate", now)


_ACCOUNTS_LOCK_KEY = 0x666F6C61  # any constant shared by every worker


async def schedule(session: AsyncSession, key: str, kind: str, due_at: datetime, *, exact: bool = False,
                   new: bool = False) -> None:
    """Create or move the job `key` to run at `due_at` (unless `exact`, an earlier pending time wins).

    `new`: the caller knows no such job exists (a concern created in this transaction).
    """
    if new:
        session.add(Job(**job_row(key, kind, due_at)))
        return
    job = await session.scalar(select(Job).where(Job.key == key))
    if job is None:
        # two workers can both find no digest job for an owner and both insert it: the second
        # insert waits for the first and yields to it, and the row it made is then moved
        insert = pg_insert if is_postgres(session) else sqlite_insert
        result = await session.execute(
            insert(Job).values(key=key, kind=kind, due_at=due_at, status="pending", claimed_at=None, attempts=0)
            .on_conflict_do_nothing(index_elements=["key"]))
        if getattr(result, "rowcount", 0) == 1:
            return
        job = await session.scalar(select(Job).where(Job.key == key).execution_options(populate_existing=True))
        if job is None:  # inserted and removed again meanwhile: nothing left to move
            return
    if exact or job.status != "pending" or due_at < job.due_at:
        job.due_at, job.status = due_at, "pending"


async def cancel_jobs(session: AsyncSession, prefix: str, keep: set[str] | None = None) -> None:
    """Cancel the pending jobs whose key starts with `prefix` (except those in `keep`)."""
    jobs = await session.scalars(select(Job).where(Job.key.startswith(prefix), Job.status == "pending"))
    for job in jobs.all():
        if not keep or job.key not in keep:
            job.status = "cancelled"


async def state_of(session: AsyncSession, concern: Concern, account: Account) -> ConcernState:
    items = await items_of(session, concern.id)
    return ConcernState(concern.id, concern.severity, concern.status, concern.created_at,
                        tuple(Item(i.id, i.due_at, i.done_at is not None) for i in items),
                        has_second_level=bool(account.second_level))


# -- accounts ---------------------------------------------------------------------------

def hours_of(account: Account) -> BusinessHours:
    return BusinessHours.parse(account.timezone, account.business_hours, account.business_days or None)


def _apply_config(account: Account, config: AccountConfig) -> None:
    account.owner_email, account.owner_name = config.owner, config.owner_name
    account.domains, account.addresses, account.staff = config.domains, config.addresses, config.staff
    account.second_level, account.timezone = config.second_level, config.timezone
    account.business_hours, account.business_days = config.business_hours, config.business_days
    account.digest_time = config.digest_time


async def sync_accounts(session: AsyncSession, settings: Settings) -> None:
    """Write the TOML file's accounts and the default account into the store (the file wins)."""
    if is_postgres(session):
        # workers started together would each insert the same new account and all but one
        # die on its unique name: one at a time, each sees what the one before committed
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ACCOUNTS_LOCK_KEY})
    for config in settings.accounts:
        account = await session.scalar(select(Account).where(Account.name == config.name))
        if account is None:
            account = Account(name=config.name)
            session.add(account)
        _apply_config(account, config)
        account.source = "config"
    await default_account(session, settings)


async def save_account(session: AsyncSession, config: AccountConfig) -> Account:
    """Create or change an account from the CLI."""
    account = await session.scalar(select(Account).where(Account.name == config.name))
    if account is None:
        account = Account(name=config.name, source="cli")
        session.add(account)
    _apply_config(account, config)
    await session.flush()
    return account


async def default_account(session: AsyncSession, settings: Settings) -> Account:
    account = await session.scalar(select(Account).where(Account.name == DEFAULT_ACCOUNT))
    if account is None:
        account = Account(name=DEFAULT_ACCOUNT, source="config")
        session.add(account)
    account.owner_email = settings.default_owner
    account.owner_name = settings.default_owner_name
    account.timezone, account.business_hours = settings.default_timezone, settings.default_business_hours
    account.business_days = ["mon", "tue", "wed", "thu", "fri"]
    account.digest_time, account.second_level = settings.default_digest_time, settings.default_second_level
    account.domains, account.addresses, account.staff = [], [], []
    await session.flush()
    return account


async def all_accounts(session: AsyncSession) -> list[Account]:
    return list((await session.scalars(select(Account).order_by(Account.name))).all())


@dataclass(frozen=True)
class Route:
    """What routing needs of an account, safe to keep between sessions."""

    id: int
    name: str
    addresses: tuple[str, ...]
    domains: tuple[str, ...]


def route(address: str, accounts: Sequence[A]) -> A | None:
    """The account a sender belongs to: its exact address first, then its domain or a parent domain."""
    address = address.lower()
    for account in accounts:
        if address in (account.addresses or []):
            return account
    domain = address.rpartition("@")[2]
    best: tuple[int, A] | None = None
    for account in accounts:
        for d in account.domains or []:
            if (domain == d or domain.endswith("." + d)) and (best is None or len(d) > best[0]):
                best = (len(d), account)
    return best[1] if best else None


def authorised(address: str, account: Account) -> bool:
    """May `address` change plans of this account's concerns (owner, staff, second level)?"""
    address = address.lower()
    return address in {account.owner_email, account.second_level, *(account.staff or [])} - {None}


async def account_of(session: AsyncSession, concern: Concern) -> tuple[Account, Client]:
    client = await session.get(Client, concern.client_id)
    if client is None:
        raise AccountError(f"{concern.token} has no client")
    account = await session.get(Account, client.account_id)
    if account is None:
        raise AccountError(f"{concern.token}'s client has no account")
    return account, client
