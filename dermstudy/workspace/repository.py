"""The base of the store's repositories: a plain class over one open workspace."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dermstudy.workspace.core import Workspace


class Repository:
    """Holds the workspace (for transactions and the audit log) and its connection."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.conn = ws.conn

    def column(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """The first column of every row ``sql`` returns, in its order."""
        return [row[0] for row in self.conn.execute(sql, params)]
