"""Servers go away under the real worker (a subprocess): SMTP refuses, then answers 4xx, then is back;
PostgreSQL is stopped and restarted; SIGTERM stops cleanly and a restart carries on.

Run alone: pytest -m faults -s
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from conftest import SinkHandler, free_port
from mailfactory import client_mail, drop

pytestmark = [pytest.mark.faults, pytest.mark.timeout(300)]
ROOT = Path(__file__).resolve().parents[2]
COMPLAINT = "We were charged twice for invoice {n} and nobody has called back. This is unacceptable."


def start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "service", "run"], env=env, cwd=ROOT,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


def base_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
    env.update({"FOLLOWUP_INBOX_URL": f"maildir://{tmp_path / 'in'}", "FOLLOWUP_SHARED_ADDRESS": "care@example.test",
                "FOLLOWUP_OUTBOX_URL": f"maildir://{tmp_path / 'out'}", "FOLLOWUP_POLL_INTERVAL_S": "0.2",
                "FOLLOWUP_DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}", "FOLLOWUP_SEND_BACKOFF_S": "0.2",
                "FOLLOWUP_SEND_BACKOFF_MAX_S": "1", "FOLLOWUP_RECONNECT_MAX_S": "1", "FOLLOWUP_LOG_FORMAT": "json",
                "FOLLOWUP_SCHEDULER_INTERVAL_S": "0.5"})
    env.update(extra)
    return env


def wait_until(check: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def stop(proc: subprocess.Popen[bytes], log: Path, bound_s: float = 15) -> float:
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(bound_s)
    assert code == 0, log.read_text()[-3000:]
    return time.monotonic() - started


def test_smtp_refusing_then_4xx_then_back(tmp_path: Path) -> None:
    from aiosmtpd.controller import Controller

    port = free_port()
    log = tmp_path / "worker.log"
    for n in range(5):
        drop(tmp_path / "in", client_mail(sender=f"C{n} <c{n}@client.example>", subject=f"Invoice {n}",
                                          body=COMPLAINT.format(n=n)))
    proc = start(base_env(tmp_path, FOLLOWUP_OUTBOX_URL=f"smtp://127.0.0.1:{port}"), log)
    handler = SinkHandler(fail_with=(451, "4.3.0 Try again later"), fail_count=15)
    controller = None
    try:
        wait_until(lambda: log.read_text().count('"send ') >= 3, 20, "send attempts against a closed port")
        assert "Connection refused" in log.read_text() or "connect" in log.read_text().lower()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()  # now it answers, but 451 for a while
        wait_until(lambda: handler.fail_count == 0, 30, "the 4xx answers to be used up")
        wait_until(lambda: len(handler.messages) >= 5, 30, "every acknowledgement once the server is back")
        time.sleep(1.0)
        assert proc.poll() is None  # it kept running through all of it
        print(f"\nsmtp faults: refused then 15 x 451, then delivered {len(handler.messages)}")
    finally:
        stop(proc, log)
        if controller is not None:
            controller.stop()
    ids = Counter(str(message_from_bytes(m[2], policy=policy.default)["Message-ID"]) for m in handler.messages)
    assert len(ids) == 5 and set(ids.values()) == {1}  # nothing lost, nothing twice


@pytest.fixture
def own_postgres() -> Iterator[tuple[str, list[str], list[str]]]:
    """A PostgreSQL cluster of our own, so the test can stop and start it (needs root or the postgres user)."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if not bins or shutil.which("runuser") is None or os.geteuid() != 0:
        if os.environ.get("CI"):
            raise AssertionError("PostgreSQL server binaries (and root) are expected in CI")
        pytest.skip("PostgreSQL server binaries or root not available: cannot stop and restart a server")
    bindir = bins[-1].parent
    # not under pytest's tmp dirs: they are private to root, and the server runs as postgres
    root = Path(tempfile.mkdtemp(prefix="followup-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    shutil.chown(root, "postgres", "postgres")
    shutil.chown(sock, "postgres", "postgres")
    as_pg = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_pg, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-N"],
                   check=True, capture_output=True)
    port = free_port()
    pg_ctl = [*as_pg, str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(root / "pg.log")]
    opts = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off"
    start_cmd = [*pg_ctl, "-o", opts, "start"]
    stop_cmd = [*pg_ctl, "-m", "fast", "stop"]
    subprocess.run(start_cmd, check=True, capture_output=True)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres", start_cmd, stop_cmd
    finally:
        subprocess.run(stop_cmd, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def test_postgres_stopped_and_restarted(tmp_path: Path, own_postgres: tuple[str, list[str], list[str]]) -> None:
    url, start_cmd, stop_cmd = own_postgres
    log = tmp_path / "worker.log"
    env = base_env(tmp_path, FOLLOWUP_DATABASE_URL=url)
    for n in range(3):
        drop(tmp_path / "in", client_mail(sender=f"C{n} <c{n}@client.example>", subject=f"Invoice {n}",
                                          body=COMPLAINT.format(n=n)))
    proc = start(env, log)
    outbox = tmp_path / "out" / "new"
    try:
        wait_until(lambda: outbox.exists() and len(list(outbox.iterdir())) >= 3, 30, "the first acknowledgements")
        subprocess.run(stop_cmd, check=True, capture_output=True)
        for n in range(3, 8):  # mail keeps arriving while the database is down
            drop(tmp_path / "in", client_mail(sender=f"C{n} <c{n}@client.example>", subject=f"Invoice {n}",
                                              body=COMPLAINT.format(n=n)))
        time.sleep(3.0)
        assert proc.poll() is None, log.read_text()[-3000:]
        assert len(list(outbox.iterdir())) == 3  # nothing done without the database, nothing lost either
        subprocess.run(start_cmd, check=True, capture_output=True)
        wait_until(lambda: len(list(outbox.iterdir())) >= 8, 60, "catching up once the database is back")
        time.sleep(1.0)
    finally:
        stop(proc, log)
    text = log.read_text()
    assert "retrying in" in text  # it backed off, and said so
    acks = Counter(message_from_bytes(p.read_bytes(), policy=policy.default)["To"] for p in outbox.iterdir())
    print(f"\npostgres fault: {len(acks)} clients acknowledged, duplicates {sum(v - 1 for v in acks.values())}")
    assert len(acks) == 8 and set(acks.values()) == {1}
    assert not list((tmp_path / "in" / "new").iterdir())


def test_sigterm_stops_within_a_bound_and_a_restart_carries_on(tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    for n in range(300):
        drop(tmp_path / "in", client_mail(sender=f"C{n} <c{n}@client.example>", subject=f"Invoice {n}",
                                          body=COMPLAINT.format(n=n)))
    env = base_env(tmp_path, FOLLOWUP_FETCH_BATCH="20", FOLLOWUP_DOMAIN_REPLY_CAP="0")
    proc = start(env, log)
    outbox = tmp_path / "out" / "new"
    wait_until(lambda: outbox.exists() and len(list(outbox.iterdir())) >= 5, 30, "the worker to get going")
    took = stop(proc, log, bound_s=15)  # mid-backlog
    done_before = len(list(outbox.iterdir()))
    proc = start(env, log)  # as a supervisor would
    wait_until(lambda: len(list(outbox.iterdir())) >= 300, 120, "the rest of the backlog")
    time.sleep(0.5)
    stop(proc, log)
    acks = Counter(message_from_bytes(p.read_bytes(), policy=policy.default)["To"] for p in outbox.iterdir())
    print(f"\nsigterm: stopped in {took:.2f}s after {done_before} acknowledgements; after restart {len(acks)}, "
          f"duplicates {sum(v - 1 for v in acks.values())}")
    assert len(acks) == 300 and set(acks.values()) == {1}
