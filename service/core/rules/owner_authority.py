"""Rules for mail to a signed reply address: an owner's plan lines, or a client's unsubscribe.

Authority needs all of: a From header that names one plain address the way DMARC
reads it (`service.core.authenticity.author`: the sender is that address, never
X-Original-From, Sender or Reply-To), a recipient address carrying a tag we signed
for that address (or for a colleague whose digest the sender was forwarded), no
DMARC failure (nor, without a DMARC verdict, an unaligned DKIM/SPF failure) in the
Authentication-Results of the operator's receiving server, and the sender being the
owner, staff or second-level contact of an account. The flow checks each command's
concern against its account as it carries the commands out.
"""

from __future__ import annotations

from service.core import routing
from service.core.authenticity import DmarcAuthor, authentication_failed, author
from service.core.chain import rule
from service.core.owner_commands import has_tag, tag_refs, verify_tag
from service.core.rules.facts import InboundFacts, OwnerFacts, Team
from service.mailformat.parse import Inbound


def recipients(msg: Inbound) -> list[str]:
    """Every address the message was delivered to, as the headers tell."""
    extra = [msg.headers.get(h, "") for h in ("delivered-to", "x-original-to", "envelope-to")]
    return [a for a in (*msg.to, *msg.cc, *extra) if a]


def header_values(msg: Inbound, name: str) -> tuple[str, ...]:
    """Every value of header `name` (top first) where the parser kept them all, else the one it kept."""
    return msg.repeated.get(name) or ((msg.headers[name],) if name in msg.headers else ())


def author_of(msg: Inbound) -> DmarcAuthor:
    """Who wrote an owner's mail: the literal From, read the way DMARC reads it."""
    return author(header_values(msg, "from"))


def addressed_to_tag(msg: Inbound) -> bool:
    """Whether the message went to a tag-shaped address: the flow gathers `OwnerFacts` only then."""
    return has_tag(recipients(msg))


def unsubscribe_client(msg: Inbound, owner: OwnerFacts) -> int | None:
    """The client whose own signed unsubscribe address the message went to, if it did and the client exists."""
    ref = verify_tag(recipients(msg), owner.key, msg.header_from)
    if ref is None or not (ref.startswith("u") and ref[1:].isdigit()):
        return None
    return int(ref[1:]) if int(ref[1:]) in owner.clients else None


def authorised_teams(address: str, teams: tuple[Team, ...]) -> list[Team]:
    """The teams `address` belongs to (owner, staff or second level)."""
    return [t for t in teams if routing.authorised(address, t)]


@rule("reply-tag", "Is it addressed to a signed reply address (a digest's, an alert's or an unsubscribe one)?")
def reply_tag(f: InboundFacts) -> bool:
    return addressed_to_tag(f.msg)


@rule("unsubscribe-address", "Did a client write to their own signed List-Unsubscribe address?")
def unsubscribe_address(f: InboundFacts) -> bool:
    return unsubscribe_client(f.msg, f.ctx.owner) is not None


@rule("ambiguous-from", "Is the From anything but one plain address as DMARC reads it (two From headers or "
      "addresses, an address in the display name, an address only inside an encoded word)?")
def ambiguous_from(f: InboundFacts) -> bool:
    return author_of(f.msg).problem is not None


@rule("signed-for-sender", "Is the reply tag signed for the sender's address?")
def signed_for_sender(f: InboundFacts) -> bool:
    return verify_tag(recipients(f.msg), f.ctx.owner.key, author_of(f.msg).address) is not None


@rule("forwarded-digest", "Is it a digest forwarded by its recipient to a colleague on one of their accounts?")
def forwarded_digest(f: InboundFacts) -> bool:
    addresses, owner, sender = recipients(f.msg), f.ctx.owner, author_of(f.msg).address
    for ref in tag_refs(addresses):
        recipient = owner.digest_recipients.get(ref)
        if recipient is None or recipient.lower() == sender:
            continue  # not a digest's tag, or its recipient wrote: nothing was forwarded
        if verify_tag(addresses, owner.key, recipient) != ref:
            continue
        if any(routing.authorised(sender, t) for t in authorised_teams(recipient, owner.teams)):
            return True
    return False


@rule("authentication-failed", "Did our receiving server's Authentication-Results fail DMARC (whatever else "
      "passed), or, with no DMARC verdict, DKIM or SPF with no pass aligned with the From domain?")
def authentication_failed_rule(f: InboundFacts) -> bool:
    return authentication_failed(header_values(f.msg, "authentication-results"), author_of(f.msg).domain,
                                 f.ctx.owner.authserv_ids)


@rule("authorised-sender", "Is the sender the owner, staff or second-level contact of an account?")
def authorised_sender(f: InboundFacts) -> bool:
    return bool(authorised_teams(author_of(f.msg).address, f.ctx.owner.teams))
