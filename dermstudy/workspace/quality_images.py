"""The image selections the quality metrics compare: one entity's real or synthetic images.

Filters use the study pools' language (:mod:`dermstudy.study.pools`), ``KEY=PATTERN`` with SQLite
GLOB patterns, all of which must match:

* ``source=PATTERN`` — the ``images.source`` column or an import's ``source`` label;
* ``model=PATTERN`` — the generating checkpoint's SHA-256 prefix or file name (synthetic images);
* ``split=NAME`` / ``split=NAME:train|test`` — images on one side of a stored split (default
  ``train``: the images a model was trained on, the pool for the memorisation check);
* ``set=NAME`` — members of a named image set;
* any other key — a field of the provenance JSON, dotted for nested fields.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from dermstudy.errors import DermstudyError


class SelectionError(DermstudyError, ValueError):
    """A filter names a split or set that does not exist; the message says which."""


@dataclass(frozen=True)
class LibraryImage:
    id: int
    sha256: str
    path: Path
    entity: str
    kind: str
    source: str
    source_id: str | None
    lesion_id: str | None


class QualityImages:
    """Read-only queries over the ``images`` table for :mod:`dermstudy.quality`."""

    def __init__(self, conn: sqlite3.Connection, root: Path) -> None:
        self.conn = conn
        self.root = Path(root)

    def entities_with(self, kind: str) -> list[str]:
        """Entity codes that have at least one image of ``kind``."""
        rows = self.conn.execute(
            "SELECT DISTINCT entity FROM images WHERE kind = ? ORDER BY entity", (kind,)
        )
        return [r[0] for r in rows]

    def select(
        self, kind: str, entity: str, filters: tuple[tuple[str, str], ...] = ()
    ) -> list[LibraryImage]:
        """``kind`` images of ``entity`` matching every filter, in id order."""
        sql = (
            "SELECT id, sha256, file, entity, kind, source, source_id, lesion_id FROM images "
            "WHERE kind = ? AND entity = ?"
        )
        params: list[object] = [kind, entity]
        for key, pattern in filters:
            clause, values = self._clause(key, pattern)
            sql += " AND " + clause
            params.extend(values)
        rows = self.conn.execute(sql + " ORDER BY id", params).fetchall()
        return [
            LibraryImage(r[0], r[1], self.root / r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows
        ]

    def _clause(self, key: str, pattern: str) -> tuple[str, list[object]]:
        if key == "source":
            # As the study pools: the images.source column or the import's source label.
            return (
                "(source GLOB ? OR CAST(json_extract(provenance, '$.source') AS TEXT) GLOB ?)",
                [pattern, pattern],
            )
        if key == "model":
            return (
                "(CAST(json_extract(provenance, '$.base.sha256') AS TEXT) GLOB ? || '*'"
                " OR CAST(json_extract(provenance, '$.base.file') AS TEXT) GLOB ?)",
                [pattern, pattern],
            )
        if key == "split":
            name, _, side = pattern.partition(":")
            side = side or "train"
            if side not in ("train", "test"):
                raise SelectionError(f"split side must be train or test, got {side!r}")
            row = self.conn.execute("SELECT id FROM splits WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise SelectionError(f"no split named {name!r} in this workspace")
            return (
                "id IN (SELECT image_id FROM split_members WHERE split_id = ? AND side = ?)",
                [row[0], side],
            )
        if key == "set":
            row = self.conn.execute(
                "SELECT id FROM image_sets WHERE name = ?", (pattern,)
            ).fetchone()
            if row is None:
                raise SelectionError(f"no image set named {pattern!r} in this workspace")
            return ("id IN (SELECT image_id FROM image_set_members WHERE set_id = ?)", [row[0]])
        return ("CAST(json_extract(provenance, ?) AS TEXT) GLOB ?", [f"$.{key}", pattern])
