"""Reading studies back for coordinators: the list, one study's summary, and the answer key.

These functions reveal ground truth (the key) and are for coordinator views only; the reader window
never calls them.
"""

from __future__ import annotations

from typing import Any

from dermstudy.entities import CODES
from dermstudy.study.builder import StudyError, blinding_warnings
from dermstudy.workspace import Workspace
from dermstudy.workspace.studies import StudyRepository, find_study, list_studies

__all__ = [
    "answer_key",
    "delete_study",
    "find_study",
    "list_studies",
    "reader_progress",
    "study_summary",
]


def reader_progress(ws: Workspace, study_id: int) -> list[dict[str, Any]]:
    """Per reader: answered scored cases, answered practice cases, started/finished times."""
    return [
        {
            "reader": p.reader,
            "answered": p.answered,
            "practice_answered": p.practice_answered,
            "started_at": p.started_at,
            "finished_at": p.finished_at,
        }
        for p in StudyRepository(ws).reader_progress(study_id)
    ]


def study_summary(ws: Workspace, name: str) -> dict[str, Any]:
    """Design, settings, case counts per entity and source, and reader progress."""
    study = find_study(ws, name)
    counts = {code: {"real": 0, "synthetic": 0} for code in CODES}
    for entity, kind, n in StudyRepository(ws).scored_counts(study["id"]):
        counts[entity][kind] = n
    settings = study["settings"]
    return {
        "name": study["name"],
        "created_at": study["created_at"],
        "seed": study["seed"],
        "uid": settings.get("uid"),
        "reading": settings.get("reading", {}),
        "design": settings.get("design", {}),
        "blinding": settings.get("blinding", {}),
        "cases": sum(c["real"] + c["synthetic"] for c in counts.values()),
        "practice_cases": settings.get("design", {}).get("practice_cases", 0),
        "counts": {code: c for code, c in counts.items() if c["real"] or c["synthetic"]},
        "readers": reader_progress(ws, study["id"]),
        "warnings": blinding_warnings(settings),
    }


def answer_key(ws: Workspace, name: str) -> list[dict[str, Any]]:
    """One entry per case in base order: case code, entity, source (real|synthetic), provenance."""
    study = find_study(ws, name)
    return [
        {
            "case": row.code,
            "position": row.position,
            "practice": row.practice,
            "entity": row.entity,
            "source": row.kind,
            "image_id": row.image_id,
            "image_source": row.source,
            "source_id": row.source_id,
            "lesion_id": row.lesion_id,
            "image_sha256": row.image_sha256,
            "blinded_sha256": row.blinded_sha256,
            "provenance": row.provenance,
        }
        for row in StudyRepository(ws).key_rows(study["id"])
    ]


def delete_study(ws: Workspace, name: str) -> dict[str, Any]:
    """Remove a study that nobody has answered yet (a mistake in the design); returns what went.

    A study with any answer is kept: answers are research data and the audit trail needs their cases.
    Blinded case files stay in the content-addressed store; they are harmless and may be shared.
    """
    study = find_study(ws, name)
    repo = StudyRepository(ws)
    votes = repo.vote_count(study["id"])
    if votes:
        raise StudyError(f"study {name!r} has {votes} answer(s) and cannot be deleted")
    if repo.exported_since(name, study["created_at"]):
        # Answers from a package already handed out could never be merged into a new study.
        raise StudyError(
            f"study {name!r} has been exported as a reader package and cannot be deleted"
        )
    with ws.transaction():
        counts = repo.delete_rows(study["id"])
        ws.audit("study.delete", name, {"study_id": study["id"], "seed": study["seed"], **counts})
    return {"study": name, **counts}
