"""The states rows move through, and the kinds of scheduled work, as names instead of bare strings.

Each value is the string stored in the database, so rows written before these enums existed read back
as members, and a member compares equal to its stored string.
"""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    """Where a scheduled job stands."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"


class JobKind(StrEnum):
    """What a scheduled job does; its key is `<kind>:<subject>` (a concern token, an owner, an event's reminder)."""

    ESCALATE = "escalate"
    DIGEST = "digest"
    CHECKIN = "checkin"
    CLOSING = "closing"
    REMIND = "remind"
    ALERT = "alert"  # the held alerts of one owner, sent together when their window ends

    def subject_of(self, key: str) -> str:
        """The part of a job key after `<kind>:`, which the job's handler acts on."""
        return key.removeprefix(f"{self.value}:")


class OutboxStatus(StrEnum):
    """Where an outgoing message stands."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class ConcernStatus(StrEnum):
    """Where a client's concern stands, from filed to resolved."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    PLANNED = "planned"
    RESOLVED = "resolved"
