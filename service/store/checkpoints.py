"""Where each mailbox was read up to (IMAP UIDVALIDITY and last UID)."""

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
