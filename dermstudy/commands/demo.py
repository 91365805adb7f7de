"""``dermstudy demo``: create or reopen the demo workspace from the images in resources/demo."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from dermstudy.paths import DEMO_DIR, demo_workspace


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="create (or reopen) the demo workspace (studies/demo, or --workspace /"
        " $DERMSTUDY_WORKSPACE) and open the main window on it",
    )
    parser.add_argument("--no-gui", action="store_true", help="only build it and print the summary")
    parser.set_defaults(handler=run)


def prepare_demo(workspace: str | Path | None = None) -> tuple[Path, dict]:
    """Import the shipped demo images (idempotent); returns the folder and the dataset summary."""
    from dermstudy.datasets.ham10000 import import_ham10000
    from dermstudy.datasets.summary import dataset_summary
    from dermstudy.workspace import Workspace

    with Workspace.open(workspace or demo_workspace()) as ws:
        import_ham10000(ws, DEMO_DIR)
        return ws.root, dataset_summary(ws)


def run(args: argparse.Namespace) -> int:
    from dermstudy.commands._common import require_gui
    from dermstudy.datasets.summary import summary_text

    if not args.no_gui:
        require_gui()  # before building anything: a missing library is reported at once
    root, summary = prepare_demo(args.workspace or os.environ.get("DERMSTUDY_WORKSPACE") or None)
    print(f"demo workspace: {root}")
    print(summary_text(summary))
    if args.no_gui:
        return 0
    from dermstudy.ui.app import run_main_window

    return run_main_window(root)
