"""The migrations build exactly the tables the models describe, on both databases."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from service.store.db import make_engine, migrate
from service.store.models import Base


async def test_migrated_schema_matches_the_models(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        await migrate(engine)
        async with engine.connect() as conn:
            diff: list[Any] = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c, opts={"compare_type": True}), Base.metadata))
            columns = await conn.run_sync(lambda c: {t: {col["name"] for col in inspect(c).get_columns(t)}
                                                     for t in ("clients", "concerns", "outbox")})
    finally:
        await engine.dispose()
    assert diff == []
    # many new rows in one INSERT on SQLite need these (service.store.models)
    assert all("sentinel" in names for names in columns.values()), columns


async def test_messages_stored_before_0006_keep_no_rule_record(db_url: str) -> None:
    from alembic import command
    from sqlalchemy import text

    from service.store.db import _alembic_config

    engine = make_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(_alembic_config(c), "0005"))
            await conn.execute(text(
                "INSERT INTO messages (message_id, direction, from_addr, to_addr, subject, text, decision, reasons, "
                "verdict, created_at) VALUES ('<old@x>', 'in', 'a@x', '', '', '', 'ignore', '[]', '{}', "
                "CURRENT_TIMESTAMP)"))
        await migrate(engine)
        async with engine.connect() as conn:
            rules = (await conn.execute(text("SELECT rules FROM messages WHERE message_id = '<old@x>'"))).scalar_one()
    finally:
        await engine.dispose()
    assert rules is None


async def test_a_message_id_is_unique_with_its_content_from_0008(db_url: str) -> None:
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    engine = make_engine(db_url)
    row = ("INSERT INTO messages (message_id, fingerprint, direction, from_addr, to_addr, subject, text, decision, "
           "reasons, verdict, created_at) VALUES ('<m@x>', :fp, 'in', 'a@x', '', '', '', 'ignore', '[]', '{}', "
           "CURRENT_TIMESTAMP)")
    try:
        await migrate(engine)
        async with engine.begin() as conn:  # a different message that reused the Message-ID: stored
            await conn.execute(text(row), {"fp": "a" * 64})
            await conn.execute(text(row), {"fp": "b" * 64})
        with pytest.raises(IntegrityError):  # the same message twice: refused
            async with engine.begin() as conn:
                await conn.execute(text(row), {"fp": "a" * 64})
    finally:
        await engine.dispose()
