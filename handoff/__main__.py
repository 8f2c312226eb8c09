"""Entry point for ``python -m handoff``."""

from handoff.cli import main

raise SystemExit(main())
