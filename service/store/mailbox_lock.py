"""One reader per mailbox across workers: a PostgreSQL session advisory lock on a dedicated connection.

The lock lives as long as the holder's connection: a worker that dies (even by
SIGKILL) drops its connection and another worker takes the mailbox over at its
next try. SQLite means one worker, so there is nothing to lock.
"""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.store.db import is_postgres

log = logging.getLogger("followup.worker")


def lock_key(mailbox: str) -> int:
    """A stable signed 64-bit key for the mailbox's name."""
    return int.from_bytes(hashlib.sha256(f"followup-mailbox:{mailbox}".encode()).digest()[:8], "big", signed=True)


class MailboxLock:
    """`acquire()` returns True when this worker may read the mailbox; `alive()` checks it still may."""

    def __init__(self, engine: AsyncEngine, mailbox: str) -> None:
        self.engine = engine
        self.mailbox = mailbox
        self.key = lock_key(mailbox)
        self._conn: AsyncConnection | None = None

    @property
    def needed(self) -> bool:
        return is_postgres(self.engine)

    async def acquire(self) -> bool:
        if not self.needed or self._conn is not None:
            return True
        conn = await self.engine.connect()
        try:
            # autocommit: the lock is held by the session, not by an open transaction
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            got = bool(await conn.scalar(text("select pg_try_advisory_lock(:k)"), {"k": self.key}))
        except BaseException:
            await conn.close()
            raise
        if not got:
            await conn.close()
            return False
        self._conn = conn
        log.info("this worker now reads mailbox %s", self.mailbox)
        return True

    async def alive(self) -> bool:
        """False when the lock's connection is gone (the lock with it): stop reading and try again."""
        if not self.needed:
            return True
        if self._conn is None:
            return False
        try:
            await self._conn.scalar(text("select 1"))
        except Exception as exc:  # noqa: BLE001 - any failure means the lock may be gone
            log.warning("lost the lock on mailbox %s: %s", self.mailbox, exc)
            await self.release()
            return False
        return True

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.scalar(text("select pg_advisory_unlock(:k)"), {"k": self.key})
            except Exception:  # noqa: BLE001, S110 - closing the connection releases it anyway
                pass
            finally:
                await conn.close()
