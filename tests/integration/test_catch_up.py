"""A worker that was down when work fell due catches up at its next run (issue 18, point 4).

Run with `run --once` from cron, or restarted after an outage: an escalation that fell due
while it was down goes in the first digest after it fell due, sent at once when that slot
has passed, not in the next day's. The real worker on Maildir, SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.clock import ManualClock
from service.runtime.worker import Worker

from mailfactory import client_mail, drop
from support import maildir_settings, sent

MONDAY = datetime(2026, 11, 23, 10, tzinfo=UTC)  # the default account: UTC, 09:00-17:00, digest 08:30


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "inbox", tmp_path / "outbox"


def digests(outbox: Path) -> list[str]:
    return [str(m["Subject"]) for m in sent(outbox)
            if "owner@example.test" in str(m["To"]) and str(m["Subject"]).startswith("Digest")]


@pytest.mark.parametrize("back", [datetime(2026, 11, 25, 9, tzinfo=UTC), datetime(2026, 11, 24, 16, tzinfo=UTC)],
                         ids=["after the next digest hour", "before it"])
async def test_an_escalation_that_fell_due_while_the_worker_was_down_is_in_the_first_digest_after(
        folders: tuple[Path, Path], db_url: str, back: datetime) -> None:
    inbox, outbox = folders
    drop(inbox, client_mail(sender="Ana <ana@client.example>", subject="Invoice wrong",
                            body="The invoice is wrong again and nobody has called me back. I am annoyed."))
    settings = maildir_settings(folders, db_url)
    clock = ManualClock(MONDAY)
    await Worker(settings, clock=clock).run_once()
    # the deadline (Tuesday 10:00) passes with the worker down; it comes back at `back`
    clock.current = back
    await Worker(settings, clock=clock).run_once()
    clock.current = back.replace(minute=5)
    await Worker(settings, clock=clock).run_once()
    if back.day == 25:  # Wednesday's 08:30 digest was missed: it goes now, once
        assert digests(outbox) == ["Digest Wednesday 25 November 2026: 1 concern needs an action plan"]
        clock.current = datetime(2026, 11, 26, 8, 31, tzinfo=UTC)
        await Worker(settings, clock=clock).run_once()
        assert len(digests(outbox)) == 1  # nothing more to say on Thursday
    else:  # back before the digest hour: the digest keeps its hour
        assert digests(outbox) == []
        clock.current = datetime(2026, 11, 25, 8, 31, tzinfo=UTC)
        await Worker(settings, clock=clock).run_once()
        assert digests(outbox) == ["Digest Wednesday 25 November 2026: 1 concern needs an action plan"]
