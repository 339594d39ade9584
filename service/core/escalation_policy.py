"""Escalation policy: which escalations a concern is due, and when to look again. Pure.

A concern needs an action plan (at least one item with an owner and a due
date). With none by its first deadline it goes to the account owner; with
none by the second, to the second-level contact. An overdue open item
escalates to the owner on its own. High severity alerts at once; the rest
wait for the owner's digest. Every escalation has a key, so the store can
refuse the same one twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from service.core.businesstime import BusinessHours
from service.core.states import ConcernStatus


@dataclass(frozen=True)
class Policy:
    """Deadlines in working hours (high severity) and working days (the rest)."""

    high_first_h: float = 2.0
    high_second_h: float = 4.0  # after the first deadline
    normal_first_days: float = 1.0
    normal_second_days: float = 1.0


@dataclass(frozen=True)
class Item:
    id: int
    due_at: datetime
    done: bool


@dataclass(frozen=True)
class ConcernState:
    """What the policy needs to know about one concern."""

    id: int
    severity: str
    status: str
    created_at: datetime
    items: tuple[Item, ...] = ()
    has_second_level: bool = True

    @property
    def planned(self) -> bool:
        return bool(self.items)


@dataclass(frozen=True)
class Escalation:
    key: str
    concern_id: int
    level: int  # 1: owner, 2: second-level contact
    reason: str
    urgent: bool  # alert now rather than wait for the digest
    item_id: int | None = None
    # when it fell due: a worker that was down then (cron's `run --once`, a machine off) makes it later,
    # and the digest it goes in is the first one after this moment, not after the late run
    due_at: datetime | None = None


def deadlines(state: ConcernState, hours: BusinessHours, policy: Policy) -> tuple[datetime, datetime]:
    """When a concern with no plan goes to the owner, and when to the second level."""
    if state.severity == "high":
        first = hours.add(state.created_at, policy.high_first_h)
        return first, hours.add(first, policy.high_second_h)
    first = hours.add(state.created_at, policy.normal_first_days * hours.day_hours)
    return first, hours.add(first, policy.normal_second_days * hours.day_hours)


def due(state: ConcernState, hours: BusinessHours, policy: Policy, now: datetime) -> list[Escalation]:
    """Every escalation the concern has earned by `now` (the store drops those already made)."""
    if state.status == ConcernStatus.RESOLVED:
        return []
    urgent = state.severity == "high"
    out: list[Escalation] = []
    if not state.planned:
        first, second = deadlines(state, hours, policy)
        if now >= first:
            waited = _age(hours, state.created_at, first)
            out.append(Escalation(f"C-{state.id}:plan:1", state.id, 1,
                                  f"no action plan {waited} after it arrived", urgent, due_at=first))
        if now >= second and state.has_second_level:
            out.append(Escalation(f"C-{state.id}:plan:2", state.id, 2,
                                  f"still no action plan {_age(hours, state.created_at, second)} after it "
                                  "arrived", urgent, due_at=second))
    for item in state.items:
        if not item.done and now >= item.due_at:
            out.append(Escalation(f"C-{state.id}:item:{item.id}", state.id, 1,
                                  "an action item is past its due date", urgent, item.id, due_at=item.due_at))
    return out


def reason_code(key: str) -> str:
    """What an escalation's key says it is for, as the digests of every language name it: `no_plan`,
    `still_no_plan` (the second level's) or `overdue_item`."""
    _concern, kind, rest = [*key.split(":"), "", ""][:3]
    if kind == "item":
        return "overdue_item"
    return "still_no_plan" if rest == "2" else "no_plan"


def next_check(state: ConcernState, hours: BusinessHours, policy: Policy,
               now: datetime) -> datetime | None:
    """The next moment the policy could decide something new, or None when nothing can."""
    if state.status == ConcernStatus.RESOLVED:
        return None
    moments: list[datetime] = []
    if not state.planned:
        moments.extend(d for d in deadlines(state, hours, policy) if d > now)
    moments.extend(i.due_at for i in state.items if not i.done and i.due_at > now)
    return min(moments) if moments else None


def _age(hours: BusinessHours, start: datetime, end: datetime) -> str:
    worked = hours.between(start, end)
    if worked < hours.day_hours:
        return f"{worked:g} working hours"
    days = worked / hours.day_hours
    return f"{days:g} working day" + ("s" if days != 1 else "")
