"""Whose mailbox an address is, which organisation it belongs to, and whom an acknowledgement goes to. Pure.

The caps on automatic replies count per mailbox, not per spelling: `Ana+7@Mail.Client.Example.`
and `ana@client.example` are one mailbox (`mailbox_key`). An organisation is a domain under
a public suffix (`org_domain`, as DMARC reads one): `mail.client.example` and `client.example`
are one, `a.co.uk` and `b.co.uk` are two. The public suffix list is the copy the
`publicsuffixlist` package ships, read once from disk; it is never fetched (an update is a
new release of the package), so no message ever waits on, or leaks to, the network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from publicsuffixlist import PublicSuffixList

if TYPE_CHECKING:  # the store reads `mailbox_key` for its rows, and needs no mail parser for that
    from service.mailformat.parse import Inbound

_PSL: PublicSuffixList | None = None


def _psl() -> PublicSuffixList:
    global _PSL  # read once per process, when first needed: 0.1 s
    if _PSL is None:
        _PSL = PublicSuffixList()
    return _PSL


def _clean_domain(domain: str) -> str:
    return domain.strip().strip(".").lower()


@lru_cache(maxsize=4096)
def org_domain(domain: str) -> str:
    """The organisational domain: the public suffix and one label more (`mail.client.co.uk` -> `client.co.uk`).

    A domain that is itself a public suffix, or cannot be read, is its own organisation.
    """
    clean = _clean_domain(domain)
    if not clean:
        return ""
    try:
        found = _psl().privatesuffix(clean)
    except (ValueError, UnicodeError):  # not a domain the list can read (bad IDNA): itself
        found = None
    return str(found) if found else clean


def org_of(address: str) -> str:
    """The organisational domain of an address."""
    return org_domain(address.rpartition("@")[2])


def mailbox_key(address: str) -> str:
    """One mailbox however it is written: lower case, no +tag, no trailing dot, the organisational domain."""
    local, _, domain = address.strip().lower().rpartition("@")
    if not local:
        return address.strip().lower()
    return f"{local.partition('+')[0] or local}@{org_domain(domain)}"


def same_organisation(a: str, b: str) -> bool:
    """Whether two addresses belong to one organisational domain."""
    org = org_of(a)
    return bool(org) and org == org_of(b)


def foreign_reply_to(msg: Inbound) -> bool:
    """Whether the message asks for replies at an address outside its author's organisation."""
    return bool(msg.reply_to) and msg.reply_to != msg.from_addr and not same_organisation(msg.reply_to or "",
                                                                                          msg.from_addr)


def ack_recipient(msg: Inbound) -> str:
    """Whom the acknowledgement of `msg` goes to: its author, or a Reply-To in the author's organisation.

    Never a Reply-To elsewhere (anyone can name a stranger there, who would get our letter
    carrying the sender's words), and never the list or group that passed the message on:
    for relayed mail, the author the list names.
    """
    chosen = msg.reply_to if msg.relay is None and msg.reply_to and not foreign_reply_to(msg) else msg.from_addr
    local, at, domain = (chosen or "").rpartition("@")
    return f"{local}{at}{domain.rstrip('.')}" if at else chosen or ""  # "a@b.example." is "a@b.example"


@dataclass(frozen=True)
class Cause:
    """Whom an acknowledgement is counted against: the per-sender and the per-source caps."""

    sender: str  # a mailbox (`mailbox_key`)
    source: str  # the host that handed the message to our receiving server ("" when unrecorded)


def ack_cause(msg: Inbound, own_address: str) -> Cause:
    """The sender and the source an acknowledgement of `msg` is counted against, whoever it goes to.

    The sender is the From header's mailbox, so that one From cannot reach many mailboxes; our
    own group rewriting From to our own address is the exception, where the author it names is
    the sender, or every client writing through it would share one cap. The source is the host
    that handed the message to our receiving server, as the topmost Received header records it:
    not the From's domain, which every client of one mail provider shares (a cap per gmail.com
    would silence new clients there), and not a header the sender writes.
    """
    header_from = msg.header_from or msg.from_addr
    sender = header_from
    if msg.relay is not None and mailbox_key(header_from) == mailbox_key(own_address):
        sender = msg.from_addr
    return Cause(mailbox_key(sender), sending_host(msg.headers.get("received", "")))


# "from helo (rdns [192.0.2.7])" or "from helo ([IPv6:2001:db8::7])": the address our server saw;
# bounded, so a hostile header costs no more than its first few hundred characters
_RECEIVED_FROM_RE = re.compile(r"^\s*from\s[^;\[]{0,300}\[(?:ipv6:)?([0-9a-f:.]{3,45})\]", re.IGNORECASE)


def sending_host(received: str) -> str:
    """The connecting host's address in a Received header, or "" when it records none."""
    found = _RECEIVED_FROM_RE.match(received[:1000])
    return found.group(1).lower() if found else ""


def meant_for_us(msg: Inbound, own_address: str) -> bool:
    """Whether a message a list passed on was meant for us, not merely for a list we read.

    It was if it names an address of ours in To or Cc, if the list is ours (a group of our
    own), or if the list is the author's own organisation's (a client's team list copying us).
    """
    ours = org_of(own_address)
    if any(org_of(a) == ours for a in (*msg.to, *msg.cc)):
        return True
    relay = msg.relay.address if msg.relay is not None else ""
    return bool(relay) and org_of(relay) in {ours, org_of(msg.from_addr)}
