"""Hostile mail through the worker's per-message path: CPU per message against a plain one, per KB.

    .venv/bin/python bench/hostile.py [--sizes 10,100,1000] [--cap 20] [--only NAME,...]

Each message goes alone through `service.runtime.prepare.prepare_batch` (parse,
quotes and signatures stripped, the detector's verdict: what the worker does
with a message before it is stored). The baseline, measured in the same run,
is a plain 2 KB complaint (median of 25). For every hostile shape at 10 KB,
100 KB and 1 MB the table gives the CPU time, the cost per KB as a multiple
of the plain message's cost per KB, and whether it meets the goal of issue 17:
no more than 20 times a plain message per KB, and no message over 1 s. A
message still running after `--cap` seconds of CPU is stopped and shown as
over the cap. Pinned to one core when the machine allows it.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import signal
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.detector.detect import Thresholds  # noqa: E402
from service.detector.model import DEFAULT_MODEL, load_model  # noqa: E402
from service.runtime.prepare import Recipe, prepare_batch  # noqa: E402

HEAD = ("From: Ana Lopez <ana@client.example>\r\nTo: care@example.test\r\nSubject: {subject}\r\n"
        "Message-ID: <{mid}@client.example>\r\nDate: Mon, 7 Dec 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\n")
COMPLAINT = ("We were charged twice for the March invoice and nobody has called back. "
             "I am worried this will happen again next month.")
PLAIN = (COMPLAINT + "\r\n\r\n" + " ".join(
    ["The engineer was due on Tuesday, then on Thursday, and still nobody came to look at the boiler.",
     "I rang your office three times and each time I was told someone would call me back within the hour.",
     "My mother lives with us and the house has been cold for a week; she is not well and I am anxious.",
     "Please tell me when someone will come, and please refund the second payment as soon as you can."] * 4)
    + "\r\n\r\nKind regards,\r\nAna Lopez\r\n")


def message(body: str, *, subject: str = "Invoice", ctype: str = "text/plain; charset=utf-8",
            extra: str = "") -> bytes:
    head = HEAD.format(subject=subject, mid=random.getrandbits(64)) + extra
    return (head + f"Content-Type: {ctype}\r\n\r\n" + body).encode("utf-8")


def fill(unit: str, size: int) -> str:
    return unit * max(1, size // len(unit.encode("utf-8")))


def blob(size: int, width: int = 0) -> str:
    data = base64.b64encode(random.Random(size).randbytes(size * 3 // 4)).decode()
    return "\r\n".join(data[i:i + width] for i in range(0, len(data), width)) if width else data


def nested_mime(size: int) -> bytes:
    levels = size // 64
    head = "".join(f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n' for i in range(levels))
    return (HEAD.format(subject="nested", mid="nest") + head
            + "Content-Type: text/plain\r\n\r\n" + COMPLAINT + "\r\n").encode()


# name -> size in bytes -> the message
SHAPES: dict[str, Callable[[int], bytes]] = {
    "single long token": lambda n: message(fill("x", n)),
    "base64 blob, one line": lambda n: message(COMPLAINT + "\r\n\r\n" + blob(n)),
    "base64 blob, 76-char lines": lambda n: message(COMPLAINT + "\r\n\r\n" + blob(n, 76)),
    "token of a@ pairs": lambda n: message(fill("a@", n)),
    "addresses, no spaces": lambda n: message(fill("ana.lopez@client.example,", n)),
    "CJK, no spaces": lambda n: message(fill("我们的账单又错了没有人回电话我很担心", n)),
    "blank lines": lambda n: message(fill("\r\n", n) + COMPLAINT),
    "spaces in one line": lambda n: message("Hi" + fill(" ", n) + COMPLAINT),
    "quoted-line flood": lambda n: message(COMPLAINT + "\r\n\r\n" + fill("> an old line of the thread\r\n", n)),
    "quote markers, one line": lambda n: message(COMPLAINT + "\r\n" + fill(">", n) + " x"),
    "reply headers flood": lambda n: message(COMPLAINT + "\r\n" + fill("On Mon, Ana wrote:\r\n> x\r\n", n)),
    "Outlook header flood": lambda n: message(COMPLAINT + "\r\n" + fill("From: a\r\nSent: b\r\nTo: c\r\n", n)),
    "long 'On' line": lambda n: message("On " + fill("Monday ", n)),
    "signature-like lines": lambda n: message(COMPLAINT + "\r\n" + fill("- x\r\n", n)),
    "disclaimer flood": lambda n: message(COMPLAINT + "\r\n" + fill(".Warning: ", n)),
    "sentences": lambda n: message(fill("Bad. ", n)),
    "negations": lambda n: message(fill("not ", n)),
    "deep MIME nesting": nested_mime,
    "HTML nesting bomb": lambda n: message(fill("<div>", n) + COMPLAINT, ctype="text/html; charset=utf-8"),
    "HTML tag flood": lambda n: message(fill("<b>x</b>", n), ctype="text/html; charset=utf-8"),
    "HTML open brackets": lambda n: message(fill("<", n), ctype="text/html; charset=utf-8"),
    "HTML table bomb": lambda n: message(fill("<table><tr><td>", n) + COMPLAINT, ctype="text/html; charset=utf-8"),
    "encoded-word subject": lambda n: message(COMPLAINT, subject=fill("=?x?q?", n)),
    "raw UTF-8 subject": lambda n: message(COMPLAINT, subject=fill("Überweisung fehlt ", n)),
    "recipients flood": lambda n: message(COMPLAINT, extra="Cc: " + fill("a@b.example, ", n) + "\r\n"),
}


class OverCap(BaseException):
    """Raised from the CPU timer: not an Exception, so no `except Exception` in the path swallows it."""


def cpu(recipe: Recipe, data: bytes, cap: float) -> float:
    def stop(*_: object) -> None:
        raise OverCap

    signal.signal(signal.SIGPROF, stop)
    signal.setitimer(signal.ITIMER_PROF, cap)
    start = time.process_time()
    try:
        prepare_batch([data], recipe, load_model(recipe.model_file))
    except OverCap:
        return float("inf")
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10,100,1000", help="message sizes in KB")
    parser.add_argument("--cap", type=float, default=20.0, help="seconds of CPU before a message is stopped")
    parser.add_argument("--only", default="", help="comma-separated shape names (default: all)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    random.seed(17)
    recipe = Recipe(DEFAULT_MODEL, ("noreply", "no-reply"), Thresholds())
    load_model(recipe.model_file)
    plain = message(PLAIN)
    for _ in range(5):
        cpu(recipe, plain, args.cap)
    base = statistics.median(cpu(recipe, plain, args.cap) for _ in range(25))
    base_kb = base / (len(plain) / 1024)
    print(f"plain message: {len(plain) / 1024:.1f} KB, {base * 1000:.2f} ms CPU, {base_kb * 1000:.2f} ms per KB "
          f"(median of 25)")
    print(f"{'shape':28} {'KB':>6} {'CPU ms':>10} {'x plain/KB':>11}  goal (<= 20x per KB, <= 1 s)")
    sizes = [int(s) * 1024 for s in args.sizes.split(",")]
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    worst = 0.0
    failed = 0
    for name, make in SHAPES.items():
        if only and name not in only:
            continue
        for size in sizes:
            data = make(size)
            took = cpu(recipe, data, args.cap)
            ratio = took / (len(data) / 1024) / base_kb
            ok = ratio <= 20 and took <= 1.0
            failed += not ok
            worst = max(worst, ratio)
            shown = f"> {args.cap * 1000:.0f}" if took == float("inf") else f"{took * 1000:.1f}"
            print(f"{name:28} {len(data) / 1024:6.0f} {shown:>10} {ratio:11.1f}  {'ok' if ok else 'OVER'}",
                  flush=True)
    print(f"worst ratio per KB: {worst:.1f}x; over the goal: {failed}")


if __name__ == "__main__":
    main()
