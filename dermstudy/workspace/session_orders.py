"""Read-only repository: each reader's session in a study with the case order they saw (practice
cases first), for the report's audit trail of a design."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class SessionOrder:
    reader: str
    started_at: str
    finished_at: str | None
    case_order: list[str]


class SessionOrderRepository:
    """Plain class over the workspace connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def for_study(self, study_id: int) -> list[SessionOrder]:
        rows = self.conn.execute(
            """
            SELECT r.name, se.started_at, se.finished_at, se.case_order
            FROM sessions se JOIN readers r ON r.id = se.reader_id
            WHERE se.study_id = ? ORDER BY se.id
            """,
            (study_id,),
        ).fetchall()
        out = []
        for name, started, finished, order in rows:
            try:
                codes = [str(c) for c in json.loads(order or "[]")]
            except (json.JSONDecodeError, TypeError):
                codes = []
            out.append(SessionOrder(name, started, finished, codes))
        return out

    def practice_codes(self, study_id: int) -> list[str]:
        rows = self.conn.execute(
            "SELECT code FROM cases WHERE study_id = ? AND practice = 1 ORDER BY position",
            (study_id,),
        ).fetchall()
        return [str(r[0]) for r in rows]
