"""Read-only repository: the generation provenance of a study's scored cases (``images.provenance``),
for grouping synthetic cases by a generation setting in the report, and where each case's image
lies (for the thumbnails of the coordinator's fooling-cases gallery)."""

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
    blinded_sha256: str = ""  # the case image the readers saw (``cases/`` blob)
    image_file: str = ""  # the stored original, relative to the workspace


class CaseProvenanceRepository:
    """Plain class over the workspace connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def for_study(self, study_id: int) -> list[CaseProvenance]:
        rows = self.conn.execute(
            """
            SELECT c.code, i.kind, i.provenance, c.blinded_sha256, i.file
            FROM cases c JOIN images i ON i.id = c.image_id
            WHERE c.study_id = ? AND c.practice = 0
            ORDER BY c.position
            """,
            (study_id,),
        ).fetchall()
        out = []
        for code, kind, raw, blinded, file in rows:
            try:
                prov = json.loads(raw) if raw else {}
            except json.JSONDecodeError:
                prov = {}
            out.append(
                CaseProvenance(
                    str(code),
                    kind,
                    prov if isinstance(prov, dict) else {},
                    blinded or "",
                    file or "",
                )
            )
        return out
