"""Queries the worker and the CLI share; every function takes the session it runs in."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, inspect, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstanceState, InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from service.adapters.inbox import Checkpoint as InboxCheckpoint
from service.core.triage import ThreadConcern
from service.errors import ConcernNotFound
from service.store.db import is_postgres
from service.store.models import (
    Account,
    Checkpoint,
    Client,
    Concern,
    ConcernEvent,
    Job,
    MessageRow,
    OutboxRow,
    Quarantine,
)

# rows written and never read back by id in the transaction that writes them
_WRITE_ONLY = (ConcernEvent, Job, MessageRow)


async def insert_write_only(session: AsyncSession) -> None:
    """On SQLite, INSERT the session's new events, jobs and message rows with one executemany per table.

    Flushed as ORM objects, SQLite takes one INSERT per row: SQLAlchemy needs each new id back,
    in order, and SQLite's RETURNING promises no order. Nothing reads these rows' ids, so they
    are taken out of the session and written as plain rows.
    """
    if is_postgres(session):
        return  # there the ORM writes them in batches already, faster than this (bench/pipeline_only.py)
    by_table: dict[type[Any], list[dict[str, Any]]] = {}
    for obj in list(session.new):
        if isinstance(obj, _WRITE_ONLY):
            state: InstanceState[Any] = inspect(obj)
            columns = state.mapper.column_attrs.keys()
            by_table.setdefault(type(obj), []).append({k: v for k, v in state.dict.items() if k in columns})
            session.expunge(obj)
    for table, rows in by_table.items():
        await session.execute(insert(table), rows)


def parse_concern_id(text: str) -> int:
    """`C-12`, `c-12`, `#C-12` or `12` -> 12; raise ConcernNotFound otherwise."""
    raw = text.strip().lstrip("#").upper().removeprefix("C-")
    if not raw.isdigit():
        raise ConcernNotFound(f"not a concern id: {text!r} (expected e.g. C-12)")
    return int(raw)


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


async def known_message_ids(session: AsyncSession, message_ids: Sequence[str]) -> set[str]:
    """Which of these Message-IDs are stored already: one query for a whole batch."""
    if not message_ids:
        return set()
    rows = await session.scalars(select(MessageRow.message_id).where(MessageRow.message_id.in_(set(message_ids))))
    return set(rows.all())


async def our_message_ids(session: AsyncSession, message_ids: Sequence[str]) -> set[str]:
    """Which of these Message-IDs are of messages we wrote (a loop back to us)."""
    if not message_ids:
        return set()
    rows = await session.scalars(select(OutboxRow.message_id).where(OutboxRow.message_id.in_(set(message_ids))))
    return set(rows.all())


async def thread_concern(session: AsyncSession, token: str | None,
                         thread_ids: Sequence[str]) -> ThreadConcern | None:
    """The concern a message belongs to: by its subject token, else by In-Reply-To/References."""
    concern: Concern | None = None
    if token:
        concern = await session.get(Concern, parse_concern_id(token))
    if concern is None and thread_ids:
        rows = await session.execute(
            select(MessageRow.message_id, MessageRow.concern_id).where(
                MessageRow.message_id.in_(list(thread_ids)), MessageRow.concern_id.is_not(None)
            )
        )
        by_id = {mid: cid for mid, cid in rows.all()}
        for mid in thread_ids:  # nearest ancestor wins
            if mid in by_id:
                concern = await session.get(Concern, by_id[mid])
                break
    if concern is None:
        return None
    client = await session.get(Client, concern.client_id)
    return ThreadConcern(
        id=concern.id,
        client_email=client.email if client else "",
        kind=concern.kind,
        status=concern.status,
        acknowledged=concern.acknowledged_at is not None,
    )


async def thread_event(session: AsyncSession, thread_ids: Sequence[str]) -> int | None:
    """The event a reply belongs to (a reply to one of its reminders), if any."""
    if not thread_ids:
        return None
    found = await session.scalar(select(MessageRow.event_id).where(
        MessageRow.message_id.in_(list(thread_ids)), MessageRow.event_id.is_not(None)).limit(1))
    return int(found) if found is not None else None


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


async def load_checkpoint(session: AsyncSession, mailbox: str) -> InboxCheckpoint | None:
    row = await session.scalar(select(Checkpoint).where(Checkpoint.mailbox == mailbox))
    return InboxCheckpoint(row.uidvalidity, row.last_uid) if row else None


async def save_checkpoint(session: AsyncSession, mailbox: str, cp: InboxCheckpoint,
                          now: datetime) -> None:
    row = await session.scalar(select(Checkpoint).where(Checkpoint.mailbox == mailbox))
    if row is None:
        session.add(Checkpoint(mailbox=mailbox, uidvalidity=cp.uidvalidity,
                               last_uid=cp.last_uid, updated_at=now))
    elif (row.uidvalidity, row.last_uid) != (cp.uidvalidity, cp.last_uid):
        row.uidvalidity, row.last_uid, row.updated_at = cp.uidvalidity, cp.last_uid, now


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


async def concern_by_token(session: AsyncSession, token: str) -> Concern:
    concern = await session.get(Concern, parse_concern_id(token))
    if concern is None:
        raise ConcernNotFound(f"no concern {token}")
    return concern


async def list_concerns(session: AsyncSession, status: str | None = None) -> list[tuple[Concern, Client]]:
    query = select(Concern, Client).join(Client, Client.id == Concern.client_id).order_by(Concern.id)
    if status:
        query = query.where(Concern.status.in_(status.split(",")))
    return [(c, cl) for c, cl in (await session.execute(query)).all()]


async def list_quarantine(session: AsyncSession) -> list[Quarantine]:
    return list((await session.scalars(select(Quarantine).order_by(Quarantine.id))).all())
