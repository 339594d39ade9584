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
