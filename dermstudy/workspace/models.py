"""The workspace's register of model files (the ``models`` table): one way to add and list them.

Generation records the files it sampled with, training records the checkpoints it finished, and the
Generator panel lists both. Kinds are ``glide-base`` and ``glide-upsample``; a path inside the workspace
is stored relative to it (the workspace can move), any other path absolutely.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dermstudy.workspace.core import Workspace, now_iso, sha256_file

KINDS = {"base": "glide-base", "upsample": "glide-upsample", "upsampler": "glide-upsample"}


def model_kind(kind: str) -> str:
    """``base``/``upsample``/``upsampler``/``glide-…`` → the stored kind."""
    if kind in KINDS.values():
        return kind
    try:
        return KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown model kind {kind!r}") from None


@dataclass(frozen=True)
class ModelRecord:
    id: int
    sha256: str
    path: Path
    kind: str
    name: str
    origin: str
    created_at: str

    @property
    def exists(self) -> bool:
        return self.path.is_file()


def stored_path(ws: Workspace, path: Path) -> str:
    resolved = Path(path).resolve()
    try:
        return str(resolved.relative_to(ws.root))
    except ValueError:
        return str(resolved)


def register_model_file(
    ws: Workspace,
    path: str | os.PathLike,
    kind: str,
    name: str,
    options: dict[str, Any],
    origin: str = "file",
    sha256: str | None = None,
) -> int:
    """Record a model file (idempotent by content hash); returns the row id."""
    path = Path(path)
    digest = sha256 or sha256_file(path)
    with ws.transaction():
        row = ws.conn.execute("SELECT id FROM models WHERE sha256 = ?", (digest,)).fetchone()
        if row:
            return int(row[0])
        cursor = ws.conn.execute(
            "INSERT INTO models (sha256, path, kind, name, options, origin, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                digest,
                stored_path(ws, path),
                model_kind(kind),
                name,
                json.dumps(options, sort_keys=True, default=str),
                origin,
                now_iso(),
            ),
        )
        ws.audit(
            "model.register", name, {"sha256": digest, "kind": model_kind(kind), "origin": origin}
        )
        return int(cursor.lastrowid)


def list_models(ws: Workspace, kind: str | None = None) -> list[ModelRecord]:
    """Registered models, newest first; ``kind`` filters (``base`` or ``upsample``)."""
    query = "SELECT id, sha256, path, kind, name, origin, created_at FROM models"
    params: tuple = ()
    if kind:
        query += " WHERE kind = ?"
        params = (model_kind(kind),)
    rows = ws.conn.execute(query + " ORDER BY id DESC", params).fetchall()
    return [ModelRecord(r[0], r[1], _absolute(ws, r[2]), r[3], r[4], r[5], r[6]) for r in rows]


def _absolute(ws: Workspace, stored: str) -> Path:
    path = Path(stored)
    return path if path.is_absolute() else ws.root / path
