"""Exclusive, crash-safe locks between processes: one lock file held open while a thing is in use.

The operating system drops the lock when the holder exits, however it exits (even SIGKILL), so a
stale lock can never block anyone. Used for training runs and for reading sessions (one window per
reader and study).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO

from dermstudy.errors import DermstudyError


class LockedError(DermstudyError):
    """Another process holds the lock; the message says what is in use."""


def acquire_exclusive(path: Path, what: str) -> IO[str]:
    """Lock ``path`` (created if needed) without waiting; keep the returned handle open to hold it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115 - the open handle is the lock
    try:
        _lock(handle)
    except OSError:
        handle.close()
        raise LockedError(f"{what} is already open in another window or process") from None
    return handle


def release(handle: IO[str] | None) -> None:
    if handle is not None and not handle.closed:
        handle.close()  # closing the descriptor releases the lock


if sys.platform == "win32":  # pragma: no cover - exercised on Windows workstations only
    import msvcrt

    def _lock(handle: IO[str]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)

else:
    import fcntl

    def _lock(handle: IO[str]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


__all__ = ["LockedError", "acquire_exclusive", "release"]
