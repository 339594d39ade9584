"""Rules for mail to a signed reply address: an owner's plan lines, or a client's unsubscribe.

Authority needs all of: a recipient address carrying a tag we signed for the
sender's address (or for a colleague whose digest the sender was forwarded), no
failed DMARC/DKIM verdict from the receiving server, and the sender being the
owner, staff or second-level contact of an account. The sender is the From header's
address (`Inbound.header_from`), never an author a list's headers name. The flow checks each
command's concern against its account as it carries the commands out.
"""

from __future__ import annotations

from service.core import routing
from service.core.chain import rule
from service.core.owner_commands import authentication_failed, has_tag, tag_refs, verify_tag
from service.core.rules.facts import InboundFacts, OwnerFacts, Team
from service.mailformat.parse import Inbound


def recipients(msg: Inbound) -> list[str]:
    """Every address the message was delivered to, as the headers tell."""
    extra = [msg.headers.get(h, "") for h in ("delivered-to", "x-original-to", "envelope-to")]
    return [a for a in (*msg.to, *msg.cc, *extra) if a]


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


@rule("signed-for-sender", "Is the reply tag signed for the sender's address?")
def signed_for_sender(f: InboundFacts) -> bool:
    return verify_tag(recipients(f.msg), f.ctx.owner.key, f.msg.header_from) is not None


@rule("forwarded-digest", "Is it a digest forwarded by its recipient to a colleague on one of their accounts?")
def forwarded_digest(f: InboundFacts) -> bool:
    addresses, owner = recipients(f.msg), f.ctx.owner
    for ref in tag_refs(addresses):
        recipient = owner.digest_recipients.get(ref)
        if recipient is None or recipient.lower() == f.msg.header_from:
            continue  # not a digest's tag, or its recipient wrote: nothing was forwarded
        if verify_tag(addresses, owner.key, recipient) != ref:
            continue
        if any(routing.authorised(f.msg.header_from, t) for t in authorised_teams(recipient, owner.teams)):
            return True
    return False


@rule("authentication-failed", "Did DMARC or DKIM fail at the receiving server (and none pass)?")
def authentication_failed_rule(f: InboundFacts) -> bool:
    return authentication_failed([f.msg.headers.get("authentication-results", "")])


@rule("authorised-sender", "Is the sender the owner, staff or second-level contact of an account?")
def authorised_sender(f: InboundFacts) -> bool:
    return bool(authorised_teams(f.msg.header_from, f.ctx.owner.teams))
