"""Several workers on one PostgreSQL: one reads the mailbox, all share the outbox and the jobs; one is killed.

Run alone: pytest -m crash -s tests/test_workers.py
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from test_crash import backlog

from conftest import SmtpSink

pytestmark = [pytest.mark.servers, pytest.mark.crash, pytest.mark.postgres, pytest.mark.timeout(600)]
ROOT = Path(__file__).resolve().parents[2]
MESSAGES = int(os.environ.get("FOLLOWUP_WORKERS_MESSAGES", "2000"))


async def counts(url: str) -> dict[str, int]:
    engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        async with engine.connect() as conn:
            out = {}
            for name, sql in {
                "inbound": "select count(*) from messages where direction = 'in'",
                "unsent": "select count(*) from outbox where status != 'sent'",
                "concerns": "select count(*) from concerns",
                "escalations": "select count(*) from escalations",
                "jobs_due": "select count(*) from jobs where kind = 'escalate' and status not in ('done', 'cancelled')",
                "quarantined": "select count(*) from quarantine",
                "acks": "select count(*) from outbox where purpose = 'ack'",
                "distinct_in": "select count(distinct message_id) from messages where direction = 'in'",
            }.items():
                try:
                    out[name] = int((await conn.execute(text(sql))).scalar() or 0)
                except Exception:  # noqa: BLE001 - tables not there until the first worker migrates
                    return {}
            return out
    finally:
        await engine.dispose()


def spawn(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "service", "run"], env=env, cwd=ROOT,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


async def test_four_workers_one_killed_nothing_twice_nothing_lost(mailstack: Any, pg_url: str, tmp_path: Path,
                                                                   smtp_sink: SmtpSink) -> None:
    user, tag = "scaledesk", uuid.uuid4().hex[:6]
    ids = await asyncio.to_thread(backlog, mailstack, user, tag, MESSAGES)
    account = {"name": "All", "owner": "boss@example.test", "domains": ["example.test"], "timezone": "UTC",
               "business_hours": "00:00-23:59", "business_days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
    env.update({
        "FOLLOWUP_INBOX_URL": f"imaps://{user}@127.0.0.1:{mailstack.imaps_port}/INBOX",
        "FOLLOWUP_IMAP_PASSWORD": mailstack.password, "FOLLOWUP_TLS_CA_FILE": str(mailstack.ca_file),
        "FOLLOWUP_OUTBOX_URL": smtp_sink.url, "FOLLOWUP_SHARED_ADDRESS": f"{user}@example.test",
        "FOLLOWUP_DATABASE_URL": pg_url, "FOLLOWUP_ACCOUNTS": json.dumps([account]),
        "FOLLOWUP_AUTO_REPLY_CAP": "100000", "FOLLOWUP_DOMAIN_REPLY_CAP": "0", "FOLLOWUP_FETCH_BATCH": "100",
        "FOLLOWUP_ESCALATE_AFTER_DAYS": "0.00005", "FOLLOWUP_ESCALATE_HIGH_AFTER_H": "0.001",
        "FOLLOWUP_ESCALATE_SECOND_AFTER_DAYS": "0.00005", "FOLLOWUP_ESCALATE_HIGH_SECOND_AFTER_H": "0.001",
        "FOLLOWUP_SEND_LEASE_S": "5", "FOLLOWUP_JOB_LEASE_S": "5", "FOLLOWUP_MAILBOX_LOCK_RETRY_S": "1",
        "FOLLOWUP_SCHEDULER_INTERVAL_S": "1", "FOLLOWUP_LOG_FORMAT": "json", "FOLLOWUP_LOG_LEVEL": "INFO",
    })
    logs = [tmp_path / f"worker{n}.log" for n in range(4)]
    procs = [spawn(env, log) for log in logs]
    killed = None
    try:
        deadline = time.monotonic() + 400
        state: dict[str, int] = {}
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            state = await counts(pg_url)
            if os.environ.get("FOLLOWUP_TEST_DEBUG"):
                print(state, flush=True)
            if killed is None and state.get("inbound", 0) >= MESSAGES // 3:
                # kill the worker that reads the mailbox, midway: another must take it over
                readers = [n for n, log in enumerate(logs) if "now reads mailbox" in log.read_text()]
                killed = readers[0]
                procs[killed].send_signal(signal.SIGKILL)
                procs[killed].wait(10)
            if (killed is not None and state.get("inbound", 0) >= MESSAGES + 1 and state["unsent"] == 0
                    and state["jobs_due"] == 0 and state["escalations"] >= state["concerns"]):
                break
    finally:
        for n, proc in enumerate(procs):
            if n != killed and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(30) for n, proc in enumerate(procs) if n != killed]
    assert codes == [0, 0, 0]
    readers = [n for n, log in enumerate(logs) if "now reads mailbox" in log.read_text()]
    mails = [message_from_bytes(m[2], policy=policy.default) for m in smtp_sink.handler.messages]
    sent = Counter(str(m["Message-ID"]) for m in mails if m["Auto-Submitted"] == "auto-replied")  # the acks
    duplicates = sum(n - 1 for n in sent.values())
    print(f"\n4 workers: messages {MESSAGES}, filed {state['distinct_in']} (rows {state['inbound']}), "
          f"concerns {state['concerns']}, escalations {state['escalations']}, replies {len(sent)}, "
          f"resent after the kill {duplicates}, quarantined {state['quarantined']}, readers over time {readers}")
    assert killed is not None and len(readers) >= 2  # the mailbox changed hands after the kill
    assert state["inbound"] == state["distinct_in"] == MESSAGES + 1 and state["quarantined"] == 0
    assert state["escalations"] == state["concerns"]  # each concern escalated exactly once (no plan)
    assert len(sent) == state["acks"] == state["concerns"]
    assert duplicates <= 1  # only a kill between the server's 250 and the commit can resend: same Message-ID
    assert len(ids) == MESSAGES
