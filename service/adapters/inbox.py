"""The inbox interface, and the Maildir inbox for local use."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from service.errors import InboxError


@dataclass(frozen=True)
class RawMessage:
    """One message as the server holds it: a key to mark it by, and its bytes."""

    key: str
    data: bytes
    source: str
    arrived_at: datetime | None = None  # when it reached the mail server, if the mailbox says


@dataclass(frozen=True)
class ReadPosition:
    uidvalidity: int
    last_uid: int


class Inbox(Protocol):
    """Where client mail arrives. Messages are marked processed only after their rows commit."""

    name: str
    supports_push: bool

    async def open(self, checkpoint: ReadPosition | None) -> None: ...
    async def fetch_batch(self) -> list[RawMessage]: ...
    async def mark_processed(self, keys: Sequence[str]) -> None: ...
    def checkpoint(self) -> ReadPosition | None: ...
    async def wait(self, timeout_s: float) -> bool: ...
    async def close(self) -> None: ...


def ensure_maildir(path: Path) -> Path:
    for sub in ("new", "cur", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return path


class MaildirInbox:
    """Unprocessed mail sits in new/; after commit it moves to cur/ with the Seen flag."""

    supports_push = False

    def __init__(self, path: Path, *, batch: int = 50, poll_s: float = 1.0) -> None:
        self.path = path
        self.name = f"maildir://{path}"
        self.batch = batch
        self.poll_s = poll_s
        self._handed_out: set[str] = set()

    async def open(self, checkpoint: ReadPosition | None) -> None:
        try:
            ensure_maildir(self.path)
        except OSError as exc:
            raise InboxError(f"cannot use Maildir {self.path}: {exc}") from exc
        self._handed_out.clear()

    def checkpoint(self) -> ReadPosition | None:
        return None

    def _pending(self) -> list[str]:
        try:
            names = os.listdir(self.path / "new")
        except OSError as exc:
            raise InboxError(f"cannot list {self.path / 'new'}: {exc}") from exc
        # delivery order: Maildir names start with the delivery time
        return sorted(n for n in names if not n.startswith(".") and n not in self._handed_out)

    async def fetch_batch(self) -> list[RawMessage]:
        out: list[RawMessage] = []
        for name in self._pending()[: self.batch]:
            try:
                path = self.path / "new" / name
                data = path.read_bytes()
                arrived = datetime.fromtimestamp(path.stat().st_mtime, UTC)  # the MDA wrote it then
            except FileNotFoundError:  # another worker took it
                continue
            except OSError as exc:
                raise InboxError(f"cannot read {name}: {exc}") from exc
            self._handed_out.add(name)
            out.append(RawMessage(name, data, f"{self.name}/new/{name}", arrived))
        return out

    async def mark_processed(self, keys: Sequence[str]) -> None:
        for key in keys:
            base = key.split(":2,")[0]
            try:
                os.replace(self.path / "new" / key, self.path / "cur" / f"{base}:2,S")
            except FileNotFoundError:
                pass  # already moved by an earlier run: the promise holds
            except OSError as exc:
                raise InboxError(f"cannot move {key} to cur/: {exc}") from exc
            self._handed_out.discard(key)

    async def wait(self, timeout_s: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline:
            if self._pending():
                return True
            await asyncio.sleep(min(self.poll_s, max(0.0, deadline - loop.time())))
        return bool(self._pending())

    async def close(self) -> None:
        self._handed_out.clear()
