"""Importing answers recorded outside the reader window (paper forms typed into a sheet, other tools).

File: CSV (UTF-8, optional BOM) or XLSX (first sheet), header ``case,entity,ai_or_real`` plus optional
``entity_confidence,seconds`` (any order, case-insensitive). ``entity`` is a code or a name;
``ai_or_real`` is ``ai``/``real`` (stored as a binary vote, no scale) or 1..5 on the five-point scale
(5 = definitely AI; the binary vote is derived as documented in :mod:`dermstudy.reading.answers`).

Every bad row is reported with its line number. Nothing is imported unless every row is valid, unless
``skip_invalid`` is set (then the valid rows are imported and the bad ones listed). A row whose case
already has a *different* answer from this reader is a bad row too: stored answers are never
overwritten; an identical answer is simply left as it is, so importing the same file twice is harmless.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dermstudy.entities import UnknownEntityError, parse_entity
from dermstudy.errors import DermstudyError
from dermstudy.reading.answers import Answer, InvalidAnswerError, ReadingSettings
from dermstudy.reading.merge import IncomingAnswer, merge_answers
from dermstudy.reading.workspace_store import answer_from_vote
from dermstudy.workspace import Workspace
from dermstudy.workspace.studies import StudyRepository
from dermstudy.workspace.votes import VoteRepository

REQUIRED = ("case", "entity", "ai_or_real")
OPTIONAL = ("entity_confidence", "seconds")
ORIGIN_FILE = "file-import"


class VotesFileError(DermstudyError, ValueError):
    """The file cannot be read at all (missing, wrong type, bad header)."""


@dataclass
class VotesImportResult:
    file: str
    reader: str
    rows: int = 0
    inserted: int = 0
    unchanged: int = 0
    imported: bool = False
    errors: list[tuple[int, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        errors = [{"line": line, "message": msg} for line, msg in self.errors]
        return {**asdict(self), "errors": errors}

    def error_lines(self) -> list[str]:
        return [f"{self.file}:{line}: {msg}" for line, msg in self.errors]


def read_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(line number, {column: text}) for each non-empty data row; header checked."""
    if not path.is_file():
        raise VotesFileError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        table = _csv_table(path)
    elif suffix in (".xlsx", ".xlsm"):
        table = _xlsx_table(path)
    else:
        raise VotesFileError(f"{path}: expected a .csv or .xlsx file")
    if not table:
        raise VotesFileError(f"{path}: the file is empty (expected a header row)")
    header_line, header = table[0]
    names = [h.strip().lower() for h in header]
    missing = [c for c in REQUIRED if c not in names]
    unknown = [h for h in names if h and h not in REQUIRED + OPTIONAL]
    problems = [
        f"{kind} column(s) {', '.join(columns)}"
        for kind, columns in (("missing", missing), ("unknown", unknown))
        if columns
    ]
    if problems:
        raise VotesFileError(
            f"{path}:{header_line}: header must be case,entity,ai_or_real"
            f"[,entity_confidence,seconds] — {'; '.join(problems)}"
        )
    rows = []
    for line, cells in table[1:]:
        if not any(c.strip() for c in cells):
            continue
        padded = list(cells) + [""] * (len(names) - len(cells))
        rows.append((line, {n: padded[i].strip() for i, n in enumerate(names) if n}))
    return rows


def _csv_table(path: Path) -> list[tuple[int, list[str]]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            return [(reader.line_num, row) for row in reader]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise VotesFileError(f"{path}: not a readable UTF-8 CSV file ({exc})") from None


def _xlsx_table(path: Path) -> list[tuple[int, list[str]]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken files
        raise VotesFileError(f"{path}: not a readable XLSX file ({exc})") from None
    try:
        sheet = book.worksheets[0]
        return [
            (i, [_cell_text(v) for v in row])
            for i, row in enumerate(sheet.iter_rows(values_only=True), start=1)
        ]
    finally:
        book.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parse_row(values: dict[str, str], cases: set[str]) -> tuple[str, Answer]:
    """(case code, Answer) from one row; ValueError with a short message when something is wrong."""
    code = values.get("case", "").upper()
    if not code:
        raise ValueError("case is empty")
    if code not in cases:
        raise ValueError(f"case {values['case']!r} is not a case of this study")
    try:
        entity = parse_entity(values.get("entity", ""))
    except UnknownEntityError as exc:
        raise ValueError(str(exc)) from None
    scale, vote = _ai_or_real(values.get("ai_or_real", ""))
    confidence = _optional_number(values.get("entity_confidence", ""), "entity_confidence", int)
    seconds = _optional_number(values.get("seconds", ""), "seconds", float)
    try:
        return code, Answer(entity, scale, vote, confidence, seconds)
    except InvalidAnswerError as exc:
        raise ValueError(str(exc)) from None


def _ai_or_real(text: str) -> tuple[int | None, str | None]:
    folded = text.strip().lower()
    if folded in ("ai", "real"):
        return None, folded
    if folded in ("1", "2", "3", "4", "5"):
        return int(folded), None
    raise ValueError(f"ai_or_real must be ai, real or 1-5 (5 = definitely AI), got {text!r}")


def _optional_number(text: str, column: str, kind: type) -> Any:
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"{column} must be a number, got {text!r}") from None
    if kind is int:
        if not number.is_integer():
            raise ValueError(f"{column} must be a whole number 1-5, got {text!r}")
        return int(number)
    return number


def import_votes(
    ws: Workspace, study: dict[str, Any], reader: str, path: Path, *, skip_invalid: bool = False
) -> VotesImportResult:
    """Validate every row, then import (all rows, or the valid ones with ``skip_invalid``)."""
    rows = read_rows(path)
    result = VotesImportResult(str(path), reader, rows=len(rows))
    cases = set(StudyRepository(ws).case_codes(study["id"]))
    stored = _stored_answers(ws, study["id"], reader)
    # The same rules as the reader window (answer scale, entity confidence): one 'ai' row in a
    # five-point study would otherwise switch every reader's rating AUC to the binary one.
    rules = ReadingSettings.from_dict(study["settings"].get("reading", {}))
    seen: dict[str, int] = {}
    valid: list[IncomingAnswer] = []
    for line, values in rows:
        try:
            code, answer = parse_row(values, cases)
            if code in seen:
                raise ValueError(f"case {code} appears again (first on line {seen[code]})")
            try:
                rules.check(answer)
            except InvalidAnswerError as exc:
                raise ValueError(f"case {code}: {exc}") from None
            if code in stored and not answer.same_choice(stored[code]):
                raise ValueError(
                    f"case {code} already has a different answer from {reader!r}; "
                    "stored answers are never overwritten"
                )
        except ValueError as exc:
            result.errors.append((line, str(exc)))
            continue
        seen[code] = line
        valid.append(IncomingAnswer(code, answer, None, f"line {line}"))
    if result.errors and not skip_invalid:
        return result
    with ws.transaction():
        merged = merge_answers(ws, study, reader, valid, ORIGIN_FILE)
        ws.audit(
            "votes.import",
            study["name"],
            {
                "file": str(path),
                "reader": reader,
                "inserted": len(merged.inserted),
                "unchanged": len(merged.unchanged),
                "skipped_lines": [e[0] for e in result.errors],
            },
        )
    result.inserted, result.unchanged = len(merged.inserted), len(merged.unchanged)
    result.imported = True
    return result


def _stored_answers(ws: Workspace, study_id: int, reader: str) -> dict[str, Answer]:
    votes = VoteRepository(ws).study_reader_votes(study_id, reader)
    return {code: answer_from_vote(vote) for code, vote in votes.items()}
