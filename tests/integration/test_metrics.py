"""/metrics and /healthz of a running worker (Maildir + SQLite), over HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from pathlib import Path

from service.runtime.worker import Worker
from service.settings import Settings

from mailfactory import client_mail, drop


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


async def test_metrics_and_health_of_a_running_worker(tmp_path: Path) -> None:
    settings = Settings(inbox_url=f"maildir://{tmp_path / 'in'}", outbox_url=f"maildir://{tmp_path / 'out'}",
                        database_url=f"sqlite:///{tmp_path / 'f.db'}", shared_address="care@example.test",
                        metrics_port=0, poll_interval_s=0.2, scheduler_interval_s=0.2)
    drop(tmp_path / "in", client_mail(body="We were charged twice and nobody called back. Unacceptable."))
    drop(tmp_path / "in", client_mail(sender="Robot <noreply@client.example>", headers={
        "Auto-Submitted": "auto-replied"}))
    worker = Worker(settings)
    task = asyncio.create_task(worker.run_forever())
    try:
        for _ in range(100):
            await asyncio.sleep(0.1)
            if worker.metrics_port and worker.stats.sent >= 1:
                break
        port = worker.metrics_port
        assert port, "the metrics server did not start"
        status, body = await asyncio.to_thread(get, port, "/healthz")
        assert status == 200 and json.loads(body) == {"ready": True, "loops": {
            "inbox": "up", "sender": "up", "scheduler": "up"}, "incidents": {}}
        status, text = await asyncio.to_thread(get, port, "/metrics")
        assert status == 200
        for line in ('followup_messages_ingested_total{decision="new_concern"}',
                     'followup_concerns_filed_total{label="complaint"}',
                     'followup_replies_sent_total{purpose="ack"}',
                     'followup_replies_suppressed_total{reason="auto"}',
                     "followup_ack_latency_seconds_count", 'followup_loop_up{loop="inbox"} 1.0'):
            assert line in text, line
        assert (await asyncio.to_thread(get, port, "/nope"))[0] == 404
    finally:
        worker.stop()
        await asyncio.wait_for(task, 10)


async def test_acknowledgement_latency_counts_from_the_messages_arrival(tmp_path: Path) -> None:
    # issue 18, point 3: it counted from the outbox row, so a client who waited half a minute showed as 0.05 s
    import os
    import time

    from sqlalchemy import select

    from service.runtime.metrics import METRICS
    from service.store.models import MessageRow

    settings = Settings(inbox_url=f"maildir://{tmp_path / 'in'}", outbox_url=f"maildir://{tmp_path / 'out'}",
                        database_url=f"sqlite:///{tmp_path / 'f.db'}", shared_address="care@example.test")
    path = drop(tmp_path / "in", client_mail(message_id="<waited@client.example>",
                                             body="We were charged twice and nobody called back. Unacceptable."))
    arrived = time.time() - 40  # delivered forty seconds ago, while the worker was busy or down
    os.utime(path, (arrived, arrived))

    def latency() -> tuple[float, float]:
        get_sample = METRICS.registry.get_sample_value
        return (get_sample("followup_ack_latency_seconds_sum") or 0.0,
                get_sample("followup_ack_latency_seconds_count") or 0.0)

    total, count = latency()
    stats = await Worker(settings).run_once()
    assert stats.sent == 1
    new_total, new_count = latency()
    assert new_count == count + 1
    assert new_total - total >= 40, "measured from the queued reply, not from the message's arrival"
    worker = Worker(settings)
    try:
        async with worker.sessions() as session:
            stored = await session.scalar(select(MessageRow.arrived_at).where(
                MessageRow.message_id == "<waited@client.example>"))
    finally:
        await worker.engine.dispose()
    assert stored is not None and abs(stored.timestamp() - arrived) < 1
