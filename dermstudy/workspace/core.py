"""Opening a workspace folder, applying migrations, storing files by hash, the audit log."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import getpass
import json
import os
import shutil
import sqlite3
import urllib.parse
from collections.abc import Iterator, Sequence
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
from dermstudy.workspace.pending_files import PendingFiles
from dermstudy.workspace.schema import MIGRATIONS, Migration

DB_NAME = "dermstudy.db"


class WorkspaceError(DermstudyError):
    """A workspace cannot be opened or used; the message says which folder and why."""


class NewerSchemaError(WorkspaceError):
    """The database was written by a newer dermstudy than this one."""


class ReadOnlyWorkspaceError(WorkspaceError):
    """A command tried to write to a workspace that was opened read-only; the message says why."""


class StorageError(WorkspaceError):
    """Writing to the workspace failed below SQLite (disk full, file size limit, I/O error); the
    message names the file and the operating system's reason where it can be found."""


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def resolve_workspace_path(path: str | os.PathLike | None = None) -> Path:
    """``--workspace`` if given, else ``DERMSTUDY_WORKSPACE``, else ``studies/default``."""
    return Path(path).expanduser() if path else default_workspace()


class Workspace:
    """An open workspace. Not shared between threads: open one per thread."""

    def __init__(
        self, root: Path, conn: sqlite3.Connection, read_only_reason: str | None = None
    ) -> None:
        self.root = root
        self.conn = conn
        self.db = sqlite_utils.Database(conn)
        # Why this workspace was opened read-only (None: it is writable).
        self.read_only_reason = read_only_reason
        self._pending: PendingFiles | None = None

    @property
    def read_only(self) -> bool:
        return self.read_only_reason is not None

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
        # A workspace nobody may write to (a read-only mount, chmod -R a-w, an archived copy) is
        # opened read-only, so the commands that only read still work; any write then says why.
        reason = _why_not_writable(root_path, db_path)
        conn = None
        if reason is None:
            try:
                conn = sqlite3.connect(db_path, timeout=30, isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA foreign_keys=ON")
                conn.execute("PRAGMA synchronous=FULL")
            except sqlite3.DatabaseError as exc:
                if conn is not None:
                    conn.close()
                if _is_storage_failure(exc):  # e.g. the -shm file cannot grow (ulimit -f)
                    raise StorageError(storage_failure_message(db_path, exc)) from exc
                if not _is_write_refusal(exc):
                    raise WorkspaceError(
                        f"{db_path}: not a readable SQLite database ({exc})"
                    ) from exc
                reason = f"SQLite cannot write there: {exc}"
        if reason is not None and not db_path.exists():
            raise ReadOnlyWorkspaceError(f"cannot create a workspace in {root_path}: {reason}")
        if reason is not None:
            conn = _connect_read_only(db_path, reason)
        workspace = cls(root_path, conn, reason)
        try:
            workspace._migrate()
            if not workspace.read_only:
                # Files a killed or failed run wrote without their rows are removed here.
                workspace._pending = PendingFiles(root_path)
                workspace._pending.open(conn)
        except BaseException:
            workspace.close()
            raise
        return workspace

    def close(self) -> None:
        if self._pending is not None:
            self._pending.close(self.conn)
            self._pending = None
        self.conn.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        apply_migrations(self.conn, MIGRATIONS, self.root / DB_NAME, self.read_only_reason)

    @property
    def applied_migrations(self) -> list[str]:
        return applied_migrations(self.conn)

    # -- transactions --------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One explicit transaction; commits on success, rolls back on any exception.

        Nested use joins the outer transaction (a savepoint keeps the inner part atomic).
        """
        self._refuse_if_read_only()
        with transaction(self.conn, self.root / DB_NAME) as conn:
            yield conn

    def _refuse_if_read_only(self) -> None:
        if self.read_only:
            raise ReadOnlyWorkspaceError(
                f"{self.root} is open read-only ({self.read_only_reason}), and this command "
                "writes to it; commands that only read (study list, show, audit and verify, "
                "dataset summary) work without write access — reports and answer-key views are "
                "written to the audit log, so they need it"
            )

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
        self._refuse_if_read_only()
        digest = sha256_bytes(data)
        relative = self.relative_blob_path(digest, suffix, folder)
        target = self.root / relative
        if not target.exists():
            if self._pending is not None:
                self._pending.record(relative)  # listed first, so a kill mid-write is found too
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


def applied_migrations(conn: sqlite3.Connection) -> list[str]:
    """The names recorded in ``_migrations``, in the order they were applied."""
    return [row[0] for row in conn.execute("SELECT name FROM _migrations ORDER BY rowid")]


def apply_migrations(
    conn: sqlite3.Connection,
    migrations: Sequence[Migration],
    db_path: Path,
    read_only_reason: str | None = None,
) -> None:
    """Apply the named ``migrations`` not yet recorded in ``_migrations``, each in its own
    transaction, in order; refuses a database written by a newer dermstudy (an unknown name).

    Used by the workspace (``schema.MIGRATIONS``) and by the reader package's answers file
    (:mod:`dermstudy.workspace.package_answers`).
    """
    if read_only_reason is None:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
    applied = applied_migrations(conn)
    known = [name for name, _ in migrations]
    unknown = [name for name in applied if name not in known]
    if unknown:
        raise NewerSchemaError(
            f"{db_path} was written by a newer dermstudy "
            f"(unknown schema migration {unknown[0]!r}); please update dermstudy to open it"
        )
    pending = [name for name in known if name not in applied]
    if pending and read_only_reason is not None:
        raise ReadOnlyWorkspaceError(
            f"{db_path} needs a schema upgrade ({pending[0]}) by this dermstudy "
            f"version, which needs write access, but {read_only_reason}"
        )
    for name, migrate in migrations:
        if name in applied:
            continue
        with transaction(conn, db_path):
            # Another process on the same file may have applied it since we looked.
            if conn.execute("SELECT 1 FROM _migrations WHERE name = ?", (name,)).fetchone():
                continue
            migrate(conn)
            conn.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", (name, now_iso())
            )


@contextlib.contextmanager
def transaction(
    conn: sqlite3.Connection, db_path: Path | None = None
) -> Iterator[sqlite3.Connection]:
    """One explicit transaction on ``conn`` (opened with ``isolation_level=None``); commits on
    success, rolls back on any exception.

    Nested use joins the outer transaction (a savepoint keeps the inner part atomic). With
    ``db_path``, a failure below SQLite (disk full, file size limit) becomes a
    :class:`StorageError` naming that file.
    """
    if conn.in_transaction:
        name = f"sp{id(object())}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield conn
        except BaseException:
            # SQLite may have rolled the whole transaction back already (disk full, I/O
            # error): then there is no savepoint left, and the caller must see the cause.
            with contextlib.suppress(sqlite3.Error):
                if conn.in_transaction:
                    conn.execute(f"ROLLBACK TO {name}")
                    conn.execute(f"RELEASE {name}")
            raise
        conn.execute(f"RELEASE {name}")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException as exc:
        # A failed ROLLBACK ("no transaction is active" after SQLite's own rollback) must not
        # replace the error that caused it.
        with contextlib.suppress(sqlite3.Error):
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        if db_path is not None and isinstance(exc, sqlite3.Error) and _is_storage_failure(exc):
            raise StorageError(storage_failure_message(db_path, exc)) from exc
        raise


def _why_not_writable(root: Path, db_path: Path) -> str | None:
    """Why nobody may write the workspace here, or None. (``os.access`` also sees a read-only file
    system for root; root ignores permission bits, and then SQLite can write anyway.)"""
    with contextlib.suppress(OSError, AttributeError):
        if os.statvfs(root).f_flag & os.ST_RDONLY:
            return f"{root} is on a read-only file system"
    if not os.access(root, os.W_OK):
        return f"no write access to the folder {root} (SQLite needs it for its -wal and -shm files)"
    if db_path.exists() and not os.access(db_path, os.W_OK):
        return f"no write access to {db_path}"
    return None


_WRITE_REFUSALS = ("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")


def _is_write_refusal(exc: sqlite3.Error) -> bool:
    name = getattr(exc, "sqlite_errorname", "") or ""
    return name.startswith(_WRITE_REFUSALS) or "readonly database" in str(exc)


def _connect_read_only(db_path: Path, reason: str) -> sqlite3.Connection:
    """A read-only connection; ``immutable=1`` when SQLite cannot make its WAL index (-shm) there.

    ``immutable`` ignores a -wal file, so it is used only when no -wal file with changes exists.
    """
    uri = f"file:{urllib.parse.quote(str(db_path))}?mode=ro"
    wal = db_path.with_name(db_path.name + "-wal")
    attempts = [uri]
    if not (wal.exists() and wal.stat().st_size > 0):
        attempts.append(uri + "&immutable=1")
    last: sqlite3.Error | None = None
    for attempt in attempts:
        conn = None
        try:
            conn = sqlite3.connect(attempt, uri=True, timeout=30, isolation_level=None)
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            conn.execute("PRAGMA foreign_keys=ON")
            return conn
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                conn.close()
            last = exc
    if len(attempts) == 1:
        raise WorkspaceError(
            f"{db_path} cannot be opened: {reason}, and its write-ahead log {wal.name} holds "
            "changes that SQLite can read only with write access to the folder; open the "
            "workspace once where it is writable (any dermstudy command merges the log), or "
            "copy the folder somewhere writable"
        )
    raise WorkspaceError(f"{db_path}: not a readable SQLite database ({last}); {reason}")


_STORAGE_FAILURES = ("SQLITE_IOERR", "SQLITE_FULL")


def _is_storage_failure(exc: sqlite3.Error) -> bool:
    name = getattr(exc, "sqlite_errorname", "") or ""
    return name.startswith(_STORAGE_FAILURES)


def storage_failure_message(db_path: Path, exc: sqlite3.Error) -> str:
    """SQLite says only "disk I/O error" or "database or disk is full"; find the operating
    system's reason (the process's file size limit, a full disk) and name the file."""
    code = getattr(exc, "sqlite_errorname", "") or type(exc).__name__
    files = [db_path, *(db_path.with_name(db_path.name + s) for s in ("-wal", "-journal", "-shm"))]
    sizes = {f: f.stat().st_size for f in files if f.exists()}
    causes: list[str] = []
    limit = _file_size_limit()
    # Only when a file has reached the limit (give or take the pages of one write) is it the cause.
    if limit is not None and max(sizes.values(), default=0) + (1 << 16) >= limit:
        # In WAL mode a commit appends to the -wal file; name it when it is there.
        written = next((f for f in files[1:] if sizes.get(f)), db_path)
        listed = ", ".join(f"{f.name} {n:,}" for f, n in sizes.items())
        causes.append(
            f"{written}: {os.strerror(errno.EFBIG)} (EFBIG): this process may write files of at "
            f"most {limit:,} bytes (ulimit -f); the workspace's files have {listed} bytes"
        )
    with contextlib.suppress(OSError):
        free = shutil.disk_usage(db_path.parent).free
        if free < 16 << 20:
            causes.append(
                f"{db_path.parent}: {os.strerror(errno.ENOSPC)} (ENOSPC): {free:,} bytes free"
            )
    cause = "; ".join(causes) or f"{db_path}: the operating system refused the write"
    return f"writing the workspace failed, nothing was saved: {cause} (SQLite: {exc}, {code})"


def _file_size_limit() -> int | None:
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    soft, _hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    return None if soft == resource.RLIM_INFINITY else int(soft)


def _default_actor() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"
