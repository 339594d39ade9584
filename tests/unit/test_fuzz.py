"""A bounded fuzzer of parse + triage: whatever the bytes, neither raises."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.core.rules.facts import TriageContext
from service.core.triage import triage
from service.detector.detect import Verdict
from service.mailformat.parse import Inbound, parse_message

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
    # a stop request or mail to a reply tag is decided by triage too (no valid tag can be guessed)
    assert decision.action in {"new_concern", "follow_up", "ignore", "no_concern", "opt_out",
                               "refused_command"} and decision.reasons
    if msg.auto_signals and "reply-tag" not in decision.rules.hit:
        assert decision.action == "ignore"  # every machine signal belongs to a rule that stops the reply
    assert "\r" not in msg.subject and "\n" not in msg.subject


# long tokens and runs, each up to 64 KB: a unit repeated (a letter, base64, "a@", "<", quote marks, blank
# lines, spaces, "On ...", encoded words, CJK) inside a body, a subject or an owner's command line. No clock
# is read: a step that is not linear does not finish within the suite's timeout, and bench/hostile.py
# measures the time
UNITS = st.sampled_from(["x", "QUJD", "a@", "a.b@", "<", "<b>x</b>", ">", "\n", " ", "\t \n", "On Monday ",
                         ".Warning: ", "=?x?q?", "请", "- x\n", "not ", "Bad. ", "@", "(a@", "C-1 "])
LONG = st.tuples(UNITS, st.sampled_from([2_000, 16_000, 64_000])).map(lambda t: t[0] * (t[1] // len(t[0])))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
          derandomize=True)
@given(token=LONG, where=st.sampled_from(["body", "html", "subject", "from", "cc", "list cc"]), verdict=VERDICTS)
def test_fuzz_long_tokens_through_parse_detect_and_triage(token: str, where: str, verdict: Verdict) -> None:
    from service.detector.detect import Thresholds
    from service.detector.model import DEFAULT_MODEL
    from service.runtime.prepare import Recipe, prepare_batch

    head = {"subject": f"Subject: {token}\r\n", "from": f"From: {token} <ana@client.example>\r\n",
            "cc": f"Cc: {token}\r\n",  # a list that rewrote From names the author in Cc (Mailman)
            "list cc": f"List-Id: <care.lists.example>\r\nPrecedence: list\r\nCc: {token}\r\n"}.get(
        where, "Subject: Invoice\r\n")
    sender = {"from": "", "list cc": "From: 'Ana Lopez' via Care <care@lists.example>\r\n"}.get(
        where, "From: Ana <ana@client.example>\r\n")
    ctype = "text/html" if where == "html" else "text/plain"
    body = token if where in {"body", "html"} else "We were charged twice."
    data = (f"{sender}To: care@example.test\r\n{head}Message-ID: <f@x>\r\nContent-Type: {ctype}; charset=utf-8\r\n"
            f"\r\nNobody called back.\r\n{body}\r\n").encode()
    [prepared] = prepare_batch([data], Recipe(DEFAULT_MODEL, ("noreply",), Thresholds()))
    msg = prepared.message
    assert isinstance(msg, Inbound) and isinstance(prepared.verdict, Verdict)
    assert len(msg.new_text) <= 100_000 and "\ufdd0" not in msg.new_text
    assert triage(msg, verdict, CTX).reasons


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
          derandomize=True)
@given(token=LONG)
def test_fuzz_long_lines_in_an_owners_commands(token: str) -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from service.core.owner_commands import parse_commands

    body = f"C-1 fix the boiler{token}(owner: {token}) by Friday\nC-2 {token}\n[#C-3] resolved {token}\n"
    commands, problems = parse_commands(body, datetime(2026, 12, 1, 9, tzinfo=UTC), ZoneInfo("Europe/Madrid"))
    assert len(commands) + len(problems) <= 3
