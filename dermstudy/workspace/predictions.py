"""Repository for ``predictions``: one row per (case, model) with the predicted entity and, where
given, the class probabilities. Written by ``dermstudy predictions import`` and by the classifier;
read by the report (Table 2).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from dermstudy.workspace.repository import Repository


class PredictionRepository(Repository):
    def replace(
        self,
        study_id: int,
        model: str,
        rows: Sequence[tuple[int, str, dict[str, float]]],
        source_file: str,
        created_at: str,
        audit: tuple[str, str, dict[str, Any]],
    ) -> None:
        """Store ``(case id, entity, probabilities)`` for ``model`` in the study, replacing its
        old predictions there; ``audit`` (action, subject, details) is logged in the same
        transaction."""
        with self.ws.transaction():
            self.conn.execute(
                "DELETE FROM predictions WHERE model = ? AND case_id IN "
                "(SELECT id FROM cases WHERE study_id = ?)",
                (model, study_id),
            )
            self.conn.executemany(
                "INSERT INTO predictions (case_id, model, entity, probabilities, source_file, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (case_id, model, entity, json.dumps(p), source_file, created_at)
                    for case_id, entity, p in rows
                ],
            )
            self.ws.audit(*audit)
