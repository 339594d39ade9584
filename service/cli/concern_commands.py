"""`followup show | plan | done | resolve | digest | accounts`: concerns, plans and owners by hand."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.clock import SystemClock
from service.core import routing
from service.core.owner_commands import parse_due
from service.errors import AccountError, PlanError
from service.flows import account_setup, escalations
from service.settings import AccountConfig, Settings, load_settings
from service.store import accounts, concerns
from service.store.models import Account, Client, ConcernEvent, EscalationRow, MessageRow, OutboxRow

T = TypeVar("T")


def _settings(args: argparse.Namespace) -> Settings:
    from service.runtime.logs import setup_logging

    settings = load_settings(args.config)
    setup_logging(settings.log_format, settings.log_level)
    return settings


def _in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one committed transaction on a migrated store with the configured accounts."""
    from service.store.db import make_engine, migrate, session_factory, transaction

    async def main() -> T:
        engine = make_engine(settings.database_url)
        try:
            await migrate(engine)
            async with transaction(session_factory(engine)) as session:
                await account_setup.sync_accounts(session, settings)
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def _actor(args: argparse.Namespace) -> str:
    return str(args.by or f"cli:{getpass.getuser()}")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# -- show -----------------------------------------------------------------------------

def cmd_show(args: argparse.Namespace) -> int:
    settings = _settings(args)

    async def work(session: AsyncSession) -> dict[str, Any]:
        concern = await concerns.concern_by_token(session, args.id)
        account, client = await accounts.account_of(session, concern)
        messages = (await session.scalars(select(MessageRow).where(MessageRow.concern_id == concern.id)
                                          .order_by(MessageRow.id))).all()
        outbox = {o.message_id: o for o in (await session.scalars(
            select(OutboxRow).where(OutboxRow.concern_id == concern.id))).all()}
        events = (await session.scalars(select(ConcernEvent).where(ConcernEvent.concern_id == concern.id)
                                        .order_by(ConcernEvent.id))).all()
        escalations = (await session.scalars(select(EscalationRow).where(
            EscalationRow.concern_id == concern.id).order_by(EscalationRow.id))).all()
        items = await concerns.items_of(session, concern.id)
        return {
            "id": concern.token, "client": client.email, "client_name": client.name, "account": account.name,
            "owner": account.owner_email, "kind": concern.kind, "severity": concern.severity,
            "status": concern.status, "escalation_level": concern.escalation_level, "subject": concern.subject,
            "created_at": _iso(concern.created_at), "respond_by": _iso(concern.respond_by),
            "evidence": concern.evidence,
            "messages": [{
                "direction": m.direction, "message_id": m.message_id, "from": m.from_addr, "to": m.to_addr,
                "at": _iso(m.created_at), "decision": m.decision, "reasons": m.reasons, "text": m.text,
                "verdict": m.verdict,
                "delivery": (outbox[m.message_id].status if m.message_id in outbox else None),
            } for m in messages],
            "plan": [{"item": i.number, "text": i.text, "owner": i.owner, "due_at": _iso(i.due_at),
                      "done_at": _iso(i.done_at), "created_by": i.created_by} for i in items],
            "escalations": [{"level": e.level, "to": e.recipient, "reason": e.reason, "urgent": e.urgent,
                             "at": _iso(e.created_at), "mailed": e.digest_id is not None}
                            for e in escalations],
            "history": [{"at": _iso(e.at), "kind": e.kind, "from": e.from_status, "to": e.to_status,
                         "by": e.actor, "detail": e.detail} for e in events],
        }

    data = _in_session(settings, work)
    if args.format == "json":
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    print(f"{data['id']}  {data['kind']}, {data['severity']} severity, {data['status']}, "
          f"escalation level {data['escalation_level']}")
    print(f"client   {data['client_name']} <{data['client']}>  account {data['account']} "
          f"(owner {data['owner']})")
    print(f"subject  {data['subject']}\nopened   {data['created_at']}  plan due by {data['respond_by']}")
    print("\nmessages:")
    for m in data["messages"]:
        arrow = "<-" if m["direction"] == "in" else "->"
        extra = f" [{m['delivery']}]" if m["delivery"] else ""
        print(f"  {m['at'][:19]} {arrow} {m['from'] if m['direction'] == 'in' else m['to']}  "
              f"{m['decision']}{extra}")
        if m["verdict"]:
            v = m["verdict"]
            print(f"      verdict {v.get('label')} {v.get('score')}  scores {v.get('scores')}")
            for line in v.get("evidence", []):
                print(f"      evidence: {line}")
    print("\nplan:" + ("" if data["plan"] else " none yet"))
    for i in data["plan"]:
        state = f"done {i['done_at'][:16]}" if i["done_at"] else f"due {i['due_at'][:16]}"
        print(f"  #{i['item']} {i['text']}  ({i['owner']}, {state})")
    print("\nescalations:" + ("" if data["escalations"] else " none"))
    for e in data["escalations"]:
        print(f"  {e['at'][:19]} level {e['level']} to {e['to']}: {e['reason']}"
              f"{' (alert)' if e['urgent'] else ''}{'' if e['mailed'] else ' (waiting for the digest)'}")
    print("\nhistory:")
    for h in data["history"]:
        move = f" {h['from']} -> {h['to']}" if h["to"] else ""
        print(f"  {h['at'][:19]} {h['kind']}{move} by {h['by']}  {h['detail']}")
    return 0


# -- plan, done, resolve ---------------------------------------------------------------------

def cmd_plan(args: argparse.Namespace) -> int:
    settings = _settings(args)

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

    print(_in_session(settings, work))
    return 0


def cmd_done(args: argparse.Namespace) -> int:
    settings = _settings(args)

    async def work(session: AsyncSession) -> str:
        concern = await concerns.concern_by_token(session, args.id)
        item = await concerns.mark_done(session, concern, args.item, _actor(args), SystemClock().now())
        return f"{concern.token} #{item.number} done: {item.text}"

    print(_in_session(settings, work))
    return 0


def cmd_resolve(args: argparse.Namespace) -> int:
    settings = _settings(args)

    async def work(session: AsyncSession) -> str:
        concern = await concerns.concern_by_token(session, args.id)
        await concerns.resolve(session, concern, _actor(args), SystemClock().now(), args.note or "")
        return f"{concern.token} resolved"

    print(_in_session(settings, work))
    return 0


# -- digest ------------------------------------------------------------------------------

def cmd_digest(args: argparse.Namespace) -> int:
    settings = _settings(args)
    owner = args.owner.strip().lower()

    async def work(session: AsyncSession) -> tuple[str, str] | None:
        now = SystemClock().now()
        if args.preview:
            built = await escalations.preview(session, owner, settings, now)
            if built is None:
                return None
            subject, rendered = built
            if args.html:
                return f"Subject: {subject}\n(HTML written to {args.html})", rendered.html
            return f"Subject: {subject}\n\n{rendered.text}", ""
        digest_id = await escalations.send_digest(session, owner, settings, now)
        return None if digest_id is None else (f"digest {digest_id} to {owner} is in the outbox", "")

    out = _in_session(settings, work)
    if out is None:
        print(f"nothing to send to {owner}: no escalation is waiting for a digest")
        return 0
    if args.html and args.preview:
        Path(args.html).write_text(out[1], encoding="utf-8")
    print(out[0])
    return 0


# -- accounts ------------------------------------------------------------------------------

def cmd_accounts(args: argparse.Namespace) -> int:
    settings = _settings(args)

    if args.action != "list" and not args.name:
        print("followup accounts: give the account's name", file=sys.stderr)
        return 2

    async def work(session: AsyncSession) -> Any:
        if args.action == "list":
            return [_account_dict(a) for a in await accounts.all_accounts(session)]
        found = await session.scalar(select(Account).where(Account.name == args.name))
        if args.action == "remove":
            if found is None:
                raise AccountError(f"no account {args.name!r}")
            if found.source == "config" or found.name == routing.DEFAULT_ACCOUNT:
                raise AccountError(f"{args.name!r} comes from the settings file: remove it there")
            if await session.scalar(select(Client.id).where(Client.account_id == found.id)):
                raise AccountError(f"{args.name!r} still has clients: their concerns keep it")
            await session.delete(found)
            return f"account {args.name!r} removed"
        if found is not None and found.source == "config":
            raise AccountError(f"{args.name!r} comes from the settings file: change it there")
        base = _account_dict(found) if found is not None else {}
        fields = {k: v for k, v in {
            "owner": args.owner, "owner_name": args.owner_name, "domains": args.domain, "addresses": args.address,
            "staff": args.staff, "second_level": args.second_level, "timezone": args.timezone,
            "business_hours": args.hours, "business_days": args.days.split(",") if args.days else None,
            "digest_time": args.digest_time}.items() if v is not None}
        merged = {k: v for k, v in {**base, **fields}.items() if k in AccountConfig.model_fields}
        try:
            config = AccountConfig(**{**merged, "name": args.name})
        except ValueError as exc:
            raise AccountError(f"account {args.name!r}: {exc}") from None
        await account_setup.save_account(session, config)
        return f"account {args.name!r} saved"

    out = _in_session(settings, work)
    if isinstance(out, str):
        print(out)
    elif args.format == "json":
        print(json.dumps(out, indent=2))
    else:
        for a in out:
            print(f"{a['name']:<20} owner {a['owner'] or '-':<30} {a['timezone']:<18} {a['business_hours']} "
                  f"domains {','.join(a['domains']) or '-'}  ({a['source']})")
    return 0


def _account_dict(a: Account) -> dict[str, Any]:
    return {"name": a.name, "owner": a.owner_email, "owner_name": a.owner_name or "", "domains": a.domains,
            "addresses": a.addresses, "staff": a.staff, "second_level": a.second_level,
            "timezone": a.timezone, "business_hours": a.business_hours,
            "business_days": a.business_days or ["mon", "tue", "wed", "thu", "fri"],
            "digest_time": a.digest_time, "source": a.source}


def add_parsers(sub: Any) -> None:
    """Register the commands on the main parser's subparsers."""
    p = sub.add_parser("show", help="a concern's whole history")
    p.add_argument("id", help="a concern id as `followup concerns` prints it, e.g. C-12")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("plan", help="add an action item to a concern")
    p.add_argument("id")
    p.add_argument("text", help="what will be done")
    p.add_argument("--owner", help="who does it (default: the account owner)")
    p.add_argument("--due", required=True, help="when: 2026-11-25, 'Friday', 'tomorrow 3pm' (account's zone)")
    p.add_argument("--by", help="who records it (default: cli:<user>)")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("done", help="mark an action item done")
    p.add_argument("id")
    p.add_argument("--item", type=int, help="item number as `followup show` prints it (default: the only open one)")
    p.add_argument("--by")
    p.set_defaults(func=cmd_done)

    p = sub.add_parser("resolve", help="resolve a concern")
    p.add_argument("id")
    p.add_argument("--note", help="what was done, for the history")
    p.add_argument("--by")
    p.set_defaults(func=cmd_resolve)

    p = sub.add_parser("digest", help="an owner's digest of escalations: preview or send now")
    p.add_argument("--owner", required=True, help="the owner's address")
    p.add_argument("--preview", action="store_true", help="render without writing or sending")
    p.add_argument("--html", metavar="FILE", help="with --preview: write the HTML version to FILE")
    p.set_defaults(func=cmd_digest)

    p = sub.add_parser("accounts", help="list, add or change, remove accounts")
    p.add_argument("action", choices=("list", "set", "remove"))
    p.add_argument("name", nargs="?", help="the account's name (set, remove)")
    p.add_argument("--owner")
    p.add_argument("--owner-name")
    p.add_argument("--domain", action="append", help="a client domain (repeat)")
    p.add_argument("--address", action="append", help="a client address (repeat)")
    p.add_argument("--staff", action="append", help="an address that may record plans (repeat)")
    p.add_argument("--second-level", help="who gets what the owner leaves unplanned")
    p.add_argument("--timezone", help="e.g. Europe/Lisbon")
    p.add_argument("--hours", help="business hours, e.g. 09:00-17:30")
    p.add_argument("--days", help="business days, e.g. mon,tue,wed,thu,fri")
    p.add_argument("--digest-time", help="local time of the daily digest, e.g. 08:30")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_accounts)

