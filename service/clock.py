"""The only place that reads the wall clock; everything else gets `now` passed in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

__all__ = ["UTC", "Clock", "SystemClock"]


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Real time, timezone-aware UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)
