"""What this worker sees going wrong, kept for the incident review: since when, and the last error."""

from __future__ import annotations

from datetime import datetime

from service.core.incident_policy import IncidentKind, Trouble


class TroubleWatch:
    """The runners report here; `seen` is what the scheduler's incident review reads.

    A kind is seen once this worker has looked at it: a worker standing by for the mailbox has not
    looked at the inbox, and says nothing of it (the worker reading it does).
    """

    def __init__(self) -> None:
        self._state: dict[IncidentKind, Trouble | None] = {}

    def failed(self, kind: IncidentKind, detail: str, now: datetime) -> None:
        """It went wrong now; a spell already under way keeps its start."""
        current = self._state.get(kind)
        self._state[kind] = Trouble(current.since if current else now, detail)

    def ok(self, kind: IncidentKind) -> None:
        """It worked: any spell of trouble is over."""
        self._state[kind] = None

    def unseen(self, kind: IncidentKind) -> None:
        """This worker no longer looks at it (another worker reads the mailbox)."""
        self._state.pop(kind, None)

    def seen(self) -> dict[IncidentKind, Trouble | None]:
        return dict(self._state)
