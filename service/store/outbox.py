"""The outbox table: what was queued to whom, claims and leases of the rows being sent."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, bindparam, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from service.core.letter_kinds import CLIENT_BOUND, Purpose
from service.core.mailboxes import mailbox_key, org_of
from service.core.states import OutboxStatus
from service.store.db import is_postgres
from service.store.models import MessageRow, OutboxRow

if TYPE_CHECKING:
    from service.core.letters import Composed, LetterRequest


async def auto_replies_since(session: AsyncSession, mailboxes: Collection[str],
                             since: datetime) -> dict[str, int]:
    """Messages queued to each of these mailboxes (`mailboxes.mailbox_key`) since `since`: one query for all."""
    return await _queued_since(session, OutboxRow.to_mailbox, mailboxes, since)


async def auto_replies_to_domains_since(session: AsyncSession, domains: Collection[str],
                                        since: datetime) -> dict[str, int]:
    """Automatic messages queued to any address in each of these organisational domains since `since`."""
    return await _queued_since(session, OutboxRow.to_domain, domains, since, OutboxRow.purpose.in_(CLIENT_BOUND))


async def acks_caused_since(session: AsyncSession, senders: Collection[str], since: datetime) -> dict[str, int]:
    """Acknowledgements each of these senders (`mailboxes.ack_cause`) caused since `since`, whoever got them."""
    return await _queued_since(session, OutboxRow.cause, senders, since, OutboxRow.purpose == Purpose.ACK)


async def acks_from_sources_since(session: AsyncSession, domains: Collection[str],
                                  since: datetime) -> dict[str, int]:
    """Acknowledgements senders in each of these organisational domains caused since `since`."""
    return await _queued_since(session, OutboxRow.cause_org, domains, since, OutboxRow.purpose == Purpose.ACK)


async def automatic_sent_since(session: AsyncSession, address: str, since: datetime) -> list[datetime]:
    """When each message we started to this (lower-case) address after `since` was queued: the client cap's input."""
    rows = await session.scalars(select(OutboxRow.created_at).where(
        OutboxRow.to_addr == address, OutboxRow.purpose.in_(CLIENT_BOUND), OutboxRow.created_at > since))
    return list(rows.all())


async def queued_keys(session: AsyncSession, keys: Collection[str]) -> set[str]:
    """Which of these dedupe keys are queued already: one query for a batch."""
    if not keys:
        return set()
    rows = await session.scalars(select(OutboxRow.dedupe_key).where(OutboxRow.dedupe_key.in_(set(keys))))
    return {k for k in rows.all() if k is not None}


async def add_letters(session: AsyncSession, letters: Sequence[tuple[LetterRequest, Composed]],
                      now: datetime) -> list[int]:
    """Write each message's outbox row and its outbound message row, one INSERT per table; their outbox ids.

    The only place an outbox row is made. Both go in as plain rows, not ORM objects: flushing
    objects would also flush every other change pending in the session, once more per batch.
    """
    if not letters:
        return []
    table = cast(Table, OutboxRow.__table__)
    made_ids = await session.execute(insert(table).returning(table.c.id, table.c.message_id), [dict(
        message_id=made.message_id, concern_id=req.links.concern_id, purpose=req.purpose.value,
        dedupe_key=req.dedupe_key, to_addr=made.to_addr, to_domain=org_of(made.to_addr),
        to_mailbox=mailbox_key(made.to_addr), cause=req.cause.sender if req.cause else None,
        cause_org=req.cause.source if req.cause else None,
        answers_arrived_at=req.answers_arrived_at,
        raw=made.raw, status=OutboxStatus.PENDING.value, attempts=0, next_attempt_at=now, last_error=None,
        claimed_at=None, created_at=now, sent_at=None) for req, made in letters])
    ids = {message_id: row_id for row_id, message_id in made_ids.all()}
    await session.execute(insert(cast(Table, MessageRow.__table__)), [dict(
        message_id=made.message_id, direction="out", concern_id=req.links.concern_id,
        client_id=req.links.client_id, event_id=req.links.event_id, from_addr=req.sender.address[:320],
        to_addr=made.to_addr[:320], subject=req.subject[:500], text=made.text, decision=req.purpose.value,
        reasons=[], verdict={}, raw=None, created_at=now) for req, made in letters])
    return [ids[made.message_id] for _, made in letters]


async def _queued_since(session: AsyncSession, column: InstrumentedAttribute[Any], values: Collection[str],
                        since: datetime, *where: ColumnElement[bool]) -> dict[str, int]:
    if not values:
        return {}
    rows = await session.execute(
        select(column, func.count(OutboxRow.id))
        .where(column.in_(set(values)), OutboxRow.created_at >= since, *where)
        .group_by(column))
    return {str(value): int(count) for value, count in rows.all()}


async def owner_mail_sent(session: AsyncSession, message_ids: Collection[str], recipients: Collection[str],
                          *, latest: int) -> list[bytes]:
    """The raw digests and alerts with these Message-IDs, and the `latest` ones to each of these
    (lower-case) recipients: what an owner's reply may quote back."""
    kinds = (Purpose.DIGEST.value, Purpose.ALERT.value)
    ids: set[int] = set()
    if message_ids:
        ids.update((await session.scalars(select(OutboxRow.id).where(
            OutboxRow.message_id.in_(set(message_ids)), OutboxRow.purpose.in_(kinds)))).all())
    for recipient in set(recipients):
        ids.update((await session.scalars(select(OutboxRow.id).where(
            OutboxRow.to_addr == recipient, OutboxRow.purpose.in_(kinds))
            .order_by(OutboxRow.id.desc()).limit(latest))).all())
    if not ids:
        return []
    return list((await session.scalars(select(OutboxRow.raw).where(OutboxRow.id.in_(ids)))).all())


async def outbox_of_concern(session: AsyncSession, concern_id: int) -> list[OutboxRow]:
    """The outgoing messages about the concern, with how their delivery stands."""
    return list((await session.scalars(select(OutboxRow).where(OutboxRow.concern_id == concern_id))).all())


async def claim_outbox(session: AsyncSession, now: datetime, *, limit: int,
                       lease_s: float, skip_locked: bool) -> list[OutboxRow]:
    """Take due rows (and rows whose sender died mid-send) for this worker."""
    stale = now - timedelta(seconds=lease_s)
    query = (
        select(OutboxRow)
        .where(or_(
            (OutboxRow.status == OutboxStatus.PENDING) & (OutboxRow.next_attempt_at <= now),
            (OutboxRow.status == OutboxStatus.SENDING) & (OutboxRow.claimed_at < stale),
        ))
        .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
        .limit(limit)
    )
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    rows = list((await session.scalars(query)).all())
    for row in rows:
        row.status = OutboxStatus.SENDING
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
            .where(OutboxRow.id == row.id, OutboxRow.status == OutboxStatus.SENDING,
                   OutboxRow.attempts == row.attempts)
            .values(claimed_at=now))
        if getattr(result, "rowcount", 0) == 1:
            mine.add(row.id)
    return mine


async def release_all_claims(session: AsyncSession) -> int:
    """On a single-worker start, every 'sending' row was left by a crash: send it again."""
    result = await session.execute(
        update(OutboxRow).where(OutboxRow.status == OutboxStatus.SENDING).values(status=OutboxStatus.PENDING)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def next_due(session: AsyncSession) -> datetime | None:
    """When the earliest pending row is due (a retry's time, or a row queued just now); None when none waits."""
    return await session.scalar(
        select(OutboxRow.next_attempt_at).where(OutboxRow.status == OutboxStatus.PENDING)
        .order_by(OutboxRow.next_attempt_at).limit(1))


async def record_send_failure(session: AsyncSession, row_id: int, reason: str, retry_at: datetime | None) -> None:
    """A refused send: pending again at `retry_at`, or failed for good when it is None; the reason is kept."""
    row = await session.get(OutboxRow, row_id)
    if row is None:  # outbox rows are never deleted; a missing one has nothing left to retry
        return
    row.last_error = reason[:2000]
    row.claimed_at = None
    if retry_at is None:
        row.status = OutboxStatus.FAILED
    else:
        row.status, row.next_attempt_at = OutboxStatus.PENDING, retry_at


# built once: SQLAlchemy then reuses its compiled form, where a statement built per send
# and run through an ORM session cost more than the SMTP dialogue itself (py-spy)
_MARK_SENT = (update(OutboxRow).where(OutboxRow.id == bindparam("row_id"))
              .values(status=OutboxStatus.SENT, sent_at=bindparam("sent"), last_error=None))
# on PostgreSQL the mark's own transaction does not wait for the WAL flush (SET LOCAL, in the same
# round trip): a killed worker's marks are already with the server, and a mark lost by a crash of
# the server itself only lets its reply be sent again once the lease runs out, never lost.
# Measured: marks 3.4 s -> about 2 s of the sender's time in a 5,000-message loop (bench/loop_throughput.py)
_MARK_SENT_PG = _MARK_SENT.where(func.set_config("synchronous_commit", "off", True).is_not(None))


class SentMarks:
    """Marks rows sent over one connection in autocommit, each mark one statement committed at once."""

    def __init__(self, conn: AsyncConnection, *, postgres: bool) -> None:
        self._conn = conn
        self._statement = _MARK_SENT_PG if postgres else _MARK_SENT

    async def mark(self, row_id: int, sent_at: datetime) -> None:
        """Row `row_id` was accepted at `sent_at`: the window in which a crash resends is this one UPDATE wide."""
        await self._conn.execute(self._statement, {"row_id": row_id, "sent": sent_at})


@asynccontextmanager
async def sent_marks(engine: AsyncEngine) -> AsyncIterator[SentMarks]:
    """One connection for a whole claim, each UPDATE committing on its own: a mark is then one round
    trip, not a checkout, a ping, BEGIN, UPDATE and COMMIT (py-spy: half a send's time)."""
    async with engine.connect() as conn:
        yield SentMarks(await conn.execution_options(isolation_level="AUTOCOMMIT"), postgres=is_postgres(engine))
