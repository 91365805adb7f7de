"""Helpers shared by the subcommand modules."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from dermstudy.errors import DermstudyError

if TYPE_CHECKING:
    from dermstudy.workspace import Workspace

T = TypeVar("T")


class UserError(DermstudyError):
    """A problem the user can fix; the CLI prints it as one line, without a stack trace."""


def require_gui() -> None:
    """Before Qt is imported: stop with one line (exit 2) if the system lacks libraries Qt needs."""
    from dermstudy.ui.system_libs import require_gui_libraries

    require_gui_libraries()


def open_workspace(args: argparse.Namespace, *, create: bool = True) -> Workspace:
    """The workspace named by ``--workspace`` / ``DERMSTUDY_WORKSPACE`` / the default."""
    from dermstudy.workspace import Workspace  # here, not at the top: the CLI must start fast

    return Workspace.open(args.workspace, create=create)


def add_json_option(parser: argparse.ArgumentParser, what: str = "the result") -> None:
    """``--json``: print ``what`` as JSON instead of text (every command says it the same way)."""
    parser.add_argument("--json", action="store_true", help=f"print {what} as JSON")


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def add_actions(
    subparsers: argparse._SubParsersAction, name: str, help_text: str, *, metavar: str = "ACTION"
) -> argparse._SubParsersAction:
    """A command with sub-actions (``dermstudy NAME ACTION …``); the chosen action is in
    ``args.<name>_command``."""
    parser = subparsers.add_parser(name, help=help_text)
    return parser.add_subparsers(dest=f"{name}_command", metavar=metavar, required=True)


def add_progress_option(parser: argparse.ArgumentParser) -> None:
    """``--progress text|json`` of a job the GUI runs as a child process."""
    parser.add_argument(
        "--progress",
        choices=("text", "json"),
        default="text",
        help="json: one JSON object per line on stdout (for the GUI)",
    )


def in_workspace(args: argparse.Namespace, job: Callable[..., T], *job_args: Any) -> T:
    """``job(ws, *job_args)`` on the command's workspace, which must exist."""
    with open_workspace(args, create=False) as ws:
        return job(ws, *job_args)


def print_result(
    args: argparse.Namespace, result: Any, text: Callable[[Any], str] | None = None
) -> int:
    """Print a command's result; exit code 0. With ``--json`` the result as JSON (its
    ``to_dict()`` where it has one), else ``text(result)`` (default: its ``to_text()``)."""
    if args.json:
        print_json(result.to_dict() if hasattr(result, "to_dict") else result)
    else:
        print(text(result) if text else result.to_text())
    return 0


def add_settings_command(
    subparsers: argparse._SubParsersAction,
    name: str,
    settings: Any,
    handler: Callable[[argparse.Namespace], int],
    **parser_options: Any,
) -> argparse.ArgumentParser:
    """A job command whose options are a settings object's (``settings.add_arguments``); the
    caller adds the options about output (``--json``, ``--progress``)."""
    parser = subparsers.add_parser(name, **parser_options)
    settings.add_arguments(parser)
    parser.set_defaults(handler=handler)
    return parser
