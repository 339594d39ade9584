"""Helpers the store and end-to-end tests share: settings on Maildir folders, the mail the worker wrote
there, rows read back, a shared mailbox started empty."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import select

from service.runtime.worker import Worker
from service.settings import Settings


async def query(settings: Settings, model: type, *where: object) -> list[Any]:
    """Rows of `model` matching `where`, read through a worker's own engine."""
    worker = Worker(settings)
    try:
        async with worker.sessions() as session:
            return list((await session.scalars(select(model).where(*where))).all())
    finally:
        await worker.engine.dispose()


def empty_mailbox(stack: Any, user: str) -> None:
    """A test that runs once per database starts its shared inbox empty each time."""
    for sub in ("new", "cur"):
        folder = stack.maildir(user) / sub
        if folder.is_dir():
            for path in folder.iterdir():
                path.unlink()


def maildir_settings(folders: tuple[Path, Path], db_url: str, **kw: object) -> Settings:
    """Settings for a worker reading the Maildir `folders[0]` and writing to `folders[1]`."""
    inbox, outbox = folders
    return Settings(inbox_url=f"maildir://{inbox}", outbox_url=f"maildir://{outbox}", database_url=db_url,
                    shared_address="care@example.test", default_owner="owner@example.test",
                    **kw)  # type: ignore[arg-type]


def sent(outbox: Path) -> list[EmailMessage]:
    """What the worker wrote to the Maildir outbox, oldest first."""
    new = outbox / "new"
    if not new.exists():
        return []
    return [message_from_bytes(p.read_bytes(), policy=policy.default)  # type: ignore[misc]
            for p in sorted(new.iterdir())]
