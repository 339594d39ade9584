"""followup: acknowledge worried clients early, check in, and escalate until there is a plan.

The package is the architecture (docs/ARCHITECTURE.md tells it whole). From the bottom up:

- `mailformat`: the mail format, pure: bytes to a parsed message, a request to RFC 5322 bytes, templates.
- `detector`: text to a verdict (complaint, anxiety, none) with its evidence; `training` is for the CLI only.
- `core`: every decision, pure, `now` passed in: triage rules, check-in and escalation policy, business time.
- `store` and `adapters`: the database (SQLAlchemy), and the mail servers and folders (IMAP, SMTP, Maildir).
- `settings`: `FOLLOWUP_*` over a TOML file over defaults, checked at load.
- `flows`: one use case each: load what the core needs, let it decide, write what it decided.
- `runtime`: the worker (inbox, sender and scheduler runners), the prepare process, metrics and logs.
- `cli`: the `followup` command.

A package imports only from packages below it; `errors` and `clock` are importable from anywhere.
The rules are checked by import-linter (`[tool.importlinter]` in pyproject.toml).
"""

__version__ = "0.1.0"
