"""Read-only repository: the generation provenance of a study's scored cases (``images.provenance``),
for grouping synthetic cases by a generation setting in the report."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CaseProvenance:
    case: str
    kind: str  # real | synthetic
    provenance: dict[str, Any]


class CaseProvenanceRepository:
    """Plain class over the workspace connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def for_study(self, study_id: int) -> list[CaseProvenance]:
        rows = self.conn.execute(
            """
            SELECT c.code, i.kind, i.provenance
            FROM cases c JOIN images i ON i.id = c.image_id
            WHERE c.study_id = ? AND c.practice = 0
            ORDER BY c.position
            """,
            (study_id,),
        ).fetchall()
        out = []
        for code, kind, raw in rows:
            try:
                prov = json.loads(raw) if raw else {}
            except json.JSONDecodeError:
                prov = {}
            out.append(CaseProvenance(str(code), kind, prov if isinstance(prov, dict) else {}))
        return out
