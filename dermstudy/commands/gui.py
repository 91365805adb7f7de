"""``dermstudy gui``: open the main window on a workspace."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("gui", help="open the main window (the default command)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from dermstudy.commands._common import require_gui

    require_gui()
    from dermstudy.ui.app import run_main_window

    return run_main_window(args.workspace)
