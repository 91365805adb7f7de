"""The ``dermstudy`` command.

Each module in ``dermstudy.commands`` defines ``register(subparsers)`` and adds its subcommands;
a subcommand's handler takes the parsed arguments and returns an exit code. With no subcommand the
main window opens.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from dermstudy import __version__, commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dermstudy",
        description="Blinded reader studies with real and GLIDE-generated dermoscopic images.",
    )
    parser.add_argument("--version", action="version", version=f"dermstudy {__version__}")
    parser.add_argument(
        "--workspace",
        metavar="DIR",
        default=None,
        help="workspace folder (default: $DERMSTUDY_WORKSPACE, else studies/default)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        from dermstudy.commands.gui import run as run_gui

        args.handler = run_gui
    from dermstudy.errors import DermstudyError
    from dermstudy.workspace import StorageError

    try:
        return int(args.handler(args) or 0)
    except StorageError as exc:  # the disk or the system refused a write: not bad input
        print(f"dermstudy: error: {exc}", file=sys.stderr)
        return 1
    except DermstudyError as exc:
        # Every error meant for the user (each package's own class): one line, exit 2.
        print(f"dermstudy: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # Output piped into `head` and the like: stop quietly, as other command-line tools do.
        sys.stderr.close()
        return 0
    except OSError as exc:
        # Full disk, permissions, vanished files: one line naming the file, not a stack trace.
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"dermstudy: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("dermstudy: interrupted", file=sys.stderr)
        return 130
