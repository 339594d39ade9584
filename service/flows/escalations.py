"""Due jobs: escalate concerns by the policy, and send owners their digests and alerts.

Each job runs in one transaction that also writes the escalation rows and
the outbox row carrying them, so a crash either loses the whole run (and the
job runs again) or nothing: an escalation is made once and mailed once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from service.core import letters
from service.core.businesstime import digest_slot
from service.core.digest_view import Entry, client_label, digest_context, digest_subject
from service.core.escalation_policy import Policy, due, next_check, reason_code
from service.core.letters import reply_language
from service.core.owner_commands import signed_address
from service.core.states import ConcernStatus, JobKind
from service.errors import SendError
from service.flows import outgoing
from service.mailformat.render import Rendered, languages, render
from service.settings import Settings
from service.store import accounts, concerns, jobs
from service.store.db import AsyncSession
from service.store.models import Client, Concern, Digest, EscalationRow

log = logging.getLogger("followup.escalate")


def escalation_policy_of(settings: Settings) -> Policy:
    """The escalation deadlines the settings give."""
    return Policy(settings.escalate_high_after_h, settings.escalate_high_second_after_h,
                  settings.escalate_after_days, settings.escalate_second_after_days)


@dataclass(frozen=True)
class Escalated:
    """What one look at a concern did: the level of each escalation made, and when to look again (None: never)."""

    levels: tuple[int, ...]
    next_at: datetime | None


async def escalate_concern(session: AsyncSession, token: str, settings: Settings, now: datetime) -> Escalated:
    """Make the escalations the policy says are due; return their levels and when to look again."""
    concern = await session.get(Concern, int(token.removeprefix("C-")))
    if concern is None:
        return Escalated((), None)
    levels: list[int] = []
    account, _client = await accounts.account_of(session, concern)
    hours = accounts.hours_of(account)
    policy = escalation_policy_of(settings)
    state = await concerns.state_of(session, concern, account)
    for esc in due(state, hours, policy, now):
        if await concerns.escalation_made(session, esc.key):
            continue
        recipient = account.owner_email if esc.level == 1 else account.second_level
        if not recipient:
            log.warning("escalation has nobody to go to (set the account's owner or default_owner)",
                        extra={"concern": concern.token, "escalation": esc.key})
            continue
        row = EscalationRow(key=esc.key, concern_id=concern.id, level=esc.level, recipient=recipient,
                            reason=esc.reason, urgent=esc.urgent, item_id=esc.item_id, digest_id=None,
                            created_at=now)
        session.add(row)
        await session.flush()
        concern.escalation_level = max(concern.escalation_level, esc.level)
        levels.append(esc.level)
        await concerns.record(session, concern, "escalated", "policy", now,
                               f"level {esc.level} to {recipient}: {esc.reason}")
        log.info("escalated", extra={"concern": concern.token, "escalation": esc.key, "to": recipient,
                                     "urgent": esc.urgent})
        held_until = await alert_or_hold(session, recipient, settings, now, concern.token) if esc.urgent else None
        if held_until is not None:
            await jobs.schedule(session, f"{JobKind.ALERT}:{recipient}", JobKind.ALERT, held_until)
        if not esc.urgent or held_until is not None:  # in the digest, or in the held alert if that comes first
            at = digest_slot(esc.due_at, now, time.fromisoformat(account.digest_time), hours.tz)
            await jobs.schedule(session, f"{JobKind.DIGEST}:{recipient}", JobKind.DIGEST, at)
    return Escalated(tuple(levels), next_check(state, hours, policy, now))


async def alert_or_hold(session: AsyncSession, recipient: str, settings: Settings, now: datetime,
                        token: str = "") -> datetime | None:
    """Alert `recipient` now to every urgent escalation not mailed yet, unless an alert went to them less than
    `alert_window_minutes` ago: then they are held, and the end of that window is returned (when to alert).

    A flood of high-severity concerns (another client each) makes one alert per window, not one each;
    the held escalations go in that alert, or in the digest if it comes first. None is lost: the rows
    stay unmailed until one of the two carries them.
    """
    last = await concerns.last_alert_at(session, recipient)
    if last is not None and now < _aware(last) + timedelta(minutes=settings.alert_window_minutes):
        at = _aware(last) + timedelta(minutes=settings.alert_window_minutes)
        log.info("alert held: one alert per window", extra={"concern": token, "to": recipient,
                                                             "alert_at": at.isoformat()})
        return at
    rows = await concerns.undigested_escalations(session, recipient, urgent_only=True)
    if rows:
        await send_digest(session, recipient, settings, now, only=rows, alert=True)
    return None


def _aware(when: datetime) -> datetime:
    """SQLite gives back naive datetimes: they were written in UTC."""
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


async def build(session: AsyncSession, recipient: str, rows: list[EscalationRow], settings: Settings,
                now: datetime, *, alert: bool) -> tuple[str, Rendered] | None:
    """Subject and rendered body for these escalations, or None when none still needs an answer."""
    found = await _contents(session, recipient, rows, settings, now, alert=alert)
    if found is None:
        return None
    subject, context = found
    return subject, render("digest", context, settings.templates_dir)


async def _contents(session: AsyncSession, recipient: str, rows: list[EscalationRow], settings: Settings,
                    now: datetime, *, alert: bool) -> tuple[str, dict[str, Any]] | None:
    """Subject and template context for these escalations, or None when none still needs an answer."""
    entries: dict[int, Entry] = {}
    hours = None
    own_langs: list[str] = []  # the owner language of the accounts this recipient owns
    any_langs: list[str] = []  # of every account in it: a second-level contact reads the first one's
    counts = await concerns.inbound_counts(session, {row.concern_id for row in rows})
    for row in rows:
        concern = await session.get(Concern, row.concern_id)
        if concern is None or concern.status == ConcernStatus.RESOLVED:
            continue
        account, client = await accounts.account_of(session, concern)
        hours = hours or accounts.hours_of(account)
        (own_langs if account.owner_email == recipient else any_langs).append(account.owner_language)
        items = await concerns.items_of(session, concern.id)
        known = entries.get(concern.id)
        missing = (*(known.missing if known else ()), row.reason)
        why = (*(known.why if known else ()), reason_code(row.key))
        entries[concern.id] = Entry(
            token=concern.token, account=account.name, client=_who(client), kind=concern.kind,
            severity=concern.severity, status=concern.status,
            level=max(row.level, known.level if known else 0), created_at=concern.created_at,
            subject=concern.subject, words=tuple(str(w) for w in concern.evidence[:3]), missing=missing,
            items=tuple(f"#{i.number} {i.text} ({i.owner}, due {i.due_at:%Y-%m-%d %H:%M} UTC)"
                        + (" done" if i.done_at else "") for i in items),
            messages=counts.get(concern.id, 1), why=why,
        )
    if not entries or hours is None:
        return None
    wanted = [*own_langs, *any_langs]
    lang = reply_language(wanted[0] if wanted else settings.default_language, None, languages(settings.templates_dir))
    context = digest_context(recipient, list(entries.values()), now, alert=alert,
                             team_name=settings.shared_name, hours=hours, lang=lang)
    return digest_subject(context, settings.templates_dir), context


async def send_digest(session: AsyncSession, recipient: str, settings: Settings, now: datetime,
                      *, only: list[EscalationRow] | None = None, alert: bool = False) -> int | None:
    """Write the digest (or alert) for `recipient` to the outbox; None when there is nothing to say."""
    rows = only if only is not None else await concerns.undigested_escalations(session, recipient)
    found = await _contents(session, recipient, rows, settings, now, alert=alert)
    if found is None:  # never an empty digest (resolved concerns are left out)
        return None
    subject, context = found
    sender = outgoing.sender_of(settings)
    message_id = sender.next_message_id()
    digest = Digest(recipient=recipient, kind=letters.Purpose.ALERT if alert else letters.Purpose.DIGEST,
                    message_id=message_id, created_at=now)
    session.add(digest)
    await session.flush()  # its id is in the signed Reply-To
    key = await outgoing.signing_key(session, settings)
    request = letters.digest(alert=alert, sender=sender, recipient=recipient, subject=subject, context=context,
                             message_id=message_id, digest_id=digest.id, now=now,
                             reply_to=signed_address(settings.shared_address, key, recipient, f"d{digest.id}"))
    [queued] = await outgoing.queue(session, [request], settings, now)
    if isinstance(queued, letters.Refusal):  # the escalations stay unmarked: the job fails and runs again
        raise SendError(f"{digest.kind} to {recipient}: {queued.reason}", permanent=True)
    for row in rows:
        row.digest_id = digest.id
    log.info("%s written", digest.kind, extra={"to": recipient, "escalations": len(rows),
                                                 "message_id": message_id})
    return digest.id


def _who(client: Client) -> str:
    return client_label(client.name, client.email)


async def preview(session: AsyncSession, recipient: str, settings: Settings,
                  now: datetime) -> tuple[str, Rendered] | None:
    """The next digest for `recipient`, rendered but not written or sent."""
    rows = await concerns.undigested_escalations(session, recipient)
    return await build(session, recipient, rows, settings, now, alert=False)
