"""When to check in with a client and when to remind them; pure.

A check-in goes out at a cadence set by severity, counted in the client's
working days, and only when every rule allows it: the concern is not
resolved, the client has not asked us to stop, nobody wrote in the thread in
the last day, and it is a working hour where the client is. A rule that says
"not now" also says when to look again, so the scheduler never spins. The
client's cap of automatic mail is applied where every message goes out
(`service.core.letters.gate`), and says when it frees. Whether a client asks us to
stop is read by `service.core.stop_request`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from service.core.businesstime import BusinessHours
from service.core.states import ConcernStatus


@dataclass(frozen=True)
class CheckinPolicy:
    high_every_days: float = 2.0  # working days between check-ins, high severity
    every_days: float = 5.0  # the rest: about weekly
    quiet_after_contact_h: float = 24.0  # no check-in within a day of the client or owner writing


@dataclass(frozen=True)
class CheckinState:
    """What the rules need to know about one concern and its client."""

    severity: str
    status: str
    opted_out: bool
    last_checkin_at: datetime | None
    acknowledged_at: datetime | None
    last_human_at: datetime | None  # the client's or the owner's last message in the thread


@dataclass(frozen=True)
class CheckinDecision:
    send: bool
    reason: str
    retry_at: datetime | None = None  # when to look again; None: never (stopped)


def due_at(state: CheckinState, hours: BusinessHours, policy: CheckinPolicy) -> datetime | None:
    """When the next check-in is due by cadence alone (None before the acknowledgement)."""
    since = state.last_checkin_at or state.acknowledged_at
    if since is None:
        return None
    every = policy.high_every_days if state.severity == "high" else policy.every_days
    return hours.add(since, every * hours.day_hours)


def decide(state: CheckinState, hours: BusinessHours, policy: CheckinPolicy, now: datetime) -> CheckinDecision:
    """Whether to send a check-in now, and if not, why and when to look again."""
    if state.status == ConcernStatus.RESOLVED:
        return CheckinDecision(False, "resolved")
    if state.opted_out:
        return CheckinDecision(False, "client-asked-to-stop")
    due = due_at(state, hours, policy)
    if due is None:
        return CheckinDecision(False, "not-acknowledged-yet", now + timedelta(hours=1))
    if now < due:
        return CheckinDecision(False, "not-due", due)
    if state.last_human_at is not None:
        quiet_until = state.last_human_at + timedelta(hours=policy.quiet_after_contact_h)
        if now < quiet_until:
            return CheckinDecision(False, "recent-contact", quiet_until)
    if not hours.is_open(now):
        return CheckinDecision(False, "outside-business-hours", hours.add(now, 0.0))
    return CheckinDecision(True, "due")


def reminder_time(event_at: datetime, days_before: int, hours: BusinessHours) -> datetime:
    """The opening of the client's working day `days_before` days ahead of the event (earlier if that is
    not a working day), so a reminder is never late and never at night."""
    local_day: date = event_at.astimezone(hours.tz).date() - timedelta(days=days_before)
    for _ in range(14):
        window = hours.window(local_day)
        if window is not None:
            return window[0]
        local_day -= timedelta(days=1)
    return hours.add(event_at - timedelta(days=days_before), 0.0)


def reminders(event_at: datetime, offsets: Sequence[int], hours: BusinessHours,
              now: datetime) -> dict[int, datetime]:
    """Offset -> send time, for the reminders still ahead (those before `now` are dropped, not sent late)."""
    out: dict[int, datetime] = {}
    for days in sorted(set(offsets), reverse=True):
        at = reminder_time(event_at, days, hours)
        if now <= at < event_at:
            out[days] = at
    return out
