"""Triage: each suppression rule, one acknowledgement per concern, the per-sender cap."""

from __future__ import annotations

import dataclasses

import pytest

from service.core.rules.facts import ThreadConcern, TriageContext
from service.core.triage import triage
from service.detector.detect import Verdict
from service.mailformat.parse import Inbound, parse_message

COMPLAINT = Verdict("complaint", 0.9, ("This is unacceptable.",))
NONE = Verdict("none", 0.9)


def inbound(extra: str = "", sender: str = "ana@client.example", to: str = "care@example.test") -> Inbound:
    data = (f"From: Ana <{sender}>\r\nTo: {to}\r\nSubject: Late\r\n"
            f"Message-ID: <in1@client.example>\r\n{extra}\r\nThis is unacceptable.\r\n").encode()
    return parse_message(data, noreply_patterns=("noreply", "no-reply", "mailer-daemon"))


def ctx(**kw: object) -> TriageContext:
    base = TriageContext(shared_address="care@example.test", own_message_ids=frozenset(),
                         thread_concern=None, recent_auto_replies=0, auto_reply_cap=3)
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def test_new_complaint_gets_an_acknowledgement() -> None:
    d = triage(inbound(), COMPLAINT, ctx())
    assert (d.action, d.reply_template, d.severity) == ("new_concern", "ack_complaint", "normal")


@pytest.mark.parametrize(("extra", "verdict", "severity"), [
    ("", Verdict("complaint", 0.99, ("x",), {"complaint": 0.99, "anxiety": 0.1}), "normal"),
    # something went wrong and the client fears what follows
    ("", Verdict("complaint", 0.7, ("x",), {"complaint": 0.7, "anxiety": 0.6}, {"complaint": ("x",), "anxiety": ("y",)}),
     "high"),
    ("Importance: high\r\n", COMPLAINT, "high"),
    ("X-Priority: 1 (Highest)\r\n", COMPLAINT, "high"),
])
def test_severity(extra: str, verdict: Verdict, severity: str) -> None:
    assert triage(inbound(extra), verdict, ctx()).severity == severity


@pytest.mark.parametrize(("extra", "sender", "reason"), [
    ("Auto-Submitted: auto-replied\r\n", "ana@client.example", "auto:auto-submitted:auto-replied"),
    ("X-Autoreply: yes\r\n", "ana@client.example", "auto:x-autoreply"),
    ("Precedence: bulk\r\n", "ana@client.example", "auto:precedence:bulk"),
    ("Precedence: junk\r\n", "ana@client.example", "auto:precedence:junk"),
    ("List-Id: <l.example>\r\n", "ana@client.example", "auto:list-id"),
    ("List-Unsubscribe: <mailto:x@l.example>\r\n", "ana@client.example", "auto:list-unsubscribe"),
    ("Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n",
     "ana@client.example", "auto:delivery-report"),
    ("", "MAILER-DAEMON@mx.client.example", "auto:mailer-daemon"),
    ("", "noreply@client.example", "auto:noreply-address"),
    ("", "care@example.test", "own-address"),
    ("X-Followup-Instance: care@other.example\r\n", "ana@client.example", "followup-instance"),
])
def test_suppressions(extra: str, sender: str, reason: str) -> None:
    d = triage(inbound(extra, sender), COMPLAINT, ctx())
    assert d.action == "ignore" and d.reply_template is None
    assert d.reasons[0].startswith(reason)


@pytest.mark.parametrize("extra", ["Precedence: list\r\n", "List-Post: <mailto:users@lists.other.example>\r\n",
                                   "List-Id: <users.lists.other.example>\r\nPrecedence: list\r\n"])
def test_a_list_we_only_read_is_machine_mail(extra: str) -> None:
    # not to us, and neither our list nor the author's organisation's: a list the mailbox reads
    d = triage(inbound(extra, to="users@lists.other.example"), COMPLAINT, ctx())
    assert d.action == "ignore" and d.reasons[0].startswith("auto:") and "relayed-by-list" in d.rules.missed


def test_own_message_id_coming_back() -> None:
    d = triage(inbound(), COMPLAINT, ctx(own_message_ids=frozenset({"<in1@client.example>"})))
    assert d.reasons == ("own-message-id",)


def test_follow_up_on_acknowledged_concern_gets_no_second_ack() -> None:
    thread = ThreadConcern(7, "ana@client.example", "complaint", "acknowledged", acknowledged=True)
    d = triage(inbound(), COMPLAINT, ctx(thread_concern=thread))
    assert (d.action, d.concern_id, d.reply_template) == ("follow_up", 7, None)
    assert d.reasons == ("already-acknowledged",)


def test_follow_up_on_unacknowledged_concern_is_acknowledged_once() -> None:
    thread = ThreadConcern(7, "ana@client.example", "anxiety", "open", acknowledged=False)
    d = triage(inbound(), NONE, ctx(thread_concern=thread))
    assert (d.action, d.reply_template) == ("follow_up", "ack_anxiety")


def test_token_of_another_clients_concern_does_not_thread() -> None:
    thread = ThreadConcern(7, "someone@else.example", "complaint", "open", acknowledged=True)
    d = triage(inbound(), COMPLAINT, ctx(thread_concern=thread))
    assert d.action == "new_concern" and "thread-belongs-to-another-client" in d.reasons


def test_no_concern_no_reply() -> None:
    d = triage(inbound(), NONE, ctx())
    assert (d.action, d.reply_template) == ("no_concern", None)


def test_sender_cap() -> None:
    d = triage(inbound(), COMPLAINT, ctx(recent_auto_replies=3))
    assert d.action == "new_concern" and d.reply_template is None
    assert d.reasons[-1] == "sender-cap:3/3"
    assert triage(inbound(), COMPLAINT, ctx(recent_auto_replies=2)).reply_template == "ack_complaint"
