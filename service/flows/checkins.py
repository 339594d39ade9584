"""Check-ins until a concern is resolved, the closing note, and clients who ask us to stop.

The rules are in service/core/checkin_policy.py; this module gathers their inputs from the
store and writes what they decide (outbox rows with a key, so a job run twice
sends once).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.core.businesstime import BusinessHours
from service.core.checkin_policy import CheckinPolicy, CheckinState, decide, due_at
from service.core.owner_commands import signed_address
from service.flows.escalations import signing_key
from service.mailformat import compose as composer
from service.mailformat.render import render
from service.settings import Settings
from service.store import accounts, concerns, jobs
from service.store.models import Client, Concern, ConcernEvent, MessageRow, OutboxRow

log = logging.getLogger("followup.checkins")

AUTOMATIC = ("ack", "checkin", "reminder", "closing")
HUMAN_EVENTS = ("plan", "done", "resolved")


def policy_of(settings: Settings) -> CheckinPolicy:
    return CheckinPolicy(settings.checkin_high_every_days, settings.checkin_every_days,
                         settings.quiet_after_contact_h, settings.client_cap, settings.client_cap_window_days)


async def schedule_next(session: AsyncSession, concern: Concern, settings: Settings) -> None:
    """Put the concern's next check-in on the schedule (after an acknowledgement or a check-in)."""
    account, client = await accounts.account_of(session, concern)
    state = await _state(session, concern, client, settings, concern.updated_at)
    at = due_at(state, accounts.hours_of(account), policy_of(settings))
    if at is not None:
        await jobs.schedule(session, f"checkin:{concern.token}", "checkin", at, exact=True)


def first_checkin(concern: Concern, hours: BusinessHours, settings: Settings) -> dict[str, Any]:
    """After the (only) acknowledgement: the row of the first check-in's job, from what is known, without a query."""
    policy = policy_of(settings)
    every = policy.high_every_days if concern.severity == "high" else policy.every_days
    since = concern.acknowledged_at or concern.created_at
    return jobs.job_row(f"checkin:{concern.token}", "checkin", hours.add(since, every * hours.day_hours))


async def _state(session: AsyncSession, concern: Concern, client: Client, settings: Settings,
                 now: datetime) -> CheckinState:
    last_in = await session.scalar(select(MessageRow.created_at).where(
        MessageRow.concern_id == concern.id, MessageRow.direction == "in").order_by(MessageRow.created_at.desc()))
    last_owner = await session.scalar(select(ConcernEvent.at).where(
        ConcernEvent.concern_id == concern.id, ConcernEvent.kind.in_(HUMAN_EVENTS)).order_by(ConcernEvent.at.desc()))
    human = max((t for t in (last_in, last_owner) if t is not None), default=None)
    since = now - timedelta(days=settings.client_cap_window_days)
    recent = (await session.scalars(select(OutboxRow.created_at).where(
        OutboxRow.to_addr == client.email.lower(), OutboxRow.purpose.in_(AUTOMATIC),
        OutboxRow.created_at > since))).all()
    return CheckinState(concern.severity, concern.status, client.opted_out_at is not None,
                        concern.last_checkin_at, concern.acknowledged_at, human, tuple(recent))


async def run_checkin(session: AsyncSession, token: str, settings: Settings, now: datetime) -> datetime | None:
    """Send the concern's check-in if every rule allows; return when to look again."""
    concern = await session.get(Concern, int(token.removeprefix("C-")))
    if concern is None:
        return None
    account, client = await accounts.account_of(session, concern)
    hours = accounts.hours_of(account)
    verdict = decide(await _state(session, concern, client, settings, now), hours, policy_of(settings), now)
    if not verdict.send:
        log.debug("no check-in: %s", verdict.reason, extra={"concern": token})
        return verdict.retry_at
    since = concern.last_checkin_at or concern.acknowledged_at or concern.created_at
    items = await concerns.items_of(session, concern.id)
    tz = ZoneInfo(account.timezone)
    news = [f"Done: {i.text}" for i in items if i.done_at and i.done_at > since]
    news += [f"Planned: {i.text}, by {_day(i.due_at, tz)}" for i in items
             if i.created_at > since and not i.done_at]
    open_steps = [f"{i.text}, by {_day(i.due_at, tz)}" for i in items if not i.done_at]
    number = concern.checkins + 1
    context = {**await base_context(session, client, settings, concern), "news": news, "open_steps": open_steps,
               "severity": concern.severity}
    if await queue(session, concern, client, settings, now, "checkin", f"checkin:{token}:{number}", context):
        concern.checkins, concern.last_checkin_at = number, now
        await concerns.record(session, concern, "checkin", "service", now, f"check-in {number}")
    state = await _state(session, concern, client, settings, now)
    return due_at(state, hours, policy_of(settings))


async def run_closing(session: AsyncSession, token: str, settings: Settings, now: datetime) -> None:
    """The note that tells the client their concern is resolved, and what was done."""
    concern = await session.get(Concern, int(token.removeprefix("C-")))
    if concern is None or concern.status != "resolved":
        return
    _account, client = await accounts.account_of(session, concern)
    if client.opted_out_at is not None:
        return
    items = await concerns.items_of(session, concern.id)
    note = await session.scalar(select(ConcernEvent.detail).where(
        ConcernEvent.concern_id == concern.id, ConcernEvent.kind == "resolved").order_by(ConcernEvent.id.desc()))
    context = {**await base_context(session, client, settings, concern),
               "done": [i.text for i in items if i.done_at], "note": note or ""}
    await queue(session, concern, client, settings, now, "closing", f"closing:{token}:{concern.checkins}", context)


async def base_context(session: AsyncSession, client: Client, settings: Settings,
                       concern: Concern | None = None) -> dict[str, Any]:
    """What every message to a client says: greeting, signature, how to stop them."""
    first = client.name.split(" ")[0] if client.name else ""
    key = await signing_key(session, settings)
    return {"greeting": f"Dear {first}," if first else "Hello,", "token": concern.token if concern else "",
            "subject": concern.subject if concern else "", "kind": concern.kind if concern else "",
            "team_name": settings.shared_name, "handler_name": settings.default_owner_name,
            "unsubscribe": _unsubscribe(settings, key, client)}


def _unsubscribe(settings: Settings, key: bytes, client: Client) -> str:
    return f"mailto:{signed_address(settings.shared_address, key, client.email, f'u{client.id}')}?subject=stop"


def _day(when: datetime, tz: ZoneInfo) -> str:
    return when.astimezone(tz).strftime("%A %d %B")


async def queue(session: AsyncSession, concern: Concern | None, client: Client, settings: Settings, now: datetime,
                 template: str, key: str, context: dict[str, Any], *, event_id: int | None = None,
                 subject: str | None = None) -> bool:
    """Render and queue one automatic message to the client; False when its key was queued before."""
    if await session.scalar(select(OutboxRow.id).where(OutboxRow.dedupe_key == key)):
        return False
    rendered = render(template, context, settings.templates_dir)
    last = await session.scalar(select(MessageRow.message_id).where(
        (MessageRow.concern_id == concern.id) if concern else (MessageRow.event_id == event_id))
        .order_by(MessageRow.id.desc())) if (concern or event_id) else None
    message_id = composer.new_message_id(settings.shared_domain)
    out = composer.compose(
        from_addr=settings.shared_address, from_name=settings.shared_name, to_addr=client.email,
        to_name=client.name, subject=subject or composer.reply_subject(concern.subject if concern else "", (
            concern.token if concern else None)),
        text=rendered.text, html=rendered.html, now=now, message_id=message_id,
        in_reply_to=last, references=(last,) if last else (),
        headers={"X-Followup-Instance": settings.shared_address,
                 "List-Unsubscribe": f"<{context['unsubscribe']}>",
                 **({"X-Followup-Concern": concern.token} if concern else {})},
        auto_submitted="auto-generated",
    )
    session.add(OutboxRow(message_id=out.message_id, concern_id=concern.id if concern else None, purpose=template
                          if template in AUTOMATIC else "reminder", dedupe_key=key[:200], to_addr=out.to_addr,
                          raw=out.raw, status="pending", attempts=0, next_attempt_at=now, last_error=None,
                          claimed_at=None, created_at=now, sent_at=None))
    session.add(MessageRow(message_id=out.message_id, direction="out", concern_id=concern.id if concern else None,
                           client_id=client.id, event_id=event_id, from_addr=settings.shared_address,
                           to_addr=out.to_addr, subject=(subject or (concern.subject if concern else ""))[:500],
                           text=rendered.text[:20000], decision=template if template in AUTOMATIC else "reminder",
                           reasons=[], verdict={}, raw=None, created_at=now))
    await session.flush()
    log.info("%s queued", template, extra={"concern": concern.token if concern else None, "to": out.to_addr,
                                           "message_id": out.message_id})
    return True


async def opt_out(session: AsyncSession, client: Client, why: str, now: datetime) -> None:
    """The client asked us to stop: no more check-ins, reminders or closing notes."""
    if client.opted_out_at is None:
        client.opted_out_at, client.opt_out_reason = now, why[:2000]
        log.info("client opted out", extra={"client": client.email, "why": why})
    for concern in await concerns.unresolved_of_client(session, client.id):
        await concerns.record(session, concern, "opted_out", client.email, now, why)
        await jobs.cancel_jobs(session, f"checkin:{concern.token}")

