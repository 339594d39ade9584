"""`followup events add | list | remove | import`: the dates clients are anxious about."""

from __future__ import annotations

import argparse
import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from service.cli.session import in_transaction, load_cli_settings

if TYPE_CHECKING:
    from service.cli.session import Subparsers
    from service.store.db import AsyncSession


def _event_id(text: str) -> int:
    from service.flows.event_reminders import EventError

    raw = text.strip().upper().removeprefix("E-")
    if not raw.isdigit():
        raise EventError(f"not an event id: {text!r} (expected e.g. E-5)")
    return int(raw)


def cmd_events(args: argparse.Namespace) -> int:
    """Add, list, import, tick off or cancel the events clients worry about."""
    # the settings first: a bad one is named before the database layer is imported
    settings = load_cli_settings(args)
    from service.clock import SystemClock
    from service.core.owner_commands import parse_due
    from service.flows import event_reminders
    from service.store import events
    data = b""
    if args.action == "import":
        path = Path(args.target)
        if not path.is_file():
            raise event_reminders.EventError(f"no such file: {path}")
        data = path.read_bytes()

    async def work(session: AsyncSession) -> Any:
        now = SystemClock().now()
        if args.action == "list":
            return [{"id": e.token, "client": c.email, "title": e.title, "type": e.type, "at": e.at.isoformat(),
                     "place": e.place, "status": e.status, "uid": e.uid,
                     "open_items": [i["text"] for i in e.checklist if not i.get("done")]}
                    for e, c in await events.events_with_clients(session)]
        if args.action == "done":
            event = await event_reminders.tick(session, _event_id(args.target), args.item, now)
            left = [c["text"] for c in event.checklist if not c.get("done")]
            return f"{event.token}: {len(left)} item(s) still open" + (f": {'; '.join(left)}" if left else "")
        if args.action == "remove":
            event = await event_reminders.remove(session, _event_id(args.target))
            return f"{event.token} cancelled; its reminders will not be sent"
        if args.action == "import":
            tz = await _zone(session, args.client)
            lines = []
            for spec in event_reminders.read_file(args.target, data, tz, args.client):
                event, change = await event_reminders.save_event(session, spec, settings, now,
                                                  source=Path(args.target).suffix.lstrip("."))
                lines.append(f"{event.token} {change}: {event.title} ({event.at.astimezone(tz):%Y-%m-%d %H:%M %Z})")
            return "\n".join(lines) or "no events in the file"
        if not (args.title and args.at):
            raise event_reminders.EventError("events add needs CLIENT, --title and --at")
        tz = await _zone(session, args.target)
        try:
            when = event_reminders.parse_when(args.at, tz)
        except event_reminders.EventError:
            parsed = parse_due(args.at, now, tz)
            if parsed is None:
                raise
            when = parsed
        spec = event_reminders.EventSpec(uid=args.uid or f"cli-{uuid.uuid4()}", client=args.target, title=args.title,
                                type=(args.type or "event").lower(), at=when, place=args.place or "",
                                checklist=tuple(args.checklist or ()))
        event, change = await event_reminders.save_event(session, spec, settings, now, source="cli")
        return f"{event.token} {change}: {event.title} for {args.target} ({event.at.astimezone(tz):%Y-%m-%d %H:%M %Z})"

    out = in_transaction(settings, work)
    if isinstance(out, str):
        print(out)
    elif args.format == "json":
        print(json.dumps(out, indent=2, ensure_ascii=False))
    elif not out:
        print("no events")
    else:
        for e in out:
            todo = f"  open: {'; '.join(e['open_items'])}" if e["open_items"] else ""
            print(f"{e['id']:<6} {e['at'][:16]}  {e['status']:<9} {e['type']:<12} {e['client']:<28} {e['title']}{todo}")
    return 0


async def _zone(session: AsyncSession, client: str | None) -> ZoneInfo:
    from service.core import routing
    from service.store import accounts

    known = await accounts.all_accounts(session)
    account = routing.route(client or "", known) if client else None
    default = [a for a in known if a.name == routing.DEFAULT_ACCOUNT]
    return ZoneInfo((account or (default[0] if default else None) or _Utc()).timezone)


class _Utc:
    timezone = "UTC"


def add_events(sub: Subparsers) -> None:
    """Register `followup events`."""
    p = sub.add_parser("events", help="events clients worry about, and their reminders")
    p.add_argument("action", choices=("add", "list", "remove", "import", "done"))
    p.add_argument("target", nargs="?", help="add: the client's address; remove: an event id (E-5); import: a file")
    p.add_argument("--title")
    p.add_argument("--at", help="when: 2026-12-01 10:00 (the client's account zone), or plain words")
    p.add_argument("--type", help="move, go-live, audit, installation, ... (picks the reminder template)")
    p.add_argument("--place")
    p.add_argument("--checklist", nargs="+", action="extend", metavar="ITEM", help="details not to forget")
    p.add_argument("--uid", help="a stable id, so adding again updates instead of duplicating")
    p.add_argument("--client", help="import: the client of events that name none")
    p.add_argument("--item", type=int, action="append", help="done: a checklist item's number (from 1); repeat")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_events, check=check_events_args)


def check_events_args(args: argparse.Namespace) -> str | None:
    """What is missing from an `events` command line, said plainly; None when nothing is."""
    if args.action in {"add", "remove", "import", "done"} and not args.target:
        return {"add": "give the client's address", "remove": "give the event id",
                "import": "give the file", "done": "give the event id"}[args.action]
    if args.action == "done" and not args.item:
        return "say which checklist items are done: --item N"
    return None
