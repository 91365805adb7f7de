"""Opening a workspace folder, applying migrations, storing files by hash, the audit log."""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlite_utils

from dermstudy.errors import DermstudyError

# The file helpers live in dermstudy.files; re-exported here for the modules that import them from
# the workspace.
from dermstudy.files import atomic_write_bytes as atomic_write_bytes
from dermstudy.files import sha256_bytes as sha256_bytes
from dermstudy.files import sha256_file as sha256_file
from dermstudy.paths import default_workspace
from dermstudy.workspace.schema import MIGRATIONS

DB_NAME = "dermstudy.db"


class WorkspaceError(DermstudyError):
    """A workspace cannot be opened or used; the message says which folder and why."""


class NewerSchemaError(WorkspaceError):
    """The database was written by a newer dermstudy than this one."""


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def resolve_workspace_path(path: str | os.PathLike | None = None) -> Path:
    """``--workspace`` if given, else ``DERMSTUDY_WORKSPACE``, else ``studies/default``."""
    return Path(path).expanduser() if path else default_workspace()


class Workspace:
    """An open workspace. Not shared between threads: open one per thread."""

    def __init__(self, root: Path, conn: sqlite3.Connection) -> None:
        self.root = root
        self.conn = conn
        self.db = sqlite_utils.Database(conn)

    # -- opening -------------------------------------------------------------------------------
    @classmethod
    def open(cls, root: str | os.PathLike | None = None, *, create: bool = True) -> Workspace:
        root_path = resolve_workspace_path(root).resolve()
        db_path = root_path / DB_NAME
        if not db_path.exists():
            if not create:
                raise WorkspaceError(f"{root_path} is not a dermstudy workspace (no {DB_NAME})")
            if root_path.exists() and not root_path.is_dir():
                raise WorkspaceError(f"{root_path} is a file, not a workspace folder")
            root_path.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(db_path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=FULL")
        except sqlite3.DatabaseError as exc:
            raise WorkspaceError(f"{db_path}: not a readable SQLite database ({exc})") from exc
        workspace = cls(root_path, conn)
        try:
            workspace._migrate()
        except BaseException:
            conn.close()
            raise
        return workspace

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        applied = [
            row[0] for row in self.conn.execute("SELECT name FROM _migrations ORDER BY rowid")
        ]
        known = [name for name, _ in MIGRATIONS]
        unknown = [name for name in applied if name not in known]
        if unknown:
            raise NewerSchemaError(
                f"{self.root / DB_NAME} was written by a newer dermstudy "
                f"(unknown schema migration {unknown[0]!r}); please update dermstudy to open it"
            )
        for name, migrate in MIGRATIONS:
            if name in applied:
                continue
            with self.transaction():
                migrate(self.conn)
                self.conn.execute(
                    "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", (name, now_iso())
                )

    @property
    def applied_migrations(self) -> list[str]:
        return [row[0] for row in self.conn.execute("SELECT name FROM _migrations ORDER BY rowid")]

    # -- transactions --------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One explicit transaction; commits on success, rolls back on any exception.

        Nested use joins the outer transaction (a savepoint keeps the inner part atomic).
        """
        if self.conn.in_transaction:
            name = f"sp{id(object())}"
            self.conn.execute(f"SAVEPOINT {name}")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute(f"ROLLBACK TO {name}")
                self.conn.execute(f"RELEASE {name}")
                raise
            self.conn.execute(f"RELEASE {name}")
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- content-addressed files ---------------------------------------------------------------
    @property
    def images_dir(self) -> Path:
        return self.root / "images"

    def relative_blob_path(self, sha256: str, suffix: str, folder: str = "images") -> str:
        return f"{folder}/{sha256[:2]}/{sha256}{suffix}"

    def store_blob(
        self, data: bytes, suffix: str, folder: str = "images", *, fsync: bool = True
    ) -> tuple[str, str]:
        """Store bytes under their SHA-256; returns (sha256, path relative to the workspace)."""
        digest = sha256_bytes(data)
        relative = self.relative_blob_path(digest, suffix, folder)
        target = self.root / relative
        if not target.exists():
            atomic_write_bytes(target, data, fsync=fsync)
        return digest, relative

    def path_of(self, relative: str) -> Path:
        return self.root / relative

    # -- audit log -----------------------------------------------------------------------------
    def audit(
        self,
        action: str,
        subject: str = "",
        details: dict[str, Any] | None = None,
        actor: str | None = None,
    ) -> None:
        """Append one line to the audit log (inside the caller's transaction if there is one),
        chained into the integrity record."""
        from dermstudy.workspace.integrity import AUDIT, append_link

        at = now_iso()
        with self.transaction():
            cursor = self.conn.execute(
                "INSERT INTO audit_log (at, actor, action, subject, details) VALUES (?, ?, ?, ?, ?)",
                (
                    at,
                    actor or _default_actor(),
                    action,
                    subject,
                    json.dumps(details or {}, sort_keys=True, default=str),
                ),
            )
            append_link(self.conn, AUDIT, int(cursor.lastrowid), at)


def _default_actor() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"
