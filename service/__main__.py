"""`python -m service` is the `followup` command."""

from service.cli import main

if __name__ == "__main__":  # a prepare process (spawned) imports this module too
    raise SystemExit(main())
