"""Clients' events (a move, a go-live, an audit) and the reminders ahead of them.

Events come from the CLI or from CSV / iCalendar files; an event's `uid` (the
iCalendar UID) makes a re-import update it. Reminder jobs follow the event:
moved when it moves, cancelled when it is cancelled.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from service.core import routing
from service.core.checkin_policy import reminders
from service.core.letters import Purpose
from service.core.states import JobKind
from service.errors import FollowupError
from service.flows import account_setup
from service.flows.checkins import base_context, send_to_client
from service.mailformat.locale_dates import day_at
from service.mailformat.render import environment, render_line
from service.settings import Settings
from service.store import accounts, clients, events, jobs
from service.store.db import AsyncSession
from service.store.models import Account, Client, Event

log = logging.getLogger("followup.events")


class EventError(FollowupError):
    """An event could not be read or saved."""


@dataclass(frozen=True)
class EventSpec:
    """An event as a file or the CLI gives it, before it is stored."""

    uid: str
    client: str
    title: str
    type: str
    at: datetime
    place: str = ""
    checklist: tuple[str, ...] = ()
    cancelled: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


async def save_event(session: AsyncSession, spec: EventSpec, settings: Settings, now: datetime,
                     source: str) -> tuple[Event, str]:
    """Create or update the event with this uid and (re)schedule its reminders; say what changed."""
    client = await _client(session, spec.client, settings, now)
    event = await events.event_by_uid(session, spec.uid)
    done = {c["text"]: c.get("done", False) for c in (event.checklist if event else [])}
    checklist = [{"text": text, "done": bool(done.get(text, False))} for text in spec.checklist]
    status = "cancelled" if spec.cancelled else "active"
    if event is None:
        event = Event(uid=spec.uid, client_id=client.id, title=spec.title, type=spec.type, at=spec.at,
                      place=spec.place, checklist=checklist, status=status, source=source, created_at=now,
                      updated_at=now)
        session.add(event)
        change = "added"
    else:
        moved = event.at != spec.at
        change = ("cancelled" if status == "cancelled" and event.status != "cancelled" else
                  "moved" if moved else "updated")
        event.client_id, event.title, event.type, event.at = client.id, spec.title, spec.type, spec.at
        event.place, event.checklist, event.status, event.updated_at = spec.place, checklist, status, now
    await session.flush()
    await schedule_reminders(session, event, settings, now)
    return event, change


async def schedule_reminders(session: AsyncSession, event: Event, settings: Settings, now: datetime) -> None:
    prefix = f"{JobKind.REMIND}:{event.token}:"
    if event.status != "active":
        await jobs.cancel_jobs(session, prefix)
        return
    client = await session.get(Client, event.client_id)
    account = await session.get(Account, client.account_id) if client else None
    if account is None:
        return
    plan = reminders(event.at, settings.reminder_offsets_days, accounts.hours_of(account), now)
    keys = {f"{prefix}{days}" for days in plan}
    await jobs.cancel_jobs(session, prefix, keep=keys)
    for days, at in plan.items():
        await jobs.schedule(session, f"{prefix}{days}", JobKind.REMIND, at, exact=True)


async def run_reminder(session: AsyncSession, key: str, settings: Settings, now: datetime) -> None:
    """Send one reminder (key `E-5:3`: event 5, 3 days before), listing the checklist items still open."""
    token, _, days = key.rpartition(":")
    event = await session.get(Event, int(token.removeprefix("E-")))
    if event is None or event.status != "active" or event.at <= now:
        return
    client = await session.get(Client, event.client_id)
    if client is None:
        return
    account = await session.get(Account, client.account_id)
    tz = ZoneInfo(account.timezone if account else "UTC")
    base = await base_context(session, client, settings)
    context = {**base, "title": event.title, "type": event.type,
               "when": day_at(event.at, tz, base["lang"]), "days": int(days), "place": event.place,
               "open_items": [c["text"] for c in event.checklist if not c.get("done")],
               "done_items": [c["text"] for c in event.checklist if c.get("done")], "token": event.token}
    template = f"reminder_{re.sub(r'[^a-z0-9]+', '_', event.type.lower()).strip('_')}"
    if not _exists(template, settings):
        template = "reminder"
    subject = render_line("subject_reminder", context, settings.templates_dir)
    await send_to_client(session, Purpose.REMINDER, client, settings, now, template=template,
                         key=f"remind:{event.token}:{days}:{event.at.isoformat()}", context=context,
                         event_id=event.id, subject=subject)


def _exists(template: str, settings: Settings) -> bool:
    from service.mailformat.render import default_templates_dir

    env = environment(settings.templates_dir or default_templates_dir())
    return f"{template}.txt.j2" in env.list_templates()


async def _client(session: AsyncSession, address: str, settings: Settings, now: datetime) -> Client:
    address = address.strip().lower()
    if "@" not in address:
        raise EventError(f"a client is an email address, got {address!r}")
    known = await accounts.all_accounts(session)
    account = routing.route(address, known) or await account_setup.default_account(session, settings)
    return await clients.client_for(session, address, "", account, now)


async def remove(session: AsyncSession, event_id: int) -> Event:
    event = await session.get(Event, event_id)
    if event is None:
        raise EventError(f"no event E-{event_id}")
    event.status = "cancelled"
    await jobs.cancel_jobs(session, f"{JobKind.REMIND}:{event.token}:")
    return event


async def tick(session: AsyncSession, event_id: int, numbers: list[int], now: datetime) -> Event:
    """Mark checklist items (numbered from 1) done; reminders then list only what is still open."""
    event = await session.get(Event, event_id)
    if event is None:
        raise EventError(f"no event E-{event_id}")
    items = [dict(c) for c in event.checklist]
    for n in numbers:
        if not 1 <= n <= len(items):
            raise EventError(f"{event.token} has {len(items)} checklist items; no item {n}")
        items[n - 1]["done"] = True
    event.checklist, event.updated_at = items, now  # a new list, so the JSON column sees the change
    return event


# -- files ---------------------------------------------------------------------------------

def parse_when(value: str | date | datetime, tz: ZoneInfo) -> datetime:
    """An ISO date-time (naive means the account's zone) or a date (09:00 local) as aware UTC."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=tz)).astimezone(ZoneInfo("UTC"))
    if isinstance(value, date):
        return datetime.combine(value, time(9, 0), tz).astimezone(ZoneInfo("UTC"))
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise EventError(f"not a date and time: {text!r} (e.g. 2026-11-27 10:00)") from exc
    if len(text) <= 10:
        return parse_when(parsed.date(), tz)
    return parse_when(parsed, tz)


def read_csv(data: str, tz: ZoneInfo) -> list[EventSpec]:
    """Columns uid, client, title, type, at, place, checklist (items separated by ';'), status."""
    out = []
    for n, row in enumerate(csv.DictReader(io.StringIO(data)), 2):
        try:
            out.append(EventSpec(
                uid=row["uid"].strip() or f"csv-{n}", client=row["client"], title=row["title"].strip(),
                type=(row.get("type") or "event").strip().lower(), at=parse_when(row["at"], tz),
                place=(row.get("place") or "").strip(),
                checklist=tuple(i.strip() for i in (row.get("checklist") or "").split(";") if i.strip()),
                cancelled=(row.get("status") or "").strip().lower() == "cancelled"))
        except KeyError as exc:
            raise EventError(f"line {n}: missing column {exc}") from exc
        except EventError as exc:
            raise EventError(f"line {n}: {exc}") from exc
    return out


_ITEM_RE = re.compile(r"^\s*(?:[-*\u2022]|\[ ?\]|\d+[.)])\s+(.+)$")


def read_ics(data: bytes, tz: ZoneInfo, default_client: str | None) -> list[EventSpec]:
    """VEVENTs: UID, SUMMARY, DTSTART, LOCATION, CATEGORIES (type), STATUS, ATTENDEE (the client),
    and DESCRIPTION lines starting with '-', '*' or '[ ]' as the checklist."""
    import icalendar

    try:
        calendar = icalendar.Calendar.from_ical(data)
    except ValueError as exc:
        raise EventError(f"not an iCalendar file: {exc}") from exc
    out = []
    for component in calendar.walk("VEVENT"):
        uid = str(component.get("UID") or "").strip()
        start = component.get("DTSTART")
        if not uid or start is None:
            raise EventError("every VEVENT needs a UID and a DTSTART")
        attendee = component.get("ATTENDEE")
        if isinstance(attendee, list):
            attendee = attendee[0] if attendee else None
        client = str(attendee).removeprefix("mailto:").removeprefix("MAILTO:") if attendee else default_client
        if not client:
            raise EventError(f"event {uid} names no client: add an ATTENDEE or pass --client")
        categories = component.get("CATEGORIES")
        kind = "event"
        if categories is not None:
            cats = categories[0] if isinstance(categories, list) else categories
            kind = str(cats.cats[0]).lower() if getattr(cats, "cats", None) else "event"
        description = str(component.get("DESCRIPTION") or "")
        items = tuple(m.group(1).strip() for line in description.splitlines() if (m := _ITEM_RE.match(line)))
        out.append(EventSpec(uid=uid, client=client, title=str(component.get("SUMMARY") or "Event").strip(),
                             type=kind, at=parse_when(start.dt, tz), place=str(component.get("LOCATION") or ""),
                             checklist=items, cancelled=str(component.get("STATUS") or "").upper() == "CANCELLED"))
    return out


def read_file(name: str, data: bytes, tz: ZoneInfo, default_client: str | None) -> list[EventSpec]:
    """Events from a file's bytes; its name's suffix says the format (.ics or .csv)."""
    suffix = Path(name).suffix.lower()
    if suffix in {".ics", ".ical", ".ifb"}:
        return read_ics(data, tz, default_client)
    if suffix == ".csv":
        return read_csv(data.decode("utf-8-sig", errors="replace"), tz)
    raise EventError(f"{name}: expected .ics or .csv")
