"""The operator's incidents: stored as trouble is first seen, mailed once it lasted, mailed again when over.

`review` runs with the scheduler (every `FOLLOWUP_SCHEDULER_INTERVAL_S`, and in `run --once`). What this
worker saw going wrong comes in as `seen`; the quarantine is read from the database here. The mails go
through the outbox like every other message, keyed by the incident, so no incident is mailed twice
whichever workers review it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from service.core import letters
from service.core.incident_policy import (
    ADVICE,
    TITLES,
    End,
    IncidentKind,
    OpenIncident,
    Start,
    Tell,
    Trouble,
    decide_incidents,
    quarantine_trouble,
)
from service.flows import outgoing
from service.settings import Settings
from service.store import incident_rows
from service.store.db import AsyncSession
from service.store.models import Incident

log = logging.getLogger("followup.incidents")


@dataclass(frozen=True)
class Review:
    """What one review did, and the incidents open after it (for /healthz and the metrics)."""

    told: list[IncidentKind]
    ended: list[IncidentKind]
    open_since: dict[IncidentKind, datetime]



async def review(session: AsyncSession, settings: Settings, seen: Mapping[IncidentKind, Trouble | None],
                 now: datetime) -> Review:
    """Start, tell and end incidents by what was seen; write the operator's mails to the outbox."""
    grace = timedelta(minutes=settings.incident_after_minutes)
    count, first, reason = await incident_rows.quarantined_since(session, now - grace)
    seen = {**seen, IncidentKind.QUARANTINE: quarantine_trouble(count, first, reason, grace)}
    await incident_rows.lock_incidents(session)
    rows = {IncidentKind(r.kind): r for r in await incident_rows.open_incidents(session)}
    open_now = {kind: OpenIncident(r.id, kind, r.since, r.told_at is not None) for kind, r in rows.items()}
    told: list[IncidentKind] = []
    ended: list[IncidentKind] = []
    for change in decide_incidents(seen, open_now, now, grace):
        if isinstance(change, Start):
            rows[change.kind] = await incident_rows.start_incident(session, change.kind, change.since, change.detail)
            log.warning("incident begins: %s", change.detail, extra={"incident": change.kind})
        elif isinstance(change, Tell):
            row = rows[change.kind]
            row.told_at = now
            told.append(change.kind)
            await _mail(session, settings, row, now, ended=False)
        elif isinstance(change, End):
            done = await incident_rows.end_incident(session, change.incident.id, now)
            if done is not None:
                rows.pop(change.incident.kind, None)
                ended.append(change.incident.kind)
                log.warning("incident over: %s", TITLES[change.incident.kind], extra={"incident": done.kind})
                if done.told_at is not None:
                    await _mail(session, settings, done, now, ended=True)
    for kind, row in rows.items():  # the latest word on what is wrong, for the mail and `followup check`
        trouble = seen.get(kind)
        if trouble is not None:
            row.detail = trouble.detail[:4000]
    return Review(told, ended, {kind: row.since for kind, row in rows.items() if row.ended_at is None})


def _lasted(since: datetime, now: datetime) -> str:
    minutes = int((now - since).total_seconds() // 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60} min"


async def _mail(session: AsyncSession, settings: Settings, row: Incident, now: datetime, *, ended: bool) -> None:
    kind = IncidentKind(row.kind)
    if settings.operator_address is None:
        log.warning("no FOLLOWUP_OPERATOR_ADDRESS: nobody is mailed about %s", TITLES[kind], extra={"incident": kind})
        return
    since = row.since
    context = {
        "title": TITLES[kind], "detail": row.detail, "advice": ADVICE[kind], "ended": ended,
        "since": f"{since:%Y-%m-%d %H:%M} UTC", "ended_at": f"{now:%Y-%m-%d %H:%M} UTC",
        "lasted": _lasted(since, now), "instance": settings.shared_address,
    }
    subject = f"[followup] {'Resolved' if ended else 'Incident'}: {TITLES[kind]}"
    request = letters.incident(sender=outgoing.sender_of(settings), operator=settings.operator_address,
                               incident_id=row.id, ended=ended, subject=subject, context=context, now=now)
    [queued] = await outgoing.queue(session, [request], settings, now)
    if isinstance(queued, letters.Refusal):
        log.warning("incident mail not queued: %s", queued.reason, extra={"incident": kind})
    else:
        log.info("operator told: %s", subject, extra={"incident": kind, "message_id": queued.message_id})
