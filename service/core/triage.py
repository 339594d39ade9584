"""Verdict + history to a decision: file, follow up or ignore; reply or not, and why. Pure.

Every inbound decision is a chain of one-question rules (`service.core.rules`), as in
Mailman's chains: `triage` runs `INBOUND` and returns the decision with the record
of which rules hit and which missed, stored with the message. The reasons are
those stored since the first release (the metrics and tests read them).

A client's request to stop (`opt-out-request`, or mail to their `unsubscribe-address`)
does not end the chain: the concern the same message carries is filed all the same and
reaches the owner; the request only takes the acknowledgement away (`Decision.opt_out`:
the flow opts the client out and confirms it once). A message that asks nothing else is
`opt_out`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum

from service.core.chain import Chain, Link, Rule, RuleRecord, run
from service.core.rules.concern_rules import (
    Severity,
    already_acknowledged,
    cap_reason,
    circuit_breaker,
    concern_detected,
    follow_up,
    followed,
    high_severity,
    joins_open_concern,
    other_clients_thread,
    reply_suppressed,
    reply_to_elsewhere,
    sender_ack_cap,
    sender_cap,
    severity_of,
    source_ack_cap,
)
from service.core.rules.facts import InboundFacts, ThreadConcern, TriageContext
from service.core.rules.owner_authority import (
    ambiguous_from,
    authentication_failed_rule,
    authorised_sender,
    forwarded_digest,
    reply_tag,
    signed_for_sender,
    unsubscribe_address,
)
from service.core.rules.screening import (
    MACHINE_MAIL,
    duplicate,
    followup_instance,
    machine_reason,
    message_id_reused,
    no_reply_address,
    nothing_but_stop,
    opt_out_lifted,
    opt_out_request,
    own_address,
    own_message_id,
    relayed_by_list,
)
from service.detector.detect import Verdict
from service.mailformat.parse import Inbound


class Action(StrEnum):
    """What is done with an inbound message; stored as `messages.decision`."""

    NEW_CONCERN = "new_concern"
    FOLLOW_UP = "follow_up"
    IGNORE = "ignore"
    NO_CONCERN = "no_concern"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"  # by the flow, when a message cannot be processed: no rule decides it
    OWNER_COMMANDS = "owner_commands"
    REFUSED_COMMAND = "refused_command"
    OPT_OUT = "opt_out"


@dataclass(frozen=True)
class Decision:
    action: Action
    reply_template: str | None
    reasons: tuple[str, ...]
    concern_id: int | None = None
    severity: Severity = "normal"
    rules: RuleRecord = field(default_factory=RuleRecord)  # which rules hit and missed on the way here
    opt_out: bool = False  # the client asked us to stop: opt them out, confirm it, acknowledge nothing

    @property
    def confirms_opt_out(self) -> bool:
        """An opt-out to confirm to the client: not if their message asked for no automatic replies."""
        return self.opt_out and reply_suppressed.name not in self.rules.hit

    @property
    def lifts_opt_out(self) -> bool:
        """The client, opted out, wrote again: the opt-out is lifted before anything answers them."""
        return opt_out_lifted.name in self.rules.hit

    @property
    def owner_mail(self) -> bool:
        """An owner's reply to a digest or alert (mail to a reply tag that is no client's unsubscribe address)."""
        return reply_tag.name in self.rules.hit and unsubscribe_address.name not in self.rules.hit

    @property
    def summary(self) -> str:
        reply = self.reply_template or "none"
        return f"{self.action} reply={reply} reasons={','.join(self.reasons) or '-'}"


_End = Callable[[InboundFacts], Decision]
_Next = _End | Chain[InboundFacts, Decision] | None


def _link(*rules: Rule[InboundFacts], hit: _Next = None, miss: _Next = None) -> Link[InboundFacts, Decision]:
    return Link(rules, hit, miss)


def _ends(action: Action, *reasons: str) -> _End:
    return lambda f: Decision(action, None, reasons)


def _thread(f: InboundFacts) -> ThreadConcern:
    concern = followed(f)
    assert concern is not None, "asked only after `follow-up` or `joins-open-concern` hit"
    return concern


def _new_concern_reasons(f: InboundFacts) -> tuple[str, ...]:
    reasons: tuple[str, ...] = (f"{f.verdict.label}:{f.verdict.score:.2f}",)
    if other_clients_thread.check(f):
        reasons += ("thread-belongs-to-another-client",)
    return reasons


def _new_concern(f: InboundFacts) -> Decision:
    return Decision(Action.NEW_CONCERN, f"ack_{f.verdict.label}", _new_concern_reasons(f),
                    severity=severity_of(f.verdict, f.msg))


def _new_concern_capped(f: InboundFacts) -> Decision:
    return Decision(Action.NEW_CONCERN, None, (*_new_concern_reasons(f), cap_reason(f)),
                    severity=severity_of(f.verdict, f.msg))


def _new_concern_unanswered(f: InboundFacts) -> Decision:
    return Decision(Action.NEW_CONCERN, None, (*_new_concern_reasons(f), SUPPRESSED),
                    severity=severity_of(f.verdict, f.msg))


SUPPRESSED = "reply-suppressed:x-auto-response-suppress"  # the reason a filed concern got no acknowledgement
JOINED = "joined-open-concern"  # the reason a client's new message went to their open concern

# the caps on acknowledging, in the order asked: the mailbox, the sender, the sender's domain, the breaker
CAPS = (sender_cap, sender_ack_cap, source_ack_cap, circuit_breaker)

# a client writing to their signed List-Unsubscribe address: opted out, and any concern in it is filed.
# Only the client's own mail program writes there (the address is signed for them), so no machine-mail
# rule is asked, and no acknowledgement is made to be capped
UNSUBSCRIBED: Chain[InboundFacts, Decision] = Chain("unsubscribed", (
    _link(follow_up, hit=lambda f: Decision(Action.FOLLOW_UP, None, (), _thread(f).id)),
    _link(other_clients_thread),
    _link(nothing_but_stop, hit=_ends(Action.OPT_OUT, "list-unsubscribe")),
    _link(concern_detected, miss=_ends(Action.OPT_OUT, "list-unsubscribe")),
    _link(joins_open_concern, hit=lambda f: Decision(Action.FOLLOW_UP, None, (JOINED,), _thread(f).id)),
    _link(high_severity),
), otherwise=_new_concern)

# an owner's reply to a digest or alert, or a client's unsubscribe: reached by `reply-tag`
OWNER_MAIL: Chain[InboundFacts, Decision] = Chain("owner-mail", (
    _link(unsubscribe_address, hit=UNSUBSCRIBED),
    _link(ambiguous_from, hit=_ends(Action.REFUSED_COMMAND, "ambiguous-from")),
    # either is enough: both are asked, so the record says which
    _link(signed_for_sender, forwarded_digest, miss=_ends(Action.REFUSED_COMMAND, "tag-not-signed-for-sender")),
    _link(authentication_failed_rule, hit=_ends(Action.REFUSED_COMMAND, "authentication-failed")),
    _link(authorised_sender, miss=_ends(Action.REFUSED_COMMAND, "not-authorised")),
), otherwise=_ends(Action.OWNER_COMMANDS))

def _following(name: str, *lead: str) -> Chain[InboundFacts, Decision]:
    """The rules for a message that follows up a concern: it is acknowledged once, as the caps allow.
    `lead`: the reasons every decision of the chain starts with."""
    def ends(reason: str) -> _End:
        return lambda f: Decision(Action.FOLLOW_UP, None, (*lead, reason), _thread(f).id)
    return Chain(name, (
        _link(already_acknowledged, hit=ends("already-acknowledged")),
        _link(reply_suppressed, hit=ends(SUPPRESSED)),
        *(_link(cap, hit=lambda f: Decision(Action.FOLLOW_UP, None, (*lead, cap_reason(f)), _thread(f).id))
          for cap in CAPS),
    ), otherwise=lambda f: Decision(Action.FOLLOW_UP, f"ack_{_thread(f).kind}", (*lead, "first-acknowledgement"),
                                    _thread(f).id))


# a client's message in the thread of one of their concerns: reached by `follow-up`
FOLLOW_UP = _following("follow-up")
# a client's new message while a concern of theirs is open: reached by `joins-open-concern`. A flood
# of messages is one concern with every message attached, acknowledged once, escalated once
JOINS = _following("joins", JOINED)

# a person's message, directly or passed on by a list: reached once the screening rules all missed
CLIENT_MAIL: Chain[InboundFacts, Decision] = Chain("client-mail", (
    _link(no_reply_address, hit=_ends(Action.IGNORE, "no-reply-address")),
    _link(opt_out_request),  # recorded; the concern the message carries is filed below all the same
    _link(opt_out_lifted),  # recorded: the flow lifts the opt-out before it acknowledges anything
    _link(follow_up, hit=FOLLOW_UP),
    _link(other_clients_thread),  # recorded, and named in a new concern's reasons
    _link(nothing_but_stop, hit=_ends(Action.NO_CONCERN, "no-concern-detected")),  # `opt_out`, by `_stopping`
    _link(joins_open_concern, hit=JOINS),  # whatever it says: the owner sees all the client wrote
    _link(concern_detected, miss=_ends(Action.NO_CONCERN, "no-concern-detected")),
    _link(high_severity),  # recorded; the new concern carries its severity
    _link(reply_to_elsewhere),  # recorded; the acknowledgement goes to the author (`mailboxes.ack_recipient`)
    _link(reply_suppressed, hit=_new_concern_unanswered),  # filed, never answered: the sender asked for no reply
    *(_link(cap, hit=_new_concern_capped) for cap in CAPS),
), otherwise=_new_concern)

INBOUND: Chain[InboundFacts, Decision] = Chain("inbound", (
    _link(duplicate, hit=_ends(Action.DUPLICATE, "message-id-seen")),
    _link(message_id_reused),  # recorded: another message of this Message-ID was stored; this one is too
    _link(reply_tag, hit=OWNER_MAIL),
    _link(own_address, hit=_ends(Action.IGNORE, "own-address")),
    _link(own_message_id, hit=_ends(Action.IGNORE, "own-message-id")),
    _link(followup_instance, hit=_ends(Action.IGNORE, "followup-instance")),
    # a list's headers on a person's message are not a machine's: the machine-mail rules are not asked
    _link(relayed_by_list, hit=CLIENT_MAIL),
    # every family is asked, so the record names each kind of machine mail it is
    _link(*MACHINE_MAIL, hit=lambda f: Decision(Action.IGNORE, None, (machine_reason(f),)), miss=CLIENT_MAIL),
), otherwise=_new_concern)  # never reached: the last link leads on either way


# the rules by which a client asks us to stop, and the reason each is stored with
_STOPS = ((opt_out_request.name, "client-asked-to-stop"), (unsubscribe_address.name, "list-unsubscribe"))


def _stopping(decision: Decision, record: RuleRecord) -> Decision:
    """A decision for a client who asked us to stop: a concern is filed without an acknowledgement;
    a message with nothing else in it is `opt_out`; own or machine mail opts nobody out."""
    reason = next((why for name, why in _STOPS if name in record.hit), None)
    if reason is None:
        return decision
    if decision.action in (Action.NO_CONCERN, Action.OPT_OUT):
        return Decision(Action.OPT_OUT, None, (reason,), opt_out=True)
    if decision.action in (Action.NEW_CONCERN, Action.FOLLOW_UP):
        reasons = decision.reasons if reason in decision.reasons else (*decision.reasons, reason)
        return replace(decision, reply_template=None, reasons=reasons, opt_out=True)
    return decision


def triage(msg: Inbound, verdict: Verdict, ctx: TriageContext) -> Decision:
    """Decide what to do with one inbound message, and record the rules asked; pure."""
    facts = InboundFacts(msg, verdict, ctx)
    decision, record = run(INBOUND, facts)
    decision = _stopping(decision, record)
    if decision.opt_out and reply_suppressed.name not in record.hit + record.missed:
        # the confirmation is an automatic reply too: asked here when the chain ended before the rule
        asked = (reply_suppressed.name,)
        record += RuleRecord(asked, ()) if reply_suppressed.check(facts) else RuleRecord((), asked)
    return replace(decision, rules=record)
