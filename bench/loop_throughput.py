"""followup's whole loop against the raw limits of its servers, measured in the same run.

    sudo .venv/bin/python bench/loop_throughput.py [--messages 10000] [--db sqlite,postgresql]
        [--prepare auto,here,process] [--smtp-connections 1]

Starts the test suite's Dovecot + Postfix on 127.0.0.1 (needs root and the
Debian packages) and, in a process of its own as a real server would be, an
aiosmtpd server that accepts and discards (aiosmtpd.handlers.Sink). Baselines:
aioimaplib fetching the same messages by UID in batches (the IMAP limit) and
aiosmtplib sending as many replies over one connection (the SMTP limit).
Then `Worker.run_once()` (fetch, parse, detect, store, render, send, flag)
over the same backlog, once per database and place of parsing (auto, the
default setting; here; or in the prepare process). Prints messages/s and the
ratio to the slower raw limit, the CPU share of the worker, of its prepare
process and of the whole machine, and peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

BODIES = [
    ("Invoice {n} charged twice", "We were charged twice for invoice {n} and nobody has called back. This is "
     "the third time I ask for a correction. Please fix it this week."),
    ("Migration on Monday", "I'm really worried we won't be ready for the migration on Monday. What happens "
     "if it fails halfway and we lose the client records? ({n})"),
    ("Thanks", "Thanks a lot for the quick help with ticket {n}, everything works again. Have a good weekend."),
    ("Engineer visit {n}", "We were told the engineer would come at 9am. It is now 2pm and nobody has come "
     "or called. We closed the shop for this."),
    ("Copy of invoice {n}", "Could you send me a copy of invoice {n}, please? Our accountant needs it."),
    ("Automatic reply: {n}", "I am out of the office until Monday with limited access to email."),
]


def message(n: int, to: str, rng: random.Random) -> bytes:
    subject, body = BODIES[rng.randrange(len(BODIES))]
    msg = EmailMessage()
    msg["From"] = f"Client {n} <client{n}@client.example>"
    msg["To"] = to
    msg["Subject"] = subject.format(n=n)
    msg["Message-ID"] = f"<bench-{n}-{uuid.uuid4().hex[:8]}@client.example>"
    if subject.startswith("Automatic reply"):
        msg["Auto-Submitted"] = "auto-replied"
    # about 2 KB, like the measurements: a signature and a quoted earlier message
    quoted = "\n".join(f"> earlier line {i} of the thread about order {n}" for i in range(30))
    msg.set_content(f"Hello,\n\n{body.format(n=n)}\n\nBest regards,\nClient {n}\n\n"
                    f"On Mon, someone wrote:\n{quoted}\n")
    return msg.as_bytes()


def backlog(stack: object, user: str, count: int) -> None:
    from mailfactory import client_mail

    stack.send(client_mail(to=f"{user}@example.test", subject="warm-up"),  # type: ignore[attr-defined]
               mail_from="w@example.test", rcpt_to=[f"{user}@example.test"])
    stack.wait_for_message(user, lambda m: str(m["Subject"]) == "warm-up")  # type: ignore[attr-defined]
    new = stack.maildir(user) / "new"  # type: ignore[attr-defined]
    owner = new.stat()
    rng = random.Random(20261122)
    for n in range(count):
        path = new / f"{int(time.time())}.bench{n}.localhost"
        path.write_bytes(message(n, f"{user}@example.test", rng))
        os.chown(path, owner.st_uid, owner.st_gid)


async def raw_fetch(stack: object, user: str, batch: int) -> tuple[int, float]:
    import aioimaplib

    imap = aioimaplib.IMAP4_SSL("127.0.0.1", stack.imaps_port,  # type: ignore[attr-defined]
                                ssl_context=stack.ssl_context())  # type: ignore[attr-defined]
    await imap.wait_hello_from_server()
    await imap.login(f"{user}@example.test", stack.password)  # type: ignore[attr-defined]
    await imap.select("INBOX")
    start = time.perf_counter()
    found = await imap.uid_search("ALL")
    uids = [u for line in found.lines for u in bytes(line).split() if u.isdigit()]
    got = 0
    for i in range(0, len(uids), batch):
        response = await imap.uid("fetch", b",".join(uids[i:i + batch]).decode(), "(UID BODY.PEEK[])")
        got += sum(1 for line in response.lines if isinstance(line, bytearray))
    took = time.perf_counter() - start
    await imap.logout()
    return got, took


async def raw_send(port: int, count: int) -> float:
    import aiosmtplib

    body = message(0, "x@example.test", random.Random(1))
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
    await smtp.connect()
    start = time.perf_counter()
    for n in range(count):
        await smtp.sendmail("care@example.test", [f"client{n}@client.example"], body)
    took = time.perf_counter() - start
    await smtp.quit()
    return took


def start_sink(port: int) -> subprocess.Popen[bytes]:
    """aiosmtpd with its discarding handler, in its own process; returns once it accepts connections."""
    proc = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink",
                             "-l", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the discarding SMTP server did not start")


async def create_pg_database(admin: str) -> str | None:
    try:
        import asyncpg

        name = f"followup_bench_{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect(admin.replace("postgresql+asyncpg", "postgresql"), timeout=5)
        await conn.execute(f'create database "{name}"')
        await conn.close()
        return admin.rsplit("/", 1)[0] + "/" + name
    except (OSError, Exception) as exc:  # noqa: BLE001 - report and skip this database
        print(f"postgresql: skipped ({exc})")
        return None


async def drop_pg_database(admin: str, url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin.replace("postgresql+asyncpg", "postgresql"), timeout=5)
    await conn.execute(f'drop database if exists "{url.rsplit("/", 1)[1]}"')
    await conn.close()


async def run_loop(stack: object, user: str, db_url: str, sink_port: int,
                   batch: int, prepare_process: bool | str, connections: int) -> tuple[int, float, int, float, float]:
    from service.runtime.worker import Worker
    from service.settings import Settings

    settings = Settings(
        inbox_url=f"imaps://{user}@127.0.0.1:{stack.imaps_port}/INBOX",  # type: ignore[attr-defined]
        imap_password=stack.password, tls_ca_file=stack.ca_file,  # type: ignore[attr-defined]
        outbox_url=f"smtp://127.0.0.1:{sink_port}", shared_address=f"{user}@example.test",
        database_url=db_url, processed_keyword=f"$Bench{uuid.uuid4().hex[:6]}", fetch_batch=batch,
        auto_reply_cap=1_000_000, domain_reply_cap=0, log_level="WARNING", log_format="text",
        prepare_process=prepare_process, smtp_connections=connections)
    worker = Worker(settings)
    start, cpu, helper, machine = time.perf_counter(), time.process_time(), _children_cpu(), _machine_times()
    stats = await worker.run_once()
    took = time.perf_counter() - start
    (busy0, all0), (busy1, all1) = machine, _machine_times()
    print(f"  all cores busy {(busy1 - busy0) / max(1, all1 - all0):.0%} of the time")
    # CPU time of this process (all its threads) over wall time: near 1.0 means the loop is CPU-bound;
    # the prepare process is the only child that ends (and so is counted) during the loop
    return (stats.processed, took, stats.sent, (time.process_time() - cpu) / took,
            (_children_cpu() - helper) / took)


def _machine_times() -> tuple[int, int]:
    """Busy and total jiffies of all cores (Linux /proc/stat): how much of the machine the loop leaves idle."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return sum(fields) - idle, sum(fields)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--prepare", default="auto",
                        help="FOLLOWUP_PREPARE_PROCESS for each loop, comma-separated: auto (the default "
                             "setting), here (false) or process (true)")
    parser.add_argument("--smtp-connections", type=int, default=1,
                        help="FOLLOWUP_SMTP_CONNECTIONS for every loop (the baseline always uses one)")
    parser.add_argument("--pg", default=os.environ.get("FOLLOWUP_TEST_PG",
                                                       "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    from conftest import free_port
    from mailstack import start_mailstack

    stack = start_mailstack(users=("bench",))
    sink_port = free_port()
    sink = start_sink(sink_port)
    try:
        t = time.perf_counter()
        backlog(stack, "bench", args.messages)
        print(f"backlog: {args.messages} messages of about 2 KB written in {time.perf_counter() - t:.1f}s")
        print(f"followup sends over {args.smtp_connections} SMTP connection(s); the baseline over one\n")
        # the raw limits are measured before and after each loop and their medians taken: on a
        # shared machine one SMTP run can differ from the next by 1.7x
        fetch_rates: list[float] = []
        send_rates: list[float] = []

        def measure_raw() -> None:
            got, fetch_s = asyncio.run(raw_fetch(stack, "bench", args.batch))
            fetch_rates.append(got / fetch_s)
            send_rates.append(args.messages / asyncio.run(raw_send(sink_port, args.messages)))
            print(f"raw IMAP fetch (aioimaplib, UID FETCH batches of {args.batch}): {fetch_rates[-1]:8.0f} msg/s; "
                  f"raw SMTP send (aiosmtplib, one connection, discarding server): {send_rates[-1]:8.0f} msg/s")

        measure_raw()
        loops: list[tuple[str, int, float, int]] = []
        for db in args.db.split(","):
            for where in args.prepare.split(","):
                if db == "sqlite":
                    url = f"sqlite+aiosqlite:////tmp/followup-bench-{uuid.uuid4().hex[:8]}.db"
                else:
                    url = asyncio.run(create_pg_database(args.pg)) or ""
                    if not url:
                        continue
                name = f"{db}, prepare {where}"
                try:
                    processed, took, sent, busy, helper = asyncio.run(
                        run_loop(stack, "bench", url, sink_port, args.batch,
                                 {"here": False, "process": True}.get(where, where), args.smtp_connections))
                finally:
                    if db == "postgresql":
                        asyncio.run(drop_pg_database(args.pg, url))
                loops.append((name, processed, took, sent))
                print(f"followup loop ({name:<27}): {processed} messages, {sent} replies in {took:.1f}s = "
                      f"{processed / took:6.0f} msg/s; CPU over wall time: worker {busy:.0%}, "
                      f"prepare process {helper:.0%}")
                measure_raw()
        limit = min(statistics.median(fetch_rates), statistics.median(send_rates))
        print(f"\nslower raw limit (median of {len(send_rates)}): {limit:.0f} msg/s")
        for db, processed, took, _sent in loops:
            print(f"followup loop ({db:<27}): {processed / took:6.0f} msg/s, ratio to the slower raw limit "
                  f"{processed / took / limit:.2f}")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"\npeak RSS of this process (baselines and both loops): {peak:.0f} MB")
    finally:
        sink.terminate()
        sink.wait()
        stack.stop(remove_root=True)


if __name__ == "__main__":
    main()
