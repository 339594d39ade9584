"""What every command opens: the settings (with logging set up) and a session on a migrated store.

The heavy parts (pydantic settings, SQLAlchemy) are imported when a command runs, never when this
module loads: `followup --help` and a mistyped option answer without them.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeAlias, TypeVar

from service.errors import StoreError

if TYPE_CHECKING:
    from service.settings import Settings
    from service.store.db import AsyncSession

    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

T = TypeVar("T")

_CONCERN_ID = re.compile(r"#?[Cc]-?\d{1,18}|\d{1,18}")


def address_arg(value: str) -> str:
    """An option that names a person: a plain address (argparse says which option is wrong, exit 2)."""
    from service.settings import plain_address

    try:
        return plain_address(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def statuses_arg(value: str) -> str:
    """Comma-separated concern statuses, each one that exists."""
    from service.core.states import ConcernStatus

    known = [s.value for s in ConcernStatus]
    asked = [part.strip().lower() for part in value.split(",") if part.strip()]
    wrong = [part for part in asked if part not in known]
    if wrong or not asked:
        raise argparse.ArgumentTypeError(f"no status {', '.join(wrong) or repr(value)}: choose from {', '.join(known)}")
    return ",".join(asked)


def concern_id_arg(value: str) -> str:
    """A concern id as `followup concerns` prints it (C-12; 12 and #C-12 are read too)."""
    if not _CONCERN_ID.fullmatch(value.strip()):
        raise argparse.ArgumentTypeError(f"not a concern id: {value!r} (expected e.g. C-12)")
    return value.strip()


def load_cli_settings(args: argparse.Namespace) -> Settings:
    """The settings from `--config` (or FOLLOWUP_CONFIG and the environment), with logging set up."""
    from service.runtime.logs import setup_logging
    from service.settings import load_settings

    settings = load_settings(args.config)
    setup_logging(settings.log_format, settings.log_level)
    return settings


@contextmanager
def store_errors(database_url: str) -> Iterator[None]:
    """Turn the database's failures (not there, refused, no such file or database) into one line that
    names it, with its password masked, and the setting to change."""
    from service.store.db import describe_failure

    try:
        yield
    except Exception as exc:
        problem = describe_failure(exc, database_url)
        if problem is None:
            raise
        raise StoreError(problem) from exc


def require_stored(database_url: str) -> None:
    """A command that only reads: refuse a SQLite file that does not exist rather than make an empty one."""
    from service.store.db import sqlite_path

    path = sqlite_path(database_url)
    if path is not None and not path.exists():
        raise StoreError(f"no database at {path}: nothing is stored there yet (check FOLLOWUP_DATABASE_URL, "
                         "or run `followup migrate` or the worker first)")


def in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]], *,
                   stored: bool = False) -> T:
    """Run `work` in one committed transaction on a migrated store with the configured accounts
    (`stored`: on a database that exists already, as for commands about a concern)."""
    import asyncio

    from service.flows import account_setup
    from service.store.db import ensure_current, make_engine, session_factory, transaction

    async def main() -> T:
        engine = make_engine(settings.database_url)
        try:
            await ensure_current(engine)
            async with transaction(session_factory(engine)) as session:
                await account_setup.sync_accounts(session, settings)
                return await work(session)
        finally:
            await engine.dispose()

    if stored:
        require_stored(settings.database_url)
    with store_errors(settings.database_url):
        return asyncio.run(main())


def read_only(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in a session on a migrated store that commits nothing (listings)."""
    import asyncio

    from service.store.db import ensure_current, make_engine, session_factory

    async def main() -> T:
        engine = make_engine(settings.database_url)
        try:
            await ensure_current(engine)
            async with session_factory(engine)() as session:
                return await work(session)
        finally:
            await engine.dispose()

    require_stored(settings.database_url)
    with store_errors(settings.database_url):
        return asyncio.run(main())
