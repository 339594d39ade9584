"""Inbound and outbound message rows, threads, and the quarantine: queries by Message-ID."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstanceState

from service.core.rules.facts import ThreadConcern
from service.store.concerns import parse_concern_id
from service.store.db import is_postgres
from service.store.models import (
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


async def insert_rows(session: AsyncSession, *, events: Sequence[dict[str, Any]] = (),
                      jobs: Sequence[dict[str, Any]] = (), messages: Sequence[dict[str, Any]] = ()) -> None:
    """INSERT plain rows of history events, jobs and message rows, one statement per table that has any."""
    for model, rows in ((ConcernEvent, events), (Job, jobs), (MessageRow, messages)):
        if rows:
            # the table, not the mapped class: plain Core, without the ORM's bulk-insert bookkeeping
            await session.execute(insert(cast(Table, model.__table__)), rows)


async def messages_of_concern(session: AsyncSession, concern_id: int) -> list[MessageRow]:
    """The concern's messages, in and out, in the order they were stored."""
    rows = await session.scalars(select(MessageRow).where(MessageRow.concern_id == concern_id)
                                 .order_by(MessageRow.id))
    return list(rows.all())


async def stored_fingerprints(session: AsyncSession, message_ids: Sequence[str]) -> dict[str, set[str | None]]:
    """Which of these Message-IDs are stored already, each with the content fingerprints stored under it
    (None: a row without one, stored before they were kept): one query for a whole batch."""
    found: dict[str, set[str | None]] = {}
    if not message_ids:
        return found
    rows = await session.execute(select(MessageRow.message_id, MessageRow.fingerprint).where(
        MessageRow.message_id.in_(set(message_ids))))
    for message_id, fingerprint in rows.all():
        found.setdefault(message_id, set()).add(fingerprint)
    return found


async def our_message_ids(session: AsyncSession, message_ids: Sequence[str]) -> set[str]:
    """Which of these Message-IDs are of messages we wrote (a loop back to us)."""
    if not message_ids:
        return set()
    rows = await session.scalars(select(OutboxRow.message_id).where(OutboxRow.message_id.in_(set(message_ids))))
    return set(rows.all())


async def thread_concern(session: AsyncSession, token: str | None, thread_ids: Sequence[str],
                         sender: str = "") -> ThreadConcern | None:
    """The concern a message belongs to: by its subject token, else by In-Reply-To/References.

    Two stored messages may share a Message-ID (a different message reused it): the one whose
    concern is `sender`'s own is the thread, else the later one.
    """
    concern: Concern | None = None
    if token:
        concern = await session.get(Concern, parse_concern_id(token))
    if concern is None and thread_ids:
        rows = await session.execute(
            select(MessageRow.message_id, Concern.id, Client.email)
            .join(Concern, Concern.id == MessageRow.concern_id).join(Client, Client.id == Concern.client_id)
            .where(MessageRow.message_id.in_(list(thread_ids))).order_by(MessageRow.id)
        )
        latest: dict[str, int] = {}
        senders: dict[str, int] = {}
        for mid, cid, email in rows.all():
            latest[mid] = cid
            if email == sender:
                senders[mid] = cid
        for mid in thread_ids:  # nearest ancestor wins
            if mid in latest:
                concern = await session.get(Concern, senders.get(mid, latest[mid]))
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


async def last_inbound_at(session: AsyncSession, concern_id: int) -> datetime | None:
    """When the concern's latest inbound message was stored."""
    return await session.scalar(select(MessageRow.created_at).where(
        MessageRow.concern_id == concern_id, MessageRow.direction == "in").order_by(MessageRow.created_at.desc()))


async def last_in_thread(session: AsyncSession, *, concern_id: int | None = None,
                         event_id: int | None = None) -> str | None:
    """The Message-ID of the latest message, in or out, of a concern (or else of an event): what a
    check-in, closing note or reminder answers."""
    if concern_id is None and event_id is None:
        return None
    where = (MessageRow.concern_id == concern_id) if concern_id is not None else (MessageRow.event_id == event_id)
    return await session.scalar(select(MessageRow.message_id).where(where).order_by(MessageRow.id.desc()))


async def list_quarantine(session: AsyncSession) -> list[Quarantine]:
    return list((await session.scalars(select(Quarantine).order_by(Quarantine.id))).all())
