"""`followup run | migrate | check | demo`: the worker, its database, its connections, and a tour of it."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from service.cli.session import load_cli_settings, store_errors

if TYPE_CHECKING:
    from service.adapters.oauth import TokenSource
    from service.cli.session import Subparsers
    from service.settings import Settings

log = logging.getLogger("followup.cli")
T = TypeVar("T")


# -- run ---------------------------------------------------------------------------------

def cmd_run(args: argparse.Namespace) -> int:
    """Run the worker until stopped, or drain inbox and outbox once (`--once`) and print the counts."""
    import asyncio

    # a stop asked for while the worker is still starting (imports, the model) is kept and
    # honoured once it runs: a service manager's SIGTERM always ends in a clean exit
    early: list[int] = []
    if not args.once:
        signal.signal(signal.SIGTERM, lambda signum, _frame: early.append(signum))
    from service.runtime.worker import Worker

    settings = load_cli_settings(args)

    async def main() -> int:
        worker = Worker(settings)
        if args.once:
            stats = await worker.run_once()
            print(json.dumps({"processed": stats.processed, "outcomes": stats.outcomes, "jobs": stats.jobs,
                              "sent": stats.sent, "send_failures": stats.send_failures}))
            return 0
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, worker.stop)
        if early:
            log.warning("stopping: asked to (signal %d) while starting", early[0])
            worker.stop()
        await worker.run_forever()
        return 0

    try:
        return asyncio.run(main())
    except OSError:
        raise  # a mail folder or server: said in one line by the command line, not taken for the database
    except Exception:
        with store_errors(settings.database_url):  # the database failed the worker's start: one line
            raise


def add_run(sub: Subparsers) -> None:
    """Register `followup run`."""
    p = sub.add_parser("run", help="run the worker")
    p.add_argument("--once", action="store_true", help="drain inbox and outbox, then exit")
    p.set_defaults(func=cmd_run)


# -- migrate -----------------------------------------------------------------------------

def cmd_migrate(args: argparse.Namespace) -> int:
    """Bring the database to the newest schema and print its revision."""
    import asyncio

    from service.store.db import current_revision, make_engine, migrate

    settings = load_cli_settings(args)

    async def main() -> int:
        engine = make_engine(settings.database_url)
        try:
            await migrate(engine)
            print(f"database at revision {await current_revision(engine)}")
        finally:
            await engine.dispose()
        return 0

    with store_errors(settings.database_url):
        return asyncio.run(main())


def add_migrate(sub: Subparsers) -> None:
    """Register `followup migrate`."""
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)


# -- check -------------------------------------------------------------------------------

async def _probe_database(settings: Settings) -> str:
    from service.errors import StoreError
    from service.store.db import current_revision, make_engine, sqlite_path

    path = sqlite_path(settings.database_url)
    if path is not None and not path.exists():
        if not os.access(path.parent, os.W_OK):
            raise StoreError(f"no database at {path}, and its folder cannot be written (FOLLOWUP_DATABASE_URL)")
        return f"{path} (not made yet: the worker or `followup migrate` makes it)"
    engine = make_engine(settings.database_url)
    try:
        revision = await _within(current_revision(engine), 15, "database")
    finally:
        await engine.dispose()
    where = f"{path}, " if path is not None else ""
    return f"{where}reachable, schema revision {revision or 'none (run followup migrate)'}"


async def _within(step: Awaitable[T], seconds: float, what: str) -> T:
    """`step`, or a TimeoutError that says what was waited for and how long (a silent server said nothing)."""
    import asyncio

    try:
        return await asyncio.wait_for(step, seconds)
    except TimeoutError:
        raise TimeoutError(f"{what}: no answer within {seconds:g} s") from None


async def _probe_inbox(settings: Settings, tokens: TokenSource | None) -> str:
    from service.runtime.wiring import make_inbox

    inbox = make_inbox(settings, tokens)
    try:
        await _within(inbox.open(None), 30, inbox.name)
        push = "IDLE" if inbox.supports_push else "polling"
        return f"{inbox.name} readable ({push})"
    finally:
        await inbox.close()


async def _probe_outbox(settings: Settings, tokens: TokenSource | None) -> str:
    from service.adapters.transport import SmtpTransport
    from service.runtime.wiring import make_transport

    transport = make_transport(settings, tokens)
    try:
        if isinstance(transport, SmtpTransport):
            smtp = await _within(transport._connection(), 30, transport.name)
            await smtp.noop()
            tls = smtp.transport is not None and smtp.transport.get_extra_info("ssl_object") is not None
            return f"{transport.name} accepts connections ({'TLS' if tls else 'no TLS, loopback'})"
        return f"{transport.name} (messages are written there, not sent)"
    finally:
        await transport.close()


async def _probe_templates(settings: Settings) -> str:
    """Every template of every language compiles; a warning line for each account language with none."""
    from service.mailformat.render import ENGLISH, default_templates_dir, environment, languages

    have = languages(settings.templates_dir)
    folder = settings.templates_dir or default_templates_dir()
    names = sorted({p.name for d in dict.fromkeys([folder, default_templates_dir()]) for p in d.glob("*.j2")})
    from jinja2 import TemplateSyntaxError

    for lang in sorted(have):
        env = environment(folder, lang)
        for name in names:
            try:
                env.get_template(name)
            except TemplateSyntaxError as exc:  # said with the file and line the operator must mend
                raise TemplateSyntaxError(f"{exc.message} ({exc.filename or name}, line {exc.lineno})",
                                          exc.lineno, exc.name, exc.filename) from None
    wanted = {(a.name, "language", a.language) for a in settings.accounts}
    wanted |= {(a.name, "owner_language", a.owner_language or a.language) for a in settings.accounts}
    wanted |= {("default", "language", settings.default_language),
               ("default", "owner_language", settings.default_owner_language or settings.default_language)}
    warnings = [f"account {name!r} {field} {lang!r} has no templates: written in {ENGLISH} instead"
                for name, field, lang in sorted(wanted) if lang not in have]
    return "\n".join([f"replies in {', '.join(sorted(have))}; {len(names)} templates compile in each", *warnings])


async def run_checks(settings: Settings) -> int:
    """Print one line per connection; return 0 when all work, 1 otherwise."""
    from service.cli import oauth_check
    from service.errors import FollowupError

    failures = 0
    async with AsyncExitStack() as exits:
        # one OAuth2 token for the inbox and the outbox, as in the worker; None without OAuth2 renewal
        tokens = await oauth_check.token_source(settings, exits)
        probes: list[tuple[str, Callable[[], Awaitable[str]]]] = [("database", lambda: _probe_database(settings))]
        if tokens is not None:
            probes.append(("oauth2", lambda: oauth_check.describe(tokens)))
        probes += [("inbox", lambda: _probe_inbox(settings, tokens)),
                   ("outbox", lambda: _probe_outbox(settings, tokens))]
        probes.append(("templates", lambda: _probe_templates(settings)))
        for name, probe in probes:
            try:
                detail = await probe()
                for warning in detail.split("\n")[1:]:
                    print(f"warn  {name}: {warning}")
                detail = detail.split("\n")[0]
                print(f"ok    {name}: {detail}")
            except (FollowupError, OSError, TimeoutError, Exception) as exc:  # noqa: BLE001 - reported, not raised
                failures += 1
                # str(exc) of our adapters never carries secrets: URLs are redacted there
                print(f"FAIL  {name}: {type(exc).__name__}: {exc}")
    return 1 if failures else 0


def cmd_check(args: argparse.Namespace) -> int:
    """Try every connection in the settings and say plainly what is wrong."""
    import asyncio

    return asyncio.run(run_checks(load_cli_settings(args)))


def add_check(sub: Subparsers) -> None:
    """Register `followup check`."""
    sub.add_parser("check", help="test the connections in the settings").set_defaults(func=cmd_check)


# -- demo --------------------------------------------------------------------------------

def cmd_demo(args: argparse.Namespace) -> int:
    """Walk the whole loop on a temporary Maildir and SQLite (see `service.cli.demo`)."""
    import asyncio

    from service.cli.demo import run_demo
    from service.runtime.logs import setup_logging

    setup_logging("text", "WARNING")
    return asyncio.run(run_demo(Path(args.dir) if args.dir else None))


def add_demo(sub: Subparsers) -> None:
    """Register `followup demo`."""
    p = sub.add_parser("demo", help="walk the whole loop on a temporary Maildir and SQLite")
    p.add_argument("--dir", help="where to put the demo (default: a new temporary folder)")
    p.set_defaults(func=cmd_demo)
