"""Clients who ask us to stop, and who write to us again: opting out, confirming it once, lifting it.

An opt-out stops the automatic mail we start to a client (check-ins, reminders, closing notes)
and the acknowledgements of what they write; never the concern a message carries, nor the
owner's view of it (escalations, digests). It is confirmed to the client once per opt-out (the
letter's dedupe key names it), and a later message of theirs that does not ask to stop again
lifts it (`opt-out-lifted`, `service.core.rules.screening`) before anything answers that message.
"""

from __future__ import annotations

import logging
from datetime import datetime

from service.core import letters
from service.core.states import JobKind
from service.core.triage import Decision
from service.flows import checkins, outgoing
from service.mailformat.parse import Inbound
from service.settings import Settings
from service.store import concerns, jobs
from service.store.db import AsyncSession
from service.store.models import Client, Concern

log = logging.getLogger("followup.optout")


def stop_reason(msg: Inbound, decision: Decision) -> str:
    """How a client's request to stop is recorded in their concerns' history."""
    how = "wrote to their unsubscribe address" if "list-unsubscribe" in decision.reasons else "asked"
    return f"{how} in {msg.message_id}"


async def opt_out(session: AsyncSession, client: Client, why: str, now: datetime) -> None:
    """The client asked us to stop: no more check-ins, reminders, closing notes or acknowledgements.

    Recorded in the history of each of their open concerns, whose check-ins are cancelled (a concern
    the same message files is recorded as it is written).
    """
    if client.opted_out_at is None:
        client.opted_out_at, client.opt_out_reason = now, why[:2000]
        log.info("client opted out", extra={"client": client.email, "why": why})
    for concern in await concerns.unresolved_of_client(session, client.id):
        await concerns.record(session, concern, "opted_out", client.email, now, why)
        await jobs.cancel_jobs(session, f"{JobKind.CHECKIN}:{concern.token}")


async def lift(session: AsyncSession, client: Client, msg: Inbound, settings: Settings, now: datetime) -> None:
    """The client wrote to us again, asking nothing of the kind: they hear from us as before.

    Recorded in the history of each of their open concerns, whose check-ins are put back on the schedule.
    """
    if client.opted_out_at is None:
        return
    why = f"wrote again in {msg.message_id}"
    client.opted_out_at, client.opt_out_reason = None, None
    log.info("client opt-out lifted", extra={"client": client.email, "why": why})
    for concern in await concerns.unresolved_of_client(session, client.id):
        await concerns.record(session, concern, "opt_out_lifted", client.email, now, why)
        await checkins.schedule_next(session, concern, settings)


async def confirm(session: AsyncSession, client: Client, msg: Inbound, concern: Concern | None,
                  settings: Settings, now: datetime) -> outgoing.Queued | None:
    """Tell the client, once for this opt-out, that we stopped; and that their concern, if the message
    carried one, is with a person. None if it went before (a second "stop") or cannot be addressed."""
    assert client.opted_out_at is not None, "confirmed after `opt_out`"
    context = await checkins.base_context(session, client, settings, concern)
    request = letters.opt_out_confirmation(
        msg, sender=outgoing.sender_of(settings), context=context, to_addr=client.email, to_name=client.name,
        opted_out_at=client.opted_out_at, concern=concern.token if concern else None,
        links=letters.Links(concern.id if concern else None, client.id), now=now)
    [queued] = await outgoing.queue(session, [request], settings, now)
    return queued if isinstance(queued, outgoing.Queued) else None
