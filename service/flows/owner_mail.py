"""An owner's reply to a digest or alert: check its authority, record the plan, confirm.

Authority needs all of: a recipient address carrying a tag we signed for the
sender's address, no failed DMARC/DKIM verdict from the receiving server, and
the sender being the owner, staff or second-level contact of each concern's
account. Anything less changes nothing and is logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from service.core import letters, routing
from service.core.owner_commands import (
    Command,
    Problem,
    authentication_failed,
    has_tag,
    parse_commands,
    tag_refs,
    verify_tag,
)
from service.errors import PlanError
from service.flows import checkins, outgoing
from service.flows.escalations import signing_key
from service.mailformat.parse import Inbound
from service.settings import Settings
from service.store import accounts, concerns
from service.store.models import Account, Client, Concern, Digest

log = logging.getLogger("followup.owner")


@dataclass(frozen=True)
class OwnerResult:
    decision: str  # owner_commands, refused_command or opt_out
    reasons: tuple[str, ...]
    outbox: outgoing.Queued | None = None  # the confirmation, queued


def recipients(msg: Inbound) -> list[str]:
    extra = [msg.headers.get(h, "") for h in ("delivered-to", "x-original-to", "envelope-to")]
    return [a for a in (*msg.to, *msg.cc, *extra) if a]


async def handle(session: AsyncSession, msg: Inbound, settings: Settings,
                 now: datetime) -> OwnerResult | None:
    """None when the message is not addressed to a signed reply address (the client path takes it)."""
    addresses = recipients(msg)
    if not has_tag(addresses):
        return None
    extra = {"message_id": msg.message_id, "from": msg.from_addr}
    key = await signing_key(session, settings)
    ref = verify_tag(addresses, key, msg.from_addr)
    if ref is not None and ref.startswith("u") and ref[1:].isdigit():
        client = await session.get(Client, int(ref[1:]))
        if client is not None:
            await checkins.opt_out(session, client, "unsubscribe address", now)
            return OwnerResult("opt_out", ("list-unsubscribe",))
    if ref is None:
        ref = await _forwarded(session, addresses, key, msg.from_addr)
    if ref is None:
        log.warning("owner command refused: the reply tag was not signed for this sender", extra=extra)
        return OwnerResult("refused_command", ("tag-not-signed-for-sender",))
    if authentication_failed([msg.headers.get("authentication-results", "")]):
        log.warning("owner command refused: DMARC/DKIM failed at the receiving server", extra=extra)
        return OwnerResult("refused_command", ("authentication-failed",))
    known = await accounts.all_accounts(session)
    mine = [a for a in known if routing.authorised(msg.from_addr, a)]
    if not mine:
        log.warning("owner command refused: sender is no account's owner or staff", extra=extra)
        return OwnerResult("refused_command", ("not-authorised",))
    tz = ZoneInfo(mine[0].timezone)
    commands, problems = parse_commands(msg.new_text, now, tz)
    recorded: list[str] = []
    for cmd in commands:
        concern = await session.get(Concern, cmd.concern_id)
        if concern is None:
            problems.append(Problem(cmd.line, f"there is no concern C-{cmd.concern_id}"))
            continue
        account, _client = await accounts.account_of(session, concern)
        if not routing.authorised(msg.from_addr, account):
            log.warning("owner command refused for a concern of another account",
                        extra={**extra, "concern": concern.token})
            problems.append(Problem(cmd.line, f"{concern.token} belongs to an account you do not own"))
            continue
        try:
            recorded.append(await _apply(session, concern, cmd, msg.from_addr, account, now))
        except PlanError as exc:
            problems.append(Problem(cmd.line, str(exc)))
    for line in recorded:
        log.info("owner command recorded: %s", line, extra=extra)
    outbox = await _confirmation(session, msg, recorded, problems, settings, now)
    return OwnerResult("owner_commands", (f"recorded:{len(recorded)}", f"problems:{len(problems)}"), outbox)


async def _forwarded(session: AsyncSession, addresses: list[str], key: bytes, sender: str) -> str | None:
    """A digest forwarded to a colleague: valid when the tag is its recipient's and the sender works on
    an account with that recipient (owner, staff or second level)."""
    for ref in tag_refs(addresses):
        if not (ref.startswith("d") and ref[1:].isdigit()):
            continue
        digest = await session.get(Digest, int(ref[1:]))
        if digest is None or verify_tag(addresses, key, digest.recipient) != ref:
            continue
        for account in await accounts.all_accounts(session):
            if routing.authorised(digest.recipient, account) and routing.authorised(sender, account):
                return ref
    return None


async def _apply(session: AsyncSession, concern: Concern, cmd: Command, actor: str, account: Account,
                 now: datetime) -> str:
    tz = ZoneInfo(account.timezone)
    if cmd.kind == "plan":
        assert cmd.due_at is not None
        item = await concerns.add_item(session, concern, cmd.text, cmd.owner or actor, cmd.due_at,
                                        actor, now)
        local = item.due_at.astimezone(tz)
        return (f"{concern.token} #{item.number}: {item.text} "
                f"(owner {item.owner}, due {local:%a %d %b %H:%M %Z})")
    if cmd.kind == "done":
        item = await concerns.mark_done(session, concern, cmd.item, actor, now)
        return f"{concern.token} #{item.number} done: {item.text}"
    await concerns.resolve(session, concern, actor, now, cmd.text)
    return f"{concern.token} resolved"


async def _confirmation(session: AsyncSession, msg: Inbound, recorded: list[str], problems: list[Problem],
                        settings: Settings, now: datetime) -> outgoing.Queued | None:
    context = {"recorded": recorded, "problems": problems, "team_name": settings.shared_name}
    request = letters.confirmation(msg, sender=outgoing.sender_of(settings), context=context, now=now)
    [queued] = await outgoing.queue(session, [request], settings, now)
    return queued if isinstance(queued, outgoing.Queued) else None
