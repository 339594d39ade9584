"""Pure policy: business hours across weekends, zones and DST; deadlines; owners' commands; signing."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from service.core.authenticity import authentication_failed
from service.core.businesstime import BusinessHours, next_local_time
from service.core.digest_view import Entry, digest_context
from service.core.escalation_policy import ConcernState, Item, Policy, deadlines, due, next_check
from service.core.owner_commands import (
    has_tag,
    parse_commands,
    parse_due,
    signed_address,
    verify_tag,
)

LISBON = BusinessHours.parse("Europe/Lisbon", "09:00-17:00")
NEW_YORK = BusinessHours.parse("America/New_York", "09:00-17:00")
TOKYO = BusinessHours.parse("Asia/Tokyo", "09:00-18:00", ["mon", "tue", "wed", "thu", "fri", "sat"])


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(("hours", "start", "add", "expected"), [
    # Lisbon in winter is UTC+0: Monday 10:00 + 2h = 12:00
    (LISBON, utc(2026, 11, 23, 10), 2, utc(2026, 11, 23, 12)),
    # Friday 16:00 + 2h runs over the weekend to Monday 10:00
    (LISBON, utc(2026, 11, 27, 16), 2, utc(2026, 11, 30, 10)),
    # arriving Saturday: the clock starts Monday 09:00
    (LISBON, utc(2026, 11, 28, 12), 2, utc(2026, 11, 30, 11)),
    # arriving at night: starts at the next opening
    (LISBON, utc(2026, 11, 23, 22), 1, utc(2026, 11, 24, 10)),
    # one business day (8 h) from Tuesday 15:00 is Wednesday 15:00
    (LISBON, utc(2026, 11, 24, 15), 8, utc(2026, 11, 25, 15)),
    # New York: 09:00 EST is 14:00 UTC
    (NEW_YORK, utc(2026, 11, 23, 13), 1, utc(2026, 11, 23, 15)),
    # DST: Lisbon springs forward on Sunday 29 March 2026; Friday 16:00 UTC (16:00 WET) + 2h
    # -> Monday 10:00 WEST = 09:00 UTC
    (LISBON, utc(2026, 3, 27, 16), 2, utc(2026, 3, 30, 9)),
    # DST: New York falls back on 1 November 2026; Friday 16:00 EDT (20:00 UTC) + 2h -> Monday 10:00 EST
    (NEW_YORK, utc(2026, 10, 30, 20), 2, utc(2026, 11, 2, 15)),
    # Tokyo works Saturdays: Friday 17:00 JST + 2h -> Saturday 10:00 JST (01:00 UTC)
    (TOKYO, utc(2026, 11, 27, 8), 2, utc(2026, 11, 28, 1)),
])
def test_add_business_hours(hours: BusinessHours, start: datetime, add: float, expected: datetime) -> None:
    assert hours.add(start, add) == expected


def test_between_counts_only_working_time() -> None:
    assert LISBON.between(utc(2026, 11, 27, 16), utc(2026, 11, 30, 10)) == 2.0
    assert LISBON.between(utc(2026, 11, 28, 0), utc(2026, 11, 29, 23)) == 0.0
    assert LISBON.between(utc(2026, 11, 30, 10), utc(2026, 11, 27, 10)) == 0.0


def test_bad_hours_name_the_problem() -> None:
    with pytest.raises(ValueError, match="time zone"):
        BusinessHours.parse("Mars/Olympus")
    with pytest.raises(ValueError, match="close after"):
        BusinessHours.parse("UTC", "17:00-09:00")
    with pytest.raises(ValueError, match="business days"):
        BusinessHours.parse("UTC", "09:00-17:00", ["funday"])


def test_next_local_time_across_dst() -> None:
    # 08:30 in Lisbon the day after the spring change is 07:30 UTC
    assert next_local_time(utc(2026, 3, 29, 12), time(8, 30), ZoneInfo("Europe/Lisbon")) == utc(2026, 3, 30, 7, 30)
    assert next_local_time(utc(2026, 3, 28, 6), time(8, 30), ZoneInfo("Europe/Lisbon")) == utc(2026, 3, 28, 8, 30)


POLICY = Policy(high_first_h=2, high_second_h=4, normal_first_days=1, normal_second_days=1)
MONDAY_10 = utc(2026, 11, 23, 10)


def state(severity: str = "normal", status: str = "acknowledged", items: tuple[Item, ...] = (),
          second: bool = True) -> ConcernState:
    return ConcernState(12, severity, status, MONDAY_10, items, has_second_level=second)


@pytest.mark.parametrize(("concern", "now", "keys"), [
    (state("high"), utc(2026, 11, 23, 11, 59), []),
    (state("high"), utc(2026, 11, 23, 12), ["C-12:plan:1"]),
    (state("high"), utc(2026, 11, 23, 16), ["C-12:plan:1", "C-12:plan:2"]),
    (state("high", second=False), utc(2026, 11, 24, 16), ["C-12:plan:1"]),
    (state("normal"), utc(2026, 11, 24, 9, 59), []),
    (state("normal"), utc(2026, 11, 24, 10), ["C-12:plan:1"]),
    (state("normal"), utc(2026, 11, 25, 10), ["C-12:plan:1", "C-12:plan:2"]),
    # a plan stops the plan escalations; its overdue open item escalates on its own
    (state(items=(Item(5, utc(2026, 11, 26, 17), False),)), utc(2026, 11, 26, 16), []),
    (state(items=(Item(5, utc(2026, 11, 26, 17), False),)), utc(2026, 11, 26, 17), ["C-12:item:5"]),
    (state(items=(Item(5, utc(2026, 11, 26, 17), True),)), utc(2026, 12, 1, 17), []),
    (state(status="resolved"), utc(2027, 1, 1), []),
])
def test_due_escalations(concern: ConcernState, now: datetime, keys: list[str]) -> None:
    found = due(concern, LISBON, POLICY, now)
    assert [e.key for e in found] == keys
    assert all(e.urgent == (concern.severity == "high") for e in found)
    assert [e.level for e in found if e.key.endswith(":plan:2")] in ([], [2])


def test_weekend_arrival_deadline_and_next_check() -> None:
    saturday = ConcernState(3, "normal", "open", utc(2026, 11, 28, 12))
    first, second = deadlines(saturday, LISBON, POLICY)
    assert (first, second) == (utc(2026, 11, 30, 17), utc(2026, 12, 1, 17))  # all of Monday, then Tuesday
    assert next_check(saturday, LISBON, POLICY, utc(2026, 11, 28, 13)) == first
    assert next_check(saturday, LISBON, POLICY, first) == second
    assert next_check(saturday, LISBON, POLICY, second) is None


def test_due_reasons_say_how_long() -> None:
    [esc] = due(state("high"), LISBON, POLICY, utc(2026, 11, 23, 12))
    assert esc.reason == "no action plan 2 working hours after it arrived"
    first = due(state(), LISBON, POLICY, utc(2026, 11, 24, 10))[0]
    assert first.reason == "no action plan 1 working day after it arrived"


NOW = utc(2026, 11, 23, 10)  # Monday


def test_commands_from_an_owner_reply() -> None:
    body = "\n".join([
        "Thanks, on it.",
        "C-12: call Marta about the rate by Wednesday",
        "c-13 - send the corrected invoice by 25 Nov [owner: ben@acme.example]",
        "C-14 resolved: refund went out",
        "C-15 done 2",
        "C-16: think about it",
        "C-17: call back by the twelfth of never",
        "> C-18: quoted from the digest by Friday",
    ])
    commands, problems = parse_commands(body, NOW, ZoneInfo("Europe/Lisbon"))
    assert [(c.kind, c.concern_id) for c in commands] == [("plan", 12), ("plan", 13), ("resolve", 14), ("done", 15)]
    plan = commands[0]
    assert plan.text == "call Marta about the rate" and plan.due_at == utc(2026, 11, 25, 17)
    assert commands[1].owner == "ben@acme.example" and commands[1].due_at == utc(2026, 11, 25, 17)
    assert commands[3].item == 2
    assert [p.line.split(":")[0] for p in problems] == ["C-16", "C-17"]
    assert "by <date>" in problems[0].reason and "cannot read" in problems[1].reason


@pytest.mark.parametrize(("phrase", "tz", "expected"), [
    ("tomorrow", "Europe/Lisbon", utc(2026, 11, 24, 17)),
    ("tomorrow 3pm", "Europe/Lisbon", utc(2026, 11, 24, 15)),
    ("Friday", "America/New_York", utc(2026, 11, 27, 22)),  # 17:00 EST
    ("2026-12-01", "Asia/Tokyo", utc(2026, 12, 1, 8)),  # 17:00 JST
])
def test_due_dates_in_the_owners_zone(phrase: str, tz: str, expected: datetime) -> None:
    assert parse_due(phrase, NOW, ZoneInfo(tz)) == expected


def test_a_past_date_is_a_problem() -> None:
    commands, problems = parse_commands("C-1: call by 1 Jan 2020", NOW, ZoneInfo("UTC"))
    assert not commands and "past" in problems[0].reason


def test_signed_reply_address_binds_the_owner() -> None:
    key = b"k" * 32
    address = signed_address("care@example.test", key, "ana@acme.example", "d7")
    assert address.startswith("care+o-d7-") and address.endswith("@example.test")
    assert verify_tag([address], key, "ANA@acme.example") == "d7"
    assert verify_tag([address], key, "mallory@evil.example") is None  # forged From
    assert verify_tag([address], b"x" * 32, "ana@acme.example") is None  # another installation
    assert verify_tag(["care@example.test"], key, "ana@acme.example") is None
    assert has_tag([address.replace("care+o-d7-", "care+o-d8-")]) and not has_tag(["care@example.test"])


def test_authentication_results() -> None:
    assert authentication_failed(["mx.example; dkim=fail header.d=acme.example; dmarc=fail"], "acme.example")
    assert not authentication_failed(["mx.example; dkim=pass header.d=acme.example; dmarc=pass"], "acme.example")
    assert not authentication_failed(["mx.example; spf=fail; dkim=pass"], "acme.example")
    assert not authentication_failed([""], "acme.example")


def test_digest_groups_by_account_worst_first_and_escapes() -> None:
    def entry(token: str, account: str, level: int, severity: str, day: int) -> Entry:
        return Entry(token, account, "Ana <ana@x.example>", "complaint", severity, "acknowledged", level,
                     utc(2026, 11, day, 9), "Invoice", ("<script>alert(1)</script>",), ("no action plan",))
    ctx = digest_context("boss@x.example", [entry("C-1", "B", 1, "normal", 20), entry("C-2", "A", 2, "normal", 21),
                                            entry("C-3", "B", 1, "high", 22), entry("C-4", "B", 1, "normal", 19)],
                         utc(2026, 11, 23, 9), alert=False, team_name="Care", hours=LISBON)
    assert [g["account"] for g in ctx["groups"]] == ["A", "B"]
    assert [c["token"] for c in ctx["groups"][1]["concerns"]] == ["C-3", "C-4", "C-1"]
    assert ctx["groups"][1]["concerns"][1]["age"] == "4 days"
    from service.mailformat.render import render

    html = render("digest", ctx).html
    assert "<script>" not in html and "&lt;script&gt;" in html
