"""Who wrote a message a list passed on, whom we may answer, and what the caps count as one (issue 17, 2 and 8)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from service.core.mailboxes import Cause, ack_cause, ack_recipient, mailbox_key, org_domain
from service.core.rules.facts import TriageContext
from service.core.triage import Action, triage
from service.detector.detect import Verdict
from service.mailformat.parse import Inbound, parse_message
from service.mailformat.relay import is_list_robot

import listmail as lm

COMPLAINT = Verdict("complaint", 0.9, ("This is unacceptable.",))
NOREPLY = ("noreply", "no-reply", "donotreply", "mailer-daemon", "postmaster", "bounce")


def parse(raw: bytes) -> Inbound:
    return parse_message(raw, noreply_patterns=NOREPLY, own_addresses=(lm.OURS,))


def ctx(**kw: Any) -> TriageContext:
    return dataclasses.replace(TriageContext(shared_address=lm.OURS, own_message_ids=frozenset(), thread_concern=None,
                                             recent_auto_replies=0, auto_reply_cap=3), **kw)


# (message, its author, the From header's address, whether the list rewrote From)
AUTHORS = [
    (lm.google_group(), "marta.silva@client.example", "marta.silva@client.example", False),
    (lm.google_group(rewritten=True), "marta.silva@client.example", lm.OURS, True),
    (lm.google_group(rewritten=True, reply_to_group=True), "marta.silva@client.example", lm.OURS, True),
    (lm.mailman2(munged=True, addr="ola@aol.example"), "ola@aol.example", "team@lists.client.example", True),
    (lm.mailman3(munge="cc"), "juergen.weiss@kunde.example", "projekt@lists.kunde.example", True),
    (lm.mailman3(munge="reply-to"), "juergen.weiss@kunde.example", "projekt@lists.kunde.example", True),
    (lm.sympa(protected=True), "anne.dupont@client.example", "clients@listes.client.example", True),
    (lm.listserv(), "pat.kowalski@client.example", "pat.kowalski@client.example", False),
    (lm.own_group_no_list_headers(), "marta.silva@client.example", lm.OURS, True),
]


@pytest.mark.parametrize(("raw", "author", "header_from", "rewritten"), AUTHORS)
def test_the_author_is_found_and_the_from_header_kept(raw: bytes, author: str, header_from: str,
                                                      rewritten: bool) -> None:
    msg = parse(raw)
    assert (msg.from_addr, msg.header_from) == (author, header_from)
    assert msg.relay is not None and msg.relay.rewritten is rewritten and msg.relay.person
    assert " via " not in msg.from_name and msg.from_name  # "'Marta Silva' via Care" greets Marta
    decision = triage(msg, COMPLAINT, ctx())
    assert decision.action == Action.NEW_CONCERN and decision.reply_template
    assert ack_recipient(msg) == author


def test_the_greeting_name_comes_from_the_rewritten_display_name() -> None:
    msg = parse(lm.mailman3(munge="cc"))
    assert msg.from_name == "Jürgen Weiß"


def test_an_author_named_in_list_headers_gets_no_owner_authority() -> None:
    # the owner rules read the From header: a list's X-Original-From naming the owner is not the owner
    raw = lm.google_group(author="Boss", addr="boss@firm.example", group="eve@evil.example", group_name="Eve",
                          rewritten=True)
    msg = parse(raw)
    assert msg.from_addr == "boss@firm.example" and msg.header_from == "eve@evil.example"


@pytest.mark.parametrize("raw", [lm.mailman_relaying_a_newsletter(), lm.google_group_relaying_a_noreply_newsletter(),
                                 lm.google_group_relaying_a_bulk_mailer(), lm.mailman_digest(),
                                 lm.announce_only_list(), lm.list_we_only_read()])
def test_what_a_list_passes_on_from_no_person_stays_machine_mail(raw: bytes) -> None:
    decision = triage(parse(raw), COMPLAINT, ctx())
    assert decision.action == Action.IGNORE and "relayed-by-list" in decision.rules.missed


def test_a_list_passing_on_our_own_mail_is_not_an_author() -> None:
    # the group named us as the author: that is our own mail, never a client
    raw = lm.google_group(author="Care", addr=lm.OURS, group="team@client.example", group_name="Team", rewritten=True)
    msg = parse(raw)
    assert msg.relay is not None and not msg.relay.person
    assert triage(msg, COMPLAINT, ctx()).action == Action.IGNORE


@pytest.mark.parametrize(("address", "robot"), [
    ("team-request@lists.client.example", True), ("owner-team@lists.client.example", True),
    ("team-bounces+ana=client.example@lists.client.example", True), ("mailman@lists.client.example", True),
    ("LISTSERV@LISTSERV.CLIENT.EXAMPLE".lower(), True), ("ana.owner@client.example", False),
    ("marta@client.example", False)])
def test_list_robots(address: str, robot: bool) -> None:
    assert is_list_robot(address) is robot


# -- point 8: one mailbox however spelt, and whom we answer ----------------------------------

@pytest.mark.parametrize(("address", "key"), [
    ("victim@victim.example", "victim@victim.example"),
    ("Victim+42@Victim.Example", "victim@victim.example"),
    ("victim@victim.example.", "victim@victim.example"),
    ("victim+a+b@mail.eu.victim.example", "victim@victim.example"),
    ("ana@shop.co.uk", "ana@shop.co.uk"),
    ("ana+x@mail.shop.co.uk", "ana@shop.co.uk"),
    ("ana@a.github.io", "ana@a.github.io"),  # a public suffix of its own: a.github.io is not b.github.io
    ("ana@gmail.com", "ana@gmail.com"),
])
def test_mailbox_key(address: str, key: str) -> None:
    assert mailbox_key(address) == key


def test_org_domain_reads_the_shipped_public_suffix_list() -> None:
    assert org_domain("mail.client.co.uk") == "client.co.uk"
    assert org_domain("co.uk") == "co.uk"  # a public suffix is its own
    assert org_domain("Mail.Example.COM.") == "example.com"
    assert org_domain("") == ""


def direct(reply_to: str, sender: str = "ana@client.example") -> Inbound:
    return parse(f"From: Ana <{sender}>\r\nTo: {lm.OURS}\r\nReply-To: {reply_to}\r\nSubject: x\r\n"
                 f"Message-ID: <d1@client.example>\r\n\r\nThis is unacceptable.\r\n".encode())


@pytest.mark.parametrize(("reply_to", "answered"), [
    ("victim@elsewhere.example", "ana@client.example"),
    ("Victim <VICTIM@ELSEWHERE.EXAMPLE>", "ana@client.example"),
    ("ana@client.example.evil.example", "ana@client.example"),  # looks alike, another organisation
    ("billing@client.example", "billing@client.example"),
    ("ana.private@mail.client.example", "ana.private@mail.client.example"),
    ("a@x.example, b@y.example", "ana@client.example"),  # more than one: none is taken
])
def test_a_reply_to_is_answered_only_within_the_authors_organisation(reply_to: str, answered: str) -> None:
    msg = direct(reply_to)
    assert ack_recipient(msg) == answered
    # the From that caused it, whoever is answered
    assert ack_cause(msg, lm.OURS) == Cause("ana@client.example", "")  # no Received header: no source


def test_the_sender_of_a_relayed_message_is_the_from_header_unless_the_group_is_ours() -> None:
    foreign = parse(lm.mailman2(munged=True, addr="ola@aol.example"))
    assert ack_cause(foreign, lm.OURS).sender == "team@client.example"  # the list that rewrote From
    # our own group: each author is a sender of their own
    ours = parse(lm.google_group(rewritten=True, addr="rui@outlook.example"))
    assert ack_cause(ours, lm.OURS).sender == "rui@outlook.example"


@pytest.mark.parametrize(("received", "source"), [
    ("from mail.evil.example (mail.evil.example [192.0.2.7]) by mx.example.test (Postfix) with ESMTPS id 4F; "
     "Tue, 1 Dec 2026 09:00:00 +0000", "192.0.2.7"),
    ("from mail-wr1-f41.google.com (mail-wr1-f41.google.com [IPv6:2a00:1450:4864:20::441])\r\n\tby mx.example.test",
     "2a00:1450:4864:20::441"),
    ("from [198.51.100.3] (helo=laptop) by mx.example.test with esmtpa", "198.51.100.3"),
    ("by mx.example.test (Postfix, from userid 1000) id 4F; Tue, 1 Dec 2026", ""),  # local submission
    ("from x " + "a" * 100_000 + " [192.0.2.1]", ""),  # beyond what is read: no source, and no cost
])
def test_the_source_is_the_host_our_server_recorded_not_the_senders_domain(received: str, source: str) -> None:
    """Every client of one mail provider shares its domain; the per-source cap counts the sending host."""
    msg = parse(f"Received: {received}\r\nReceived: from forged.example ([203.0.113.9])\r\nFrom: Ana <ana@gmail.example>"
                f"\r\nTo: {lm.OURS}\r\nSubject: x\r\nMessage-ID: <s1@gmail.example>\r\n\r\nThis is unacceptable.\r\n"
                .encode())
    assert ack_cause(msg, lm.OURS) == Cause("ana@gmail.example", source)
