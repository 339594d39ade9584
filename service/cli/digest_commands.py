"""`followup digest`: an owner's digest of escalations, previewed or sent now."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from service.cli.session import in_transaction, load_cli_settings

if TYPE_CHECKING:
    from service.cli.session import Subparsers
    from service.store.db import AsyncSession


def cmd_digest(args: argparse.Namespace) -> int:
    """Render the owner's next digest (`--preview`, optionally its HTML to a file) or queue it now."""
    # the settings first: a bad one is named before the database layer is imported
    settings = load_cli_settings(args)
    from service.clock import SystemClock
    from service.flows import escalations
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

    out = in_transaction(settings, work)
    if out is None:
        print(f"nothing to send to {owner}: no escalation is waiting for a digest")
        return 0
    if args.html and args.preview:
        Path(args.html).write_text(out[1], encoding="utf-8")
    print(out[0])
    return 0


def add_digest(sub: Subparsers) -> None:
    """Register `followup digest`."""
    p = sub.add_parser("digest", help="an owner's digest of escalations: preview or send now")
    p.add_argument("--owner", required=True, help="the owner's address")
    p.add_argument("--preview", action="store_true", help="render without writing or sending")
    p.add_argument("--html", metavar="FILE", help="with --preview: write the HTML version to FILE")
    p.set_defaults(func=cmd_digest)
