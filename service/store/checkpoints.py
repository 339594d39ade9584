"""Where each mailbox was read up to (IMAP UIDVALIDITY and last UID)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.store.models import (
    Checkpoint,
)


async def load_checkpoint(session: AsyncSession, mailbox: str) -> tuple[int, int] | None:
    """The mailbox's (UIDVALIDITY, last UID read), if it was read before."""
    row = await session.scalar(select(Checkpoint).where(Checkpoint.mailbox == mailbox))
    return (row.uidvalidity, row.last_uid) if row else None


async def save_checkpoint(session: AsyncSession, mailbox: str, uidvalidity: int, last_uid: int,
                          now: datetime) -> None:
    row = await session.scalar(select(Checkpoint).where(Checkpoint.mailbox == mailbox))
    if row is None:
        session.add(Checkpoint(mailbox=mailbox, uidvalidity=uidvalidity,
                               last_uid=last_uid, updated_at=now))
    elif (row.uidvalidity, row.last_uid) != (uidvalidity, last_uid):
        row.uidvalidity, row.last_uid, row.updated_at = uidvalidity, last_uid, now
