"""Turning a workspace study into tidy tables: answers (reader x case) and classifier predictions.

This module owns the only SQL the analysis runs. Everything downstream works on the DataFrames it
returns, so the pure report functions can be tested without a database.

Answer frame columns (one row per reader x scored case, practice cases excluded):
``reader, case, position, true_entity, true_source, pred_entity, pred_source, ai_scale, ai_vote,
confidence, seconds, answered_at, missing``. ``true_source``/``pred_source`` are ``real`` or
``synthetic``; a reader who has not answered a case gets a row with ``missing=True`` and empty
answer columns, so missing answers are counted rather than silently lost.
"""

from __future__ import annotations

import json
from dataclasses import astuple, dataclass, field, fields
from pathlib import Path
from typing import Any

import pandas as pd

from dermstudy.errors import DermstudyError
from dermstudy.workspace import Workspace
from dermstudy.workspace.studies import (
    StudyRepository,
    UnknownStudyError,
    find_study,
)
from dermstudy.workspace.studies import list_studies as list_studies  # the one list, re-exported
from dermstudy.workspace.study_tables import (
    KeyedCase,
    ReaderVote,
    StoredPrediction,
    StudyTableRepository,
)

ANSWER_COLUMNS = [
    "reader",
    "case",
    "position",
    "true_entity",
    "true_source",
    "pred_entity",
    "pred_source",
    "ai_scale",
    "ai_vote",
    "confidence",
    "seconds",
    "answered_at",
    "missing",
]

PREDICTION_COLUMNS = ["model", "case", "pred_entity", "probabilities"]


class AnalysisInputError(DermstudyError, ValueError):
    """The study, reader or prediction named by the user does not exist or cannot be analysed."""


@dataclass
class StudyData:
    """Everything the report needs about one study, read once from the workspace."""

    study: dict[str, Any]
    answers: pd.DataFrame
    cases: pd.DataFrame
    predictions: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=PREDICTION_COLUMNS)
    )
    # case code -> generation provenance of its image ({} for real images)
    provenance: dict[str, dict[str, Any]] = field(default_factory=dict)
    # the audit trail of the design: each reader's session and case order, the practice cases
    sessions: list[dict[str, Any]] = field(default_factory=list)
    practice_cases: list[str] = field(default_factory=list)
    # case code -> image file as the readers saw it (coordinator's gallery thumbnails only)
    case_images: dict[str, Path] = field(default_factory=dict)

    @property
    def readers(self) -> list[str]:
        return list(pd.unique(self.answers["reader"]))  # first-seen order


def study_readers(ws: Workspace, study_id: int) -> list[str]:
    """Names of the readers who have a session in the study, in session order."""
    return StudyRepository(ws).reader_names(study_id)


def _frame(records: list, record_type: type) -> pd.DataFrame:
    """A DataFrame of the store's records, one column per field (typed as SQLite rows would be)."""
    columns = [f.name for f in fields(record_type)]
    return pd.DataFrame.from_records(
        [astuple(r) for r in records], columns=columns, coerce_float=True
    )


def load_cases(ws: Workspace, study_id: int) -> pd.DataFrame:
    """The study's scored cases with their ground truth (the key), in study position order."""
    return _frame(StudyTableRepository(ws).scored_cases(study_id), KeyedCase)


def load_answers(ws: Workspace, study_id: int, readers: list[str] | None = None) -> pd.DataFrame:
    """One row per (reader with a session) x (scored case), answered or not."""
    known = study_readers(ws, study_id)
    if readers:
        unknown = [name for name in readers if name not in known]
        if unknown:
            listing = ", ".join(known) if known else "none"
            raise AnalysisInputError(
                f"reader {unknown[0]!r} has no session in this study (readers: {listing})"
            )
        chosen = [name for name in known if name in set(readers)]
    else:
        chosen = known
    cases = load_cases(ws, study_id)
    votes = _frame(StudyTableRepository(ws).votes(study_id), ReaderVote)
    grid = pd.MultiIndex.from_product(
        [chosen, cases["case_id"].tolist()], names=["reader", "case_id"]
    ).to_frame(index=False)
    frame = grid.merge(cases, on="case_id", how="left").merge(
        votes, on=["reader", "case_id"], how="left"
    )
    return tidy_answers(frame)


def tidy_answers(frame: pd.DataFrame) -> pd.DataFrame:
    """Normalise an answer frame: derived source columns, dtypes, the missing flag, column order.

    Accepts any frame with at least ``reader, case, true_entity, true_source, pred_entity,
    ai_vote``; used by the loader and by tests and benchmarks that build frames directly.
    """
    out = frame.copy()
    for column in ANSWER_COLUMNS:
        if column not in out.columns:
            out[column] = pd.NA
    out["missing"] = out["pred_entity"].isna() | out["ai_vote"].isna()
    out["pred_source"] = out["ai_vote"].map({"ai": "synthetic", "real": "real"})
    for column in ("ai_scale", "confidence", "position"):
        out[column] = pd.to_numeric(out[column], errors="coerce").astype("Int64")
    out["seconds"] = pd.to_numeric(out["seconds"], errors="coerce").astype("Float64")
    out["reader"] = out["reader"].astype(str)
    out["case"] = out["case"].astype(str)
    return out[ANSWER_COLUMNS].reset_index(drop=True)


def load_predictions(ws: Workspace, study_id: int) -> pd.DataFrame:
    """Classifier predictions stored for the study's scored cases (empty if none or no table)."""
    frame = _frame(StudyTableRepository(ws).predictions(study_id), StoredPrediction)
    frame["probabilities"] = [json.loads(p) if p else {} for p in frame["probabilities"]]
    return frame


def load_study(ws: Workspace, study: str | int, readers: list[str] | None = None) -> StudyData:
    """Read a study's design, key, answers and any classifier predictions."""
    try:
        info = find_study(ws, study)
    except UnknownStudyError as exc:
        raise AnalysisInputError(str(exc)) from None
    answers = load_answers(ws, info["id"], readers)
    cases = load_cases(ws, info["id"])
    if cases.empty:
        raise AnalysisInputError(f"study {info['name']!r} has no scored cases")
    if answers.empty:
        raise AnalysisInputError(f"study {info['name']!r} has no reader sessions yet")
    from dermstudy.study.blinding import BLINDED_SUFFIX
    from dermstudy.workspace.case_provenance import CaseProvenanceRepository
    from dermstudy.workspace.session_orders import SessionOrderRepository

    rows = CaseProvenanceRepository(ws.conn).for_study(info["id"])
    provenance = {p.case: p.provenance for p in rows}
    case_images = {}
    for p in rows:  # the blinded image the readers saw; the stored original if that is gone
        seen = ws.path_of(ws.relative_blob_path(p.blinded_sha256, BLINDED_SUFFIX, "cases"))
        if p.blinded_sha256 and seen.exists():
            case_images[p.case] = seen
        elif p.image_file:
            case_images[p.case] = ws.path_of(p.image_file)
    return StudyData(
        study=info,
        answers=answers,
        cases=cases,
        predictions=load_predictions(ws, info["id"]),
        provenance=provenance,
        case_images=case_images,
        sessions=[vars(s) for s in SessionOrderRepository(ws.conn).for_study(info["id"])],
        practice_cases=SessionOrderRepository(ws.conn).practice_codes(info["id"]),
    )
