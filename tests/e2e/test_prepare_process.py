"""The prepare process of a real worker process: deaf to SIGTERM (the worker decides when it ends), gone
with a killed worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

CHILD_SCRIPT = """
import asyncio, time
from service.runtime.prepare import Preparer, recipe_of
from service.settings import Settings

async def main():
    settings = Settings(inbox_url="maildir:///tmp/unused-in", outbox_url="maildir:///tmp/unused-out",
                        shared_address="care@example.test")
    preparer = Preparer(recipe_of(settings), separate=True)
    await preparer.submit([b"Subject: hello\\n\\nA first batch starts the process."])
    print(*preparer._pool._processes, flush=True)
    time.sleep(120)

if __name__ == "__main__":
    asyncio.run(main())
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie has ended; it only waits to be reaped
        return stat.read().split(") ", 1)[1][0] != "Z"


def test_the_prepare_process_ignores_sigterm_and_ends_with_a_killed_worker(tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(CHILD_SCRIPT)
    worker = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[2])
    child = 0
    try:
        assert worker.stdout is not None
        child = int(worker.stdout.readline())
        os.kill(child, signal.SIGTERM)  # as a service manager signals the whole group: the worker decides
        time.sleep(0.5)
        assert alive(child)
        worker.kill()
        worker.wait(10)
        deadline = time.monotonic() + 10
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(child)
    finally:
        worker.kill()
        if child and alive(child):
            os.kill(child, signal.SIGKILL)
