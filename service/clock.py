"""The only place that reads the wall clock; everything else gets `now` passed in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

__all__ = ["UTC", "Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Real time, timezone-aware UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that reads `current`, which its owner sets: the demo and the tests move time with it."""

    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current
