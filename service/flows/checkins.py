"""Check-ins until a concern is resolved, and the closing note.

The rules are in service/core/checkin_policy.py; this module gathers their inputs from the
store and hands what they decide to the way out (service/flows/outgoing.py), whose dedupe key
makes a job run twice send once, and which holds back what a client who opted out
(`service.flows.opt_outs`), or has had their cap of automatic mail, must not get.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from service.core.businesstime import BusinessHours
from service.core.checkin_policy import CheckinPolicy, CheckinState, decide, due_at
from service.core.letters import Links, Purpose, Refusal, client_context, to_client
from service.core.states import ConcernStatus, JobKind
from service.flows import outgoing
from service.mailformat.compose import reply_subject
from service.mailformat.locale_dates import day
from service.settings import Settings
from service.store import accounts, concerns, jobs, messages
from service.store.db import AsyncSession
from service.store.models import Account, Client, Concern

log = logging.getLogger("followup.checkins")

HUMAN_EVENTS = ("plan", "done", "resolved")


def checkin_policy_of(settings: Settings) -> CheckinPolicy:
    """The check-in cadence the settings give."""
    return CheckinPolicy(settings.checkin_high_every_days, settings.checkin_every_days,
                         settings.quiet_after_contact_h)


async def schedule_next(session: AsyncSession, concern: Concern, settings: Settings) -> None:
    """Put the concern's next check-in on the schedule (after an acknowledgement or a check-in)."""
    account, client = await accounts.account_of(session, concern)
    at = due_at(await _state(session, concern, client), accounts.hours_of(account), checkin_policy_of(settings))
    if at is not None:
        await jobs.schedule(session, f"{JobKind.CHECKIN}:{concern.token}", JobKind.CHECKIN, at, exact=True)


def first_checkin(concern: Concern, hours: BusinessHours, settings: Settings) -> dict[str, Any]:
    """After the (only) acknowledgement: the row of the first check-in's job, from what is known, without a query."""
    policy = checkin_policy_of(settings)
    every = policy.high_every_days if concern.severity == "high" else policy.every_days
    since = concern.acknowledged_at or concern.created_at
    return jobs.job_row(f"{JobKind.CHECKIN}:{concern.token}", JobKind.CHECKIN,
                        hours.add(since, every * hours.day_hours))


async def _state(session: AsyncSession, concern: Concern, client: Client) -> CheckinState:
    last_in = await messages.last_inbound_at(session, concern.id)
    last_owner = await concerns.last_event_at(session, concern.id, HUMAN_EVENTS)
    human = max((t for t in (last_in, last_owner) if t is not None), default=None)
    return CheckinState(concern.severity, concern.status, client.opted_out_at is not None,
                        concern.last_checkin_at, concern.acknowledged_at, human)


async def run_checkin(session: AsyncSession, token: str, settings: Settings, now: datetime) -> datetime | None:
    """Send the concern's check-in if every rule allows; return when to look again."""
    concern = await session.get(Concern, int(token.removeprefix("C-")))
    if concern is None:
        return None
    account, client = await accounts.account_of(session, concern)
    hours = accounts.hours_of(account)
    verdict = decide(await _state(session, concern, client), hours, checkin_policy_of(settings), now)
    if not verdict.send:
        log.debug("no check-in: %s", verdict.reason, extra={"concern": token})
        return verdict.retry_at
    since = concern.last_checkin_at or concern.acknowledged_at or concern.created_at
    items = await concerns.items_of(session, concern.id)
    base = await base_context(session, client, settings, concern)
    tz, lang = ZoneInfo(account.timezone), base["lang"]
    # each step as the templates of every language write it: what, and by which day in the client's words
    done = [{"text": i.text} for i in items if i.done_at and i.done_at > since]
    planned = [{"text": i.text, "by": day(i.due_at, tz, lang)} for i in items
               if i.created_at > since and not i.done_at]
    still_open = [{"text": i.text, "by": day(i.due_at, tz, lang)} for i in items if not i.done_at]
    # the English lines of templates written before the steps above (an operator's own may still use them)
    news = [f"Done: {i['text']}" for i in done] + [f"Planned: {i['text']}, by {i['by']}" for i in planned]
    open_steps = [f"{i['text']}, by {i['by']}" for i in still_open]
    number = concern.checkins + 1
    context = {**base, "news": news, "open_steps": open_steps, "done_steps": done, "planned_steps": planned,
               "still_open": still_open, "severity": concern.severity}
    sent = await send_to_client(session, Purpose.CHECKIN, client, settings, now, template="checkin",
                                key=f"checkin:{token}:{number}", context=context, concern=concern)
    if isinstance(sent, Refusal):
        if sent.retry_at is not None:  # the client's cap: look again when it frees
            return sent.retry_at
    else:
        concern.checkins, concern.last_checkin_at = number, now
        await concerns.record(session, concern, "checkin", "service", now, f"check-in {number}")
    return due_at(await _state(session, concern, client), hours, checkin_policy_of(settings))


async def run_closing(session: AsyncSession, token: str, settings: Settings, now: datetime) -> None:
    """The note that tells the client their concern is resolved, and what was done."""
    concern = await session.get(Concern, int(token.removeprefix("C-")))
    if concern is None or concern.status != ConcernStatus.RESOLVED:
        return
    _account, client = await accounts.account_of(session, concern)
    items = await concerns.items_of(session, concern.id)
    note = await concerns.last_event_detail(session, concern.id, "resolved")
    context = {**await base_context(session, client, settings, concern),
               "done": [i.text for i in items if i.done_at], "note": note or ""}
    await send_to_client(session, Purpose.CLOSING, client, settings, now, template="closing",
                         key=f"closing:{token}:{concern.checkins}", context=context, concern=concern)


async def base_context(session: AsyncSession, client: Client, settings: Settings,
                       concern: Concern | None = None) -> dict[str, Any]:
    """What every message to a client says, in their language: greeting, signature, how to stop them."""
    key = await outgoing.signing_key(session, settings)
    account = await session.get(Account, client.account_id)
    return client_context(client_name=client.name, token=concern.token if concern else "",
                          subject=concern.subject if concern else "", kind=concern.kind if concern else "",
                          team_name=settings.shared_name, handler_name=settings.default_owner_name,
                          unsubscribe=outgoing.client_unsubscribe_address(settings, key, client),
                          lang=outgoing.client_language(settings, client, account))


async def send_to_client(session: AsyncSession, purpose: Purpose, client: Client, settings: Settings, now: datetime,
                         *, template: str, key: str, context: dict[str, Any], concern: Concern | None = None,
                         event_id: int | None = None, subject: str | None = None) -> outgoing.Queued | Refusal:
    """Queue a check-in, closing note or reminder to the client, threaded onto its concern or event.

    `context` is `base_context`'s and the template's own; `key` makes a second call with it send nothing.
    """
    last = await messages.last_in_thread(session, concern_id=concern.id if concern else None, event_id=event_id)
    request = to_client(
        purpose, sender=outgoing.sender_of(settings), template=template, context=context, to_addr=client.email,
        to_name=client.name,
        subject=subject or reply_subject(concern.subject if concern else "", concern.token if concern else None),
        dedupe_key=key, last_message_id=last, concern=concern.token if concern else None,
        links=Links(concern.id if concern else None, client.id, event_id), now=now)
    [result] = await outgoing.queue(session, [request], settings, now)
    if isinstance(result, outgoing.Queued):
        log.info("%s queued", template, extra={"concern": request.concern, "to": result.to_addr,
                                               "message_id": result.message_id})
    return result
