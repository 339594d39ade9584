"""Latency: from the SMTP server accepting a client's message to our acknowledgement being accepted.

    sudo .venv/bin/python bench/latency.py [--messages 30] [--interval 1.0]

The real worker (`followup run`, a subprocess) waits in IMAP IDLE on the suite's
Dovecot; messages are delivered one at a time through Postfix; the
acknowledgements go to an aiosmtpd server in this process that records when
it accepted each. Baseline, same run: a second IMAP session in IDLE on the
same mailbox records when Dovecot pushed each message (Dovecot holds pushes
about 500 ms). Our part is push received to acknowledgement accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


class Recorder:
    def __init__(self) -> None:
        self.acked: dict[str, float] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.acked[str(msg["In-Reply-To"])] = time.monotonic()
        return "250 OK"


async def watch(stack: Any, user: str, pushes: list[float], stop: asyncio.Event) -> None:
    import aioimaplib

    imap = aioimaplib.IMAP4_SSL("127.0.0.1", stack.imaps_port, ssl_context=stack.ssl_context())
    await imap.wait_hello_from_server()
    await imap.login(f"{user}@example.test", stack.password)
    await imap.select("INBOX")
    while not stop.is_set():
        idle = await imap.idle_start(timeout=5)
        try:
            lines = await asyncio.wait_for(imap.wait_server_push(), 5)
            if any(b"EXISTS" in bytes(line) for line in (lines if isinstance(lines, list) else [lines])):
                pushes.append(time.monotonic())
        except TimeoutError:
            pass
        imap.idle_done()
        await asyncio.wait_for(idle, 5)
    await imap.logout()


def spawn(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "service", "run"], env=env, cwd=ROOT,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main_async(args: argparse.Namespace) -> None:
    from aiosmtpd.controller import Controller

    from conftest import free_port
    from mailfactory import client_mail
    from mailstack import start_mailstack

    stack = start_mailstack(users=("lat",))
    recorder = Recorder()
    port = free_port()
    sink = Controller(recorder, hostname="127.0.0.1", port=port)
    sink.start()
    tmp = Path(tempfile.mkdtemp(prefix="followup-latency-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
    env.update({"FOLLOWUP_INBOX_URL": f"imaps://lat@127.0.0.1:{stack.imaps_port}/INBOX",
                "FOLLOWUP_IMAP_PASSWORD": stack.password, "FOLLOWUP_TLS_CA_FILE": str(stack.ca_file),
                "FOLLOWUP_OUTBOX_URL": f"smtp://127.0.0.1:{port}", "FOLLOWUP_SHARED_ADDRESS": "lat@example.test",
                "FOLLOWUP_DATABASE_URL": f"sqlite:///{tmp / 'f.db'}", "FOLLOWUP_LOG_LEVEL": "WARNING",
                "FOLLOWUP_AUTO_REPLY_CAP": "100000", "FOLLOWUP_DOMAIN_REPLY_CAP": "0"})
    worker = spawn(env, tmp / "worker.log")
    pushes: list[float] = []
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch(stack, "lat", pushes, stop))
    try:
        await asyncio.sleep(4.0)  # the worker loads its model and enters IDLE
        totals, ours, idle = [], [], []
        for n in range(args.messages):
            mid = f"<lat-{n}-{uuid.uuid4().hex[:6]}@client.example>"
            raw = client_mail(sender=f"Client {n} <c{n}@example.test>", to="lat@example.test", message_id=mid,
                              subject=f"Invoice {n}", body="We were charged twice and nobody has called back. "
                              "This is unacceptable.")
            before = len(pushes)
            await asyncio.to_thread(stack.send, raw, mail_from=f"c{n}@example.test", rcpt_to=["lat@example.test"])
            accepted = time.monotonic()
            deadline = accepted + 10
            while mid not in recorder.acked and time.monotonic() < deadline:  # noqa: ASYNC110 - set by the sink's thread
                await asyncio.sleep(0.005)
            if mid not in recorder.acked or len(pushes) <= before:
                print(f"message {n}: no acknowledgement or no push within 10 s")
                continue
            push = pushes[before]
            totals.append(recorder.acked[mid] - accepted)
            idle.append(push - accepted)
            ours.append(recorder.acked[mid] - push)
            await asyncio.sleep(args.interval)
        ms = 1000.0
        print(f"{len(totals)} messages, one every {args.interval:g} s, worker idle in IMAP IDLE")
        print(f"baseline, SMTP accept -> IDLE push (Dovecot):   p50 {percentile(idle, .5) * ms:6.0f} ms   "
              f"p95 {percentile(idle, .95) * ms:6.0f} ms")
        print(f"our part, push -> acknowledgement accepted:     p50 {percentile(ours, .5) * ms:6.0f} ms   "
              f"p95 {percentile(ours, .95) * ms:6.0f} ms   (goal: p50 < 100, p95 < 300)")
        print(f"end to end, SMTP accept -> acknowledgement:     p50 {percentile(totals, .5) * ms:6.0f} ms   "
              f"p95 {percentile(totals, .95) * ms:6.0f} ms   mean {statistics.mean(totals) * ms:.0f} ms")
    finally:
        stop.set()
        await asyncio.wait_for(watcher, 15)
        worker.terminate()
        worker.wait(30)
        sink.stop()
        stack.stop(remove_root=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=30)
    parser.add_argument("--interval", type=float, default=1.0)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
