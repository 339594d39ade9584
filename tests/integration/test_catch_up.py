"""Catch-up after downtime (cron's `run --once`, a machine off): a missed digest slot is sent at the next run,
once, and an escalation that fell due while nothing ran goes in the first digest after it fell due."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from service.clock import ManualClock
from service.core.businesstime import digest_slot
from service.runtime.worker import Worker
from service.settings import AccountConfig, Settings

from mailfactory import client_mail, drop
from support import sent

ACME = AccountConfig(name="Acme", owner="boss@example.test", domains=["client.example"], timezone="Europe/Lisbon",
                     business_hours="09:00-17:00", digest_time="08:30")
MONDAY_10 = datetime(2026, 11, 23, 10, tzinfo=UTC)  # the concern's deadline: Tuesday 10:00


def settings_for(tmp_path: Path, db_url: str) -> Settings:
    return Settings(inbox_url=f"maildir://{tmp_path / 'in'}", outbox_url=f"maildir://{tmp_path / 'out'}",
                    database_url=db_url, shared_address="care@example.test", accounts=[ACME], signing_key="k")


def digests(tmp_path: Path) -> int:
    return len([m for m in sent(tmp_path / "out") if m["To"] == "boss@example.test"])


async def file_a_concern(tmp_path: Path, settings: Settings, clock: ManualClock) -> None:
    drop(tmp_path / "in", client_mail(body="We were charged twice and nobody has called back. This is unacceptable."))
    stats = await Worker(settings, clock=clock).run_once()
    assert stats.outcomes == {"new_concern": 1}


@pytest.mark.parametrize(("back_at", "digest_at_once"), [
    (datetime(2026, 11, 25, 15, 0, tzinfo=UTC), True),  # down over Wednesday 08:30, the slot after the deadline
    (datetime(2026, 11, 24, 15, 0, tzinfo=UTC), False),  # back before that slot: it waits for it, as ever
])
async def test_an_escalation_due_while_down_goes_in_the_first_digest_after_it_fell_due(
        tmp_path: Path, db_url: str, back_at: datetime, digest_at_once: bool) -> None:
    settings = settings_for(tmp_path, db_url)
    clock = ManualClock(MONDAY_10)
    await file_a_concern(tmp_path, settings, clock)
    clock.current = back_at  # nothing ran between: the deadline (Tuesday 10:00) passed unseen
    await Worker(settings, clock=clock).run_once()
    assert digests(tmp_path) == (1 if digest_at_once else 0)
    clock.current = datetime(2026, 11, 26, 8, 31, tzinfo=UTC)  # the next slot: the digest once in all
    await Worker(settings, clock=clock).run_once()
    assert digests(tmp_path) == 1


async def test_a_digest_slot_missed_while_down_is_sent_at_the_next_run_once(tmp_path: Path, db_url: str) -> None:
    settings = settings_for(tmp_path, db_url)
    clock = ManualClock(MONDAY_10)
    await file_a_concern(tmp_path, settings, clock)
    clock.current = datetime(2026, 11, 24, 10, 1, tzinfo=UTC)  # escalated on time; its digest is Wednesday 08:30
    await Worker(settings, clock=clock).run_once()
    assert digests(tmp_path) == 0
    clock.current = datetime(2026, 11, 25, 17, 45, tzinfo=UTC)  # the machine was off at 08:30
    await Worker(settings, clock=clock).run_once()
    assert digests(tmp_path) == 1
    for later in (datetime(2026, 11, 25, 18, 0, tzinfo=UTC), datetime(2026, 11, 26, 8, 31, tzinfo=UTC)):
        clock.current = later
        await Worker(settings, clock=clock).run_once()
    assert digests(tmp_path) == 1


def test_the_digest_slot_of_an_escalation() -> None:
    lisbon, at = ZoneInfo("Europe/Lisbon"), time(8, 30)
    tuesday_10 = datetime(2026, 11, 24, 10, tzinfo=UTC)
    # made when it fell due: the next morning's slot
    assert digest_slot(tuesday_10, tuesday_10, at, lisbon) == datetime(2026, 11, 25, 8, 30, tzinfo=UTC)
    # made late, before that slot: still that slot
    late = datetime(2026, 11, 24, 22, tzinfo=UTC)
    assert digest_slot(tuesday_10, late, at, lisbon) == datetime(2026, 11, 25, 8, 30, tzinfo=UTC)
    # made after that slot passed: now
    later = datetime(2026, 11, 25, 15, tzinfo=UTC)
    assert digest_slot(tuesday_10, later, at, lisbon) == later
    # no due time known: the next slot after now
    assert digest_slot(None, later, at, lisbon) == datetime(2026, 11, 26, 8, 30, tzinfo=UTC)
