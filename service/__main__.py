"""`python -m service` and the `followup` command."""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    The command line is imported here, not at the top: a spawned prepare process runs the
    script that started its worker (the `followup` console script imports this module), and
    with the command line it would load SQLAlchemy and pydantic it never uses (40 MB).
    """
    from service.cli.app import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
