"""The SQL the classifier ablation needs: images by kind, the held-out split to use, study cases, and
writing a trained model's predictions into ``predictions`` (the table the Table 2 report reads).
"""

from __future__ import annotations

from dataclasses import dataclass

from dermstudy.workspace.core import Workspace, now_iso
from dermstudy.workspace.predictions import PredictionRepository


@dataclass(frozen=True)
class ClassifierImage:
    id: int
    sha256: str
    file: str
    entity: str
    kind: str  # real | synthetic
    lesion_id: str | None

    @property
    def group(self) -> str:
        """The unit a split must keep together: the lesion, else the image itself."""
        return f"lesion:{self.lesion_id}" if self.lesion_id else f"image:{self.id}"


@dataclass(frozen=True)
class StudyCase:
    case_id: int
    code: str
    image: ClassifierImage


_IMAGE_COLUMNS = "i.id, i.sha256, i.file, i.entity, i.kind, i.lesion_id"


class ClassifierStore:
    """Plain queries over one workspace connection."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def images(self, kind: str) -> list[ClassifierImage]:
        rows = self.ws.conn.execute(
            f"SELECT {_IMAGE_COLUMNS} FROM images i WHERE i.kind = ? ORDER BY i.id", (kind,)
        ).fetchall()
        return [ClassifierImage(*row) for row in rows]

    def default_split_name(self) -> str | None:
        """The split the latest GLIDE training run left out, else the newest split, else None."""
        row = self.ws.conn.execute(
            "SELECT s.name FROM training_runs r JOIN splits s ON s.id = r.split_id "
            "ORDER BY r.created_at DESC LIMIT 1"
        ).fetchone()
        if row is None:
            row = self.ws.conn.execute(
                "SELECT name FROM splits ORDER BY id DESC LIMIT 1"
            ).fetchone()
        return row[0] if row else None

    def study_cases(self, study_id: int) -> list[StudyCase]:
        """The study's scored (non-practice) cases with their images, in case order."""
        rows = self.ws.conn.execute(
            f"SELECT c.id, c.code, {_IMAGE_COLUMNS} FROM cases c JOIN images i ON i.id = c.image_id "
            "WHERE c.study_id = ? AND c.practice = 0 ORDER BY c.position",
            (study_id,),
        ).fetchall()
        return [StudyCase(r[0], r[1], ClassifierImage(*r[2:])) for r in rows]

    def replace_predictions(
        self,
        study: dict,
        model: str,
        rows: list[tuple[int, str, dict[str, float]]],
        source: str,
    ) -> None:
        """Store ``(case id, entity, probabilities)`` for ``model``, replacing its old ones."""
        PredictionRepository(self.ws).replace(
            study["id"],
            model,
            rows,
            source,
            now_iso(),
            (
                "predictions.classifier",
                f"study:{study['name']}",
                {"model": model, "cases": len(rows), "source": source},
            ),
        )
