"""The `followup` command: one module per noun (concerns, plans, events, accounts, the detector...).

`app` holds the top parser, dispatch and exit codes; `session` what every command opens (the
settings, a session on the store); `worker_commands` (run, migrate, check, demo, with `demo` its
tour), `detector_commands` (classify, train, eval), `concern_commands` (concerns, show, plan, done,
resolve, quarantine), `digest_commands`, `account_commands` and `event_commands` each own their
commands' parsers and handlers. Heavy imports happen inside handlers, so `--help` stays fast.

Owns argument parsing and what a person reads on the terminal. May import every other room;
nothing imports it but `service.__main__`.
"""

from service.cli.app import main

__all__ = ["main"]
