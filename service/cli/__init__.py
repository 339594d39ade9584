"""The `followup` command: one module per noun (concerns, plans, events, accounts, the detector...).

Owns argument parsing and what a person reads on the terminal. May import every other room;
nothing imports it but `service.__main__`.
"""

from service.cli.app import main

__all__ = ["main"]
