"""Outbox throughput with 1, 2 and 4 `followup run` processes sharing one PostgreSQL.

    .venv/bin/python bench/outbox_workers.py [--rows 3000] [--workers 1,2,4]

Baseline, same run: aiosmtplib sending as many messages over one connection
to the same discarding aiosmtpd server. Each worker run starts with the
outbox full of pending rows; the drain time is from the first message any
worker sent to the last (start-up excluded), read from the workers' logs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))


async def fill(url: str, rows: int) -> None:
    from loop_throughput import message
    from sqlalchemy import insert

    from service.store.db import make_engine, migrate, session_factory, transaction
    from service.store.models import OutboxRow

    engine = make_engine(url)
    await migrate(engine)
    now = datetime.now(UTC)
    import random

    body = message(0, "x@example.test", random.Random(1))
    async with transaction(session_factory(engine)) as session:
        await session.execute(insert(OutboxRow), [{
            "message_id": f"<ob-{n}-{uuid.uuid4().hex[:6]}@bench.example>", "concern_id": None, "purpose": "ack",
            "dedupe_key": None, "to_addr": f"client{n}@client.example", "to_domain": "client.example", "raw": body,
            "status": "pending", "attempts": 0, "next_attempt_at": now, "last_error": None, "claimed_at": None,
            "created_at": now, "sent_at": None} for n in range(rows)])
    await engine.dispose()


async def remaining(url: str) -> int:
    from sqlalchemy import text

    from service.store.db import make_engine

    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text("select count(*) from outbox where status != 'sent'"))).scalar() or 0)
    finally:
        await engine.dispose()


def drain(url: str, workers: int, sink_port: int, rows: int, tmp: Path) -> float:
    asyncio.run(fill(url, rows))
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
    env.update({"FOLLOWUP_INBOX_URL": f"maildir://{tmp / 'in'}", "FOLLOWUP_OUTBOX_URL": f"smtp://127.0.0.1:{sink_port}",
                "FOLLOWUP_SHARED_ADDRESS": "care@example.test", "FOLLOWUP_DATABASE_URL": url,
                "FOLLOWUP_LOG_FORMAT": "json", "FOLLOWUP_LOG_LEVEL": "INFO"})
    logs = [tmp / f"w{workers}-{n}.log" for n in range(workers)]
    procs = [subprocess.Popen([sys.executable, "-m", "service", "run"], env=env, cwd=ROOT, stdout=log.open("wb"),
                              stderr=subprocess.STDOUT) for log in logs]
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and asyncio.run(remaining(url)):
            time.sleep(0.5)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
    stamps = []
    for log in logs:
        for line in log.read_text().splitlines():
            if line.startswith("{") and '"msg": "sent ack' in line:
                stamps.append(datetime.fromisoformat(json.loads(line)["ts"]))
    assert len(stamps) == rows, f"{len(stamps)} sent of {rows}"
    return (max(stamps) - min(stamps)).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--pg", default=os.environ.get("FOLLOWUP_TEST_PG",
                                                       "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    from aiosmtpd.controller import Controller
    from loop_throughput import create_pg_database, raw_send

    from conftest import SinkHandler, free_port

    class Discard(SinkHandler):
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            return "250 OK"

    port = free_port()
    sink = Controller(Discard(), hostname="127.0.0.1", port=port)
    sink.start()
    try:
        base = args.rows / asyncio.run(raw_send(port, args.rows))
        print(f"raw SMTP send (aiosmtplib, one connection): {base:7.0f} msg/s")
        for n in (int(w) for w in args.workers.split(",")):
            url = asyncio.run(create_pg_database(args.pg))
            if not url:
                return
            with tempfile.TemporaryDirectory() as tmp:
                took = drain(url, n, port, args.rows, Path(tmp))
            rate = args.rows / took
            print(f"{n} worker(s): {args.rows} replies in {took:.1f}s = {rate:7.0f} msg/s, "
                  f"ratio to raw {rate / base:.2f}")
    finally:
        sink.stop()


if __name__ == "__main__":
    main()
