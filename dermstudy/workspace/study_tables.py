"""Read-only repository for the analysis: a study's scored cases with their truth, every vote with
its reader, and the classifier predictions, as flat records (``analysis.data`` makes the tidy
DataFrames from them).

These rows reveal ground truth: coordinator analysis only, never the reader window.
"""

from __future__ import annotations

from dataclasses import dataclass

from dermstudy.workspace.repository import Repository


@dataclass(frozen=True)
class KeyedCase:
    """A scored case with its ground truth (the image's entity and kind)."""

    case_id: int
    case: str
    position: int
    true_entity: str
    true_source: str  # real | synthetic
    image_source: str
    image_source_id: str | None


@dataclass(frozen=True)
class ReaderVote:
    reader: str
    case_id: int
    pred_entity: str
    ai_scale: int | None
    ai_vote: str | None
    confidence: int | None
    seconds: float | None
    answered_at: str


@dataclass(frozen=True)
class StoredPrediction:
    model: str
    case: str
    pred_entity: str
    probabilities: str | None  # JSON object of class probabilities; None: only the choice


class StudyTableRepository(Repository):
    def scored_cases(self, study_id: int) -> list[KeyedCase]:
        """The study's scored cases with their ground truth, in study position order."""
        rows = self.conn.execute(
            """
            SELECT c.id, c.code, c.position, i.entity, i.kind, i.source, i.source_id
            FROM cases c JOIN images i ON i.id = c.image_id
            WHERE c.study_id = ? AND c.practice = 0
            ORDER BY c.position
            """,
            (study_id,),
        ).fetchall()
        return [KeyedCase(*row) for row in rows]

    def votes(self, study_id: int) -> list[ReaderVote]:
        """Every stored vote in the study (practice cases included) with its reader's name."""
        rows = self.conn.execute(
            """
            SELECT r.name, v.case_id, v.entity, v.ai_scale, v.ai_vote, v.entity_confidence,
                   v.seconds, v.answered_at
            FROM votes v
            JOIN sessions se ON se.id = v.session_id
            JOIN readers r ON r.id = se.reader_id
            WHERE se.study_id = ?
            """,
            (study_id,),
        ).fetchall()
        return [ReaderVote(*row) for row in rows]

    def predictions(self, study_id: int) -> list[StoredPrediction]:
        """Predictions for the study's scored cases, by model then case position."""
        has_table = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'predictions'"
        ).fetchone()
        if not has_table:
            return []
        rows = self.conn.execute(
            """
            SELECT p.model, c.code, p.entity, p.probabilities
            FROM predictions p JOIN cases c ON c.id = p.case_id
            WHERE c.study_id = ? AND c.practice = 0
            ORDER BY p.model, c.position
            """,
            (study_id,),
        ).fetchall()
        return [StoredPrediction(*row) for row in rows]
