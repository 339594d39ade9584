"""Crash anywhere: a 1,000-message backlog in Dovecot, the real worker SIGKILLed at seeded random moments.

Run alone: pytest -m crash -s (prints the counts it reached).
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from conftest import free_port
from mailfactory import client_mail

pytestmark = [pytest.mark.servers, pytest.mark.crash, pytest.mark.timeout(600)]
ROOT = Path(__file__).resolve().parents[2]
MESSAGES = int(os.environ.get("FOLLOWUP_CRASH_MESSAGES", "1000"))
ROUNDS = int(os.environ.get("FOLLOWUP_CRASH_ROUNDS", "20"))
SEED = 20261122
BODIES = [
    "We were charged twice for invoice {n} and nobody has called back. This is unacceptable.",
    "I'm really worried we won't be ready for the migration on Monday. What happens if it fails? ({n})",
    "Thanks a lot for the quick help with ticket {n}, all good now.",
    "The engineer was due at 9am for job {n}; it is 2pm and nobody has come or called.",
    "Could you send me a copy of invoice {n}, please?",
]


def backlog(stack: Any, user: str, tag: str, count: int = MESSAGES) -> list[str]:
    """Put `count` client messages straight into the user's Maildir, as delivered mail."""
    first = client_mail(to=f"{user}@example.test", subject=f"{tag} warm-up", sender="W <w@example.test>",
                        body="Thanks!")
    stack.send(first, mail_from="w@example.test", rcpt_to=[f"{user}@example.test"])
    stack.wait_for_message(user, lambda m: str(m["Subject"]) == f"{tag} warm-up")
    new = stack.maildir(user) / "new"
    owner = new.stat()
    ids = []
    for n in range(count):
        mid = f"<crash-{tag}-{n}@client.example>"
        data = client_mail(sender=f"Client {n} <c{n}.{tag}@example.test>", to=f"{user}@example.test",
                           subject=f"{tag} message {n}", message_id=mid, body=BODIES[n % len(BODIES)].format(n=n))
        path = new / f"{int(time.time())}.crash{n}.{tag}"
        path.write_bytes(data)
        os.chown(path, owner.st_uid, owner.st_gid)
        ids.append(mid)
    return ids


def env_for(stack: Any, db: Path, user: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
    env.update({
        "FOLLOWUP_INBOX_URL": f"imaps://{user}@127.0.0.1:{stack.imaps_port}/INBOX",
        "FOLLOWUP_IMAP_PASSWORD": stack.password,
        "FOLLOWUP_OUTBOX_URL": f"smtp://{user}@127.0.0.1:{stack.submission_port}",
        "FOLLOWUP_SMTP_PASSWORD": stack.password, "FOLLOWUP_TLS_CA_FILE": str(stack.ca_file),
        "FOLLOWUP_SHARED_ADDRESS": f"{user}@example.test", "FOLLOWUP_DATABASE_URL": f"sqlite:///{db}",
        "FOLLOWUP_AUTO_REPLY_CAP": "100000", "FOLLOWUP_DOMAIN_REPLY_CAP": "0", "FOLLOWUP_FETCH_BATCH": "100",
        "FOLLOWUP_LOG_FORMAT": "json", "FOLLOWUP_LOG_LEVEL": "WARNING",
    })
    return env


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:  # not listening yet, or 503 while a loop is still starting
        return False


def counts(db: Path) -> tuple[int, int, int]:
    if not db.exists():
        return 0, 0, 0
    with sqlite3.connect(db, timeout=30) as conn:
        try:
            inbound = conn.execute("select count(*) from messages where direction = 'in'").fetchone()[0]
            pending = conn.execute("select count(*) from outbox where status != 'sent'").fetchone()[0]
            quarantined = conn.execute("select count(*) from quarantine").fetchone()[0]
        except sqlite3.OperationalError:  # not migrated yet
            return 0, 0, 0
    return inbound, pending, quarantined


def test_sigkill_anywhere_loses_nothing_and_files_each_message_once(mailstack: Any, tmp_path: Path) -> None:
    user, tag = "crashdesk", uuid.uuid4().hex[:6]
    ids = backlog(mailstack, user, tag)
    db, log = tmp_path / "crash.db", tmp_path / "worker.log"
    env = env_for(mailstack, db, user)
    rng = random.Random(SEED)
    kills = 0
    for _ in range(ROUNDS):
        proc = subprocess.Popen([sys.executable, "-m", "service", "run"], env=env, cwd=ROOT,
                                stdout=log.open("ab"), stderr=subprocess.STDOUT)
        time.sleep(rng.uniform(0.8, 2.5))  # start-up is ~1 s: kills land in start-up, fetch, store and send
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        kills += 1
    # the last worker reports its health over HTTP: it is stopped only once it is running, since
    # the killed ones may have done all the work before it and a stop during start-up proves nothing
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "service", "run"], env={**env, "FOLLOWUP_METRICS_PORT": str(port)},
                            cwd=ROOT, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while not healthy(port) and time.monotonic() < deadline:
            time.sleep(0.2)
        while time.monotonic() < deadline:
            inbound, pending, _ = counts(db)
            if inbound >= MESSAGES + 1 and pending == 0:
                break
            time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log.read_text()[-3000:]
    with sqlite3.connect(db) as conn:
        rows = Counter(r[0] for r in conn.execute("select message_id from messages where direction = 'in'"))
        acks = dict(conn.execute("select message_id, concern_id from outbox where purpose = 'ack'").fetchall())
        concerns = conn.execute("select count(*) from concerns").fetchone()[0]
        quarantined = conn.execute("select count(*) from quarantine").fetchone()[0]
    lost = [m for m in ids if m not in rows]
    twice = [m for m, n in rows.items() if n > 1]
    # the clients' side: every acknowledgement that reached a mailbox, by Message-ID
    delivered: Counter[str] = Counter()
    by_concern: dict[str, set[str]] = {}
    for m in mailstack.messages("catchall"):
        if m["X-Followup-Instance"] == f"{user}@example.test" and tag in str(m["Subject"]):
            delivered[str(m["Message-ID"])] += 1
            by_concern.setdefault(str(m["X-Followup-Concern"]), set()).add(str(m["Message-ID"]))
    duplicates = sum(n - 1 for n in delivered.values())
    print(f"\ncrash test: rounds {kills}, messages {MESSAGES}, filed {len(rows)}, concerns {concerns}, "
          f"acknowledgements {len(delivered)}, lost {len(lost)}, filed twice {len(twice)}, "
          f"quarantined {quarantined}, redelivered after a kill {duplicates}")
    assert not lost and not twice and quarantined == 0
    assert len(by_concern) == concerns == len(acks)  # every concern acknowledged ...
    assert all(len(v) == 1 for v in by_concern.values())  # ... by exactly one acknowledgement
    assert set(delivered) == {mid for mid in acks}
    # a kill between the server's 250 and our commit sends that one message again, with the same
    # Message-ID (receivers deduplicate on it): at most one per kill, and reported above
    assert duplicates <= kills
