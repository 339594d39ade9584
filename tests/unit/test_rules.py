"""Every inbound rule by a table of messages and facts, and the chains' hits and misses; no database."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from service.core.chain import Chain, Rule
from service.core.owner_commands import signed_address
from service.core.rules import client_reply, concern_rules, owner_authority, screening
from service.core.rules.client_reply import CLIENT_REPLY, ReplyChange, ReplyFacts, reply_change
from service.core.rules.facts import InboundFacts, OwnerFacts, Team, ThreadConcern, TriageContext
from service.core.triage import INBOUND, Action, triage
from service.detector.detect import Verdict
from service.mailformat.parse import Inbound, parse_message

ROOT = Path(__file__).resolve().parents[2]
SHARED = "care@example.test"
KEY = b"k" * 32
COMPLAINT = Verdict("complaint", 0.9, ("This is unacceptable.",), {"complaint": 0.9},
                    {"complaint": ("This is unacceptable.",)})
WORRY = Verdict("anxiety", 0.8, ("I am worried.",), {"anxiety": 0.8}, {"anxiety": ("I am worried.",)})
BOTH = Verdict("complaint", 0.7, ("x",), {"complaint": 0.7, "anxiety": 0.6}, {"complaint": ("x",), "anxiety": ("y",)})
NONE = Verdict("none", 0.9)
OWNER = "boss@firm.example"
TEAMS = (Team(OWNER, "chief@firm.example", ("staff@firm.example",), "Europe/Madrid"),)


def inbound(headers: str = "", sender: str = "ana@client.example", *, to: str = SHARED,
            subject: str = "Late", body: str = "This is unacceptable.") -> Inbound:
    data = (f"From: Ana <{sender}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: <in1@client.example>\r\n{headers}\r\n{body}\r\n").encode()
    return parse_message(data, noreply_patterns=("noreply", "no-reply"))


def ctx(**kw: Any) -> TriageContext:
    base = TriageContext(shared_address=SHARED, own_message_ids=frozenset(), thread_concern=None,
                         recent_auto_replies=0, auto_reply_cap=3)
    return dataclasses.replace(base, **kw)


def facts(msg: Inbound | None = None, verdict: Verdict = COMPLAINT, **kw: Any) -> InboundFacts:
    return InboundFacts(msg or inbound(), verdict, ctx(**kw))


def tagged(ref: str, signed_for: str, sender: str, headers: str = "") -> Inbound:
    return inbound(headers, sender, to=signed_address(SHARED, KEY, signed_for, ref))


def owner_from(from_value: str, headers: str = "") -> Inbound:
    """The owner's answer to digest 3 with this literal From header (and more headers)."""
    to = signed_address(SHARED, KEY, OWNER, "d3")
    return parse_message(f"From: {from_value}\r\nTo: {to}\r\nSubject: Re: Digest\r\n"
                         f"Message-ID: <o1@firm.example>\r\n{headers}\r\nC-1 resolved\r\n".encode())


OWNER_FACTS = OwnerFacts(KEY, frozenset({7}), {"d3": OWNER}, TEAMS)
LIST_POST = "Precedence: list\r\nList-Id: <team.lists.client.example>\r\nList-Post: <mailto:team@lists.client.example>\r\n"
# a list that rewrote From to itself (eve's) and names the owner as the author
RELAYED_OWNER = f"X-Original-From: Boss <{OWNER}>\r\nList-Post: <mailto:eve@evil.example>\r\nPrecedence: list\r\n"
TRUSTING_MX = dataclasses.replace(OWNER_FACTS, authserv_ids=("mx.firm.example",))
ENCODED_OWNER = "=?utf-8?b?" + __import__("base64").b64encode(f"Boss <{OWNER}>".encode()).decode() + "?="
THREAD = ThreadConcern(7, "ana@client.example", "anxiety", "acknowledged", acknowledged=True)
OTHERS_THREAD = ThreadConcern(8, "someone@else.example", "complaint", "open", acknowledged=False)

# (rule, facts, whether it hits): each rule with at least one hit and one miss
CASES: list[tuple[Rule[InboundFacts], InboundFacts, bool]] = [
    (screening.duplicate, facts(stored=True), True),
    (screening.duplicate, facts(), False),
    (screening.message_id_reused, facts(message_id_seen=True), True),
    (screening.message_id_reused, facts(message_id_seen=True, stored=True), False),  # the same message again
    (screening.message_id_reused, facts(), False),
    (screening.opt_out_request, facts(inbound(body="stop"), NONE), True),
    (screening.opt_out_request, facts(inbound(body="Please stop these emails.")), True),
    (screening.opt_out_request, facts(inbound(subject="unsubscribe", body="")), True),
    (screening.opt_out_request, facts(inbound(body="Stop sending me emails. You charged me twice!")), True),
    (screening.opt_out_request, facts(inbound("Auto-Submitted: auto-replied\r\n", body="stop"), NONE), False),
    # a person's request passed on by a list: the list's headers are no machine's
    (screening.opt_out_request, facts(inbound("List-Id: <team.lists.client.example>\r\nPrecedence: list\r\n",
                                              body="Please stop sending me these emails."), NONE), True),
    (screening.opt_out_request, facts(inbound(body="Why did the service stop working yesterday? " * 3)), False),
    # "stop" inside a complaint about something else (issue 17, point 1)
    (screening.opt_out_request, facts(inbound(body="Please stop charging my card twice! I am furious.")), False),
    (screening.opt_out_request, facts(inbound(body="Stop sending me invoices for services I cancelled")), False),
    (screening.opt_out_request, facts(inbound(body="Remove me from the Tuesday delivery schedule, your driver "
                                                   "was rude")), False),
    (screening.opt_out_request, facts(inbound(subject="Stop", body="The boiler is broken again, nobody came.")),
     False),
    (screening.opt_out_request, facts(inbound(body="No more of these billing errors please, I am really worried"),
                                      WORRY), False),
    # a bare "stop" under our check-in's subject: nothing else it could be about, whatever the detector says
    (screening.opt_out_request, facts(inbound(subject="Re: Checking in [#C-7]", body="stop"), COMPLAINT), True),
    (screening.opt_out_lifted, facts(inbound(body="The boiler broke again."), sender_opted_out=True), True),
    (screening.opt_out_lifted, facts(inbound(body="Stop emailing me."), sender_opted_out=True), False),
    (screening.opt_out_lifted, facts(), False),
    (screening.own_address, facts(inbound(sender=SHARED)), True),
    (screening.own_address, facts(), False),
    (screening.own_message_id, facts(own_message_ids=frozenset({"<in1@client.example>"})), True),
    (screening.own_message_id, facts(own_message_ids=frozenset({"<other@x>"})), False),
    (screening.followup_instance, facts(inbound("X-Followup-Instance: care@other.example\r\n")), True),
    (screening.followup_instance, facts(), False),
    (screening.no_reply_address, facts(inbound(sender="")), True),
    (screening.no_reply_address, facts(), False),
    (owner_authority.reply_tag, facts(tagged("d3", OWNER, OWNER)), True),
    (owner_authority.reply_tag, facts(inbound(to="care+o-d3-0123456789abcdef0123@example.test")), True),
    (owner_authority.reply_tag, facts(), False),
    (owner_authority.unsubscribe_address, facts(tagged("u7", "ana@client.example", "ana@client.example"),
                                                owner=OWNER_FACTS), True),
    (owner_authority.unsubscribe_address, facts(tagged("u9", "ana@client.example", "ana@client.example"),
                                                owner=OWNER_FACTS), False),  # no client 9
    (owner_authority.unsubscribe_address, facts(tagged("u7", "ana@client.example", "eve@client.example"),
                                                owner=OWNER_FACTS), False),  # not signed for this sender
    (owner_authority.signed_for_sender, facts(tagged("d3", OWNER, OWNER), owner=OWNER_FACTS), True),
    (owner_authority.signed_for_sender, facts(tagged("d3", OWNER, "staff@firm.example"), owner=OWNER_FACTS),
     False),
    (owner_authority.signed_for_sender, facts(tagged("d3", OWNER, OWNER), owner=OwnerFacts(b"other")), False),
    (owner_authority.forwarded_digest, facts(tagged("d3", OWNER, "staff@firm.example"), owner=OWNER_FACTS), True),
    (owner_authority.forwarded_digest, facts(tagged("d3", OWNER, "eve@evil.example"), owner=OWNER_FACTS), False),
    (owner_authority.forwarded_digest, facts(tagged("d4", OWNER, "staff@firm.example"), owner=OWNER_FACTS),
     False),  # no digest 4
    (owner_authority.authentication_failed_rule,
     facts(inbound("Authentication-Results: mx; dkim=fail; dmarc=fail\r\n")), True),
    (owner_authority.authentication_failed_rule,
     facts(inbound("Authentication-Results: mx; dkim=fail; dmarc=pass\r\n")), False),
    (owner_authority.authentication_failed_rule,  # the attacker's own domain passing DKIM outweighs nothing
     facts(owner_from(f"Boss <{OWNER}>", "Authentication-Results: mx.firm.example; dkim=pass header.d=evil.example;"
                                         " dmarc=fail header.from=firm.example\r\n")), True),
    (owner_authority.authentication_failed_rule,
     facts(owner_from(f"Boss <{OWNER}>", "Authentication-Results: mx.firm.example; dmarc = fail\r\n")), True),
    (owner_authority.authentication_failed_rule,  # a pass in a comment, and in a property's value, is none
     facts(owner_from(f"Boss <{OWNER}>", "Authentication-Results: mx.firm.example; dkim=fail (dkim=pass elsewhere)"
                                         ' header.d=firm.example; spf=pass smtp.mailfrom="dmarc=pass"@evil.example\r\n')),
     True),
    (owner_authority.authentication_failed_rule,  # an unaligned DKIM pass with SPF failing for the From domain
     facts(owner_from(f"Boss <{OWNER}>", "Authentication-Results: mx.firm.example; dkim=pass header.d=evil.example;"
                                         " spf=fail smtp.mailfrom=firm.example\r\n")), True),
    (owner_authority.authentication_failed_rule,  # our server's failure below an internal relay's pass
     facts(owner_from(f"Boss <{OWNER}>", "Authentication-Results: relay.firm.example; dmarc=pass\r\n"
                                         "Authentication-Results: mx.firm.example; dmarc=fail\r\n"),
           owner=TRUSTING_MX), True),
    (owner_authority.authentication_failed_rule,  # a forged pass of another authserv-id counts for nothing
     facts(owner_from(f"Boss <{OWNER}>", "Authentication-Results: mx.firm.example; dkim=fail header.d=firm.example\r\n"
                                         "Authentication-Results: evil.example; dkim=pass header.d=firm.example\r\n"),
           owner=TRUSTING_MX), True),
    (owner_authority.authentication_failed_rule,  # unset: the topmost header only, a lower forged failure is none
     facts(owner_from(f"Boss <{OWNER}>", "Authentication-Results: mx.firm.example; dkim=pass header.d=firm.example;"
                                         " dmarc=pass header.from=firm.example\r\n"
                                         "Authentication-Results: mx.firm.example; dmarc=fail\r\n")), False),
    (owner_authority.authentication_failed_rule,  # Microsoft 365 writes no authserv-id
     facts(owner_from(f"Boss <{OWNER}>", "Authentication-Results: spf=pass (sender IP is 192.0.2.1)"
                                         " smtp.mailfrom=firm.example; dkim=pass (signature was verified)"
                                         " header.d=firm.example;dmarc=pass action=none header.from=firm.example;"
                                         "compauth=pass reason=100\r\n")), False),
    (owner_authority.ambiguous_from, facts(owner_from(f"{OWNER} <eve@evil.example>")), True),
    (owner_authority.ambiguous_from, facts(owner_from(f'"{OWNER}" <eve@evil.example>')), True),
    (owner_authority.ambiguous_from, facts(owner_from(f'"Support <{OWNER}>" <eve@evil.example>')), True),
    (owner_authority.ambiguous_from, facts(owner_from(ENCODED_OWNER)), True),
    (owner_authority.ambiguous_from, facts(owner_from(f"Boss <{OWNER}>", "From: Eve <eve@evil.example>\r\n")), True),
    (owner_authority.ambiguous_from, facts(owner_from(f"Boss <{OWNER}>, Eve <eve@evil.example>")), True),
    (owner_authority.ambiguous_from, facts(owner_from(f"Boss <{OWNER}>")), False),
    (owner_authority.ambiguous_from, facts(owner_from(f'"{OWNER}" <{OWNER}>')), False),  # no name set: the address
    (owner_authority.signed_for_sender,  # X-Original-From, Reply-To and Sender are the sender's to write
     facts(owner_from("Eve <eve@evil.example>", f"X-Original-From: {OWNER}\r\nReply-To: {OWNER}\r\n"
                                                f"Sender: {OWNER}\r\n"), owner=OWNER_FACTS), False),
    (owner_authority.authorised_sender, facts(inbound(sender="chief@firm.example"), owner=OWNER_FACTS), True),
    (owner_authority.authorised_sender, facts(inbound(sender="ana@client.example"), owner=OWNER_FACTS), False),
    (concern_rules.follow_up, facts(thread_concern=THREAD), True),
    (concern_rules.follow_up, facts(thread_concern=OTHERS_THREAD), False),
    (concern_rules.follow_up, facts(), False),
    (concern_rules.already_acknowledged, facts(thread_concern=THREAD), True),
    (concern_rules.already_acknowledged,
     facts(thread_concern=dataclasses.replace(THREAD, acknowledged=False)), False),
    (concern_rules.other_clients_thread, facts(thread_concern=OTHERS_THREAD), True),
    (concern_rules.other_clients_thread, facts(thread_concern=THREAD), False),
    (concern_rules.concern_detected, facts(verdict=WORRY), True),
    (concern_rules.concern_detected, facts(verdict=NONE), False),
    (concern_rules.high_severity, facts(verdict=BOTH), True),
    (concern_rules.high_severity, facts(inbound("Importance: high\r\n")), True),
    (concern_rules.high_severity, facts(inbound("X-Priority: 2\r\n")), True),
    (concern_rules.high_severity, facts(inbound(subject="URGENT: invoice")), True),
    (concern_rules.high_severity, facts(), False),
    (concern_rules.reply_suppressed, facts(inbound("X-Auto-Response-Suppress: DR, RN, NRN, OOF, AutoReply\r\n")), True),
    (concern_rules.reply_suppressed, facts(inbound("X-Auto-Response-Suppress: All\r\n")), True),
    (concern_rules.reply_suppressed, facts(inbound("X-Auto-Response-Suppress: DR, RN\r\n")), False),
    (concern_rules.reply_suppressed, facts(), False),
    (concern_rules.sender_cap, facts(recent_auto_replies=3), True),
    (concern_rules.sender_cap, facts(recent_auto_replies=2), False),
    (concern_rules.circuit_breaker, facts(recent_domain_replies=200, domain_reply_cap=200), True),
    (concern_rules.circuit_breaker, facts(recent_domain_replies=199, domain_reply_cap=200), False),
    (concern_rules.circuit_breaker, facts(recent_domain_replies=500, domain_reply_cap=0), False),  # no breaker
    (concern_rules.circuit_breaker, facts(recent_domain_replies=200, domain_reply_cap=200, known_client=True),
     False),  # strangers tripped it: a client known from before is answered
    (concern_rules.sender_ack_cap, facts(sender_acks=5, sender_ack_cap=5), True),
    (concern_rules.sender_ack_cap, facts(sender_acks=4, sender_ack_cap=5), False),
    (concern_rules.sender_ack_cap, facts(sender_acks=5, sender_ack_cap=5, known_client=True), False),
    (concern_rules.sender_ack_cap, facts(sender_acks=99, sender_ack_cap=0), False),  # no cap
    (concern_rules.source_ack_cap, facts(source_acks=50, source_ack_cap=50), True),
    (concern_rules.source_ack_cap, facts(source_acks=49, source_ack_cap=50), False),
    (concern_rules.source_ack_cap, facts(source_acks=50, source_ack_cap=50, known_client=True), False),
    (concern_rules.reply_to_elsewhere, facts(inbound("Reply-To: victim@elsewhere.example\r\n")), True),
    (concern_rules.reply_to_elsewhere, facts(inbound("Reply-To: billing@mail.client.example\r\n")), False),
    (concern_rules.reply_to_elsewhere, facts(), False),
    (screening.relayed_by_list, facts(inbound(LIST_POST, to="team@lists.client.example")), True),  # the author's list
    (screening.relayed_by_list, facts(inbound(LIST_POST.replace("client.example", "other.example"))), True),  # to us
    (screening.relayed_by_list, facts(inbound(LIST_POST.replace("client.example", "other.example"),
                                              to="team@lists.other.example")), False),  # a list we only read
    (screening.relayed_by_list, facts(inbound(LIST_POST + "Precedence: bulk\r\n")), False),  # a newsletter
    (screening.relayed_by_list, facts(inbound(LIST_POST + "Auto-Submitted: auto-replied\r\n")), False),
    (screening.relayed_by_list, facts(inbound(LIST_POST, sender="team-request@lists.client.example")), False),
    (screening.relayed_by_list, facts(inbound("List-Id: <news.brand.example>\r\n")), False),  # no list's own header
    # the From header is read, not an author a list's headers name
    (owner_authority.signed_for_sender, facts(tagged("d3", OWNER, "eve@evil.example", RELAYED_OWNER),
                                              owner=OWNER_FACTS), False),
    (owner_authority.authorised_sender, facts(tagged("d3", OWNER, "eve@evil.example", RELAYED_OWNER),
                                              owner=OWNER_FACTS), False),
]


@pytest.mark.parametrize(("rule", "given", "hits"), CASES, ids=lambda v: v.name if isinstance(v, Rule) else "")
def test_each_rule(rule: Rule[InboundFacts], given: InboundFacts, hits: bool) -> None:
    assert rule.check(given) is hits


# (headers, sender, the machine-mail rule it hits): every signal `parse.auto_signals` finds
SIGNALS = [
    ("Auto-Submitted: auto-replied\r\n", "ana@client.example", "auto-submitted"),
    ("Auto-Submitted: auto-generated\r\n", "ana@client.example", "auto-submitted"),
    ("X-Autoreply: yes\r\n", "ana@client.example", "auto-reply-header"),
    ("X-Autorespond: yes\r\n", "ana@client.example", "auto-reply-header"),
    ("X-Autogenerated: Reply\r\n", "ana@client.example", "auto-reply-header"),
    ("X-Auto-Reply: yes\r\n", "ana@client.example", "auto-reply-header"),
    ("X-MS-Exchange-Inbox-Rules-Loop: ana@client.example\r\n", "ana@client.example", "exchange-agent"),
    ("X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent\r\n", "ana@client.example", "exchange-agent"),
    ("X-MS-Exchange-Message-Is-Ndr: \r\n", "ana@client.example", "exchange-agent"),
    ("Precedence: bulk\r\n", "ana@client.example", "bulk-precedence"),
    ("Precedence: junk\r\n", "ana@client.example", "bulk-precedence"),
    ("Precedence: list\r\n", "ana@client.example", "bulk-precedence"),
    ("Precedence: auto_reply\r\n", "ana@client.example", "bulk-precedence"),
    ("List-Id: <l.example>\r\n", "ana@client.example", "list-mail"),
    ("List-Unsubscribe: <mailto:x@l.example>\r\n", "ana@client.example", "list-mail"),
    ("List-Post: <mailto:l@l.example>\r\n", "ana@client.example", "list-mail"),  # To: the list, below
    ("Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n", "ana@client.example",
     "delivery-report"),
    ("", "MAILER-DAEMON@mx.client.example", "bounce"),
    ("", "postmaster@client.example", "bounce"),
    ("Return-Path: <>\r\n", "ana@client.example", "bounce"),
    ("", "noreply@client.example", "noreply-sender"),
    ("X-TMDA-Fingerprint: x\r\n", "ana@client.example", "challenge-response"),
    ("Subject: Please confirm your message\r\n", "ana@client.example", "challenge-response"),
    ("Subject: Out of office: back Monday\r\n", "ana@client.example", "auto-reply-subject"),
    ("Subject: Undelivered Mail Returned to Sender\r\n", "delivery@mx.client.example", "bounce-notice"),
]


@pytest.mark.parametrize(("headers", "sender", "name"), SIGNALS)
def test_each_machine_signal_has_its_rule(headers: str, sender: str, name: str) -> None:
    # a list's own headers are machine mail when the post was not meant for us (`relayed-by-list`)
    msg = inbound(headers, sender, to="l@l.example" if headers.startswith(("List-", "Precedence: list")) else SHARED)
    if headers.startswith("Subject:"):  # the subject rules read the first Subject header only
        msg = inbound(sender=sender, subject=headers.removeprefix("Subject: ").strip())
    assert msg.auto_signals
    assert [r.name for r in screening.MACHINE_MAIL if r.check(facts(msg))] == [name]
    decision = triage(msg, COMPLAINT, ctx())
    assert decision.action == Action.IGNORE and decision.reasons == (screening.machine_reason(facts(msg)),)
    assert decision.rules.hit == (name,)


def test_no_sender_is_a_bounce() -> None:
    msg = inbound(sender="")
    assert "no-sender" in msg.auto_signals
    assert [r.name for r in screening.MACHINE_MAIL if r.check(facts(msg))] == ["bounce"]


def reply(status: str = "acknowledged", severity: str = "normal", verdict: Verdict = NONE,
          text: str = "All good now, thanks.", owner: str | None = OWNER, urgent: bool = False) -> ReplyFacts:
    return ReplyFacts(status, severity, verdict, text, owner, urgent)


# (rule, facts, hits)
REPLY_CASES: list[tuple[Rule[ReplyFacts], ReplyFacts, bool]] = [
    (client_reply.reopen_resolved, reply(status="resolved"), True),
    (client_reply.reopen_resolved, reply(status="planned"), False),
    (client_reply.new_worry, reply(verdict=WORRY), True),
    (client_reply.new_worry, reply(verdict=BOTH), True),
    (client_reply.new_worry, reply(verdict=WORRY, severity="high"), False),
    (client_reply.new_worry, reply(verdict=COMPLAINT), False),
    (client_reply.urgent_message, reply(verdict=COMPLAINT, urgent=True), True),
    (client_reply.urgent_message, reply(verdict=COMPLAINT, urgent=True, severity="high"), False),
    (client_reply.urgent_message, reply(verdict=COMPLAINT), False),
    (client_reply.all_is_well, reply(), True),
    (client_reply.all_is_well, reply(owner=None), False),
    (client_reply.all_is_well, reply(verdict=COMPLAINT), False),
    (client_reply.all_is_well, reply(text="Thanks for the call."), False),
]


@pytest.mark.parametrize(("rule", "given", "hits"), REPLY_CASES,
                         ids=lambda v: v.name if isinstance(v, Rule) else "")
def test_each_client_reply_rule(rule: Rule[ReplyFacts], given: ReplyFacts, hits: bool) -> None:
    assert rule.check(given) is hits


@pytest.mark.parametrize(("given", "change", "hit", "missed"), [
    (reply(status="resolved", verdict=WORRY), ReplyChange.REOPEN, ["reopen-resolved"], []),
    (reply(verdict=WORRY), ReplyChange.RAISE_SEVERITY, ["new-worry"], ["reopen-resolved"]),
    (reply(verdict=COMPLAINT, urgent=True), ReplyChange.RAISE_SEVERITY, ["urgent-message"],
     ["reopen-resolved", "new-worry"]),
    (reply(), ReplyChange.SUGGEST_RESOLVE, ["all-is-well"], ["reopen-resolved", "new-worry", "urgent-message"]),
    (reply(owner=None), ReplyChange.NONE, [], ["reopen-resolved", "new-worry", "urgent-message", "all-is-well"]),
])
def test_client_reply_chain(given: ReplyFacts, change: ReplyChange, hit: list[str], missed: list[str]) -> None:
    made, record = reply_change(given)
    assert made == change and record.as_json() == {"hit": hit, "missed": missed}


SCREENS = ["duplicate", "message-id-reused", "reply-tag", "own-address", "own-message-id", "followup-instance",
           "relayed-by-list"]
CAPS = ["sender-cap", "sender-ack-cap", "source-ack-cap", "circuit-breaker"]
MACHINES = [r.name for r in screening.MACHINE_MAIL]
CLIENT = [*SCREENS, *MACHINES, "no-reply-address", "opt-out-request", "opt-out-lifted"]
OWNER_SCREENS = ["duplicate", "message-id-reused"]


# (message, verdict, context, action, reasons, rules hit, rules missed): one row per way through the chains
CHAIN_CASES: list[tuple[str, Inbound, Verdict, dict[str, Any], Action, tuple[str, ...], list[str], list[str]]] = [
    ("new complaint", inbound(), COMPLAINT, {}, Action.NEW_CONCERN, ("complaint:0.90",),
     ["concern-detected"],
     [*CLIENT, "follow-up", "other-clients-thread", "nothing-but-stop", "joins-open-concern", "high-severity", "reply-to-elsewhere", "reply-suppressed", *CAPS]),
    ("urgent worry, sender capped", inbound(subject="urgent"), WORRY, {"recent_auto_replies": 3},
     Action.NEW_CONCERN, ("anxiety:0.80", "sender-cap:3/3"), ["concern-detected", "high-severity", "sender-cap"],
     [*CLIENT, "follow-up", "other-clients-thread", "nothing-but-stop", "joins-open-concern", "reply-to-elsewhere", "reply-suppressed"]),
    ("domain breaker open", inbound(), COMPLAINT, {"recent_domain_replies": 5, "domain_reply_cap": 5},
     Action.NEW_CONCERN, ("complaint:0.90", "circuit-open:client.example:5/5"),
     ["concern-detected", "circuit-breaker"],
     [*CLIENT, "follow-up", "other-clients-thread", "nothing-but-stop", "joins-open-concern", "high-severity", "reply-to-elsewhere", "reply-suppressed", *CAPS[:3]]),
    ("domain breaker open, a known client", inbound(), COMPLAINT,
     {"recent_domain_replies": 5, "domain_reply_cap": 5, "known_client": True}, Action.NEW_CONCERN,
     ("complaint:0.90",), ["concern-detected"],
     [*CLIENT, "follow-up", "other-clients-thread", "nothing-but-stop", "joins-open-concern", "high-severity", "reply-to-elsewhere", "reply-suppressed", *CAPS]),
    ("sender caused its acknowledgements", inbound(), COMPLAINT, {"sender_acks": 5, "sender_ack_cap": 5},
     Action.NEW_CONCERN, ("complaint:0.90", "sender-ack-cap:5/5"), ["concern-detected", "sender-ack-cap"],
     [*CLIENT, "follow-up", "other-clients-thread", "nothing-but-stop", "joins-open-concern", "high-severity", "reply-to-elsewhere", "reply-suppressed",
      "sender-cap"]),
    ("source caused its acknowledgements", inbound(), COMPLAINT, {"source_acks": 50, "source_ack_cap": 50},
     Action.NEW_CONCERN, ("complaint:0.90", "source-ack-cap:50/50"), ["concern-detected", "source-ack-cap"],
     [*CLIENT, "follow-up", "other-clients-thread", "nothing-but-stop", "joins-open-concern", "high-severity", "reply-to-elsewhere", "reply-suppressed", *CAPS[:2]]),
    ("reply-to a stranger", inbound("Reply-To: victim@elsewhere.example\r\n"), COMPLAINT, {}, Action.NEW_CONCERN,
     ("complaint:0.90",), ["concern-detected", "reply-to-elsewhere"],
     [*CLIENT, "follow-up", "other-clients-thread", "nothing-but-stop", "joins-open-concern", "high-severity", "reply-suppressed", *CAPS]),
    ("sender asks for no automatic reply", inbound("X-Auto-Response-Suppress: All\r\n"), COMPLAINT, {},
     Action.NEW_CONCERN, ("complaint:0.90", "reply-suppressed:x-auto-response-suppress"),
     ["concern-detected", "reply-suppressed"],
     [*CLIENT, "follow-up", "other-clients-thread", "nothing-but-stop", "joins-open-concern", "high-severity", "reply-to-elsewhere"]),
    ("relayed by the client's own list", inbound("List-Id: <team.lists.client.example>\r\nPrecedence: list\r\n"
                                                 "List-Post: <mailto:team@lists.client.example>\r\n",
                                                 to="team@lists.client.example"),
     COMPLAINT, {}, Action.NEW_CONCERN, ("complaint:0.90",), ["relayed-by-list", "concern-detected"],
     [*SCREENS[:-1], "no-reply-address", "opt-out-request", "opt-out-lifted", "follow-up", "other-clients-thread",
      "nothing-but-stop", "joins-open-concern", "high-severity",
      "reply-to-elsewhere", "reply-suppressed", *CAPS]),
    ("in another client's thread", inbound(), COMPLAINT, {"thread_concern": OTHERS_THREAD}, Action.NEW_CONCERN,
     ("complaint:0.90", "thread-belongs-to-another-client"), ["other-clients-thread", "concern-detected"],
     [*CLIENT, "follow-up", "nothing-but-stop", "joins-open-concern", "high-severity", "reply-to-elsewhere", "reply-suppressed", *CAPS]),
    ("nothing detected", inbound(), NONE, {}, Action.NO_CONCERN, ("no-concern-detected",), [],
     [*CLIENT, "follow-up", "other-clients-thread", "nothing-but-stop", "joins-open-concern", "concern-detected"]),
    ("follow-up, acknowledged", inbound(), NONE, {"thread_concern": THREAD}, Action.FOLLOW_UP,
     ("already-acknowledged",), ["follow-up", "already-acknowledged"], CLIENT),
    ("follow-up, first acknowledgement", inbound(), NONE,
     {"thread_concern": dataclasses.replace(THREAD, acknowledged=False)}, Action.FOLLOW_UP,
     ("first-acknowledgement",), ["follow-up"], [*CLIENT, "already-acknowledged", "reply-suppressed", *CAPS]),
    ("follow-up, reply suppressed", inbound("X-Auto-Response-Suppress: OOF, AutoReply\r\n"), NONE,
     {"thread_concern": dataclasses.replace(THREAD, acknowledged=False)}, Action.FOLLOW_UP,
     ("reply-suppressed:x-auto-response-suppress",), ["follow-up", "reply-suppressed"],
     [*CLIENT, "already-acknowledged"]),
    ("follow-up, capped", inbound(), NONE,
     {"thread_concern": dataclasses.replace(THREAD, acknowledged=False), "recent_auto_replies": 4},
     Action.FOLLOW_UP, ("sender-cap:4/3",), ["follow-up", "sender-cap"],
     [*CLIENT, "already-acknowledged", "reply-suppressed"]),
    ("a new message while a concern is open", inbound(), COMPLAINT, {"open_concern": THREAD}, Action.FOLLOW_UP,
     ("joined-open-concern", "already-acknowledged"), ["joins-open-concern", "already-acknowledged"],
     [*CLIENT, "follow-up", "other-clients-thread", "nothing-but-stop"]),
    ("nothing detected, while a concern is open", inbound(), NONE,
     {"open_concern": dataclasses.replace(THREAD, acknowledged=False)}, Action.FOLLOW_UP,
     ("joined-open-concern", "first-acknowledgement"), ["joins-open-concern"],
     [*CLIENT, "follow-up", "other-clients-thread", "nothing-but-stop", "already-acknowledged", "reply-suppressed",
      *CAPS]),
    ("own thread wins over the open concern", inbound(), COMPLAINT,
     {"thread_concern": THREAD, "open_concern": dataclasses.replace(THREAD, id=99, acknowledged=False)},
     Action.FOLLOW_UP, ("already-acknowledged",), ["follow-up", "already-acknowledged"], CLIENT),
    ("seen before", inbound(), COMPLAINT, {"stored": True}, Action.DUPLICATE, ("message-id-seen",),
     ["duplicate"], []),
    ("asks to stop", inbound(subject="Stop", body="stop"), NONE, {}, Action.OPT_OUT, ("client-asked-to-stop",),
     ["opt-out-request", "nothing-but-stop"],
     [*(r for r in CLIENT if r != "opt-out-request"), "follow-up", "other-clients-thread", "reply-suppressed"]),
    # the detector may read "STOP!!!" as a complaint: a request and nothing else files none
    ("asks to stop, loudly", inbound(subject="STOP", body="STOP SENDING ME THESE EMAILS!!!"), COMPLAINT, {},
     Action.OPT_OUT, ("client-asked-to-stop",), ["opt-out-request", "nothing-but-stop"],
     [*(r for r in CLIENT if r != "opt-out-request"), "follow-up", "other-clients-thread", "reply-suppressed"]),
    ("asks to stop, and complains", inbound(body="Stop emailing me. You charged me twice!"), COMPLAINT, {},
     Action.NEW_CONCERN, ("complaint:0.90", "client-asked-to-stop"), ["opt-out-request", "concern-detected"],
     [*(r for r in CLIENT if r != "opt-out-request"), "follow-up", "other-clients-thread", "nothing-but-stop", "joins-open-concern", "high-severity",
      "reply-to-elsewhere", "reply-suppressed", *CAPS]),
    ("stop charging me: a complaint", inbound(body="Please stop charging my card twice! I am furious."), COMPLAINT,
     {}, Action.NEW_CONCERN, ("complaint:0.90",), ["concern-detected"],
     [*CLIENT, "follow-up", "other-clients-thread", "nothing-but-stop", "joins-open-concern", "high-severity", "reply-to-elsewhere", "reply-suppressed", *CAPS]),
    ("asks to stop in a thread", inbound(body="stop"), NONE, {"thread_concern": THREAD}, Action.FOLLOW_UP,
     ("already-acknowledged", "client-asked-to-stop"), ["opt-out-request", "follow-up", "already-acknowledged"],
     [*(r for r in CLIENT if r != "opt-out-request"), "reply-suppressed"]),
    ("opted out, writes again", inbound(), COMPLAINT, {"sender_opted_out": True}, Action.NEW_CONCERN,
     ("complaint:0.90",), ["opt-out-lifted", "concern-detected"],
     [*(r for r in CLIENT if r != "opt-out-lifted"), "follow-up", "other-clients-thread", "nothing-but-stop", "joins-open-concern", "high-severity",
      "reply-to-elsewhere", "reply-suppressed", *CAPS]),
    ("opted out, asks to stop again", inbound(subject="Stop", body="stop"), NONE, {"sender_opted_out": True}, Action.OPT_OUT,
     ("client-asked-to-stop",), ["opt-out-request", "nothing-but-stop"],
     [*(r for r in CLIENT if r != "opt-out-request"), "follow-up", "other-clients-thread", "reply-suppressed"]),
    ("a Message-ID reused by another message", inbound(), COMPLAINT, {"message_id_seen": True}, Action.NEW_CONCERN,
     ("complaint:0.90",), ["message-id-reused", "concern-detected"],
     [*(r for r in CLIENT if r != "message-id-reused"), "follow-up", "other-clients-thread", "nothing-but-stop", "joins-open-concern", "high-severity",
      "reply-to-elsewhere", "reply-suppressed", *CAPS]),
    ("our own address", inbound(sender=SHARED), COMPLAINT, {}, Action.IGNORE, ("own-address",),
     ["own-address"], ["duplicate", "message-id-reused", "reply-tag"]),
    ("auto-reply from a list", inbound("Auto-Submitted: auto-replied\r\nList-Id: <l.example>\r\n"), COMPLAINT, {},
     Action.IGNORE, ("auto:auto-submitted:auto-replied+list-id",), ["auto-submitted", "list-mail"],
     [*SCREENS, *(m for m in MACHINES if m not in {"auto-submitted", "list-mail"})]),
    ("owner's plan", tagged("d3", OWNER, OWNER), NONE, {"owner": OWNER_FACTS}, Action.OWNER_COMMANDS, (),
     ["reply-tag", "signed-for-sender", "authorised-sender"],
     [*OWNER_SCREENS, "unsubscribe-address", "ambiguous-from", "forwarded-digest", "authentication-failed"]),
    ("digest forwarded to staff", tagged("d3", OWNER, "staff@firm.example"), NONE, {"owner": OWNER_FACTS},
     Action.OWNER_COMMANDS, (), ["reply-tag", "forwarded-digest", "authorised-sender"],
     [*OWNER_SCREENS, "unsubscribe-address", "ambiguous-from", "signed-for-sender", "authentication-failed"]),
    ("client unsubscribes", tagged("u7", "ana@client.example", "ana@client.example"), NONE,
     {"owner": OWNER_FACTS}, Action.OPT_OUT, ("list-unsubscribe",), ["reply-tag", "unsubscribe-address"],
     [*OWNER_SCREENS, "follow-up", "other-clients-thread", "nothing-but-stop", "concern-detected",
      "reply-suppressed"]),
    ("client unsubscribes, and complains", tagged("u7", "ana@client.example", "ana@client.example"), COMPLAINT,
     {"owner": OWNER_FACTS}, Action.NEW_CONCERN, ("complaint:0.90", "list-unsubscribe"),
     ["reply-tag", "unsubscribe-address", "concern-detected"],
     [*OWNER_SCREENS, "follow-up", "other-clients-thread", "nothing-but-stop", "joins-open-concern", "high-severity",
      "reply-suppressed"]),
    ("tag of someone else", tagged("d3", OWNER, "eve@evil.example"), NONE, {"owner": OWNER_FACTS},
     Action.REFUSED_COMMAND, ("tag-not-signed-for-sender",), ["reply-tag"],
     [*OWNER_SCREENS, "unsubscribe-address", "ambiguous-from", "signed-for-sender", "forwarded-digest"]),
    ("two addresses in From", owner_from(f"{OWNER} <eve@evil.example>"), NONE, {"owner": OWNER_FACTS},
     Action.REFUSED_COMMAND, ("ambiguous-from",), ["reply-tag", "ambiguous-from"], [*OWNER_SCREENS, "unsubscribe-address"]),
    ("DMARC failed", tagged("d3", OWNER, OWNER, "Authentication-Results: mx; dmarc=fail\r\n"), NONE,
     {"owner": OWNER_FACTS}, Action.REFUSED_COMMAND, ("authentication-failed",),
     ["reply-tag", "signed-for-sender", "authentication-failed"],
     [*OWNER_SCREENS, "unsubscribe-address", "ambiguous-from", "forwarded-digest"]),
    ("signed, but no account's", tagged("d3", "ex@firm.example", "ex@firm.example"), NONE, {"owner": OWNER_FACTS},
     Action.REFUSED_COMMAND, ("not-authorised",), ["reply-tag", "signed-for-sender"],
     [*OWNER_SCREENS, "unsubscribe-address", "ambiguous-from", "forwarded-digest", "authentication-failed", "authorised-sender"]),
]


@pytest.mark.parametrize(("msg", "verdict", "context", "action", "reasons", "hit", "missed"),
                         [c[1:] for c in CHAIN_CASES], ids=[c[0] for c in CHAIN_CASES])
def test_chain(msg: Inbound, verdict: Verdict, context: dict[str, Any], action: Action, reasons: tuple[str, ...],
               hit: list[str], missed: list[str]) -> None:
    decision = triage(msg, verdict, ctx(**context))
    assert (decision.action, decision.reasons) == (action, reasons)
    assert decision.rules.as_json() == {"hit": hit, "missed": missed}


def every_rule(*chains: Chain[Any, Any]) -> dict[str, Rule[Any]]:
    """Each rule the chains (and those they lead to) can ask, by name."""
    found: dict[str, Rule[Any]] = {}
    todo, seen = list(chains), set()
    while todo:
        chain = todo.pop()
        if chain.name in seen:
            continue
        seen.add(chain.name)
        for step in chain.links:
            for r in step.rules:
                assert found.setdefault(r.name, r) is r, f"two rules are named {r.name}"
            todo.extend(then for then in (step.hit, step.miss) if isinstance(then, Chain))
    return found


def test_rule_names_are_kebab_case_and_each_is_documented_in_the_readme() -> None:
    rules = every_rule(INBOUND, CLIENT_REPLY)
    assert len(rules) == 45
    readme = (ROOT / "README.md").read_text()
    table = dict(re.findall(r"^\| `([a-z-]+)` \| (.+?) \|$", readme, re.MULTILINE))
    for name, r in rules.items():
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", name), name
        assert table.get(name) == r.description.replace("|", "\\|"), f"README: {name}"


def test_a_request_to_stop_takes_the_acknowledgement_away_never_the_concern() -> None:
    both = triage(inbound(body="Stop emailing me. You charged me twice!"), COMPLAINT, ctx())
    assert (both.action, both.reply_template, both.opt_out) == (Action.NEW_CONCERN, None, True)
    complaint = triage(inbound(body="Please stop charging my card twice! I am furious."), COMPLAINT, ctx())
    assert (complaint.reply_template, complaint.opt_out) == ("ack_complaint", False)
    lifted = triage(inbound(), COMPLAINT, ctx(sender_opted_out=True))
    assert lifted.lifts_opt_out and lifted.reply_template == "ack_complaint" and not lifted.opt_out
    unsubscribed = triage(tagged("u7", "ana@client.example", "ana@client.example"), COMPLAINT, ctx(owner=OWNER_FACTS))
    assert unsubscribed.opt_out and unsubscribed.reply_template is None and not unsubscribed.owner_mail
    assert triage(tagged("d3", OWNER, OWNER), NONE, ctx(owner=OWNER_FACTS)).owner_mail
    # confirmed once, unless the request asks for no automatic replies (Outlook's X-Auto-Response-Suppress)
    assert both.confirms_opt_out and "reply-suppressed" in both.rules.missed
    quiet = triage(inbound("X-Auto-Response-Suppress: All\r\n", subject="Stop", body="stop"), NONE, ctx())
    assert quiet.opt_out and not quiet.confirms_opt_out and quiet.rules.hit[-1] == "reply-suppressed"
    # our own address or a machine saying "stop" opts nobody out
    assert not triage(inbound(sender=SHARED, body="stop"), NONE, ctx()).opt_out
