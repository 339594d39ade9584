"""Mail a list or group passed on: which list, who really wrote it, and whether it is bulk mail. Pure.

Google Groups, Mailman 2 and 3, Sympa, LISTSERV and Microsoft 365 groups pass a
person's message on with headers of their own (List-Post, List-Help, Mailing-list,
X-Google-Group-Id, X-BeenThere, X-Mailman-Version, Precedence: list, Sender). When the
author's domain asks receivers to refuse mail From it that it did not send (DMARC),
they rewrite From to the list's own address, as in "'Marta Silva' via Care"
<care@...> or "Marta Silva via Users" <users@...>, and keep the author in
X-Original-From, Reply-To, X-Original-Sender or Cc. `find_author` reads all of these.
Whether such a message is a client's, and whom to answer, the core decides
(`relayed-by-list`, `service.core.mailboxes`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

# a header value -> (display name, address): `service.mailformat.parse`'s reader, so that every
# address is decoded the one way
Reader = Callable[[str | None], tuple[str, str]]

# headers only a list or group adds to the messages it passes on (RFC 2369 and 2919, and the
# vendors'); a List-Id or List-Unsubscribe alone is not one: senders of newsletters add those
_RELAY_HEADERS = ("list-post", "list-help", "list-subscribe", "list-owner", "list-archive", "mailing-list",
                  "x-google-group-id", "x-mailman-version", "x-beenthere", "x-mailing-list", "x-original-sender")
# the addresses of a list's robots (digests, bounces, requests): never a person's
_ROBOT_RE = re.compile(r"(^(owner|mailman|majordomo|listserv|sympa|ezmlm|lyris|listproc)(-|$))|"
                       r"-(request|owner|bounces?|admin|confirm|join|leave|subscribe|unsubscribe)$")
_TOKEN_SPLIT_RE = re.compile(r"[<>,;\s]+")
_LISTED_RE = re.compile(r"\blist\s+([^\s;<>]+@[^\s;<>]+)", re.IGNORECASE)
_LIST_ID_RE = re.compile(r"<([^<>\s@]+)>")
# "'Marta Silva' via Care", "Marta Silva via Users", "Marta Silva (via Users list)"
_VIA_RE = re.compile(r"\s\(?via\s", re.IGNORECASE)
# the newsletter senders' own headers: a list passing one of these on passes on bulk mail
_BULK_HEADERS = ("x-csa-complaints", "x-mc-user", "x-campaign", "x-campaignid", "x-newsletter", "x-mailchimp-campaign",
                 "x-sfmc-stack", "x-marketoid", "x-mailgun-tag", "x-sg-campaign", "x-ems-campaign")
_BULK_MAILER_RE = re.compile(r"mailchimp|sendinblue|brevo|klaviyo|mailjet|campaign ?monitor|constant ?contact|"
                             r"hubspot|phplist|mailpoet|acumbamail|getresponse|mailerlite|newsletter", re.IGNORECASE)


@dataclass(frozen=True)
class Relay:
    """The list or group that passed a message on."""

    address: str  # the list's own address, lower case; "" when no header names one
    rewritten: bool  # From was the list's: the author was read from the headers that keep them
    person: bool  # the author found is a person's address, not the list's nor one of its robots
    bulk: tuple[str, ...]  # what says the message passed on is bulk mail (a newsletter), by header


@dataclass(frozen=True)
class Author:
    """Who wrote a message, as far as its headers tell, and the list that passed it on (None: none did)."""

    name: str
    addr: str
    relay: Relay | None


def is_list_robot(address: str) -> bool:
    """Whether the address is a list's robot (owner-, -request, -bounces, mailman, ...), not a person."""
    local = address.partition("@")[0].partition("+")[0]
    return bool(_ROBOT_RE.search(local))


def _list_addresses(headers: Mapping[str, str], sender: str, from_addr: str) -> list[str]:
    """Every address the headers give the list: where to post, whom it names, its List-Id's, its Sender."""
    found = _mailtos(headers.get("list-post", ""))
    found += [m.lower() for m in _LISTED_RE.findall(headers.get("mailing-list", ""))]
    for name in ("x-beenthere", "x-spam-checked-in-group"):
        value = headers.get(name, "").strip().strip("<>").lower()
        if "@" in value and " " not in value:
            found.append(value)
    list_id = _LIST_ID_RE.search(headers.get("list-id", ""))
    if list_id and "." in list_id.group(1):
        label, _, domain = list_id.group(1).lower().partition(".")
        if "." in domain:  # RFC 2919: the list's name, then a domain it controls
            found.append(f"{label}@{domain}")
    if sender and sender != from_addr:
        found.append(sender)
        local, _, domain = sender.partition("@")
        base = re.sub(r"-(bounces?|owner|request)$", "", local.partition("+")[0])
        if base != local:
            found.append(f"{base}@{domain}")  # Mailman's users-bounces@ sends for users@
    return list(dict.fromkeys(a for a in found if a))


def _mailtos(value: str) -> list[str]:
    """The addresses of a header's mailto: URLs (RFC 2369), read token by token: linear in the header."""
    found = []
    for token in _TOKEN_SPLIT_RE.split(value):
        if token[:7].lower() == "mailto:":
            address = token[7:].partition("?")[0].lower()
            if "@" in address:
                found.append(address)
    return found


def _bulk(headers: Mapping[str, str], precedences: Sequence[str]) -> tuple[str, ...]:
    found = [f"precedence:{p}" for p in (v.strip().lower() for v in precedences) if p in {"bulk", "junk"}]
    if headers.get("list-post", "").strip().lower() == "no":  # an announcement list: its members cannot post
        found.append("list-post:no")
    found += [name for name in _BULK_HEADERS if name in headers]
    if _BULK_MAILER_RE.search(headers.get("x-mailer", "")):
        found.append("x-mailer")
    return tuple(dict.fromkeys(found))


def _via_name(name: str) -> str | None:
    """The person's name in a list's rewritten display name ("'Marta Silva' via Care" -> Marta Silva)."""
    match = _VIA_RE.search(name)
    if match is None or match.start() == 0:
        return None
    return name[:match.start()].strip().strip("'\"").strip()


def _own(address: str, own_addresses: Sequence[str]) -> bool:
    local, _, domain = address.partition("@")
    return f"{local.partition('+')[0]}@{domain}" in own_addresses


def find_author(headers: Mapping[str, str], precedences: Sequence[str], from_name: str, from_addr: str,
                read: Reader, own_addresses: Sequence[str] = ()) -> Author:
    """The message's author and the list that passed it on, if one did.

    `precedences` holds every Precedence header (a list adds its own after a newsletter's);
    `own_addresses` our own shared addresses: a group that is one of them rewrites From to it.
    """
    sender = read(headers.get("sender"))[1]
    lists = _list_addresses(headers, sender, from_addr)
    relayed = (any(name in headers for name in _RELAY_HEADERS)
               or any(p.strip().lower() == "list" for p in precedences))
    via = _via_name(from_name)
    original = read(headers.get("x-original-from"))
    reply_to = read(headers.get("reply-to")) if headers.get("reply-to", "").count("@") == 1 else ("", "")
    ours = from_addr in own_addresses
    rewritten = (from_addr in lists or (relayed and via is not None) or from_addr.endswith(".invalid")
                 or (ours and (via is not None or bool(original[1]))))
    relayed = relayed or rewritten
    if not relayed:
        return Author(from_name, from_addr, None)
    if not rewritten:
        person = bool(from_addr) and from_addr not in lists and not is_list_robot(from_addr)
        return Author(from_name, from_addr, Relay(lists[0] if lists else "", False, person,
                                                  _bulk(headers, precedences)))
    candidates = [original, reply_to, read(headers.get("x-original-sender"))]
    if via:  # Mailman puts the author in Cc when replies go to the list
        candidates += [(name, addr) for name, addr in _named(headers.get("cc", ""), read) if name == via]
    if from_addr.endswith(".invalid"):  # LISTSERV's rewrite: the author's address made undeliverable
        candidates.append((from_name, from_addr.removesuffix(".invalid")))
    # the rewritten From is the list's own address, unless it is the author's made undeliverable
    address = (lists[0] if lists else "") if from_addr.endswith(".invalid") else from_addr
    bulk = _bulk(headers, precedences)
    for name, addr in candidates:
        if (addr and addr != from_addr and addr not in lists and not addr.endswith(".invalid")
                and not is_list_robot(addr) and not _own(addr, own_addresses)):
            return Author(name or via or from_name, addr, Relay(address, True, True, bulk))
    # From is the list's and nobody else is named: a digest or a notice of the list itself
    return Author(from_name, from_addr, Relay(address, True, False, bulk))


def _named(value: str, read: Reader) -> list[tuple[str, str]]:
    """Each (name, address) of an address list, read one by one (up to `readers.ADDRESS_HEADER_MAX`)."""
    from email.utils import getaddresses

    from service.mailformat.readers import address_header

    try:
        pairs = getaddresses([address_header(value)])
    except RecursionError:  # the stdlib nests a group per ":"
        return []
    # quoted by hand: formataddr refuses a non-ASCII address (raw UTF-8, RFC 6532, reaches here as text)
    return [read('"{}" <{}>'.format(name.replace("\\", "\\\\").replace('"', '\\"'), addr))
            for name, addr in pairs if addr]
