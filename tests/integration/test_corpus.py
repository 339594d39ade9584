"""Hostile and broken mail (tests/corpus/ plus generated giants), and a bounded fuzzer of parse + triage."""

from __future__ import annotations

import base64
from email import message_from_bytes, policy
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from service.core.triage import TriageContext, triage
from service.detector.detect import Verdict
from service.mailformat.parse import Inbound, parse_message
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
    drop(inbox, client_mail(message_id="<valid-after@client.example>",
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


CTX = TriageContext(shared_address="care@example.test", own_message_ids=frozenset(), thread_concern=None,
                    recent_auto_replies=0, auto_reply_cap=3)
VERDICTS = st.sampled_from([Verdict("complaint", 0.9, ("x",), {"complaint": 0.9}, {"complaint": ("x",)}),
                            Verdict("anxiety", 0.7, ("y",), {"anxiety": 0.7}, {"anxiety": ("y",)}),
                            Verdict("none", 0.8)])
HEADER_NAMES = st.sampled_from(["From", "To", "Subject", "Message-ID", "Content-Type", "Content-Transfer-Encoding",
                                "Auto-Submitted", "In-Reply-To", "References", "Reply-To", "Date", "List-Id"])
HEADER = st.tuples(HEADER_NAMES, st.binary(max_size=120)).map(lambda t: t[0].encode() + b": " + t[1])
MESSAGE = st.one_of(
    st.binary(max_size=2000),
    st.tuples(st.lists(HEADER, max_size=12), st.binary(max_size=1500)).map(
        lambda t: b"\r\n".join(t[0]) + b"\r\n\r\n" + t[1]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(data=MESSAGE, verdict=VERDICTS)
def test_fuzz_parse_and_triage_never_raise(data: bytes, verdict: Verdict) -> None:
    msg = parse_message(data, noreply_patterns=("noreply",))
    assert isinstance(msg, Inbound) and msg.message_id
    decision = triage(msg, verdict, CTX)
    assert decision.action in {"new_concern", "follow_up", "ignore", "no_concern"} and decision.reasons
    assert "\r" not in msg.subject and "\n" not in msg.subject
