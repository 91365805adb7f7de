"""Allows ``python -m dermstudy``."""

from dermstudy.cli import main

raise SystemExit(main())
