"""Writing files so that a crash never leaves half of one, and hashing them: one helper each.

Every file dermstudy writes and another step later trusts (workspace blobs, checkpoints, caches,
workbooks, packages, previews) goes through :func:`atomic_path`: the writer fills a temporary file
beside the target, which is renamed onto the target only when the writer finished; on any failure
(including Ctrl-C) the temporary file is removed and the old target, if any, is left untouched.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    """Hex SHA-256 of a file's content, read in chunks (model files are gigabytes)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside ``target`` for the caller to write; renamed onto ``target`` when the
    block ends normally, deleted when it raises.

    The temporary name is hidden (leading dot), unique per process and call (two writers never
    share it) and ends with the target's suffix, so writers that add or check a suffix (``np.save``,
    ``openpyxl``) keep the name they were given. The parent folder is created if needed.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(
        f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp{target.suffix}"
    )
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def atomic_write_bytes(target: str | os.PathLike, data: bytes, *, fsync: bool = True) -> None:
    """Write ``data`` to ``target`` atomically (see :func:`atomic_path`).

    Bulk writers pass ``fsync=False`` and call ``os.sync()`` once before their database commit.
    """
    with atomic_path(target) as tmp, open(tmp, "xb") as handle:
        handle.write(data)
        handle.flush()
        if fsync:
            os.fsync(handle.fileno())


def atomic_write_text(target: str | os.PathLike, text: str, *, fsync: bool = False) -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically."""
    atomic_write_bytes(target, text.encode("utf-8"), fsync=fsync)
