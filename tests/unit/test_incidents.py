"""The operator's incidents, decided: stored when first seen, told once they last, ended once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from service.core.incident_policy import (
    End,
    IncidentKind,
    OpenIncident,
    Start,
    Tell,
    Trouble,
    decide_incidents,
    quarantine_trouble,
    secret_trouble,
)
from service.runtime.trouble_watch import TroubleWatch

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
GRACE = timedelta(minutes=10)
INBOX = IncidentKind.INBOX


def test_a_lost_inbox_is_stored_at_once_and_told_only_once_it_lasted() -> None:
    trouble = Trouble(NOW - timedelta(minutes=2), "login refused")
    assert decide_incidents({INBOX: trouble}, {}, NOW, GRACE) == [Start(INBOX, trouble.since, "login refused")]
    stored = OpenIncident(1, INBOX, trouble.since, told=False)
    assert decide_incidents({INBOX: trouble}, {INBOX: stored}, NOW, GRACE) == []
    later = NOW + timedelta(minutes=8)
    assert decide_incidents({INBOX: trouble}, {INBOX: stored}, later, GRACE) == [Tell(INBOX)]
    told = OpenIncident(1, INBOX, trouble.since, told=True)
    assert decide_incidents({INBOX: trouble}, {INBOX: told}, later + timedelta(hours=5), GRACE) == []  # never twice
    assert decide_incidents({INBOX: None}, {INBOX: told}, later, GRACE) == [End(told)]


def test_the_start_of_a_spell_is_the_stored_one_not_this_workers() -> None:
    # a second worker (or the next `run --once`) saw it later: the incident's own start counts
    stored = OpenIncident(1, INBOX, NOW - timedelta(minutes=11), told=False)
    assert decide_incidents({INBOX: Trouble(NOW, "down")}, {INBOX: stored}, NOW, GRACE) == [Tell(INBOX)]


def test_an_incident_over_before_it_lasted_ends_without_a_word_to_tell() -> None:
    stored = OpenIncident(1, INBOX, NOW - timedelta(minutes=1), told=False)
    [change] = decide_incidents({INBOX: None}, {INBOX: stored}, NOW, GRACE)
    assert change == End(stored) and not change.incident.told


def test_what_a_worker_cannot_see_is_left_alone() -> None:
    # a standby worker does not read the mailbox: it neither opens nor ends the inbox's incident
    stored = OpenIncident(1, INBOX, NOW - timedelta(hours=1), told=True)
    assert decide_incidents({IncidentKind.SENDING: None}, {INBOX: stored}, NOW, GRACE) == []


def test_a_token_that_cannot_be_renewed_is_told_at_once() -> None:
    trouble = Trouble(NOW, "invalid_grant")
    assert decide_incidents({IncidentKind.TOKEN: trouble}, {}, NOW, GRACE) == [
        Start(IncidentKind.TOKEN, NOW, "invalid_grant"), Tell(IncidentKind.TOKEN)]


def test_the_client_secret_is_trouble_from_fourteen_days_before_it_expires() -> None:
    today = date(2026, 12, 3)
    assert secret_trouble(None, today, 14) is None
    assert secret_trouble(date(2026, 12, 18), today, 14) is None
    soon = secret_trouble(date(2026, 12, 17), today, 14)
    assert soon is not None and "in 14 days" in soon.detail and soon.since.tzinfo is not None
    gone = secret_trouble(date(2026, 12, 1), today, 14)
    assert gone is not None and "expired on 2026-12-01" in gone.detail


def test_quarantined_mail_is_trouble_while_any_came_in_the_window() -> None:
    assert quarantine_trouble(0, None, None, GRACE) is None
    found = quarantine_trouble(3, NOW, "no From header", GRACE)
    assert found is not None and "3 message(s)" in found.detail and "no From header" in found.detail


def test_the_watch_keeps_the_start_of_a_spell_and_forgets_what_it_no_longer_sees() -> None:
    watch = TroubleWatch()
    watch.failed(INBOX, "refused", NOW)
    watch.failed(INBOX, "timed out", NOW + timedelta(minutes=3))
    assert watch.seen() == {INBOX: Trouble(NOW, "timed out")}
    watch.ok(INBOX)
    assert watch.seen() == {INBOX: None}
    watch.unseen(INBOX)
    assert watch.seen() == {}
