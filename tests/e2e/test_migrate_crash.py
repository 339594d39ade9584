"""Migrations survive a crash: `followup migrate`, or a worker's first start, SIGKILLed at seeded random moments
on SQLite and PostgreSQL, leaves a database the next start completes.

The whole upgrade is one transaction (SQLite BEGIN IMMEDIATE, PostgreSQL's transactional DDL under an
advisory lock), so a kill leaves either no schema or all of it, never tables without a revision. Half
the kills wait for a migration step to be logged (a kill inside the upgrade, for certain); the other
half land after a random delay anywhere in start-up.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from service.store.db import head_revision
from service.store.models import Base

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 10
pytestmark = [pytest.mark.crash, pytest.mark.timeout(600)]
TABLES = set(Base.metadata.tables)


def env_for(tmp_path: Path, db_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
    env.update({"FOLLOWUP_INBOX_URL": f"maildir://{tmp_path}/in", "FOLLOWUP_OUTBOX_URL": f"maildir://{tmp_path}/out",
                "FOLLOWUP_SHARED_ADDRESS": "care@example.test", "FOLLOWUP_DATABASE_URL": db_url,
                "FOLLOWUP_LOG_FORMAT": "text", "PYTHONUNBUFFERED": "1"})
    return env


def schema_of(db_url: str) -> tuple[set[str], list[str]]:
    """The tables there and the revisions recorded (alembic_version's rows)."""
    if db_url.startswith("sqlite"):
        path = db_url.split("///", 1)[1]
        if not Path(path).exists():
            return set(), []
        with sqlite3.connect(path) as db:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            revisions = [r[0] for r in db.execute("SELECT version_num FROM alembic_version")] \
                if "alembic_version" in tables else []
        return tables, revisions
    return asyncio.run(_pg_schema(db_url))


async def _pg_schema(db_url: str) -> tuple[set[str], list[str]]:
    import asyncpg

    conn = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"), timeout=5)
    try:
        tables = {r[0] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        revisions = [r[0] for r in await conn.fetch("SELECT version_num FROM alembic_version")] \
            if "alembic_version" in tables else []
        return tables, revisions
    finally:
        await conn.close()


def reset(db_url: str) -> None:
    if db_url.startswith("sqlite"):
        path = Path(db_url.split("///", 1)[1])
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return

    async def drop() -> None:
        import asyncpg

        conn = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"), timeout=5)
        try:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        finally:
            await conn.close()

    asyncio.run(drop())


def kill_during(args: list[str], env: dict[str, str], *, after_step: str | None, delay_s: float) -> tuple[bool, str]:
    """Start `followup ARGS`; SIGKILL it once `after_step` is logged (or after `delay_s`). Returns whether it
    was killed before it finished, and what it logged."""
    proc = subprocess.Popen([sys.executable, "-m", "service", *args], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    step_seen = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if after_step is not None and f"migration {after_step} applied" in line:
                step_seen.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if after_step is not None:
        step_seen.wait(timeout=30)
    else:
        time.sleep(delay_s)
    killed = proc.poll() is None
    if killed:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    reader.join(timeout=10)
    return killed, "".join(lines)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_kill_at_any_moment_of_a_migration_leaves_a_database_the_next_start_completes(
        database: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    db_url = f"sqlite:///{tmp_path / 'followup.db'}" if database == "sqlite" else str(request.getfixturevalue("pg_url"))
    env = env_for(tmp_path, db_url)
    head = head_revision()
    started = time.monotonic()
    full = subprocess.run([sys.executable, "-m", "service", "migrate"], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert full.returncode == 0, full.stdout + full.stderr
    migrate_s = time.monotonic() - started
    steps = [line.split("migration ", 1)[1].split()[0] for line in full.stderr.splitlines() if " applied" in line]
    assert steps and steps[-1] == head, full.stderr
    rng = random.Random(f"migrate-crash-{database}")
    inside = 0
    for round_ in range(ROUNDS):
        reset(db_url)
        # the worker's first start migrates too: half the rounds kill `run --once` instead of `migrate`
        args = ["migrate"] if round_ % 2 == 0 else ["run", "--once"]
        after_step = rng.choice(steps[:-1]) if round_ % 4 < 2 else None
        killed, logged = kill_during(args, env, after_step=after_step, delay_s=rng.uniform(0.05, migrate_s))
        tables, revisions = schema_of(db_url)
        applied = logged.count(" applied")
        if killed and applied > 0:
            inside += 1
        # all or nothing: never tables without their revision, never a revision without its tables
        assert revisions in ([], [head]), (round_, args, revisions, logged[-1500:])
        assert (tables & TABLES) in (set(), TABLES), (round_, sorted(tables), logged[-1500:])
        assert bool(revisions) == bool(tables & TABLES)
        again = subprocess.run([sys.executable, "-m", "service", *args], env=env, cwd=ROOT, capture_output=True,
                               text=True, timeout=120)
        assert again.returncode == 0, (round_, args, again.stdout + again.stderr)
        tables, revisions = schema_of(db_url)
        assert revisions == [head] and tables >= TABLES, (round_, revisions, sorted(TABLES - tables))
    print(f"\nmigration crash test ({database}): {ROUNDS} rounds, {inside} kills inside the upgrade "
          f"(after a step was applied, before the commit), full migrate {migrate_s:.2f} s")
    assert inside >= ROUNDS // 4  # the kills that wait for a step land inside it
