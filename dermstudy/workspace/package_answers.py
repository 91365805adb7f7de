"""The reader package's answers file: its schema and every query on it.

The answers file is a small SQLite file of its own beside a reader package (the format is described
in :mod:`dermstudy.study.package`), not the workspace, but it is kept the workspace's way: its tables
are named migrations (:data:`ANSWERS_MIGRATIONS`, applied by :func:`~dermstudy.workspace.core.
apply_migrations` and recorded in its own ``_migrations`` table) and every write runs in
:func:`~dermstudy.workspace.core.transaction`. A file written before it had migrations has the same
tables (``CREATE TABLE IF NOT EXISTS``), so the first migration only records itself there.

It uses a rollback journal (not WAL) so the single ``.sqlite`` file always holds every committed
answer and can be carried back on its own; ``synchronous=FULL`` makes each commit durable. While
reading, the journal is kept (``PERSIST``: its header is zeroed after each commit instead of deleting
the file), which halves the commit time on ext4; :meth:`AnswersFile.close` switches back to ``DELETE``
so no ``-journal`` file stays beside the answers.

Answers are known by their fields (:class:`~dermstudy.workspace.votes.AnswerLike`); the study's
reading rules are applied when the answers are merged into the workspace, by the one vote writer.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from dermstudy.workspace.core import (
    NewerSchemaError,
    apply_migrations,
    now_iso,
    transaction,
)
from dermstudy.workspace.schema import Migration, run_script
from dermstudy.workspace.votes import AnswerLike

ANSWERS_FORMAT = "dermstudy-reader-answers"

_TABLES = """
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


def _answers_tables(conn: sqlite3.Connection) -> None:
    """The tables every answers file has had (``IF NOT EXISTS``: an older file has them already)."""
    run_script(conn, _TABLES)


# Append only, as in schema.MIGRATIONS. The name is what is recorded in the answers file.
ANSWERS_MIGRATIONS: list[Migration] = [("0001_answers_tables", _answers_tables)]


# Rows as stored; a file edited or written by another program may hold other types, which the
# merge checks field by field (so these are plain records, not validated objects).
class SessionRow(NamedTuple):
    reader: str
    started_at: str
    finished_at: str | None


class AnswerRow(NamedTuple):
    reader: str
    code: str
    sha256: str
    entity: str
    ai_scale: int | None
    ai_vote: str
    entity_confidence: int | None
    seconds: float | None
    answered_at: str


class HistoryRow(NamedTuple):
    at: str
    reader: str
    code: str
    old: str
    new: str


@dataclass(frozen=True)
class AnswersFileContents:
    """Everything an answers file holds, read back for merging."""

    meta: dict[str, str]
    sessions: list[SessionRow]
    answers: list[AnswerRow]
    history: list[HistoryRow]


_ANSWER_COLUMNS = (
    "reader, code, sha256, entity, ai_scale, ai_vote, entity_confidence, seconds, answered_at"
)


class AnswersFile:
    """An answers file open for reading sessions. Not shared between threads."""

    def __init__(self, path: Path, conn: sqlite3.Connection, meta: dict[str, str]) -> None:
        self.path = path
        self.conn = conn
        # The file's meta rows as found (or as just written into a new file).
        self.meta = meta

    @classmethod
    def open(cls, path: Path, meta: dict[str, str]) -> AnswersFile:
        """Open (creating and migrating if needed) the answers file at ``path``; a new file gets
        ``meta`` (plus ``format`` and ``created_at``). Raises ``sqlite3.DatabaseError`` for a file
        SQLite cannot use and :class:`NewerSchemaError` for one written by a newer dermstudy."""
        conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=PERSIST")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            apply_migrations(conn, ANSWERS_MIGRATIONS, path)
            with transaction(conn):
                stored = dict(conn.execute("SELECT key, value FROM meta"))
                if not stored:
                    stored = {"format": ANSWERS_FORMAT, **meta, "created_at": now_iso()}
                    conn.executemany(
                        "INSERT INTO meta (key, value) VALUES (?, ?)", list(stored.items())
                    )
        except BaseException:
            conn.close()
            raise
        return cls(path, conn, stored)

    def case_order(self, reader: str) -> list[str] | None:
        """``reader``'s case codes in reading order, or None before their session started."""
        row = self.conn.execute(
            "SELECT case_order FROM sessions WHERE reader = ?", (reader,)
        ).fetchone()
        return None if row is None else json.loads(row[0])

    def start_session(self, reader: str, order: list[str]) -> None:
        with transaction(self.conn):
            self.conn.execute(
                "INSERT INTO sessions (reader, case_order, started_at) VALUES (?, ?, ?)",
                (reader, json.dumps(order), now_iso()),
            )

    def answers(self, reader: str) -> list[AnswerRow]:
        rows = self.conn.execute(
            f"SELECT {_ANSWER_COLUMNS} FROM answers WHERE reader = ?", (reader,)
        ).fetchall()
        return [AnswerRow(*row) for row in rows]

    def save_answer(
        self, reader: str, code: str, sha256: str, answer: AnswerLike, previous: AnswerLike | None
    ) -> None:
        """Store ``reader``'s answer on case ``code``; a changed answer goes to ``history`` too."""
        with transaction(self.conn):
            self.conn.execute(
                f"INSERT OR REPLACE INTO answers ({_ANSWER_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    reader,
                    code,
                    sha256,
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
                        reader,
                        code,
                        json.dumps(previous.to_dict()),
                        json.dumps(answer.to_dict()),
                    ),
                )

    def record_problem(self, reader: str, code: str, message: str) -> None:
        with transaction(self.conn):
            self.conn.execute(
                "INSERT INTO problems (at, reader, code, message) VALUES (?, ?, ?, ?)",
                (now_iso(), reader, code, message),
            )

    def finished_at(self, reader: str) -> str | None:
        row = self.conn.execute(
            "SELECT finished_at FROM sessions WHERE reader = ?", (reader,)
        ).fetchone()
        return row[0] if row else None

    def mark_finished(self, reader: str) -> None:
        with transaction(self.conn):
            self.conn.execute(
                "UPDATE sessions SET finished_at = ? WHERE reader = ? AND finished_at IS NULL",
                (now_iso(), reader),
            )

    def close(self) -> None:
        # Leave only the answers file beside the package: DELETE mode removes the kept journal
        # (it is empty after the last commit; PERSIST only saves time while reading).
        with contextlib.suppress(sqlite3.Error):
            self.conn.execute("PRAGMA journal_mode=DELETE")
        self.conn.close()


def read_answers_file(path: Path) -> AnswersFileContents:
    """Everything in the answers file at ``path``, for merging. Raises ``sqlite3.DatabaseError``
    for a file SQLite cannot read and :class:`NewerSchemaError` for one written by a newer
    dermstudy; whether it is an answers file at all (``meta``) is the caller's check."""
    # Read-write on purpose: after a crash mid-commit SQLite must roll back the hot journal
    # beside the file before reading; nothing is written here otherwise.
    conn = sqlite3.connect(f"file:{urllib.parse.quote(str(path))}?mode=rw", uri=True)
    try:
        _refuse_newer(conn, path)
        meta = dict(conn.execute("SELECT key, value FROM meta"))
        sessions = conn.execute(
            "SELECT reader, started_at, finished_at FROM sessions ORDER BY reader"
        ).fetchall()
        history = conn.execute("SELECT at, reader, code, old, new FROM history ORDER BY id")
        history = history.fetchall()
        answers = conn.execute(
            f"SELECT {_ANSWER_COLUMNS} FROM answers ORDER BY reader, rowid"
        ).fetchall()
    finally:
        conn.close()
    return AnswersFileContents(
        meta,
        [SessionRow(*row) for row in sessions],
        [AnswerRow(*row) for row in answers],
        [HistoryRow(*row) for row in history],
    )


def _refuse_newer(conn: sqlite3.Connection, path: Path) -> None:
    """A file whose ``_migrations`` names one this dermstudy does not know was written by a newer
    one (a file from before the migrations has no ``_migrations`` table at all)."""
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'"
    ).fetchone()
    if not has_table:
        return
    known = {name for name, _ in ANSWERS_MIGRATIONS}
    for (name,) in conn.execute("SELECT name FROM _migrations ORDER BY rowid"):
        if name not in known:
            raise NewerSchemaError(
                f"{path} was written by a newer dermstudy "
                f"(unknown schema migration {name!r}); please update dermstudy to read it"
            )
