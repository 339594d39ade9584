"""Hostile and broken mail (tests/corpus/ plus generated giants) through the worker: filed or quarantined.

The fuzzer of parse + triage on such bytes is a unit test (tests/unit/test_fuzz.py)."""

from __future__ import annotations

import base64
from email import message_from_bytes, policy
from pathlib import Path

from sqlalchemy import func, select

from service.runtime.worker import Worker
from service.settings import Settings
from service.store.models import MessageRow, Quarantine

from mailfactory import client_mail, deep_nesting, drop

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def giants() -> dict[str, bytes]:
    big = base64.encodebytes(b"\0" * (25 * 1024 * 1024 // 4 * 3))
    return {
        "zero-byte": b"",
        "25-megabytes": (b"From: Ana <ana@client.example>\r\nTo: care@example.test\r\nSubject: big\r\n"
                         b"Message-ID: <big@corpus>\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
                         b"--b\r\nContent-Type: text/plain\r\n\r\nThe scan is attached; nobody called back.\r\n"
                         b"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                         + big + b"--b--\r\n"),
        "1-megabyte-header": (b"From: Ana <ana@client.example>\r\nTo: care@example.test\r\nSubject: h\r\n"
                              b"Message-ID: <hdr@corpus>\r\nX-Junk: " + b"a" * (1024 * 1024) + b"\r\n\r\nbody\r\n"),
        "nested-300-deep": deep_nesting(300),
    }


async def test_every_broken_message_is_filed_or_quarantined_and_the_next_one_is_answered(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    messages = {p.name: p.read_bytes() for p in sorted(CORPUS.glob("*.eml"))} | giants()
    assert len(messages) >= 28
    for data in messages.values():
        drop(inbox, data)
    drop(inbox, client_mail(message_id="<valid-after@client.example>", sender="Val <val.after@client.example>",
                            body="We were charged twice and nobody has called back. This is unacceptable."))
    settings = Settings(inbox_url=f"maildir://{inbox}", outbox_url=f"maildir://{tmp_path / 'out'}",
                        database_url=f"sqlite:///{tmp_path / 'f.db'}", shared_address="care@example.test")
    stats = await Worker(settings).run_once()
    assert stats.processed == len(messages) + 1
    assert not list((inbox / "new").iterdir())  # nothing left behind, nothing blocked
    worker = Worker(settings)
    async with worker.sessions() as s:
        filed = int(await s.scalar(select(func.count(MessageRow.id)).where(MessageRow.direction == "in")) or 0)
        quarantined = list((await s.scalars(select(Quarantine))).all())
        assert await s.scalar(select(MessageRow.decision).where(
            MessageRow.message_id == "<valid-after@client.example>")) == "new_concern"
    await worker.engine.dispose()
    duplicates = stats.outcomes.get("duplicate", 0)
    assert filed + len(quarantined) + duplicates == len(messages) + 1
    assert all(q.reason for q in quarantined)
    # our replies never carry an injected header, whatever the subject or name said
    for path in (tmp_path / "out" / "new").iterdir():
        reply = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert reply["Bcc"] is None and len(reply.get_all("To") or []) == 1
        assert "victim@example.com" not in str(reply["To"]) and "x@evil.example" not in str(reply["To"])
        html = reply.get_body(("html",))
        if html is not None:
            assert "<script>" not in str(html.get_content())
