"""Verdict + history to a decision: file, follow up or ignore; reply or not, and why.

Each suppression is a one-question rule with a name, as in Mailman's chains,
so every decision records which rules fired.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from service.detector.detect import Verdict
from service.mailformat.parse import Inbound

Action = Literal["new_concern", "follow_up", "ignore", "no_concern"]
Severity = Literal["high", "normal"]


@dataclass(frozen=True)
class ThreadConcern:
    """The concern an inbound message threads onto, as the store knows it."""

    id: int
    client_email: str
    kind: str
    status: str
    acknowledged: bool


@dataclass(frozen=True)
class TriageContext:
    """What triage needs from history; gathered by the worker, passed in."""

    shared_address: str
    own_message_ids: frozenset[str]
    thread_concern: ThreadConcern | None
    recent_auto_replies: int
    auto_reply_cap: int
    # the circuit breaker: automatic replies to the sender's whole domain in the window
    recent_domain_replies: int = 0
    domain_reply_cap: int = 0  # 0: no breaker


@dataclass(frozen=True)
class Decision:
    action: Action
    reply_template: str | None
    reasons: tuple[str, ...]
    concern_id: int | None = None
    severity: Severity = "normal"

    @property
    def summary(self) -> str:
        reply = self.reply_template or "none"
        return f"{self.action} reply={reply} reasons={','.join(self.reasons) or '-'}"


@dataclass(frozen=True)
class Rule:
    """One question about a message; `check` returns the reason it fired, or None."""

    name: str
    description: str
    check: Callable[[Inbound, TriageContext], str | None]


def _own(msg: Inbound, ctx: TriageContext) -> str | None:
    if msg.from_addr == ctx.shared_address:
        return "own-address"
    if msg.message_id in ctx.own_message_ids:
        return "own-message-id"
    if "followup-instance" in msg.auto_signals:
        return "followup-instance"
    return None


def _automatic(msg: Inbound, ctx: TriageContext) -> str | None:
    signals = [s for s in msg.auto_signals if s != "followup-instance"]
    return "auto:" + "+".join(signals) if signals else None


def _no_sender(msg: Inbound, ctx: TriageContext) -> str | None:
    return None if msg.reply_address else "no-reply-address"


SUPPRESSIONS: tuple[Rule, ...] = (
    Rule("own", "our own messages coming back, or another followup answering us", _own),
    Rule("automatic", "auto-replies, bounces, lists and no-reply senders (RFC 3834)", _automatic),
    Rule("no-sender", "nothing to reply to", _no_sender),
)


_URGENT_RE = re.compile(r"\b(urgent|asap|emergency|immediately)\b", re.IGNORECASE)


def severity_of(verdict: Verdict, msg: Inbound) -> Severity:
    """High when something went wrong and the client fears what follows, or the client marks it urgent.

    The detector's probability is not used: it measures how sure the model is, not how bad it is.
    """
    if {"complaint", "anxiety"} <= set(verdict.labels):
        return "high"
    importance = msg.headers.get("importance", "").lower()
    priority = msg.headers.get("x-priority", "").strip()[:1]
    if importance == "high" or priority in {"1", "2"} or _URGENT_RE.search(msg.subject):
        return "high"
    return "normal"


def triage(msg: Inbound, verdict: Verdict, ctx: TriageContext) -> Decision:
    """Decide what to do with one inbound message; pure."""
    for rule in SUPPRESSIONS:
        reason = rule.check(msg, ctx)
        if reason:
            return Decision("ignore", None, (reason,))

    thread = ctx.thread_concern
    capped = ctx.recent_auto_replies >= ctx.auto_reply_cap
    cap_reason = f"sender-cap:{ctx.recent_auto_replies}/{ctx.auto_reply_cap}"
    if not capped and ctx.domain_reply_cap and ctx.recent_domain_replies >= ctx.domain_reply_cap:
        capped = True
        domain = msg.reply_address.rpartition("@")[2]
        cap_reason = f"circuit-open:{domain}:{ctx.recent_domain_replies}/{ctx.domain_reply_cap}"
    if thread is not None and thread.client_email == msg.from_addr:
        if thread.acknowledged:
            return Decision("follow_up", None, ("already-acknowledged",), thread.id)
        if capped:
            return Decision("follow_up", None, (cap_reason,), thread.id)
        return Decision("follow_up", f"ack_{thread.kind}", ("first-acknowledgement",), thread.id)

    if verdict.label == "none":
        return Decision("no_concern", None, ("no-concern-detected",))
    severity = severity_of(verdict, msg)
    reasons: tuple[str, ...] = (f"{verdict.label}:{verdict.score:.2f}",)
    if thread is not None:
        reasons += ("thread-belongs-to-another-client",)
    if capped:
        return Decision("new_concern", None, (*reasons, cap_reason), severity=severity)
    return Decision("new_concern", f"ack_{verdict.label}", reasons, severity=severity)
