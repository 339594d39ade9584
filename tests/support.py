"""Helpers the store and end-to-end tests share: read rows back, start a shared mailbox empty."""

from __future__ import annotations

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
