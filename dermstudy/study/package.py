"""Reader packages: export a study for an offline workstation, and merge its answers back.

The package (see :mod:`dermstudy.reading.package_store` for the layout) holds the blinded case images
named by case code, the reader-facing settings, the per-reader order key and the study's uid — no
entities, sources, image ids, file names, seed or provenance. Zip entries carry a fixed timestamp so
nothing about the study's history leaks through them either.

``import_results`` reads the answers file written beside the package, checks it belongs to this study
(uid) and that every answer names one of the study's cases with the same blinded image hash, then
merges each reader's answers (idempotent; conflicts reported, never overwritten).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dermstudy.files import atomic_path
from dermstudy.reading.answers import Answer, InvalidAnswerError, ReadingSettings
from dermstudy.reading.merge import IncomingAnswer, MergeResult, merge_answers
from dermstudy.reading.package_store import (
    ANSWERS_FORMAT,
    MANIFEST,
    PACKAGE_FORMAT,
    PACKAGE_VERSION,
    default_answers_path,
    is_package,
)
from dermstudy.study.builder import StudyError
from dermstudy.study.queries import find_study
from dermstudy.workspace import Workspace
from dermstudy.workspace.core import sha256_bytes, sha256_file
from dermstudy.workspace.studies import StudyRepository
from dermstudy.workspace.votes import VoteRuleError, check_reader_name

ORIGIN_PACKAGE = "package"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def export_package(ws: Workspace, study_name: str, out: Path) -> dict[str, Any]:
    """Write the reader package for ``study_name`` to ``out`` (atomically); returns a summary."""
    study = find_study(ws, study_name)
    rows = [(c.code, c.practice, c.blinded_sha256) for c in StudyRepository(ws).cases(study["id"])]
    settings = study["settings"]
    manifest = {
        "format": PACKAGE_FORMAT,
        "version": PACKAGE_VERSION,
        "study": study["name"],
        "study_uid": settings["uid"],
        "order_key": settings["order_key"],
        "reading": settings["reading"],
        "cases": [{"code": c, "practice": bool(p), "sha256": s} for c, p, s in rows],
    }
    out = Path(out).expanduser()
    with atomic_path(out) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
            _write_entry(archive, MANIFEST, json.dumps(manifest, indent=1).encode())
            for code, _practice, sha in sorted(rows):
                path = ws.path_of(ws.relative_blob_path(sha, ".png", "cases"))
                try:
                    data = path.read_bytes()
                except OSError as exc:
                    raise StudyError(
                        f"case image of {code} cannot be read ({exc.strerror})"
                    ) from None
                if sha256_bytes(data) != sha:  # never ship a damaged case to a workstation
                    raise StudyError(
                        f"case image of {code} is damaged ({path}: its content no longer matches "
                        "the hash recorded when the study was created); nothing written"
                    )
                _write_entry(archive, f"cases/{code}.png", data)
        os.chmod(tmp, 0o644)  # a package is meant to be copied and shared, whatever the umask
    digest = sha256_file(out)
    with ws.transaction():
        ws.audit("study.export-package", study["name"], {"file": str(out), "sha256": digest})
    return {"study": study["name"], "file": str(out), "cases": len(rows), "sha256": digest}


def _write_entry(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


@dataclass
class ImportResults:
    study: str
    file: str
    readers: list[MergeResult] = field(default_factory=list)

    @property
    def conflicts(self) -> int:
        return sum(len(r.conflicts) for r in self.readers)

    def to_dict(self) -> dict[str, Any]:
        return {
            "study": self.study,
            "file": self.file,
            "readers": [r.to_dict() for r in self.readers],
            "inserted": sum(len(r.inserted) for r in self.readers),
            "unchanged": sum(len(r.unchanged) for r in self.readers),
            "corrected": sum(len(r.corrected) for r in self.readers),
            "superseded": sum(len(r.superseded) for r in self.readers),
            "conflicts": self.conflicts,
        }

    def to_text(self) -> str:
        lines = [f"Results from {self.file} into study {self.study!r}:"]
        for r in self.readers:
            lines.append(
                f"  {r.reader}: {len(r.inserted)} new, {len(r.unchanged)} already present, "
                f"{len(r.corrected)} corrected by the reader, {len(r.conflicts)} conflict(s)"
                + (", session finished" if r.finished else "")
            )
            for c in r.conflicts:
                lines.append(
                    f"    conflict on case {c['case']}: workspace has {_brief(c['stored'])}, "
                    f"file has {_brief(c['incoming'])} (workspace answer kept)"
                )
        return "\n".join(lines)


def _brief(answer: dict[str, Any]) -> str:
    ai = f"scale {answer['ai_scale']}" if answer.get("ai_scale") else answer.get("ai_vote")
    return f"{answer['entity']}/{ai}"


def resolve_answers_file(path: Path) -> Path:
    """The answers file itself, or the one beside a package file."""
    path = Path(path).expanduser()
    if not path.exists():
        raise StudyError(f"{path}: no such file")
    if is_package(path):
        sidecar = default_answers_path(path)
        if not sidecar.exists():
            raise StudyError(f"{path}: no answers file beside it (expected {sidecar.name})")
        return sidecar
    return path


def import_results(ws: Workspace, study_name: str, file: Path) -> ImportResults:
    """Merge a package answers file into ``study_name``; see the module docstring."""
    study = find_study(ws, study_name)
    path = resolve_answers_file(file)
    meta, sessions, answers, history = _read_answers_file(path)
    if not meta.get("study_uid"):
        raise StudyError(f"{path}: not a dermstudy answers file (no study uid); nothing imported")
    if meta.get("study_uid") != study["settings"].get("uid"):
        raise StudyError(
            f"{path} holds answers for study {meta.get('study')!r} (a different study than "
            f"{study['name']!r}); nothing imported"
        )
    incoming = _verified(ws, study, path, answers, sessions, history)
    result = ImportResults(study["name"], str(path))
    # Readers with answers but no session row still get their answers merged, never dropped.
    known = {reader for reader, _s, _f in sessions}
    sessions = list(sessions) + [(r, None, None) for r in sorted(incoming) if r not in known]
    with ws.transaction():
        for reader, started_at, finished_at in sessions:
            merged = merge_answers(
                ws,
                study,
                reader,
                incoming.get(reader, []),
                ORIGIN_PACKAGE,
                started_at=started_at,
                finished_at=finished_at,
            )
            result.readers.append(merged)
            _audit_history(ws, reader, set(merged.inserted), history)
        ws.audit(
            "study.import-results",
            study["name"],
            {"file": str(path), "sha256": sha256_file(path), **result.to_dict()},
        )
    return result


def _audit_history(ws: Workspace, reader: str, inserted: set[str], history: list[tuple]) -> None:
    """Copy the package's answer-change history into the audit log, once (with the new votes)."""
    for at, who, code, old, new in history:
        if who == reader and code in inserted:
            ws.audit(
                "vote.change",
                code,
                {
                    "reader": reader,
                    "at": at,
                    "old": json.loads(old),
                    "new": json.loads(new),
                    "origin": ORIGIN_PACKAGE,
                },
                actor=reader,
            )


def _read_answers_file(path: Path) -> tuple[dict, list[tuple], list[tuple], list[tuple]]:
    try:
        # Read-write on purpose: after a crash mid-commit SQLite must roll back the hot journal
        # beside the file before reading; nothing is written here otherwise.
        conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True)
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta"))
            sessions = conn.execute(
                "SELECT reader, started_at, finished_at FROM sessions ORDER BY reader"
            ).fetchall()
            history = conn.execute(
                "SELECT at, reader, code, old, new FROM history ORDER BY id"
            ).fetchall()
            answers = conn.execute(
                "SELECT reader, code, sha256, entity, ai_scale, ai_vote, entity_confidence, "
                "seconds, answered_at FROM answers ORDER BY reader, rowid"
            ).fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise StudyError(f"{path}: not a dermstudy answers file ({exc})") from None
    if meta.get("format") != ANSWERS_FORMAT:
        raise StudyError(f"{path}: not a dermstudy answers file")
    return meta, sessions, answers, history


def _verified(
    ws: Workspace,
    study: dict,
    path: Path,
    answers: list[tuple],
    sessions: list[tuple] = (),
    history: list[tuple] = (),
) -> dict[str, list[IncomingAnswer]]:
    """Answers grouped by reader, after checking every reader name, case code, image hash and the
    study's reading rules (all or nothing)."""
    hashes = StudyRepository(ws).blinded_hashes(study["id"])
    rules = ReadingSettings.from_dict(study["settings"].get("reading", {}))
    problems: list[str] = _field_problems(sessions, answers, history)
    # key=repr: a reader that is not text (reported above) must not break the sorting
    for reader in sorted({row[0] for row in sessions} | {row[0] for row in answers}, key=repr):
        try:
            check_reader_name(reader)
        except VoteRuleError as exc:
            problems.append(str(exc))
    if history and not rules.allow_back:
        problems.append(
            f"{len(history)} changed answer(s) recorded, but this study does not let readers "
            "go back and change answers"
        )
    grouped: dict[str, list[IncomingAnswer]] = {}
    for reader, code, sha, entity, scale, vote, confidence, seconds, answered_at in answers:
        where = f"reader {reader!r}, case {code}"
        if code not in hashes:
            problems.append(f"{where}: not a case of this study")
            continue
        if sha != hashes[code]:
            problems.append(f"{where}: image hash differs from the study's case image")
            continue
        try:
            answer = Answer(entity, scale, vote, confidence, seconds)
            rules.check(answer)
        except (InvalidAnswerError, TypeError, ValueError) as exc:
            problems.append(f"{where}: {exc}")
            continue
        grouped.setdefault(reader, []).append(IncomingAnswer(code, answer, answered_at, where))
    if problems:
        _refuse(path, problems)
    return grouped


def _refuse(path: Path, problems: list[str]) -> None:
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    raise StudyError(f"{path}: nothing imported — " + "; ".join(problems[:5]) + more)


def _is_time(value: object) -> bool:
    """An ISO 8601 time as dermstudy writes it (text; a number or a blob is not one)."""
    if not isinstance(value, str):
        return False
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_change(value: object) -> bool:
    """A history row's old or new answer: a JSON object."""
    try:
        return isinstance(value, str) and isinstance(json.loads(value), dict)
    except ValueError:
        return False


def _field_problems(sessions: list[tuple], answers: list[tuple], history: list[tuple]) -> list[str]:
    """The type of every field the merge relies on: an answers file edited or written by another
    program gets one line per bad field, never a traceback half-way through the merge."""
    problems: list[str] = []
    for reader, started_at, finished_at in sessions:
        where = f"session of reader {reader!r}"
        if not isinstance(reader, str):
            problems.append(f"{where}: the reader name must be text")
        if not _is_time(started_at):
            problems.append(f"{where}: started_at {started_at!r} is not an ISO time")
        if finished_at is not None and not _is_time(finished_at):
            problems.append(f"{where}: finished_at {finished_at!r} is not an ISO time")
    for reader, code, sha, *_choice, answered_at in answers:
        where = f"answer of reader {reader!r}, case {code!r}"
        if not (isinstance(reader, str) and isinstance(code, str) and isinstance(sha, str)):
            problems.append(f"{where}: reader, case code and image hash must be text")
        if not _is_time(answered_at):
            problems.append(f"{where}: answered_at {answered_at!r} is not an ISO time")
    for number, (at, reader, code, old, new) in enumerate(history, start=1):
        where = f"history row {number}"
        if not (_is_time(at) and isinstance(reader, str) and isinstance(code, str)):
            problems.append(f"{where}: needs an ISO time, a reader name and a case code")
        if not (_is_change(old) and _is_change(new)):
            problems.append(f"{where}: old and new answers must be JSON objects")
    return problems


def package_summary(path: Path) -> dict[str, Any]:
    """What a package holds (for display): study name, settings and case counts; no truth in it."""
    from dermstudy.reading.package_store import read_manifest

    with zipfile.ZipFile(path) as archive:
        manifest = read_manifest(archive, path)
    return {
        "study": manifest["study"],
        "cases": sum(1 for c in manifest["cases"] if not c["practice"]),
        "practice_cases": sum(1 for c in manifest["cases"] if c["practice"]),
        "reading": manifest["reading"],
    }
