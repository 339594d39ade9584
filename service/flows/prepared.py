"""What intake asks of a preparer, and what it gets back: messages parsed and scored, or why not.

The runtime's `Preparer` (service.runtime.prepare) does the work, in this process or in one of
its own; intake knows it only by the `BatchPreparer` protocol, so the flows never import the runtime.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from service.core.letters import Composed, LetterRequest, Refusal
    from service.detector.detect import Verdict
    from service.mailformat.parse import Inbound


class Unprepared(Exception):
    """A message that could not be parsed or scored; its text is the reason a quarantine records."""


def reason(exc: BaseException) -> str:
    """How a failure is recorded: its type and message (an `Unprepared` already is that)."""
    return str(exc) if isinstance(exc, Unprepared) else f"{type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class Prepared:
    """One message parsed and scored, or the reason it could not be."""

    message: Inbound | Unprepared
    verdict: Verdict | Unprepared | None  # None when the message did not parse


class BatchPreparer(Protocol):
    """Parses and scores batches of raw messages, and composes acknowledgements, wherever it runs them."""

    def submit(self, datas: Sequence[bytes]) -> Awaitable[list[Prepared]]:
        """The batch parsed and scored, in order."""
        ...

    async def compose(self, requests: list[LetterRequest]) -> list[Composed | Refusal]:
        """The messages rendered and composed, in order (`service.core.letters.compose_letters`)."""
        ...
