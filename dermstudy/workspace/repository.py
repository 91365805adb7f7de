"""The base of the store's repositories: a plain class over one open workspace."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dermstudy.workspace.core import Workspace


class Repository:
    """Holds the workspace (for transactions and the audit log) and its connection."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.conn = ws.conn
