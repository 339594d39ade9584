"""Engine, sessions and migrations: SQLite by default, PostgreSQL for many workers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, event, text

# the `X as X` imports re-export what the layers above hold (an engine, a session, a session maker)
# and the error a refused duplicate raises, so that only the store imports SQLAlchemy (the "SQL
# lives in the store" import contract)
from sqlalchemy.exc import IntegrityError as IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.ext.asyncio import AsyncEngine as AsyncEngine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker as async_sessionmaker

from service.errors import StoreError

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
_MIGRATE_LOCK_KEY = 0x666F6C6C  # any constant shared by every worker


def is_postgres(where: AsyncEngine | AsyncConnection | AsyncSession) -> bool:
    """Whether an engine, a connection or a session's bind speaks to PostgreSQL."""
    bind = where.bind if isinstance(where, AsyncSession) else where
    return bind is not None and bind.dialect.name == "postgresql"


def describe_failure(exc: BaseException, url: str) -> str | None:
    """One line for a failure of the database at `url` (password masked, the setting named); None when
    `exc` is not the database's (nor the network's, nor a file's, on the way to it)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    if not isinstance(exc, (SQLAlchemyError, OSError)):
        return None
    shown = make_url(url).render_as_string(hide_password=True)
    cause = getattr(exc, "orig", None) or exc
    reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    return f"database {shown}: {reason} (check FOLLOWUP_DATABASE_URL)"


def sqlite_path(url: str) -> Path | None:
    """The file a SQLite URL names (None: not SQLite, or in memory)."""
    for prefix in ("sqlite+aiosqlite:///", "sqlite:///"):
        if url.startswith(prefix):
            path = url[len(prefix):].partition("?")[0]
            return Path(path) if path and path != ":memory:" else None
    return None


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """One engine per process; SQLite gets WAL and a busy timeout so readers never block writers."""
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if path is not None and not path.parent.is_dir():
            # said before connecting: aiosqlite's thread, failing to open it, could print a traceback after
            # the command's loop has closed
            raise StoreError(f"database {path}: unable to open database file: its folder {path.parent} does not "
                             "exist (FOLLOWUP_DATABASE_URL)")
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5, **kwargs)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on any error."""
    async with sessions() as session, session.begin():
        yield session


def head_revision() -> str:
    """The newest migration's revision, read off the file names (0010_incidents.py -> "0010").

    Alembic is not imported for this: it costs a tenth of a second, and the read-only commands only
    need to know the schema is current (a test holds this equal to Alembic's own head).
    """
    return max(p.name.split("_", 1)[0] for p in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


async def ensure_current(engine: AsyncEngine) -> None:
    """Migrate unless the schema is at the head already (one query, no Alembic, when it is)."""
    if await _recorded_revision(engine) != head_revision():
        await migrate(engine)


async def _recorded_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        has_table = await conn.run_sync(lambda c: c.dialect.has_table(c, "alembic_version"))
        if not has_table:
            return None
        rows = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
    return rows[0] if len(rows) == 1 else None


def _alembic_config(connection: Connection) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision; safe to run from several workers at once."""
    async with engine.begin() as conn:
        if is_postgres(engine):
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATE_LOCK_KEY})
        else:
            # the sqlite3 module opens a transaction only before DML, so each CREATE TABLE would commit
            # alone and a worker killed during the first migration left half a schema that no later
            # start could upgrade ("table accounts already exists"); one explicit transaction makes the
            # upgrade all or nothing, and IMMEDIATE makes workers starting together take turns
            await conn.exec_driver_sql("BEGIN IMMEDIATE")
        await conn.run_sync(_upgrade)
    log.debug("schema is at head")


def _upgrade(connection: Connection) -> None:
    # imported here: only a start that has something to migrate pays for Alembic
    from alembic import command

    command.upgrade(_alembic_config(connection), "head")


async def current_revision(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
