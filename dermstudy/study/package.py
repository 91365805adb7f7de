"""Reader packages: the one module that knows their format — exporting a study for an offline
workstation, reading from the package there, and merging its answers back.

A package (written by ``dermstudy study export-package``) is one zip file::

    manifest.json        format, version, study name and uid, reading settings, order key,
                         cases in base order as {code, sha256, practice}; no truth, no sources
    cases/<code>.png     the blinded case images, named only by their opaque case codes

No entities, sources, image ids, file names, seed or provenance go into it. Zip entries carry a fixed
timestamp so nothing about the study's history leaks through them either.

Answers go to an answers file beside the package (``<package>.answers.sqlite`` by default), one file
for all readers of that package on that machine: its schema (named migrations), journal mode and
queries are :mod:`dermstudy.workspace.package_answers`. The session lock lives in a per-user
temporary folder (:func:`session_lock_path`).

``import_results`` (``dermstudy study import-results``) reads the answers file, checks it belongs to
this study (uid) and that every answer names one of the study's cases with the same blinded image
hash, then merges each reader's answers (idempotent; conflicts reported, never overwritten) through
the one vote writer, which applies the study's reading rules.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
import tempfile
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dermstudy.files import atomic_path
from dermstudy.reading.answers import Answer, InvalidAnswerError, ReadingSettings
from dermstudy.reading.merge import IncomingAnswer, MergeResult, merge_answers
from dermstudy.reading.session import CaseRef, ReadingError, case_order_for
from dermstudy.study.builder import StudyError
from dermstudy.study.queries import find_study
from dermstudy.workspace import Workspace, WorkspaceError
from dermstudy.workspace.core import sha256_bytes, sha256_file
from dermstudy.workspace.package_answers import (
    ANSWERS_FORMAT,
    AnswerRow,
    AnswersFile,
    HistoryRow,
    SessionRow,
    read_answers_file,
)
from dermstudy.workspace.studies import StudyRepository
from dermstudy.workspace.votes import VoteRuleError, check_reader_name

PACKAGE_FORMAT = "dermstudy-reader-package"
PACKAGE_VERSION = 1
MANIFEST = "manifest.json"
__all__ = ["ANSWERS_FORMAT", "PackageStore", "export_package", "import_results", "is_package"]


def session_lock_path(answers: Path, reader: str) -> Path:
    """The lock file of ``reader``'s session on ``answers`` (a resolved path).

    Kept in a per-user folder under the system's temporary directory, not beside the package, so
    reading leaves nothing but the answers file next to the package.
    """
    user = getattr(os, "getuid", lambda: None)()
    folder = Path(tempfile.gettempdir()) / f"dermstudy-locks-{user if user is not None else 'u'}"
    key = hashlib.sha256(f"{answers}\0{reader}".encode()).hexdigest()[:32]
    return folder / f"{key}.lock"


def default_answers_path(package: Path) -> Path:
    return package.with_name(package.name + ".answers.sqlite")


def is_package(path: Path) -> bool:
    """True when ``path`` is a zip holding a dermstudy reader manifest."""
    if not zipfile.is_zipfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return MANIFEST in archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


# A manifest lists codes and hashes only: even 100,000 cases stay far below this.
MAX_MANIFEST_BYTES = 32 << 20


def png_size_cap(display_size: int) -> int:
    """The most bytes a case PNG of ``display_size`` may have (uncompressed RGB plus headers)."""
    return 3 * display_size * display_size + 8 * display_size + (64 << 10)


def read_capped(archive: zipfile.ZipFile, name: str, cap: int) -> bytes:
    """An entry's bytes, refusing anything above ``cap`` before and while inflating it.

    The header's size can lie, so the read itself is capped too: memory never exceeds ``cap``.
    """
    info = archive.getinfo(name)
    if info.file_size > cap:
        raise ValueError(f"{name} is {info.file_size} bytes, more than the {cap} expected")
    with archive.open(info) as handle:
        data = handle.read(cap + 1)
    if len(data) > cap:
        raise ValueError(f"{name} inflates to more than the {cap} bytes expected")
    return data


def read_manifest(archive: zipfile.ZipFile, path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(read_capped(archive, MANIFEST, MAX_MANIFEST_BYTES))
    except (KeyError, ValueError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ReadingError(f"{path}: unreadable package manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != PACKAGE_FORMAT:
        raise ReadingError(f"{path}: not a dermstudy reader package")
    try:
        version = int(manifest.get("version", 0))
        _check_manifest(manifest)
    except (TypeError, ValueError, KeyError) as exc:
        raise ReadingError(f"{path}: malformed package manifest ({exc})") from None
    if version > PACKAGE_VERSION:
        raise ReadingError(f"{path}: written by a newer dermstudy; please update to read it")
    return manifest


# The reading settings' JSON types (a hand-edited "no" must not count as true) and a display size
# no screen shows (a bigger one would also lift the cap on every case entry).
_READING_TYPES: dict[str, type] = {
    "answer_scale": str,
    "allow_back": bool,
    "entity_confidence": bool,
    "display_size": int,
    "practice": int,
    "order": str,
}
_KIND_WORDS = {str: "text", bool: "true or false", int: "a whole number"}
MAX_DISPLAY_SIZE = 4096


def _check_manifest(manifest: dict[str, Any]) -> None:
    """The fields the reader uses, with their types (a hand-edited manifest gives one line)."""
    for key in ("study", "study_uid"):
        if not isinstance(manifest.get(key), str):
            raise ValueError(f"{key!r} must be text")
    if not manifest["study"].strip():
        raise ValueError("'study' must not be empty")
    if not isinstance(manifest.get("order_key", ""), str):
        raise ValueError("'order_key' must be text")
    reading = manifest.get("reading", {})
    if not isinstance(reading, dict):
        raise ValueError("'reading' must be an object")
    for key, kind in _READING_TYPES.items():
        value = reading.get(key)
        if key in reading and (
            isinstance(value, bool) != (kind is bool) or not isinstance(value, kind)
        ):
            raise ValueError(f"'reading.{key}' must be {_KIND_WORDS[kind]}, not {value!r}")
    if not 16 <= reading.get("display_size", 256) <= MAX_DISPLAY_SIZE:
        raise ValueError(f"'reading.display_size' must be 16..{MAX_DISPLAY_SIZE}")
    ReadingSettings.from_dict(manifest.get("reading", {}))
    cases = manifest.get("cases")
    if not isinstance(cases, list) or not cases:
        raise ValueError("'cases' must be a non-empty list")
    for i, case in enumerate(cases):
        if not (
            isinstance(case, dict)
            and isinstance(case.get("code"), str)
            and isinstance(case.get("sha256"), str)
            and isinstance(case.get("practice"), bool)
        ):
            raise ValueError(
                f"case {i + 1} needs text 'code' and 'sha256' and a true/false 'practice'"
            )


class PackageStore:
    """A reader's session on a reader package, with answers in the sidecar SQLite file."""

    def __init__(
        self, package: Path, study: str | None, reader: str, answers_path: str | Path | None = None
    ) -> None:
        self.package = package.resolve()
        self._lock = threading.Lock()
        try:
            self._zip = zipfile.ZipFile(self.package)
        except (OSError, zipfile.BadZipFile) as exc:
            raise ReadingError(f"{package}: cannot open the package ({exc})") from None
        try:
            manifest = read_manifest(self._zip, package)
            if study and study != manifest["study"]:
                raise ReadingError(f"{package} holds study {manifest['study']!r}, not {study!r}")
            self._open(manifest, reader, answers_path)
        except BaseException:
            self._zip.close()
            raise

    def _open(self, manifest: dict, reader: str, answers_path: str | Path | None) -> None:
        self.study_name = manifest["study"]
        self.reader = reader
        self.settings = ReadingSettings.from_dict(manifest.get("reading", {}))
        base = [CaseRef(c["code"], bool(c["practice"]), c["sha256"]) for c in manifest["cases"]]
        names = set(self._zip.namelist())
        absent = [c.code for c in base if f"cases/{c.code}.png" not in names]
        if absent:
            raise ReadingError(
                f"{self.package}: {len(absent)} case image(s) missing, e.g. {absent[0]}"
            )
        # Resolved, so a symlink or another spelling of the same file cannot open a second session.
        self.answers_path = Path(answers_path or default_answers_path(self.package)).resolve()
        self.answers = _open_answers_file(self.answers_path, manifest, self.package)
        try:
            order = self.answers.case_order(reader)
            if order is None:
                base_order = case_order_for(
                    base, self.settings.order, manifest.get("order_key", ""), reader
                )
                order = [c.code for c in base_order]
                self.answers.start_session(reader, order)
            by_code = {c.code: c for c in base}
            if sorted(order) != sorted(by_code):
                raise ReadingError(
                    f"{self.answers_path}: {reader!r}'s case order does not match the package"
                )
        except BaseException:
            self.answers.close()
            raise
        self.cases = [by_code[code] for code in order]
        self.lock_path = session_lock_path(self.answers_path, reader)

    def read_image(self, case: CaseRef) -> bytes:
        cap = png_size_cap(self.settings.display_size)
        with self._lock:
            try:
                data = read_capped(self._zip, f"cases/{case.code}.png", cap)
            except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
                raise ReadingError(f"{self.package}: case image {case.code}: {exc}") from None
        if sha256_bytes(data) != case.sha256:
            raise ReadingError(f"{self.package}: case image {case.code} is damaged (hash mismatch)")
        return data

    def load_answers(self) -> dict[str, Answer]:
        return {
            row.code: Answer(
                row.entity, row.ai_scale, row.ai_vote, row.entity_confidence, row.seconds
            )
            for row in self.answers.answers(self.reader)
        }

    def save_answer(self, case: CaseRef, answer: Answer, previous: Answer | None) -> None:
        self.answers.save_answer(self.reader, case.code, case.sha256, answer, previous)

    def record_problem(self, case: CaseRef, message: str) -> None:
        self.answers.record_problem(self.reader, case.code, message)

    def finished_at(self) -> str | None:
        return self.answers.finished_at(self.reader)

    def mark_finished(self) -> None:
        self.answers.mark_finished(self.reader)

    def close(self) -> None:
        self.answers.close()
        self._zip.close()


def _open_answers_file(path: Path, manifest: dict[str, Any], package: Path) -> AnswersFile:
    """Open (creating if needed) the answers file for this package; refuses another study's file."""
    meta = {
        "version": str(PACKAGE_VERSION),
        "study": manifest["study"],
        "study_uid": manifest["study_uid"],
        "package": package.name,
    }
    try:
        answers = AnswersFile.open(path, meta)
    except (sqlite3.DatabaseError, WorkspaceError) as exc:
        raise ReadingError(
            f"{path}: cannot be used as an answers file ({exc}); "
            "choose another place with --answers FILE"
        ) from None
    if answers.meta.get("study_uid") != manifest["study_uid"]:
        answers.close()
        raise ReadingError(
            f"{path} holds answers for study {answers.meta.get('study')!r}, not for this "
            f"package's study {manifest['study']!r}; move it away or choose another answers file"
        )
    return answers


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


def _read_answers_file(
    path: Path,
) -> tuple[dict[str, str], list[SessionRow], list[AnswerRow], list[HistoryRow]]:
    try:
        contents = read_answers_file(path)
    except (sqlite3.DatabaseError, WorkspaceError) as exc:
        raise StudyError(f"{path}: not a dermstudy answers file ({exc})") from None
    if contents.meta.get("format") != ANSWERS_FORMAT:
        raise StudyError(f"{path}: not a dermstudy answers file")
    return contents.meta, contents.sessions, contents.answers, contents.history


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
    with zipfile.ZipFile(path) as archive:
        manifest = read_manifest(archive, path)
    return {
        "study": manifest["study"],
        "cases": sum(1 for c in manifest["cases"] if not c["practice"]),
        "practice_cases": sum(1 for c in manifest["cases"] if c["practice"]),
        "reading": manifest["reading"],
    }
