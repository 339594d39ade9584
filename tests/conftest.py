"""Shared fixtures: real servers on 127.0.0.1 (Dovecot + Postfix, an aiosmtpd sink, PostgreSQL).

The tests are in three layers, one folder each (`./scripts/test.sh unit|integration|e2e` runs one):

- unit/: pure functions (mail format, detector, core decisions, and the pure parts of the other
  rooms). No network, no database, no subprocess: the guard below fails a test that tries.
- integration/: the store, adapters and flows in this process against real SQLite, PostgreSQL,
  Dovecot and Postfix (and the aiosmtpd sink).
- e2e/: the worker and the command line in processes of their own: the loop, crashes, faults.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing.process
import os
import socket
import sqlite3
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

# aiosmtpd, the test sink, logs every connection at INFO ("EOF received", "connection lost"), and the
# command-line tests set up INFO logging: its lines buried the suite's own output
logging.getLogger("mail.log").setLevel(logging.WARNING)

PG_ADMIN_URL = os.environ.get("FOLLOWUP_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


TESTS = Path(__file__).parent
LAYERS = ("unit", "integration", "e2e")
UNIT = TESTS / "unit"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--layer", choices=LAYERS, help="run the tests of one layer (tests/LAYER/) only")


def _layer_of(path: Path) -> str | None:
    parts = path.relative_to(TESTS).parts if path.is_relative_to(TESTS) else ()
    return parts[0] if parts and parts[0] in LAYERS else None


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With --layer, the other layers' folders are not even imported."""
    layer, other = config.getoption("layer"), _layer_of(collection_path)
    return True if layer and other and other != layer else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test outside the layer folders is an error (scripts/test.sh would never run it). With --layer,
    tests named on the command line from another layer are deselected (--ignore spares them)."""
    strays = sorted({str(item.path.relative_to(TESTS)) for item in items
                     if item.path.is_relative_to(TESTS) and _layer_of(item.path) is None})
    if strays:
        raise pytest.UsageError(f"tests outside tests/unit, tests/integration and tests/e2e: {', '.join(strays)}")
    layer = config.getoption("layer")
    if not layer:
        return
    others = [item for item in items if _layer_of(item.path) != layer]
    if others:
        config.hook.pytest_deselected(items=others)
        items[:] = [item for item in items if _layer_of(item.path) == layer]


@pytest.fixture(autouse=True)
def _unit_tests_stay_pure(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test in unit/ that connects anywhere, opens a database or starts a process fails, saying where it belongs."""
    if not request.node.path.is_relative_to(UNIT):
        return

    def refuse(what: str) -> Any:
        def refused(*_args: Any, **_kwargs: Any) -> Any:
            raise AssertionError(f"a unit test {what}: it belongs in tests/integration/ or tests/e2e/")
        return refused

    monkeypatch.setattr(socket.socket, "connect", refuse("opens a network connection"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("opens a network connection"))
    monkeypatch.setattr(sqlite3, "connect", refuse("opens a database"))
    monkeypatch.setattr(subprocess.Popen, "__init__", refuse("starts a process"))
    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", refuse("starts a process"))
    monkeypatch.setattr(os, "fork", refuse("starts a process"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- SMTP sink (aiosmtpd, in a thread) ----------------------------------------------------


@dataclass
class SinkHandler:
    """Accepts, records, or refuses on demand (`fail_with` = (code, text) for the next n)."""

    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    fail_with: tuple[int, str] | None = None
    fail_count: int = 0
    event: threading.Event = field(default_factory=threading.Event)
    peers: set[tuple[str, int]] = field(default_factory=set)  # the client connections messages came over

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.fail_with and self.fail_count > 0:
            self.fail_count -= 1
            code, text = self.fail_with
            return f"{code} {text}"
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content)))
        self.peers.add(tuple(session.peer[:2]))
        self.event.set()
        return "250 OK"


@dataclass
class SmtpSink:
    host: str
    port: int
    handler: SinkHandler

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[tuple[str, list[str], bytes]]:
        import time

        deadline = time.monotonic() + timeout_s
        while len(self.handler.messages) < count and time.monotonic() < deadline:
            self.handler.event.wait(0.05)
            self.handler.event.clear()
        return list(self.handler.messages)


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    from aiosmtpd.controller import Controller

    handler = SinkHandler()
    port = free_port()  # aiosmtpd's ready check connects to the port: port=0 fails
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpSink("127.0.0.1", port, handler)
    finally:
        controller.stop()


# -- Dovecot + Postfix ---------------------------------------------------------------------


# one mailbox per purpose, so tests sharing the session's servers never see each other's mail
USERS = ("support", "owner", "alice", "bob", "carol", "dave", "erin", "frank", "grace", "desk", "boss", "chief",
         "client1", "helpdesk", "client2", "crashdesk", "scaledesk", "rescan", "catchall", "preparesqlite", "preparepostgresql",
         "autosqlite", "autopostgresql", "utf8desk", "replydesk", "replier",
         "readonce", "langdesk", "langboss", "claire", "jonas", "lucia")


@pytest.fixture(scope="session")
def mailstack() -> Iterator[Any]:
    from mailstack import MailstackUnavailable, start_mailstack

    try:
        stack = start_mailstack(users=USERS)
    except MailstackUnavailable as exc:
        if os.environ.get("CI"):
            raise  # CI installs the stack: missing it there is a failure, not a skip
        pytest.skip(f"Dovecot/Postfix not available: {exc}")
    try:
        yield stack
    finally:
        stack.stop(remove_root=True)


@pytest.fixture(scope="session")
def oauth_stack() -> Iterator[Any]:
    """A second Dovecot and Postfix that take XOAUTH2, and the OAuth2 provider whose tokens they check.

    Apart from `mailstack`, so that the password logins of every other test meet the configuration
    they always met. Access tokens live 3 s; refresh tokens rotate at every grant.
    """
    from oauth_provider import OAuthProvider

    from mailstack import MailstackUnavailable, start_mailstack

    provider = OAuthProvider(username="oauthdesk@example.test", lifetime_s=3.0)
    try:
        try:
            stack = start_mailstack(users=("oauthdesk", "client1", "client2", "owner"),
                                    oauth2_introspection_url=provider.introspection_url)
        except MailstackUnavailable as exc:
            if os.environ.get("CI"):
                raise
            pytest.skip(f"Dovecot/Postfix not available: {exc}")
        provider.serve_tls(*stack.tls_files)
        try:
            yield stack, provider
        finally:
            stack.stop(remove_root=True)
    finally:
        provider.stop()


# -- PostgreSQL ----------------------------------------------------------------------------


def _pg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _pg_exec(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_pg_dsn(PG_ADMIN_URL), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; skipped with the reason when none runs."""
    name = f"followup_test_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_pg_exec(f'CREATE DATABASE "{name}"'))
    except (TimeoutError, OSError, ImportError) as exc:
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL.split('@')[-1]}: {exc}")
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(_pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'followup.db'}"
    return str(request.getfixturevalue("pg_url"))
