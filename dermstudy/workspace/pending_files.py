"""Files written before the database rows that name them, so that a killed or failed import or study
creation leaves no orphan files behind.

Image and case files are written first and their rows committed after (a row must never name a file
that is not on disk). A process killed in between, or a run that fails after writing, leaves files
that no row names. To find them without scanning the whole store:

* every writable :class:`~dermstudy.workspace.Workspace` holds a *shared* lock on ``pending/.lock``
  while it is open (the operating system drops it when the process dies, even on SIGKILL);
* before ``store_blob`` writes a new file it appends the file's path to this workspace object's list,
  ``pending/<random>.list``;
* a workspace that is opened — or closed — while no other one has the folder open (it gets the
  *exclusive* lock) sweeps every list: each listed file that no row names is deleted, with any
  ``.tmp-`` file a killed write left beside it, then the list.

Only a folder nobody else has open is swept, so a file another process has just written (or found
already there and is about to name in its rows) is never taken away. Files in folders this module
does not know are kept. Not on Windows (no ``flock``): there nothing is swept.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO

PENDING_DIR = "pending"
LOCK_NAME = ".lock"
LIST_SUFFIX = ".list"


class BlobReferences:
    """Which stored files the database names (the only SQL of this module)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def is_referenced(self, relative: str) -> bool | None:
        """True or False for the known stores; None (keep it) for any other folder."""
        folder = relative.split("/", 1)[0]
        if folder == "images":
            sql, value = "SELECT 1 FROM images WHERE file = ? LIMIT 1", relative
        elif folder == "cases":
            sql, value = "SELECT 1 FROM cases WHERE blinded_sha256 = ? LIMIT 1", Path(relative).stem
        else:
            return None
        return self.conn.execute(sql, (value,)).fetchone() is not None


@dataclass
class SweepResult:
    removed: list[str]
    lists: int


class PendingFiles:
    """The pending-file lists of one open workspace object (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder = root / PENDING_DIR
        self._lock: IO[str] | None = None
        self._list: IO[str] | None = None

    # -- life cycle ----------------------------------------------------------------------------
    def open(self, conn: sqlite3.Connection) -> SweepResult | None:
        """Take the shared lock; sweep first when nobody else has the workspace open."""
        if _flock is None:
            return None
        result = None
        try:
            self.folder.mkdir(exist_ok=True)
            self._lock = open(self.folder / LOCK_NAME, "a+")  # noqa: SIM115 - the handle is the lock
            if _try_exclusive(self._lock) and any(self.folder.glob(f"*{LIST_SUFFIX}")):
                with contextlib.suppress(sqlite3.Error, OSError):  # a sweep must not stop an open
                    result = sweep(self.root, conn)
            _flock(self._lock.fileno(), _LOCK_SH)  # converts the exclusive lock, or waits
        except OSError:
            # No locks on this file system (some network mounts): files are neither listed nor
            # swept, as before; the workspace itself works.
            if self._lock is not None:
                self._lock.close()
            self._lock = None
        return result

    def record(self, relative: str) -> None:
        """Note ``relative`` before its file is written (the line must be there if we are killed)."""
        if self._lock is None:
            return
        if self._list is None:
            name = f"{os.getpid()}-{secrets.token_hex(6)}{LIST_SUFFIX}"
            self._list = open(self.folder / name, "a", encoding="utf-8")  # noqa: SIM115
        self._list.write(relative + "\n")
        self._list.flush()

    def close(self, conn: sqlite3.Connection | None) -> None:
        """Sweep this object's list when nobody else has the workspace open; release the lock."""
        if self._list is not None:
            self._list.close()
        with contextlib.suppress(sqlite3.Error, OSError):
            if conn is not None and self._lock is not None and _try_exclusive(self._lock):
                sweep(self.root, conn)
        if self._lock is not None:
            self._lock.close()
        self._lock = self._list = None


def sweep(root: Path, conn: sqlite3.Connection) -> SweepResult:
    """Delete the listed files no row names, then the lists. Call only with the exclusive lock."""
    references = BlobReferences(conn)
    removed: list[str] = []
    lists = sorted((root / PENDING_DIR).glob(f"*{LIST_SUFFIX}"))
    for listing in lists:
        for relative in dict.fromkeys(listing.read_text(encoding="utf-8").splitlines()):
            if not relative or relative.startswith("/") or ".." in Path(relative).parts:
                continue  # only our own relative paths: never anything outside the workspace
            path = root / relative
            if references.is_referenced(relative) is False and path.exists():
                path.unlink()
                removed.append(relative)
            if references.is_referenced(relative) is not None and path.parent.is_dir():
                for stale in path.parent.glob(".tmp-*"):  # a write killed before its rename
                    with contextlib.suppress(OSError):
                        stale.unlink()
        listing.unlink()
    return SweepResult(removed, len(lists))


if sys.platform == "win32":  # pragma: no cover - no flock: nothing is swept on Windows
    _flock = None
    _LOCK_SH = _LOCK_EX = _LOCK_NB = 0
else:
    import fcntl

    _flock = fcntl.flock
    _LOCK_SH, _LOCK_EX, _LOCK_NB = fcntl.LOCK_SH, fcntl.LOCK_EX, fcntl.LOCK_NB


def _try_exclusive(handle: IO[str]) -> bool:
    try:
        _flock(handle.fileno(), _LOCK_EX | _LOCK_NB)
    except OSError:
        return False
    return True


__all__ = ["BlobReferences", "PendingFiles", "SweepResult", "sweep"]
