"""The top of `followup`: the parser and its global options, dispatch to a noun's command, exit codes.

Exit codes: what the command returned (0 when it did its work); 2 for a usage or settings mistake;
1 when followup refused or failed (no such concern, a plan that cannot be made...); 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from service.cli import (
    account_commands,
    client_commands,
    concern_commands,
    detector_commands,
    digest_commands,
    event_commands,
    worker_commands,
)
from service.errors import FollowupError, SettingsError

if TYPE_CHECKING:
    from service.cli.session import Subparsers

# the order `followup --help` lists the commands in, as it always has
COMMANDS: tuple[Callable[[Subparsers], None], ...] = (
    worker_commands.add_run,
    worker_commands.add_demo,
    detector_commands.add_classify,
    detector_commands.add_train,
    detector_commands.add_eval,
    concern_commands.add_concerns,
    concern_commands.add_quarantine,
    concern_commands.add_show,
    concern_commands.add_plan,
    concern_commands.add_done,
    concern_commands.add_resolve,
    digest_commands.add_digest,
    account_commands.add_accounts,
    client_commands.add_clients,
    event_commands.add_events,
    worker_commands.add_migrate,
    worker_commands.add_check,
)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: global options, then one subcommand per registered command."""
    parser = argparse.ArgumentParser(prog="followup", description="The `followup` command.")
    parser.add_argument("--config", type=Path, help="TOML settings file (or FOLLOWUP_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True)
    for register in COMMANDS:
        register(sub)
    return parser


def _refuse_incomplete(args: argparse.Namespace) -> None:
    # what argparse cannot say (an argument needed by one action only) is checked by the
    # command's own `check`, and refused like any usage mistake: a message and exit code 2
    check: Callable[[argparse.Namespace], str | None] | None = getattr(args, "check", None)
    problem = check(args) if check else None
    if problem:
        print(f"followup {args.command}: {problem}", file=sys.stderr)
        raise SystemExit(2)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv` (default: the process's arguments), run the command, return its exit code."""
    args = build_parser().parse_args(argv)
    _refuse_incomplete(args)
    try:
        return int(args.func(args))
    except SettingsError as exc:
        print(f"followup: {exc}", file=sys.stderr)
        return 2
    except FollowupError as exc:
        print(f"followup: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a file or a server the command needed: what and why, in one line
        print(f"followup {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
