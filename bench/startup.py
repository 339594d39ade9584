"""Start-up: how long `followup` takes to answer, as a ratio to a bare `python -c pass`.

    .venv/bin/python bench/startup.py [--runs 15]

Each command runs in a fresh interpreter (the venv's), `--runs` times; the median wall time is
printed in ms and as a ratio to `python -c pass` measured in the same run. The read-only commands
run on a SQLite database migrated before the timing starts, with Maildir settings (no server). Bytecode
is cached as in a user's install (PYTHONDONTWRITEBYTECODE is dropped; an untimed run writes it).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

COMMANDS: list[tuple[str, list[str]]] = [
    ("python -c pass (baseline)", ["-c", "pass"]),
    ("python -c 'import service'", ["-c", "import service"]),
    ("followup --help", ["-m", "service", "--help"]),
    ("followup concerns", ["-m", "service", "concerns"]),
    ("followup show C-1 (no such)", ["-m", "service", "show", "C-1"]),
    ("followup quarantine", ["-m", "service", "quarantine"]),
    ("followup events list", ["-m", "service", "events", "list"]),
    ("followup accounts list", ["-m", "service", "accounts", "list"]),
    ("followup with a bad setting", ["-m", "service", "concerns"]),
]


def timed(argv: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system, of the child) of `runs` runs."""
    subprocess.run([sys.executable, *argv], env=env, cwd=ROOT, capture_output=True, check=False)  # warm-up
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([sys.executable, *argv], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        # as a user runs it: bytecode cached (a first, untimed run of each command writes it)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("FOLLOWUP_") and k != "PYTHONDONTWRITEBYTECODE"}
        env.update({"FOLLOWUP_INBOX_URL": f"maildir://{tmp}/in", "FOLLOWUP_OUTBOX_URL": f"maildir://{tmp}/out",
                    "FOLLOWUP_SHARED_ADDRESS": "care@example.test",
                    "FOLLOWUP_DATABASE_URL": f"sqlite:///{tmp}/followup.db"})
        subprocess.run([sys.executable, "-m", "service", "migrate"], env=env, cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        bad = {**env, "FOLLOWUP_POLL_INTERVAL_S": "-1"}
        results = []
        for name, argv in COMMANDS:
            results.append((name, timed(argv, bad if "bad setting" in name else env, args.runs)))
    base_wall, base_cpu = results[0][1]
    # CPU time is the steadier figure on a shared machine; wall time is what a person waits
    print(f"median of {args.runs} runs each, {sys.executable}")
    print(f"{'command':34} {'wall ms':>8} {'x base':>7} {'CPU ms':>8} {'x base':>7}")
    for name, (wall, cpu) in results:
        print(f"{name:34} {wall * 1000:8.0f} {wall / base_wall:7.1f} {cpu * 1000:8.0f} {cpu / base_cpu:7.1f}")


if __name__ == "__main__":
    main()
