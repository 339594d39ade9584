"""When to check in with a client and when to remind them, and when a client says all is well; pure.

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

import re
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


# the client tells us it is settled, in the seven languages clients write in (issue 19, point 6)
ALL_WELL: dict[str, tuple[str, ...]] = {
    "en": ("all good", "all sorted", "all fine", "all is well", "sorted now", "it's sorted", "it is sorted",
           "resolved now", "working now", "works now", "that fixed it", "problem solved", "no further issues",
           "nothing else needed", "we're good", "we are good", "all ok now", "happy now"),
    "es": ("todo bien", "todo solucionado", "ya está solucionado", "ya esta solucionado", "ya funciona",
           "problema resuelto", "todo en orden", "ya está resuelto", "ya quedó", "todo correcto", "ya está todo"),
    "de": ("alles gut", "alles erledigt", "hat sich erledigt", "funktioniert jetzt", "funktioniert wieder",
           "problem gelöst", "alles in ordnung", "passt jetzt", "alles klar jetzt", "ist erledigt"),
    "fr": ("tout est réglé", "c'est réglé", "tout va bien", "ça fonctionne", "ça remarche", "ça marche maintenant",
           "problème résolu", "tout est en ordre", "c'est bon maintenant", "tout est rentré dans l'ordre"),
    "pt": ("tudo certo", "tudo resolvido", "já está resolvido", "já funciona", "problema resolvido", "está tudo bem",
           "tudo ok agora", "já ficou", "já deu certo", "tudo em ordem"),
    "it": ("tutto a posto", "tutto risolto", "è risolto", "ora funziona", "funziona di nuovo", "problema risolto",
           "tutto ok ora", "tutto in ordine", "adesso funziona", "è tutto sistemato"),
    "nl": ("alles goed", "alles is opgelost", "het is opgelost", "werkt weer", "werkt nu", "probleem opgelost",
           "alles in orde", "alles is geregeld", "is verholpen", "het is gelukt"),
}
_PHRASES = tuple(p for phrases in ALL_WELL.values() for p in phrases)
# "funktioniert jetzt nicht", "ça fonctionne pas", "werkt nu niet": negated after the verb (German, French,
# Dutch); "non funziona di nuovo", "no está todo bien": negated before it
_NEGATED_AFTER = re.compile(r"^\W{0,3}(nicht|pas|niet|kein\w*|geen)\b")
_NEGATED_BEFORE = re.compile(r"\b(no|non|não|nao|not|never|nunca|nie|niet|nicht|ne)\W{0,3}$")


def says_all_is_well(text: str) -> bool:
    """The client tells us the matter is settled (a suggestion to resolve, never a resolution)."""
    low = " ".join(text.lower().split())[:600]
    for phrase in _PHRASES:
        at = low.find(phrase)
        while at >= 0:
            after = low[at + len(phrase):at + len(phrase) + 20]
            if not _NEGATED_AFTER.match(after) and not _NEGATED_BEFORE.search(low[max(0, at - 12):at]):
                return True
            at = low.find(phrase, at + 1)
    return False
