"""Rules for a client's message: does it follow up a concern or carry a new one, and may we answer it?"""

from __future__ import annotations

from typing import Literal

from service.core.chain import rule
from service.core.mailboxes import ack_recipient, foreign_reply_to, org_of
from service.core.rules.facts import InboundFacts, ThreadConcern
from service.core.urgency import marked_urgent
from service.detector.detect import Verdict
from service.mailformat.autoreply import suppresses_auto_replies
from service.mailformat.parse import Inbound

Severity = Literal["high", "normal"]


def severity_of(verdict: Verdict, msg: Inbound) -> Severity:
    """High when something went wrong and the client fears what follows, or the client marks it urgent.

    The detector's probability is not used: it measures how sure the model is, not how bad it is.
    """
    if {"complaint", "anxiety"} <= set(verdict.labels):
        return "high"
    importance = msg.headers.get("importance", "").lower()
    priority = msg.headers.get("x-priority", "").strip()[:1]
    if importance == "high" or priority in {"1", "2"} or marked_urgent(msg.subject):
        return "high"
    return "normal"


@rule("follow-up", "Does it thread onto a concern of this same client (subject token, In-Reply-To or References)?")
def follow_up(f: InboundFacts) -> bool:
    thread = f.ctx.thread_concern
    return thread is not None and thread.client_email == f.msg.from_addr


@rule("joins-open-concern", "Has the client a concern not yet resolved, which this new message of theirs joins "
      "(one concern, its messages attached, rather than one per message)?")
def joins_open_concern(f: InboundFacts) -> bool:
    return f.ctx.open_concern is not None


def followed(f: InboundFacts) -> ThreadConcern | None:
    """The concern the message follows up: its thread's, when this client's, else the one it joins."""
    return f.ctx.thread_concern if follow_up.check(f) else f.ctx.open_concern


@rule("already-acknowledged", "Was the concern it follows up (or joins) acknowledged already "
      "(one acknowledgement each)?")
def already_acknowledged(f: InboundFacts) -> bool:
    concern = followed(f)
    return concern is not None and concern.acknowledged


@rule("other-clients-thread", "Does it thread onto a concern of another client (so it cannot follow that one up)?")
def other_clients_thread(f: InboundFacts) -> bool:
    thread = f.ctx.thread_concern
    return thread is not None and thread.client_email != f.msg.from_addr


@rule("concern-detected", "Did the detector find a complaint or a worry?")
def concern_detected(f: InboundFacts) -> bool:
    return f.verdict.label != "none"


@rule("high-severity", "Is the new concern high severity: a complaint that carries a worry, or marked urgent?")
def high_severity(f: InboundFacts) -> bool:
    return severity_of(f.verdict, f.msg) == "high"


@rule("reply-suppressed", "Does its X-Auto-Response-Suppress ask for no automatic replies (All, AutoReply or OOF "
      "in the list)? The concern is filed and not acknowledged.")
def reply_suppressed(f: InboundFacts) -> bool:
    return suppresses_auto_replies(f.msg.headers.get("x-auto-response-suppress", ""))


@rule("reply-to-elsewhere", "Does its Reply-To name an address outside the author's organisational domain "
      "(the acknowledgement goes to the author, never there)?")
def reply_to_elsewhere(f: InboundFacts) -> bool:
    return foreign_reply_to(f.msg)


@rule("sender-cap", "Has the mailbox to acknowledge (whatever its case, +tag, trailing dot or subdomain) had its cap "
      "of automatic replies in the window (auto_reply_cap)?")
def sender_cap(f: InboundFacts) -> bool:
    return f.ctx.recent_auto_replies >= f.ctx.auto_reply_cap


@rule("sender-ack-cap", "Has the sender (the From header's mailbox) caused its cap of acknowledgements in the window, "
      "whoever they went to (sender_ack_cap), and is the client new to us?")
def sender_ack_cap(f: InboundFacts) -> bool:
    ctx = f.ctx
    return bool(ctx.sender_ack_cap) and not ctx.known_client and ctx.sender_acks >= ctx.sender_ack_cap


@rule("source-ack-cap", "Has the host that handed it to our server (topmost Received) caused its cap of "
      "acknowledgements in the window (source_ack_cap), and is the client new to us?")
def source_ack_cap(f: InboundFacts) -> bool:
    ctx = f.ctx
    return bool(ctx.source_ack_cap) and not ctx.known_client and ctx.source_acks >= ctx.source_ack_cap


@rule("circuit-breaker", "Has the organisational domain to acknowledge had its cap of automatic replies in the window "
      "(domain_reply_cap), and is the client new to us (one known before the window is answered still)?")
def circuit_breaker(f: InboundFacts) -> bool:
    ctx = f.ctx
    return bool(ctx.domain_reply_cap) and not ctx.known_client and ctx.recent_domain_replies >= ctx.domain_reply_cap


def cap_reason(f: InboundFacts) -> str:
    """Why a capped message gets no reply: the first cap reached, in the order the caps are asked."""
    ctx = f.ctx
    if sender_cap.check(f):
        return f"sender-cap:{ctx.recent_auto_replies}/{ctx.auto_reply_cap}"
    if sender_ack_cap.check(f):
        return f"sender-ack-cap:{ctx.sender_acks}/{ctx.sender_ack_cap}"
    if source_ack_cap.check(f):
        return f"source-ack-cap:{ctx.source_acks}/{ctx.source_ack_cap}"
    domain = org_of(ack_recipient(f.msg))
    return f"circuit-open:{domain}:{ctx.recent_domain_replies}/{ctx.domain_reply_cap}"
