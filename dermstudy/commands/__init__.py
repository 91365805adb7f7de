"""Subcommand modules of the ``dermstudy`` CLI; each defines ``register(subparsers)``."""
