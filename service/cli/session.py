"""What every command opens: the settings (with logging set up) and a session on a migrated store.

The heavy parts (pydantic settings, SQLAlchemy) are imported when a command runs, never when this
module loads: `followup --help` and a mistyped option answer without them.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeAlias, TypeVar

if TYPE_CHECKING:
    from service.settings import Settings
    from service.store.db import AsyncSession

    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

T = TypeVar("T")


def load_cli_settings(args: argparse.Namespace) -> Settings:
    """The settings from `--config` (or FOLLOWUP_CONFIG and the environment), with logging set up."""
    from service.runtime.logs import setup_logging
    from service.settings import load_settings

    settings = load_settings(args.config)
    setup_logging(settings.log_format, settings.log_level)
    return settings


def in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one committed transaction on a migrated store with the configured accounts."""
    from service.flows import account_setup
    from service.store.db import make_engine, migrate, session_factory, transaction

    async def main() -> T:
        engine = make_engine(settings.database_url)
        try:
            await migrate(engine)
            async with transaction(session_factory(engine)) as session:
                await account_setup.sync_accounts(session, settings)
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def read_only(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in a session on a migrated store that commits nothing (listings)."""
    from service.store.db import make_engine, migrate, session_factory

    async def main() -> T:
        engine = make_engine(settings.database_url)
        try:
            await migrate(engine)
            async with session_factory(engine)() as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(main())
