"""Operator incidents through the real loop: quarantined mail told once, its end told once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from service.clock import ManualClock
from service.runtime.metrics import METRICS
from service.runtime.worker import Worker
from service.store.models import Incident

from mailfactory import client_mail, deep_nesting, drop
from support import maildir_settings, sent

OPS = "ops@example.test"


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "inbox", tmp_path / "outbox"


def incident_mails(outbox: Path) -> list[str]:
    return [str(m["Subject"]) for m in sent(outbox) if m["To"] == OPS]


async def test_quarantined_mail_is_told_once_and_its_end_once(
        dirs: tuple[Path, Path], db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from service.runtime import prepare

    real = prepare.parse_message

    def breaks(data: bytes, **kw: tuple[str, ...]) -> object:
        if b"BREAK-ME" in data or data == deep_nesting():
            raise RecursionError("maximum recursion depth exceeded")
        return real(data, **kw)

    monkeypatch.setattr(prepare, "parse_message", breaks)
    inbox, outbox = dirs
    settings = maildir_settings(dirs, db_url, operator_address=OPS, incident_after_minutes=10)
    clock = ManualClock(datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    drop(inbox, deep_nesting())
    drop(inbox, client_mail(message_id="<fine@client.example>"))
    await Worker(settings, clock=clock).run_once()
    assert incident_mails(outbox) == ["[followup] Incident: mail was quarantined"]
    [mail] = [m for m in sent(outbox) if m["To"] == OPS]
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "RecursionError" in text and "followup quarantine" in text
    assert METRICS.open_incidents().get("mail-quarantined") is not None

    # another within the spell: the same incident, no second mail
    clock.current += timedelta(minutes=4)
    drop(inbox, client_mail(message_id="<broken2@client.example>", body="BREAK-ME"))
    await Worker(settings, clock=clock).run_once()
    assert len(incident_mails(outbox)) == 1

    # a whole window with nothing quarantined: over, and said so once
    clock.current += timedelta(minutes=11)
    await Worker(settings, clock=clock).run_once()
    clock.current += timedelta(minutes=30)
    await Worker(settings, clock=clock).run_once()
    assert sorted(incident_mails(outbox)) == ["[followup] Incident: mail was quarantined",
                                              "[followup] Resolved: mail was quarantined"]
    assert "mail-quarantined" not in METRICS.open_incidents()
    worker = Worker(settings, clock=clock)
    async with worker.sessions() as session:
        [row] = (await session.scalars(select(Incident))).all()
    await worker.engine.dispose()
    assert row.kind == "mail-quarantined" and row.told_at is not None and row.ended_at is not None
    assert row.open_kind is None


async def test_without_an_operator_address_incidents_are_kept_but_mailed_to_nobody(
        dirs: tuple[Path, Path], db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from service.runtime import prepare

    real = prepare.parse_message
    monkeypatch.setattr(prepare, "parse_message", lambda data, **kw: (_ for _ in ()).throw(RecursionError("deep"))
                        if data == deep_nesting() else real(data, **kw))
    inbox, outbox = dirs
    settings = maildir_settings(dirs, db_url)
    drop(inbox, deep_nesting())
    await Worker(settings).run_once()
    assert incident_mails(outbox) == [] and sent(outbox) == []
    worker = Worker(settings)
    async with worker.sessions() as session:
        [row] = (await session.scalars(select(Incident))).all()
    await worker.engine.dispose()
    assert row.kind == "mail-quarantined" and row.told_at is not None and "deep" in row.detail
