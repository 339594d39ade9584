"""Memory over a large backlog: the real worker's RSS while it drains N messages from Dovecot.

    sudo .venv/bin/python bench/memory.py [--messages 100000] [--prepare auto|true|false]

`followup run --once` in a subprocess (SQLite, replies to a discarding aiosmtpd
server) over a backlog in the suite's Dovecot; its RSS is sampled every second
from /proc and printed as it goes, with the peak (VmHWM) at the end, and so is
its prepare process's (started by the default FOLLOWUP_PREPARE_PROCESS=auto
once a full batch shows a backlog) and the two together. Baseline, same run:
the same worker processing 100 messages.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))


def status(pid: int, field: str) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    """The worker's own processes: its prepare process and multiprocessing's resource tracker."""
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def drain(stack: object, user: str, port: int, tmp: Path, label: str,
          prepare: str = "auto") -> tuple[float, float, float]:
    """Run the worker over the mailbox; its peak RSS, its prepare process's, and the peak with all its children."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
    env.update({"FOLLOWUP_INBOX_URL": f"imaps://{user}@127.0.0.1:{stack.imaps_port}/INBOX",  # type: ignore[attr-defined]
                "FOLLOWUP_IMAP_PASSWORD": stack.password,  # type: ignore[attr-defined]
                "FOLLOWUP_TLS_CA_FILE": str(stack.ca_file),  # type: ignore[attr-defined]
                "FOLLOWUP_OUTBOX_URL": f"smtp://127.0.0.1:{port}", "FOLLOWUP_SHARED_ADDRESS": f"{user}@example.test",
                "FOLLOWUP_DATABASE_URL": f"sqlite:///{tmp / (label + '.db')}", "FOLLOWUP_LOG_LEVEL": "WARNING",
                "FOLLOWUP_AUTO_REPLY_CAP": "1000000", "FOLLOWUP_DOMAIN_REPLY_CAP": "0", "FOLLOWUP_FETCH_BATCH": "100",
                "FOLLOWUP_PREPARE_PROCESS": prepare})
    proc = subprocess.Popen([sys.executable, "-m", "service", "run", "--once"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=(tmp / f"{label}.log").open("wb"))
    start = time.monotonic()
    peak = helper_peak = total_peak = 0.0
    last_print = 0.0
    while proc.poll() is None:
        rss = status(proc.pid, "VmRSS")
        peak = max(peak, status(proc.pid, "VmHWM"))
        helpers = children(proc.pid)
        helper_rss = sum(status(c, "VmRSS") for c in helpers)
        helper_peak = max([helper_peak, *(status(c, "VmHWM") for c in helpers)])
        total_peak = max(total_peak, rss + helper_rss)
        now = time.monotonic() - start
        if now - last_print >= 30:
            print(f"  {label}: {now:6.0f}s  RSS {rss:6.0f} MB, its child processes {helper_rss:4.0f} MB", flush=True)
            last_print = now
        time.sleep(1.0)
    print(f"  {label}: done in {time.monotonic() - start:.0f}s, exit {proc.returncode}, peak RSS (VmHWM) "
          f"{peak:.0f} MB; prepare process {helper_peak:.0f} MB; with all its children, sampled, {total_peak:.0f} MB",
          flush=True)
    return peak, helper_peak, total_peak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--prepare", default="auto", help="FOLLOWUP_PREPARE_PROCESS: auto (the default), true or false")
    args = parser.parse_args()
    from aiosmtpd.controller import Controller
    from loop_throughput import backlog

    from conftest import SinkHandler, free_port
    from mailstack import start_mailstack

    class Discard(SinkHandler):
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            return "250 OK"

    stack = start_mailstack(users=("small", "big"))
    port = free_port()
    sink = Controller(Discard(), hostname="127.0.0.1", port=port)
    sink.start()
    tmp = Path(tempfile.mkdtemp(prefix="followup-memory-"))
    try:
        backlog(stack, "small", 100)
        backlog(stack, "big", args.messages)
        print(f"backlog of {args.messages} messages written; baseline of 100 first:", flush=True)
        base, _, base_total = drain(stack, "small", port, tmp, "100 messages", args.prepare)
        big, helper, big_total = drain(stack, "big", port, tmp, f"{args.messages} messages", args.prepare)
        print(f"peak RSS: {big:.0f} MB over {args.messages} messages against {base:.0f} MB over 100 "
              f"(ratio {big / base:.2f}); with its child processes (the prepare process {helper:.0f} MB at most) "
              f"{big_total:.0f} MB against {base_total:.0f} MB (ratio {big_total / base_total:.2f})")
    finally:
        sink.stop()
        stack.stop(remove_root=True)


if __name__ == "__main__":
    main()
