"""`followup concerns | show | plan | done | resolve | quarantine`: concerns and their plans by hand."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from service.cli.session import (
    address_arg,
    concern_id_arg,
    in_transaction,
    load_cli_settings,
    read_only,
    statuses_arg,
)
from service.errors import PlanError

if TYPE_CHECKING:
    from service.cli.session import Subparsers
    from service.store.db import AsyncSession
    from service.store.models import Quarantine


def _actor(args: argparse.Namespace) -> str:
    return str(args.by or f"cli:{getpass.getuser()}")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# -- concerns ------------------------------------------------------------------------------

def cmd_concerns(args: argparse.Namespace) -> int:
    """List concerns (those in `--status`, or all) as a table or JSON."""
    # the settings first: a bad one is named before the database layer is imported
    settings = load_cli_settings(args)
    from service.core.digest_view import shown
    from service.store import concerns

    async def work(session: AsyncSession) -> list[dict[str, Any]]:
        rows = await concerns.list_concerns(session, args.status)
        counts = await concerns.inbound_counts(session, [c.id for c, _ in rows])
        return [{
            "id": c.token, "client": cl.email, "kind": c.kind, "severity": c.severity,
            "status": c.status, "escalation_level": c.escalation_level, "subject": c.subject,
            "messages": counts.get(c.id, 0),  # the client's messages in it: a flood joins one concern
            "created_at": c.created_at.isoformat(), "respond_by": c.respond_by.isoformat(),
        } for c, cl in rows]

    items = read_only(settings, work)
    if args.format == "json":
        print(json.dumps(items, indent=2, ensure_ascii=False))
        return 0
    if not items:
        print("no concerns")
        return 0
    cols = ("id", "status", "kind", "severity", "escalation_level", "messages", "client", "subject")
    heads = ("ID", "STATUS", "KIND", "SEVERITY", "ESC", "MSGS", "CLIENT", "SUBJECT")
    widths = [max(len(h), *(len(shown(str(i[c]), 50)) for i in items)) for c, h in zip(cols, heads, strict=True)]
    print("  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)))
    for item in items:
        print("  ".join(shown(str(item[c]), 50).ljust(w) for c, w in zip(cols, widths, strict=True)))
    return 0


# -- quarantine ----------------------------------------------------------------------------

def cmd_quarantine(args: argparse.Namespace) -> int:
    """List the messages that could not be processed, or write one's raw bytes (`--show ID`)."""
    settings = load_cli_settings(args)
    from service.store import messages

    async def work(session: AsyncSession) -> list[Quarantine]:
        return await messages.list_quarantine(session)

    rows = read_only(settings, work)
    if args.show is not None:
        match = [r for r in rows if r.id == args.show]
        if not match:
            print(f"no quarantined message {args.show}", file=sys.stderr)
            return 1
        sys.stdout.buffer.write(match[0].raw)
        return 0
    items: list[dict[str, Any]] = [
        {"id": r.id, "message_id": r.message_id, "source": r.source, "reason": r.reason,
         "size": len(r.raw), "created_at": r.created_at.isoformat()} for r in rows]
    if args.format == "json":
        print(json.dumps(items, indent=2))
    elif not items:
        print("quarantine is empty")
    else:
        for i in items:
            print(f"{i['id']:>5}  {i['created_at'][:19]}  {i['size']:>8}B  {i['message_id'] or '-'}\n"
                  f"       {i['reason'][:200]}\n       from {i['source']}")
    return 0


# -- show -----------------------------------------------------------------------------

def cmd_show(args: argparse.Namespace) -> int:
    """Print a concern's whole history: messages, verdicts, plan, escalations, status changes."""
    settings = load_cli_settings(args)
    from service.core.digest_view import client_label, shown
    from service.store import accounts, concerns, messages, outbox

    async def work(session: AsyncSession) -> dict[str, Any]:
        concern = await concerns.concern_by_token(session, args.id)
        account, client = await accounts.account_of(session, concern)
        thread = await messages.messages_of_concern(session, concern.id)
        delivery = {o.message_id: o for o in await outbox.outbox_of_concern(session, concern.id)}
        events = await concerns.history_of(session, concern.id)
        escalations = await concerns.escalations_of(session, concern.id)
        items = await concerns.items_of(session, concern.id)
        return {
            "id": concern.token, "client": client.email, "client_name": client.name, "account": account.name,
            "client_lang": client.lang,
            "owner": account.owner_email, "kind": concern.kind, "severity": concern.severity,
            "status": concern.status, "escalation_level": concern.escalation_level, "subject": concern.subject,
            "created_at": _iso(concern.created_at), "respond_by": _iso(concern.respond_by),
            "evidence": concern.evidence,
            "messages": [{
                "direction": m.direction, "message_id": m.message_id, "from": m.from_addr, "to": m.to_addr,
                "at": _iso(m.created_at), "decision": m.decision, "reasons": m.reasons, "text": m.text,
                "verdict": m.verdict, "rules": m.rules,  # None: outbound, or stored before rules were recorded
                "delivery": (delivery[m.message_id].status if m.message_id in delivery else None),
            } for m in thread],
            "plan": [{"item": i.number, "text": i.text, "owner": i.owner, "due_at": _iso(i.due_at),
                      "done_at": _iso(i.done_at), "created_by": i.created_by} for i in items],
            "escalations": [{"level": e.level, "to": e.recipient, "reason": e.reason, "urgent": e.urgent,
                             "at": _iso(e.created_at), "mailed": e.digest_id is not None}
                            for e in escalations],
            "history": [{"at": _iso(e.at), "kind": e.kind, "from": e.from_status, "to": e.to_status,
                         "by": e.actor, "detail": e.detail} for e in events],
        }

    data = in_transaction(settings, work, stored=True)
    if args.format == "json":
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    print(f"{data['id']}  {data['kind']}, {data['severity']} severity, {data['status']}, "
          f"escalation level {data['escalation_level']}")
    lang = f"  writes in {data['client_lang']}" if data["client_lang"] else ""
    print(f"client   {client_label(data['client_name'], data['client'])}{lang}  account {data['account']} "
          f"(owner {data['owner']})")
    print(f"subject  {shown(data['subject'])}\nopened   {data['created_at']}  plan due by {data['respond_by']}")
    inbound = sum(1 for m in data["messages"] if m["direction"] == "in")
    print(f"\nmessages ({inbound} from the client):")
    for m in data["messages"]:
        arrow = "<-" if m["direction"] == "in" else "->"
        extra = f" [{m['delivery']}]" if m["delivery"] else ""
        print(f"  {m['at'][:19]} {arrow} {m['from'] if m['direction'] == 'in' else m['to']}  "
              f"{m['decision']}{extra}")
        if m["verdict"]:
            v = m["verdict"]
            lang = f"  language {v['lang']}" if v.get("lang") else ""
            print(f"      verdict {v.get('label')} {v.get('score')}  scores {v.get('scores')}{lang}")
            for line in v.get("evidence", []):
                print(f"      evidence: {shown(str(line), 1000)}")
        if m["rules"] is not None:
            print(f"      rules hit: {', '.join(m['rules']['hit']) or 'none'}")
            print(f"      rules missed: {', '.join(m['rules']['missed']) or 'none'}")
    print("\nplan:" + ("" if data["plan"] else " none yet"))
    for i in data["plan"]:
        state = f"done {i['done_at'][:16]}" if i["done_at"] else f"due {i['due_at'][:16]}"
        print(f"  #{i['item']} {shown(i['text'], 1000)}  ({i['owner']}, {state})")
    print("\nescalations:" + ("" if data["escalations"] else " none"))
    for e in data["escalations"]:
        print(f"  {e['at'][:19]} level {e['level']} to {e['to']}: {e['reason']}"
              f"{' (alert)' if e['urgent'] else ''}{'' if e['mailed'] else ' (waiting for the digest)'}")
    print("\nhistory:")
    for h in data["history"]:
        move = f" {h['from']} -> {h['to']}" if h["to"] else ""
        print(f"  {h['at'][:19]} {h['kind']}{move} by {h['by']}  {shown(h['detail'], 1000)}")
    return 0


# -- plan, done, resolve ---------------------------------------------------------------------

def cmd_plan(args: argparse.Namespace) -> int:
    """Add an action item to a concern, owned by someone, due at a time read in the account's zone."""
    settings = load_cli_settings(args)
    from service.clock import SystemClock
    from service.core.owner_commands import parse_due
    from service.store import accounts, concerns

    async def work(session: AsyncSession) -> str:
        now = SystemClock().now()
        concern = await concerns.concern_by_token(session, args.id)
        account, _ = await accounts.account_of(session, concern)
        due = parse_due(args.due, now, ZoneInfo(account.timezone))
        if due is None:
            raise PlanError(f"cannot read the date {args.due!r} (try 2026-11-25, 'Friday' or 'tomorrow 3pm')")
        owner = args.owner or account.owner_email
        if not owner:
            raise PlanError("say who owns this step: --owner someone@example.com")
        item = await concerns.add_item(session, concern, args.text, owner, due, _actor(args), now)
        return (f"{concern.token} #{item.number}: {item.text} (owner {item.owner}, due "
                f"{item.due_at.astimezone(ZoneInfo(account.timezone)):%Y-%m-%d %H:%M %Z})")

    print(in_transaction(settings, work, stored=True))
    return 0


def cmd_done(args: argparse.Namespace) -> int:
    """Mark an action item done (the only open one when no `--item` is given)."""
    settings = load_cli_settings(args)
    from service.clock import SystemClock
    from service.store import concerns

    async def work(session: AsyncSession) -> str:
        concern = await concerns.concern_by_token(session, args.id)
        item = await concerns.mark_done(session, concern, args.item, _actor(args), SystemClock().now())
        return f"{concern.token} #{item.number} done: {item.text}"

    print(in_transaction(settings, work, stored=True))
    return 0


def cmd_resolve(args: argparse.Namespace) -> int:
    """Resolve a concern, with an optional note for its history."""
    settings = load_cli_settings(args)
    from service.clock import SystemClock
    from service.store import concerns

    async def work(session: AsyncSession) -> str:
        concern = await concerns.concern_by_token(session, args.id)
        await concerns.resolve(session, concern, _actor(args), SystemClock().now(), args.note or "")
        return f"{concern.token} resolved"

    print(in_transaction(settings, work, stored=True))
    return 0



def add_concerns(sub: Subparsers) -> None:
    """Register `followup concerns`."""
    p = sub.add_parser("concerns", help="list concerns")
    p.add_argument("--status", type=statuses_arg,
                   help="comma-separated statuses: open, acknowledged, planned, resolved")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_concerns)


def add_quarantine(sub: Subparsers) -> None:
    """Register `followup quarantine`."""
    p = sub.add_parser("quarantine", help="list messages that could not be processed")
    p.add_argument("--show", type=int, metavar="ID", help="write that message's raw bytes to stdout")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_quarantine)


def add_show(sub: Subparsers) -> None:
    """Register `followup show`."""
    p = sub.add_parser("show", help="a concern's whole history")
    p.add_argument("id", type=concern_id_arg, help="a concern id as `followup concerns` prints it, e.g. C-12")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_show)


def add_plan(sub: Subparsers) -> None:
    """Register `followup plan`."""
    p = sub.add_parser("plan", help="add an action item to a concern")
    p.add_argument("id", type=concern_id_arg, help="a concern id, e.g. C-12")
    p.add_argument("text", help="what will be done")
    p.add_argument("--owner", type=address_arg, help="who does it, an address (default: the account owner)")
    p.add_argument("--due", required=True, help="when: 2026-11-25, 'Friday', 'tomorrow 3pm' (account's zone)")
    p.add_argument("--by", help="who records it (default: cli:<user>)")
    p.set_defaults(func=cmd_plan)


def add_done(sub: Subparsers) -> None:
    """Register `followup done`."""
    p = sub.add_parser("done", help="mark an action item done")
    p.add_argument("id", type=concern_id_arg, help="a concern id, e.g. C-12")
    p.add_argument("--item", type=int, help="item number as `followup show` prints it (default: the only open one)")
    p.add_argument("--by")
    p.set_defaults(func=cmd_done)


def add_resolve(sub: Subparsers) -> None:
    """Register `followup resolve`."""
    p = sub.add_parser("resolve", help="resolve a concern")
    p.add_argument("id", type=concern_id_arg, help="a concern id, e.g. C-12")
    p.add_argument("--note", help="what was done, for the history")
    p.add_argument("--by")
    p.set_defaults(func=cmd_resolve)
