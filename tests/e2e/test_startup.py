"""Fast to start: what `followup --help` and the read-only commands import, and what they leave alone.

Import lists, not timings (bench/startup.py measures those): a heavy import added to the path of
--help or of a listing fails here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NEVER_FOR_HELP = {"asyncio", "ssl", "sqlalchemy", "alembic", "jinja2", "aiosmtplib", "aioimaplib", "numpy", "pydantic",
                  "authlib", "sklearn", "asyncpg", "aiosqlite"}
NEVER_FOR_LISTINGS = {"alembic", "jinja2", "aiosmtplib", "aioimaplib", "numpy", "authlib", "sklearn",
                      "inscriptis", "mailparser_reply"}


def imported(args: list[str], env: dict[str, str]) -> set[str]:
    """The top-level packages a fresh `python -m service ARGS` imported (read off -X importtime)."""
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "service", *args], capture_output=True,
                         text=True, env=env, cwd=ROOT, timeout=120)
    names = set()
    for line in run.stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    assert "service" in names, run.stderr[-2000:]
    return names


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
    base.update({"FOLLOWUP_INBOX_URL": f"maildir://{tmp_path}/in", "FOLLOWUP_OUTBOX_URL": f"maildir://{tmp_path}/out",
                 "FOLLOWUP_SHARED_ADDRESS": "care@example.test",
                 "FOLLOWUP_DATABASE_URL": f"sqlite:///{tmp_path}/followup.db"})
    return base


def test_help_imports_nothing_heavy(env: dict[str, str]) -> None:
    for args in (["--help"], ["concerns", "--help"], ["run", "--help"]):
        heavy = imported(args, env) & NEVER_FOR_HELP
        assert not heavy, f"followup {' '.join(args)} imports {sorted(heavy)}"


def test_a_bad_setting_is_named_before_the_database_layer_is_imported(env: dict[str, str]) -> None:
    heavy = imported(["concerns"], {**env, "FOLLOWUP_POLL_INTERVAL_S": "-1"}) & {"sqlalchemy", "alembic"}
    assert not heavy


def test_listings_on_a_current_database_skip_alembic_and_the_mail_libraries(env: dict[str, str]) -> None:
    migrated = subprocess.run([sys.executable, "-m", "service", "migrate"], env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=120)
    assert migrated.returncode == 0, migrated.stderr
    # (`events` and `accounts` share one transaction with their changes and load the event flow: not here)
    for args in (["concerns"], ["show", "C-1"], ["quarantine"]):
        names = imported(args, env)
        assert "sqlalchemy" in names  # it did read the database
        heavy = names & NEVER_FOR_LISTINGS
        assert not heavy, f"followup {' '.join(args)} imports {sorted(heavy)}"


def test_a_listing_on_an_old_schema_still_migrates_it_first(env: dict[str, str], tmp_path: Path) -> None:
    import sqlite3

    from alembic import command
    from sqlalchemy import create_engine

    from service.store.db import _alembic_config, head_revision

    assert subprocess.run([sys.executable, "-m", "service", "migrate"], env=env, cwd=ROOT, timeout=120).returncode == 0
    engine = create_engine(f"sqlite:///{tmp_path / 'followup.db'}")  # as the release before the last migration left it
    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "-1")
    engine.dispose()
    with sqlite3.connect(tmp_path / "followup.db") as db:
        older = db.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    assert older != head_revision()
    assert "alembic" in imported(["concerns"], env)
    with sqlite3.connect(tmp_path / "followup.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchone()[0] == head_revision()


def test_the_head_revision_read_off_the_file_names_is_alembics() -> None:
    from alembic.script import ScriptDirectory

    from service.store.db import MIGRATIONS, head_revision

    assert head_revision() == ScriptDirectory(str(MIGRATIONS)).get_current_head()
