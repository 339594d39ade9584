"""`followup clients list | set-language`: the clients, and the language each is written to in."""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import TYPE_CHECKING, Any

from service.cli.session import address_arg, in_transaction, load_cli_settings

if TYPE_CHECKING:
    from service.cli.session import Subparsers
    from service.store.db import AsyncSession


def language_arg(value: str) -> str:
    """An ISO 639-1 code such as fr, or `auto` (the language of the client's mail again)."""
    value = value.strip().lower()
    if value != "auto" and not re.fullmatch(r"[a-z]{2}", value):
        raise argparse.ArgumentTypeError(f"a two-letter ISO 639-1 code such as fr or de, or auto; got {value!r}")
    return value


def cmd_clients(args: argparse.Namespace) -> int:
    """List the clients with their language, or set one client's language by hand."""
    settings = load_cli_settings(args)
    if args.action == "set-language" and (not args.address or not args.lang):
        print("followup clients set-language: give the client's address and a language (or auto)", file=sys.stderr)
        return 2
    from service.core.letters import reply_language
    from service.mailformat.render import languages
    from service.store import clients
    from service.store.models import Account

    have = languages(settings.templates_dir)

    async def work(session: AsyncSession) -> Any:
        if args.action == "list":
            out = []
            for c in await clients.all_clients(session):
                account = await session.get(Account, c.account_id)
                out.append({"client": c.email, "name": c.name, "lang": c.lang, "set_by_hand": c.lang_by_hand,
                            "replies_in": reply_language(c.lang, account.language if account else None, have)})
            return out
        lang = None if args.lang == "auto" else args.lang
        client = await clients.set_language(session, args.address, lang)
        return {"client": client.email, "lang": client.lang, "set_by_hand": client.lang_by_hand}

    result = in_transaction(settings, work, stored=True)
    if args.action == "set-language":
        if result["lang"] is None:
            print(f"{result['client']}: language from their mail again")
        else:
            note = "" if result["lang"] in have else " (no templates in it: replies use the account's language)"
            print(f"{result['client']}: written to in {result['lang']}, set by hand{note}")
        return 0
    if args.format == "json":
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 0
    for row in result:
        how = "set by hand" if row["set_by_hand"] else "from their mail"
        print(f"{row['client']:40} {row['lang'] or '-':4} {how if row['lang'] else '':16} "
              f"replies in {row['replies_in']}")
    if not result:
        print("no clients yet")
    return 0


def add_clients(sub: Subparsers) -> None:
    """Register `followup clients`."""
    p = sub.add_parser("clients", help="clients and the language each is written to in")
    p.add_argument("action", choices=("list", "set-language"))
    p.add_argument("address", nargs="?", type=address_arg, help="the client's address (set-language)")
    p.add_argument("lang", nargs="?", type=language_arg, help="ISO 639-1 code, e.g. fr; auto: from their mail")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_clients)
