"""`python -m service` is the `followup` command."""

from service.cli import main

raise SystemExit(main())
