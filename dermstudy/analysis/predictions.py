"""Importing a classifier's predictions for a study's cases (CSV or XLSX) into ``predictions``.

File layout: a header row with ``case`` (the study's case code) and either ``entity`` (the predicted
entity: code or name), or one probability column per entity (``mel`` ... ``vasc``, optionally
prefixed ``p_``), or both. Without ``entity`` the most probable entity is the prediction. The import
is all-or-nothing: the first bad row is reported by file and row number and nothing is written.
Importing the same model again replaces its predictions for that study.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from dermstudy.entities import CODES, UnknownEntityError, parse_entity
from dermstudy.errors import DermstudyError
from dermstudy.workspace import Workspace
from dermstudy.workspace.core import now_iso
from dermstudy.workspace.predictions import PredictionRepository
from dermstudy.workspace.studies import StudyRepository


class PredictionsFileError(DermstudyError, ValueError):
    """The predictions file cannot be read or has a bad row; the message names file and row."""


@dataclass
class ParsedPrediction:
    case: str
    entity: str
    probabilities: dict[str, float]


def read_table(path: Path) -> pd.DataFrame:
    """A CSV or XLSX file as strings, with lower-cased, stripped column names."""
    if not path.is_file():
        raise PredictionsFileError(f"{path}: no such file")
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            frame = pd.read_excel(path, dtype=str, engine="openpyxl")
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as exc:  # pandas raises many types for unreadable files
        raise PredictionsFileError(f"{path}: cannot read as a table ({exc})") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    return frame.fillna("")


def _probability_columns(columns: list[str]) -> dict[str, str]:
    """Entity code -> column name for the probability columns present."""
    found = {}
    for code in CODES:
        for name in (code, f"p_{code}", f"prob_{code}"):
            if name in columns:
                found[code] = name
                break
    return found


def parse_predictions(path: Path, frame: pd.DataFrame) -> list[ParsedPrediction]:
    """Validate every row; raises PredictionsFileError on the first bad one."""
    columns = list(frame.columns)
    if "case" not in columns:
        raise PredictionsFileError(f"{path}: no 'case' column (columns: {', '.join(columns)})")
    prob_cols = _probability_columns(columns)
    if "entity" not in columns and len(prob_cols) < len(CODES):
        raise PredictionsFileError(
            f"{path}: needs an 'entity' column or a probability column for each of "
            f"{', '.join(CODES)}"
        )
    if prob_cols and len(prob_cols) < len(CODES):
        missing = [c for c in CODES if c not in prob_cols]
        raise PredictionsFileError(f"{path}: probability columns missing for {', '.join(missing)}")
    parsed, seen = [], set()
    for offset, row in enumerate(frame.to_dict("records")):
        where = f"{path}: row {offset + 2}"  # +1 for the header, +1 for 1-based rows
        case = str(row["case"]).strip()
        if not case:
            raise PredictionsFileError(f"{where}: empty case code")
        if case in seen:
            raise PredictionsFileError(f"{where}: case {case!r} appears twice")
        seen.add(case)
        probs = {code: _probability(row[col], where, col) for code, col in prob_cols.items()}
        entity_text = str(row.get("entity", "")).strip()
        if entity_text:
            try:
                entity = parse_entity(entity_text)
            except UnknownEntityError as exc:
                raise PredictionsFileError(f"{where}: {exc}") from None
        elif probs:
            entity = max(CODES, key=lambda c: probs[c])
        else:
            raise PredictionsFileError(f"{where}: empty entity")
        parsed.append(ParsedPrediction(case, entity, probs))
    if not parsed:
        raise PredictionsFileError(f"{path}: no rows")
    return parsed


def _probability(text: Any, where: str, column: str) -> float:
    try:
        value = float(str(text).strip())
    except ValueError:
        raise PredictionsFileError(f"{where}: {column} = {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0 or value > 1:
        raise PredictionsFileError(f"{where}: {column} = {text!r} is not a probability in [0, 1]")
    return value


def import_predictions(ws: Workspace, study: dict[str, Any], model: str, path: Path) -> dict:
    """Store one model's predictions for a study's cases; returns a summary dict."""
    model = model.strip()
    if not model:
        raise PredictionsFileError("the model name is empty")
    rows = parse_predictions(path, read_table(path))
    case_ids = StudyRepository(ws).scored_case_ids(study["id"])
    for offset, pred in enumerate(rows):
        if pred.case not in case_ids:
            raise PredictionsFileError(
                f"{path}: row {offset + 2}: case {pred.case!r} is not a scored case of study "
                f"{study['name']!r}"
            )
    summary = {
        "study": study["name"],
        "model": model,
        "imported": len(rows),
        "study_cases": len(case_ids),
        "without_prediction": len(case_ids) - len(rows),
        "with_probabilities": bool(rows[0].probabilities),
        "file": str(path),
    }
    PredictionRepository(ws).replace(
        study["id"],
        model,
        [(case_ids[p.case], p.entity, p.probabilities) for p in rows],
        path.name,
        now_iso(),
        ("predictions.import", f"study:{study['name']}", summary),
    )
    return summary
