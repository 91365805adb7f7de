"""Helpers shared by the subcommand modules."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from dermstudy.errors import DermstudyError
from dermstudy.workspace import Workspace


class UserError(DermstudyError):
    """A problem the user can fix; the CLI prints it as one line, without a stack trace."""


def require_gui() -> None:
    """Before Qt is imported: stop with one line (exit 2) if the system lacks libraries Qt needs."""
    from dermstudy.ui.system_libs import require_gui_libraries

    require_gui_libraries()


def open_workspace(args: argparse.Namespace, *, create: bool = True) -> Workspace:
    """The workspace named by ``--workspace`` / ``DERMSTUDY_WORKSPACE`` / the default."""
    return Workspace.open(args.workspace, create=create)


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
