"""Business-hours arithmetic in an account's time zone; pure, daylight-saving safe.

Times go in and come out as aware UTC datetimes; each local working day is
rebuilt from its wall-clock opening and closing times through zoneinfo, so a
day on which the clocks change has the hours it really has.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class BusinessHours:
    """When an account works: opening and closing wall-clock times on some weekdays, in a zone."""

    tz: ZoneInfo
    opens: time = time(9, 0)
    closes: time = time(17, 0)
    days: frozenset[int] = frozenset(range(5))  # Monday=0

    @classmethod
    def parse(cls, tz: str, hours: str = "09:00-17:00", days: list[str] | None = None) -> BusinessHours:
        """From config strings: `Europe/Lisbon`, `09:00-17:30`, `["mon", ..., "fri"]`; ValueError if bad."""
        try:
            zone = ZoneInfo(tz)
        except (KeyError, ValueError) as exc:
            raise ValueError(f"unknown time zone {tz!r}") from exc
        try:
            start, end = (time.fromisoformat(part.strip()) for part in hours.split("-"))
        except ValueError as exc:
            raise ValueError(f"business hours must look like 09:00-17:00, got {hours!r}") from exc
        if end <= start:
            raise ValueError(f"business hours must close after they open, got {hours!r}")
        names = [d.strip().lower()[:3] for d in (days or list(DAY_NAMES[:5]))]
        unknown = [d for d in names if d not in DAY_NAMES]
        if unknown or not names:
            raise ValueError(f"business days must be among {', '.join(DAY_NAMES)}, got {days!r}")
        return cls(zone, start, end, frozenset(DAY_NAMES.index(d) for d in names))

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The day's working window in UTC, or None when it is not a working day."""
        if day.weekday() not in self.days:
            return None
        opens = datetime.combine(day, self.opens, self.tz).astimezone(UTC)
        closes = datetime.combine(day, self.closes, self.tz).astimezone(UTC)
        return opens, closes

    @property
    def day_hours(self) -> float:
        """Length of a normal working day, in hours (what "one business day" means)."""
        start = datetime.combine(date(2001, 1, 1), self.opens)
        return (datetime.combine(date(2001, 1, 1), self.closes) - start).total_seconds() / 3600

    def is_open(self, when: datetime) -> bool:
        window = self.window(when.astimezone(self.tz).date())
        return window is not None and window[0] <= when < window[1]

    def add(self, start: datetime, hours: float) -> datetime:
        """The moment `hours` of working time after `start` (counting from the next opening)."""
        remaining = timedelta(hours=hours)
        day = start.astimezone(self.tz).date()
        for _ in range(3660):  # ten years of days: a calendar with no working day ends here
            window = self.window(day)
            if window is not None:
                begin = max(window[0], start)
                if begin < window[1]:
                    available = window[1] - begin
                    if remaining <= available:
                        return begin + remaining
                    remaining -= available
            day += timedelta(days=1)
        raise ValueError("no working time found within ten years; check the business days")

    def between(self, start: datetime, end: datetime) -> float:
        """Working hours from `start` to `end` (0 when end is earlier)."""
        if end <= start:
            return 0.0
        total = timedelta()
        day = start.astimezone(self.tz).date()
        last = end.astimezone(self.tz).date()
        while day <= last:
            window = self.window(day)
            if window is not None:
                lo, hi = max(window[0], start), min(window[1], end)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total.total_seconds() / 3600


def next_local_time(now: datetime, at: time, tz: ZoneInfo) -> datetime:
    """The next moment after `now` when the wall clock in `tz` reads `at` (UTC)."""
    day = now.astimezone(tz).date()
    for offset in range(3):
        candidate = datetime.combine(day + timedelta(days=offset), at, tz).astimezone(UTC)
        if candidate > now:
            return candidate
    raise AssertionError("unreachable: a wall-clock time recurs within two days")


def digest_slot(fell_due: datetime | None, now: datetime, at: time, tz: ZoneInfo) -> datetime:
    """When a digest carries an escalation that fell due at `fell_due` and is made `now`: the first slot
    (`at` in `tz`) after it fell due, or `now` when that slot has passed (the worker was down at it)."""
    since = fell_due if fell_due is not None and fell_due < now else now
    return max(next_local_time(since, at, tz), now)
