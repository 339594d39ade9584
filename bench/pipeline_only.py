"""The pipeline without its servers: parse, detect, store and compose for a backlog, against parsing alone.

    .venv/bin/python bench/pipeline_only.py [--messages 2000] [--db URL] [--senders N]

Feeds the messages of bench/loop_throughput.py (same seed) to
`Pipeline.handle_batch` in batches of 100, with a fresh SQLite database by
default; no IMAP, no SMTP. Baseline, same run: `parse_message` alone over
the same messages. Prints both rates and their ratio; `--profile` adds a
cProfile of the pipeline run. `--senders 1` makes the backlog a flood from one
client (each message but the first joins their open concern).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from loop_throughput import message  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from service.adapters.inbox import RawMessage  # noqa: E402
from service.flows.intake import Pipeline  # noqa: E402
from service.mailformat.parse import parse_message  # noqa: E402
from service.runtime.prepare import Preparer, recipe_of  # noqa: E402
from service.settings import Settings  # noqa: E402
from service.store.db import make_engine, migrate, session_factory  # noqa: E402
from service.store.models import Concern  # noqa: E402


async def run(raws: list[bytes], url: str, tmp: Path, profile: bool) -> tuple[float, int]:
    settings = Settings(inbox_url=f"maildir://{tmp / 'in'}", outbox_url=f"maildir://{tmp / 'out'}",
                        database_url=url, shared_address="desk@example.test", auto_reply_cap=10**6,
                        domain_reply_cap=0, log_level="WARNING")
    engine = make_engine(url)
    await migrate(engine)
    pipeline = Pipeline(settings, session_factory(engine), Preparer(recipe_of(settings), separate=False))
    now = datetime.now(UTC)
    batches = [[RawMessage(key=str(i + j), source=f"bench/{i + j}", data=raw)
                for j, raw in enumerate(raws[i:i + 100])] for i in range(0, len(raws), 100)]
    profiler = cProfile.Profile()
    start = time.perf_counter()
    if profile:
        profiler.enable()
    for batch in batches:
        await pipeline.handle_batch(batch, now)
    profiler.disable()
    took = time.perf_counter() - start
    async with pipeline.sessions() as session:
        filed = int(await session.scalar(select(func.count(Concern.id))) or 0)
    await engine.dispose()
    if profile:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    return took, filed


def one_of(raw: bytes, n: int, sender: int) -> bytes:
    """Message `n` as client `sender` wrote it (its From line only)."""
    return raw.replace(f"From: Client {n} <client{n}@client.example>".encode(),
                       f"From: Client {sender} <client{sender}@client.example>".encode(), 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--db", help="database URL (default: a new SQLite file)")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--senders", type=int, default=0,
                        help="write the messages from this many clients, in turn (a flood: 1); default one each")
    args = parser.parse_args()
    rng = random.Random(20261122)
    raws = [message(n, "desk@example.test", rng) for n in range(args.messages)]
    if args.senders:
        raws = [one_of(raw, n, n % args.senders) for n, raw in enumerate(raws)]
    start = time.perf_counter()
    for raw in raws:
        parse_message(raw)
    parse_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory(prefix="followup-pipeline-") as tmp:
        url = args.db or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        took, filed = asyncio.run(run(raws, url, Path(tmp), args.profile))
    parse_rate, rate = args.messages / parse_s, args.messages / took
    print(f"parse only (baseline):                 {parse_rate:7.0f} msg/s")
    print(f"pipeline (parse, detect, store, compose): {rate:7.0f} msg/s   ratio to baseline {rate / parse_rate:.2f}"
          f"   ({filed} concerns filed)")


if __name__ == "__main__":
    main()
