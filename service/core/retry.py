"""Retry as values: pure backoff and retry decisions that the loops carry out."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


def backoff_s(attempt: int, *, base_s: float, cap_s: float, rand: random.Random | None = None) -> float:
    """Exponential backoff with full jitter: uniform in [base/2, min(cap, base * 2**attempt)]."""
    ceiling = min(cap_s, base_s * (2 ** max(0, attempt)))
    low = min(base_s / 2, ceiling)
    return (rand or random).uniform(low, ceiling)


@dataclass(frozen=True)
class RetryDecision:
    """Try again at `retry_at`, or give up (`retry_at` is None) with `reason`."""

    retry_at: datetime | None
    reason: str


def job_retry_delay_s(attempts: int) -> float:
    """How long a job that failed on its `attempts`-th run waits: 2, 4, 8 ... minutes, at most an hour."""
    return min(3600.0, 60.0 * float(2 ** min(attempts, 6)))


def smtp_is_permanent(code: int) -> bool:
    """RFC 5321: 5xx is permanent, except 552 (mailbox full), which Mailman and others retry."""
    return 500 <= code < 600 and code != 552


def send_retry_decision(
    *, attempts: int, permanent: bool, error: str, now: datetime,
    max_attempts: int, base_s: float, cap_s: float, rand: random.Random | None = None,
) -> RetryDecision:
    """What to do with an outbox row whose delivery attempt number `attempts` just failed."""
    if permanent:
        return RetryDecision(None, f"permanent: {error}")
    if attempts >= max_attempts:
        return RetryDecision(None, f"gave up after {attempts} attempts: {error}")
    delay = backoff_s(attempts - 1, base_s=base_s, cap_s=cap_s, rand=rand)
    return RetryDecision(now + timedelta(seconds=delay), f"temporary: {error}")
