"""`followup accounts list | set | remove`: the accounts kept in the database, beside those in the settings."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from service.cli.session import in_transaction, load_cli_settings

if TYPE_CHECKING:
    from service.cli.session import Subparsers
    from service.store.db import AsyncSession
    from service.store.models import Account


def cmd_accounts(args: argparse.Namespace) -> int:
    """List the accounts, or add, change or remove one kept in the database (not the settings file)."""
    settings = load_cli_settings(args)

    if args.action != "list" and not args.name:
        print("followup accounts: give the account's name", file=sys.stderr)
        return 2

    from service.core import routing
    from service.errors import AccountError
    from service.flows import account_setup
    from service.settings import AccountConfig
    from service.store import accounts

    async def work(session: AsyncSession) -> Any:
        if args.action == "list":
            return [_account_dict(a) for a in await accounts.all_accounts(session)]
        found = await accounts.by_name(session, args.name)
        if args.action == "remove":
            if found is None:
                raise AccountError(f"no account {args.name!r}")
            if found.source == "config" or found.name == routing.DEFAULT_ACCOUNT:
                raise AccountError(f"{args.name!r} comes from the settings file: remove it there")
            if await accounts.has_clients(session, found.id):
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
            "digest_time": args.digest_time, "language": args.language,
            "owner_language": args.owner_language}.items() if v is not None}
        merged = {k: v for k, v in {**base, **fields}.items() if k in AccountConfig.model_fields}
        try:
            config = AccountConfig(**{**merged, "name": args.name})
        except ValueError as exc:
            raise AccountError(f"account {args.name!r}: {exc}") from None
        await account_setup.save_account(session, config)
        return f"account {args.name!r} saved"

    out = in_transaction(settings, work)
    if isinstance(out, str):
        print(out)
    elif args.format == "json":
        print(json.dumps(out, indent=2))
    else:
        for a in out:
            print(f"{a['name']:<20} owner {a['owner'] or '-':<30} {a['timezone']:<18} {a['business_hours']} "
                  f"lang {a['language']}/{a['owner_language']}  "
                  f"domains {','.join(a['domains']) or '-'}  ({a['source']})")
    return 0


def _account_dict(a: Account) -> dict[str, Any]:
    return {"name": a.name, "owner": a.owner_email, "owner_name": a.owner_name or "", "domains": a.domains,
            "addresses": a.addresses, "staff": a.staff, "second_level": a.second_level,
            "timezone": a.timezone, "business_hours": a.business_hours,
            "business_days": a.business_days or ["mon", "tue", "wed", "thu", "fri"],
            "digest_time": a.digest_time, "language": a.language, "owner_language": a.owner_language,
            "source": a.source}


def add_accounts(sub: Subparsers) -> None:
    """Register `followup accounts`."""
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
    p.add_argument("--language", help="ISO 639-1 code clients are written in when theirs has no templates "
                                      "(default en)")
    p.add_argument("--owner-language", help="ISO 639-1 code the owner's digests are written in (default: --language)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_accounts)
