"""Pure rules of check-ins and reminders: cadence, quiet hours and stops, across zones and DST.

The client cap is the way out's (tests/test_letters.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.core.businesstime import BusinessHours
from service.core.checkin_policy import (
    CheckinPolicy,
    CheckinState,
    decide,
    due_at,
    reminder_time,
    reminders,
)
from service.core.settled_reply import says_all_is_well

LISBON = BusinessHours.parse("Europe/Lisbon", "09:00-17:00")
SYDNEY = BusinessHours.parse("Australia/Sydney", "09:00-17:00")
DUBAI = BusinessHours.parse("Asia/Dubai", "08:00-16:00", ["sun", "mon", "tue", "wed", "thu"])
POLICY = CheckinPolicy(high_every_days=2, every_days=5, quiet_after_contact_h=24)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


ACK = utc(2026, 11, 23, 10)  # Monday 10:00 in Lisbon


def state(**kw: object) -> CheckinState:
    base: dict[str, object] = {"severity": "normal", "status": "acknowledged", "opted_out": False,
                               "last_checkin_at": None, "acknowledged_at": ACK, "last_human_at": ACK}
    base.update(kw)
    return CheckinState(**base)  # type: ignore[arg-type]


def test_cadence_by_severity_in_working_days() -> None:
    assert due_at(state(severity="high"), LISBON, POLICY) == utc(2026, 11, 25, 10)  # 2 working days
    assert due_at(state(), LISBON, POLICY) == utc(2026, 11, 30, 10)  # 5 working days: next Monday
    assert due_at(state(last_checkin_at=utc(2026, 11, 27, 16)), LISBON, POLICY) == utc(2026, 12, 4, 16)
    assert due_at(state(acknowledged_at=None), LISBON, POLICY) is None


@pytest.mark.parametrize(("kw", "now", "send", "reason", "retry"), [
    ({}, utc(2026, 11, 30, 10), True, "due", None),
    ({}, utc(2026, 11, 30, 9, 59), False, "not-due", utc(2026, 11, 30, 10)),
    ({"status": "resolved"}, utc(2026, 12, 30, 10), False, "resolved", None),
    ({"opted_out": True}, utc(2026, 12, 30, 10), False, "client-asked-to-stop", None),
    # the client wrote an hour ago: wait a day after their message
    ({"last_human_at": utc(2026, 11, 30, 9)}, utc(2026, 11, 30, 10), False, "recent-contact", utc(2026, 12, 1, 9)),
    # quiet hours: due at night, sent at the next opening
    ({}, utc(2026, 11, 30, 20), False, "outside-business-hours", utc(2026, 12, 1, 9)),
    # no weekends: due on Saturday, sent Monday 09:00
    ({"last_checkin_at": utc(2026, 11, 21, 10)}, utc(2026, 11, 28, 11), False, "outside-business-hours",
     utc(2026, 11, 30, 9)),
])
def test_decide(kw: dict[str, object], now: datetime, send: bool, reason: str, retry: datetime | None) -> None:
    verdict = decide(state(**kw), LISBON, POLICY, now)
    assert (verdict.send, verdict.reason, verdict.retry_at) == (send, reason, retry)


def test_quiet_hours_follow_the_clients_zone_and_dst() -> None:
    # Sydney moves to daylight time on Sunday 4 October 2026 (UTC+10 -> +11)
    before = state(acknowledged_at=utc(2026, 9, 28, 0), last_human_at=None)  # Mon 10:00 AEST
    due = due_at(before, SYDNEY, POLICY)
    assert due == utc(2026, 10, 4, 23)  # next Monday 10:00 AEDT, an hour earlier in UTC
    assert decide(before, SYDNEY, POLICY, due).send
    assert decide(before, SYDNEY, POLICY, utc(2026, 10, 5, 7)).reason == "outside-business-hours"  # 18:00 AEDT
    # Dubai works Sunday to Thursday: Friday is a weekend day there
    friday = decide(state(acknowledged_at=utc(2026, 11, 15, 5), last_human_at=None),
                    DUBAI, POLICY, utc(2026, 11, 27, 6))
    assert friday.reason == "outside-business-hours" and friday.retry_at == utc(2026, 11, 29, 4)  # Sunday 08:00


def test_reminders_at_the_opening_of_a_working_day_never_late() -> None:
    move = utc(2026, 11, 28, 9)  # Saturday morning
    assert reminder_time(move, 1, LISBON) == utc(2026, 11, 27, 9)  # Friday 09:00
    assert reminder_time(move, 3, LISBON) == utc(2026, 11, 25, 9)
    assert reminder_time(move, 14, LISBON) == utc(2026, 11, 13, 9)
    # created five days ahead: the 14-day reminder is dropped, not sent late
    assert reminders(move, [14, 3, 1], LISBON, utc(2026, 11, 23, 10)) == {3: utc(2026, 11, 25, 9),
                                                                          1: utc(2026, 11, 27, 9)}
    # a Monday event: the 1-day reminder falls on Sunday, so it goes on Friday
    assert reminder_time(utc(2026, 11, 30, 9), 1, LISBON) == utc(2026, 11, 27, 9)
    # across the spring DST change in Lisbon: 09:00 WEST is 08:00 UTC
    assert reminder_time(utc(2026, 4, 2, 12), 3, LISBON) == utc(2026, 3, 30, 8)


@pytest.mark.parametrize(("text", "well"), [
    ("All sorted now, thank you!", True),
    ("That fixed it, we're good.", True),
    ("Is it all sorted on your side? Still broken here.", False),  # a question, then still broken
    ("Still broken.", False),
])
def test_all_is_well_is_a_suggestion(text: str, well: bool) -> None:
    assert says_all_is_well(text) is well
