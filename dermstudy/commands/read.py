"""``dermstudy read STUDY|PACKAGE --reader NAME``: open the reader window on a study or a package."""

from __future__ import annotations

import argparse
from pathlib import Path

from dermstudy.commands._common import UserError, require_gui


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "read", help="read a study (or an exported reader package) in the reader window"
    )
    parser.add_argument("target", metavar="STUDY|PACKAGE", help="study name, or a package file")
    parser.add_argument("--reader", required=True, metavar="NAME", help="your reader name")
    parser.add_argument(
        "--answers",
        metavar="FILE",
        help="answers file for a package (default: <package>.answers.sqlite beside it)",
    )
    parser.set_defaults(handler=run)


def open_session(args: argparse.Namespace):
    """The ReadingSession the arguments name (a package file wins over a study of that name)."""
    from dermstudy.reading import open_reading

    target = Path(args.target).expanduser()
    if target.is_file():
        return open_reading(target, None, args.reader, answers=args.answers)
    if target.suffix.lower() == ".zip":
        raise UserError(f"{target}: no such package file")
    if args.answers:
        raise UserError("--answers is only for reading from a package file")
    from dermstudy.workspace import resolve_workspace_path

    return open_reading(resolve_workspace_path(args.workspace), args.target, args.reader)


def run(args: argparse.Namespace) -> int:
    require_gui()
    session = open_session(args)
    try:
        # Qt is imported only here (and under dermstudy/ui), so the rest of the CLI stays Qt-free.
        from dermstudy.ui.reader_window import run_reader_window

        return int(run_reader_window(session) or 0)
    finally:
        session.close()
