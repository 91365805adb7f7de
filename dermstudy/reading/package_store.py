"""Reading from a reader package on a workstation without the workspace.

A package (written by ``dermstudy study export-package``) is one zip file::

    manifest.json        format, version, study name and uid, reading settings, order key,
                         cases in base order as {code, sha256, practice}; no truth, no sources
    cases/<code>.png     the blinded case images, named only by their opaque case codes

Answers go to a sidecar SQLite file beside the package (``<package>.answers.sqlite`` by default),
one file for all readers of that package on that machine. It uses a rollback journal (not WAL) so the
single ``.sqlite`` file always holds every committed answer and can be carried back on its own;
``synchronous=FULL`` makes each commit durable. While reading, the journal is kept (``PERSIST``: its
header is zeroed after each commit instead of deleting the file), which halves the commit time on
ext4; closing the session switches back to ``DELETE`` so no ``-journal`` file stays beside the answers.
The session lock lives in a per-user temporary folder (:func:`session_lock_path`). ``dermstudy study import-results`` merges it back.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import tempfile
import threading
import zipfile
from pathlib import Path
from typing import Any

from dermstudy.reading.answers import Answer, ReadingSettings
from dermstudy.reading.session import CaseRef, ReadingError, case_order_for
from dermstudy.workspace import now_iso
from dermstudy.workspace.core import sha256_bytes

PACKAGE_FORMAT = "dermstudy-reader-package"
ANSWERS_FORMAT = "dermstudy-reader-answers"
PACKAGE_VERSION = 1
MANIFEST = "manifest.json"

_SIDECAR_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    reader TEXT PRIMARY KEY,
    case_order TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE TABLE IF NOT EXISTS answers (
    reader TEXT NOT NULL REFERENCES sessions (reader),
    code TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    entity TEXT NOT NULL,
    ai_scale INTEGER,
    ai_vote TEXT NOT NULL,
    entity_confidence INTEGER,
    seconds REAL,
    answered_at TEXT NOT NULL,
    PRIMARY KEY (reader, code)
);
CREATE TABLE IF NOT EXISTS problems (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    reader TEXT NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    reader TEXT NOT NULL,
    code TEXT NOT NULL,
    old TEXT NOT NULL,
    new TEXT NOT NULL
);
"""


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


def open_sidecar(path: Path, manifest: dict[str, Any], package: Path) -> sqlite3.Connection:
    """Open (creating if needed) the answers file for this package; refuses another study's file."""
    try:
        conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=PERSIST")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("BEGIN IMMEDIATE")
        for statement in _SIDECAR_SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        meta = dict(conn.execute("SELECT key, value FROM meta"))
        if not meta:
            conn.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [
                    ("format", ANSWERS_FORMAT),
                    ("version", str(PACKAGE_VERSION)),
                    ("study", manifest["study"]),
                    ("study_uid", manifest["study_uid"]),
                    ("package", package.name),
                    ("created_at", now_iso()),
                ],
            )
        conn.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        raise ReadingError(
            f"{path}: cannot be used as an answers file ({exc}); "
            "choose another place with --answers FILE"
        ) from None
    if meta and meta.get("study_uid") != manifest["study_uid"]:
        conn.close()
        raise ReadingError(
            f"{path} holds answers for study {meta.get('study')!r}, not for this package's "
            f"study {manifest['study']!r}; move it away or choose another answers file"
        )
    return conn


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
        self.conn = open_sidecar(self.answers_path, manifest, self.package)
        row = self.conn.execute(
            "SELECT case_order FROM sessions WHERE reader = ?", (reader,)
        ).fetchone()
        if row is None:
            order = [
                c.code
                for c in case_order_for(
                    base, self.settings.order, manifest.get("order_key", ""), reader
                )
            ]
            with self._transaction():
                self.conn.execute(
                    "INSERT INTO sessions (reader, case_order, started_at) VALUES (?, ?, ?)",
                    (reader, json.dumps(order), now_iso()),
                )
        else:
            order = json.loads(row[0])
        by_code = {c.code: c for c in base}
        if sorted(order) != sorted(by_code):
            raise ReadingError(
                f"{self.answers_path}: {reader!r}'s case order does not match the package"
            )
        self.cases = [by_code[code] for code in order]
        self.lock_path = session_lock_path(self.answers_path, reader)

    @contextlib.contextmanager
    def _transaction(self):
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

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
        rows = self.conn.execute(
            "SELECT code, entity, ai_scale, ai_vote, entity_confidence, seconds FROM answers "
            "WHERE reader = ?",
            (self.reader,),
        ).fetchall()
        return {code: Answer(*rest) for code, *rest in rows}

    def save_answer(self, case: CaseRef, answer: Answer, previous: Answer | None) -> None:
        with self._transaction():
            self.conn.execute(
                "INSERT OR REPLACE INTO answers (reader, code, sha256, entity, ai_scale, ai_vote, "
                "entity_confidence, seconds, answered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self.reader,
                    case.code,
                    case.sha256,
                    answer.entity,
                    answer.ai_scale,
                    answer.ai_vote,
                    answer.entity_confidence,
                    answer.seconds,
                    now_iso(),
                ),
            )
            if previous is not None:
                self.conn.execute(
                    "INSERT INTO history (at, reader, code, old, new) VALUES (?, ?, ?, ?, ?)",
                    (
                        now_iso(),
                        self.reader,
                        case.code,
                        json.dumps(previous.to_dict()),
                        json.dumps(answer.to_dict()),
                    ),
                )

    def record_problem(self, case: CaseRef, message: str) -> None:
        with self._transaction():
            self.conn.execute(
                "INSERT INTO problems (at, reader, code, message) VALUES (?, ?, ?, ?)",
                (now_iso(), self.reader, case.code, message),
            )

    def finished_at(self) -> str | None:
        row = self.conn.execute(
            "SELECT finished_at FROM sessions WHERE reader = ?", (self.reader,)
        ).fetchone()
        return row[0] if row else None

    def mark_finished(self) -> None:
        with self._transaction():
            self.conn.execute(
                "UPDATE sessions SET finished_at = ? WHERE reader = ? AND finished_at IS NULL",
                (now_iso(), self.reader),
            )

    def close(self) -> None:
        # Leave only the answers file beside the package: DELETE mode removes the kept journal
        # (it is empty after the last commit; PERSIST only saves time while reading).
        with contextlib.suppress(sqlite3.Error):
            self.conn.execute("PRAGMA journal_mode=DELETE")
        self.conn.close()
        self._zip.close()
