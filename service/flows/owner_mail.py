"""Mail to a signed reply address: gather what the owner-authority rules need; carry out what they decide.

The rules (`service.core.rules.owner_authority`, asked by `service.core.triage`)
decide whether an owner's reply may change anything, or whether a client wrote to
their unsubscribe address; here each command is checked against its concern's
account as it is recorded, and the owner gets back what was recorded and what not.
Anything refused changes nothing and is logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from service.core import letters, routing
from service.core.owner_commands import Command, Problem, parse_commands, tag_refs
from service.core.rules.facts import OwnerFacts, Team
from service.core.rules.owner_authority import author_of, authorised_teams, recipients
from service.core.triage import Action, Decision
from service.errors import PlanError
from service.flows import outgoing
from service.mailformat.locale_dates import moment
from service.mailformat.parse import Inbound
from service.mailformat.quotes import KnownLines, message_texts
from service.mailformat.render import languages
from service.settings import Settings
from service.store import accounts, concerns, outbox
from service.store.db import AsyncSession
from service.store.models import Account, Client, Concern, Digest

log = logging.getLogger("followup.owner")

_REFUSALS = {  # the reason a refusal is stored with -> the line logged
    "ambiguous-from": "owner command refused: From is not one plain address as DMARC reads it",
    "tag-not-signed-for-sender": "owner command refused: the reply tag was not signed for this sender",
    "authentication-failed": "owner command refused: DMARC (or unaligned DKIM/SPF) failed at the receiving server",
    "not-authorised": "owner command refused: sender is no account's owner or staff",
}


@dataclass(frozen=True)
class OwnerResult:
    decision: Action  # owner_commands, refused_command or (intake's) opt_out
    reasons: tuple[str, ...]
    outbox: outgoing.Queued | None = None  # the confirmation, queued


def _ref_id(ref: str, kind: str) -> int | None:
    return int(ref[1:]) if ref.startswith(kind) and ref[1:].isdigit() else None


async def authority(session: AsyncSession, msg: Inbound, settings: Settings) -> OwnerFacts:
    """What the owner-authority rules read: the signing key, the clients and digests the message's tags
    name, and every account's team."""
    key = await outgoing.signing_key(session, settings)
    clients: set[int] = set()
    digests: dict[str, str] = {}
    for ref in tag_refs(recipients(msg)):
        if (client_id := _ref_id(ref, "u")) is not None and await session.get(Client, client_id) is not None:
            clients.add(client_id)
        if (digest_id := _ref_id(ref, "d")) is not None and (digest := await session.get(Digest, digest_id)):
            digests[ref] = digest.recipient
    teams = tuple(Team(a.owner_email, a.second_level, tuple(a.staff or ()), a.timezone, a.owner_language)
                  for a in await accounts.all_accounts(session))
    return OwnerFacts(key, frozenset(clients), digests, teams, settings.authserv_ids)


# the digests and alerts to the sender whose lines are never read as commands, besides those the reply names
_QUOTABLE = 10


async def _known_lines(session: AsyncSession, msg: Inbound, facts: OwnerFacts, sender: str) -> KnownLines:
    """Every line of the digests and alerts the reply may quote: those its tags and thread name, and the
    latest ones to the sender and to the recipients of the digests it names (a forwarded digest)."""
    ids = set(msg.thread_ids)
    for ref in facts.digest_recipients:
        if (digest_id := _ref_id(ref, "d")) is not None and (digest := await session.get(Digest, digest_id)):
            ids.add(digest.message_id)
    to = {sender, *(r.lower() for r in facts.digest_recipients.values())}
    raws = await outbox.owner_mail_sent(session, ids, to, latest=_QUOTABLE)
    return KnownLines(text for raw in raws for text in message_texts(raw))


async def carry_out(session: AsyncSession, msg: Inbound, decision: Decision, facts: OwnerFacts,
                    settings: Settings, now: datetime) -> OwnerResult:
    """Do what the owner-mail rules decided: log the refusal, or record the commands.

    (A client's mail to their unsubscribe address is a client's message: `service.flows.intake` has it.)
    """
    sender = author_of(msg).address  # the literal From: what the owner-mail rules checked
    extra = {"message_id": msg.message_id, "from": sender}
    if decision.action == Action.REFUSED_COMMAND:
        log.warning(_REFUSALS[decision.reasons[0]], extra=extra)
        return OwnerResult(decision.action, decision.reasons)
    team = authorised_teams(sender, facts.teams)[0]
    tz = ZoneInfo(team.timezone)
    # the whole text: the owner's own part is cut from it by the parser, which knows the quotes of ours
    commands, problems = parse_commands(msg.text, now, tz, known=await _known_lines(session, msg, facts, sender))
    recorded: list[str] = []
    steps: list[dict[str, Any]] = []
    owner_langs: list[str] = []  # of the accounts whose concerns the reply names: the confirmation's language
    for cmd in commands:
        concern = await session.get(Concern, cmd.concern_id)
        if concern is None:
            problems.append(Problem(cmd.line, f"there is no concern C-{cmd.concern_id}", "no_concern",
                                    f"C-{cmd.concern_id}"))
            continue
        account, _client = await accounts.account_of(session, concern)
        if not routing.authorised(sender, account):
            log.warning("owner command refused for a concern of another account",
                        extra={**extra, "concern": concern.token})
            problems.append(Problem(cmd.line, f"{concern.token} belongs to an account you do not own",
                                    "not_your_account", concern.token))
            continue
        owner_langs.append(account.owner_language)
        try:
            line, step = await _apply(session, concern, cmd, sender, account, now)
        except PlanError as exc:
            problems.append(Problem(cmd.line, str(exc), "refused"))
            continue
        recorded.append(line)
        steps.append(step)
    for line in recorded:
        log.info("owner command recorded: %s", line, extra=extra)
    lang = letters.reply_language(owner_langs[0] if owner_langs else team.language, None,
                                  languages(settings.templates_dir))
    queued = await _confirmation(session, msg, sender, (recorded, steps), problems, settings, now, lang)
    return OwnerResult(decision.action, (f"recorded:{len(recorded)}", f"problems:{len(problems)}"), queued)


async def _apply(session: AsyncSession, concern: Concern, cmd: Command, actor: str, account: Account,
                 now: datetime) -> tuple[str, dict[str, Any]]:
    """Carry out one command: the English line that says what was recorded, and the same as a step for
    a confirmation in another language (its due date still a datetime, in the account's zone)."""
    tz = ZoneInfo(account.timezone)
    step: dict[str, Any] = {"kind": cmd.kind, "token": concern.token, "tz": tz}
    if cmd.kind == "plan":
        assert cmd.due_at is not None
        item = await concerns.add_item(session, concern, cmd.text, cmd.owner or actor, cmd.due_at,
                                        actor, now)
        local = item.due_at.astimezone(tz)
        step.update(number=item.number, text=item.text, owner=item.owner, due=item.due_at)
        return (f"{concern.token} #{item.number}: {item.text} "
                f"(owner {item.owner}, due {local:%a %d %b %H:%M %Z})"), step
    if cmd.kind == "done":
        item = await concerns.mark_done(session, concern, cmd.item, actor, now)
        step.update(number=item.number, text=item.text)
        return f"{concern.token} #{item.number} done: {item.text}", step
    await concerns.resolve(session, concern, actor, now, cmd.text)
    return f"{concern.token} resolved", step


async def _confirmation(session: AsyncSession, msg: Inbound, to: str, done: tuple[list[str], list[dict[str, Any]]],
                        problems: list[Problem], settings: Settings, now: datetime,
                        lang: str) -> outgoing.Queued | None:
    """What was recorded and what was not understood, in the owner's language `lang`."""
    recorded, steps = done
    shown = [{**s, "due": moment(s["due"], s["tz"], lang) if s.get("due") else ""} for s in steps]
    context = {"recorded": recorded, "steps": shown, "problems": problems, "team_name": settings.shared_name,
               "lang": lang}
    request = letters.confirmation(msg, sender=outgoing.sender_of(settings), context=context, now=now, to_addr=to)
    [queued] = await outgoing.queue(session, [request], settings, now)
    return queued if isinstance(queued, outgoing.Queued) else None
