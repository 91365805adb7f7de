"""Repository for ``images``: every real and synthetic image of the workspace and its provenance.

Import (HAM10000, synthetic files), generation, splits, study pools, training and the Dataset panel
read and write images through :class:`ImageRepository`. Files themselves are stored by hash by
``Workspace.store_blob``; a row here names the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from dermstudy.entities import CODES
from dermstudy.workspace.repository import Repository

# SQLite's default limit on host parameters is far above this; chunks keep each statement small.
_CHUNK = 500


@dataclass(frozen=True)
class ImageListing:
    """What a grid of images needs to know about one image."""

    id: int
    sha256: str
    file: str
    entity: str
    kind: str
    source: str
    source_id: str | None


@dataclass(frozen=True)
class ImageForTraining:
    id: int
    sha256: str
    file: str
    entity: str
    short_side: int  # min(width, height) as imported


class ImageRepository(Repository):
    # -- counts ----------------------------------------------------------------------------------
    def counts(self) -> list[tuple[str, str, str, int]]:
        """(entity, kind, source, images) for every combination present."""
        return [
            (entity, kind, source, int(n))
            for entity, kind, source, n in self.conn.execute(
                "SELECT entity, kind, source, COUNT(*) FROM images GROUP BY entity, kind, source"
            )
        ]

    def distinct_lesions(self) -> int:
        return int(
            self.conn.execute(
                "SELECT COUNT(DISTINCT lesion_id) FROM images WHERE lesion_id IS NOT NULL"
            ).fetchone()[0]
        )

    def sources(self) -> list[str]:
        return self.column("SELECT DISTINCT source FROM images ORDER BY source")

    # -- lookups by hash or source ----------------------------------------------------------------
    def hashes_of_source(self, source: str) -> dict[str, str]:
        """source_id -> sha256 of the images imported from ``source``."""
        return dict(
            self.conn.execute("SELECT source_id, sha256 FROM images WHERE source = ?", (source,))
        )

    def labels_of_hashes(self, hashes: Sequence[str]) -> dict[str, str]:
        """sha256 -> source id (or file) of those of ``hashes`` already stored."""
        found: dict[str, str] = {}
        for start in range(0, len(hashes), _CHUNK):
            chunk = list(hashes[start : start + _CHUNK])
            marks = ",".join("?" * len(chunk))
            for sha, label in self.conn.execute(
                f"SELECT sha256, COALESCE(source_id, file) FROM images WHERE sha256 IN ({marks})",
                chunk,
            ):
                found[sha] = label
        return found

    def kinds_by_hash(self) -> dict[str, str]:
        """sha256 -> kind (real|synthetic) of every image."""
        return dict(self.conn.execute("SELECT sha256, kind FROM images"))

    def files(self, image_ids: Sequence[int]) -> dict[int, str]:
        """image id -> stored file (relative to the workspace)."""
        return self._by_id("file", image_ids)

    def kinds(self, image_ids: Sequence[int]) -> dict[int, str]:
        """image id -> kind (real|synthetic)."""
        return self._by_id("kind", image_ids)

    def _by_id(self, column: str, image_ids: Sequence[int]) -> dict[int, str]:
        marks = ",".join("?" * len(image_ids))
        sql = f"SELECT id, {column} FROM images WHERE id IN ({marks})"  # column: ours, not input
        return dict(self.conn.execute(sql, list(image_ids)).fetchall())

    def kinds_and_short_sides(self, image_ids: Sequence[int]) -> list[tuple[str, int]]:
        """(kind, min(width, height)) of each distinct image among ``image_ids``."""
        marks = ",".join("?" * len(image_ids))
        return self.conn.execute(
            f"SELECT kind, MIN(width, height) FROM images WHERE id IN ({marks})", list(image_ids)
        ).fetchall()

    def ids_matching(self, reference: str) -> list[int]:
        """Images whose data-set id or lesion id is ``reference``, or whose SHA-256 it is."""
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT id FROM images WHERE source_id = ? OR lesion_id = ? OR sha256 = ?",
                (reference, reference, reference.lower()),
            )
        ]

    def record(self, image_id: int) -> dict[str, Any] | None:
        """Every column of one image, as stored (provenance as JSON text)."""
        cursor = self.conn.execute("SELECT * FROM images WHERE id = ?", (image_id,))
        row = cursor.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cursor.description], row, strict=True))

    # -- lists -------------------------------------------------------------------------------------
    def listing(
        self, entity: str | None = None, source_filter: str | None = None
    ) -> list[ImageListing]:
        """Images in report order of entity, then import order; filters are optional.

        ``source_filter`` is ``"kind:real"``, ``"kind:synthetic"`` or ``"source:<label>"``.
        """
        clauses, params = [], []
        if entity:
            clauses.append("entity = ?")
            params.append(entity)
        if source_filter:
            column, _, value = source_filter.partition(":")
            clauses.append("kind = ?" if column == "kind" else "source = ?")
            params.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        order = "CASE entity " + " ".join(f"WHEN '{c}' THEN {i}" for i, c in enumerate(CODES))
        sql = (
            "SELECT id, sha256, file, entity, kind, source, source_id FROM images "
            f"{where} ORDER BY {order} END, id"
        )
        return [ImageListing(*row) for row in self.conn.execute(sql, params)]

    def real_lesions(self) -> list[tuple[int, str, str | None]]:
        """(id, entity, lesion_id) of every real image, by id."""
        return self.conn.execute(
            "SELECT id, entity, lesion_id FROM images WHERE kind = 'real' ORDER BY id"
        ).fetchall()

    def lesions(self) -> list[tuple[int, str | None]]:
        """(id, lesion_id) of every image."""
        return self.conn.execute("SELECT id, lesion_id FROM images").fetchall()

    def real_for_training(
        self, codes: Sequence[str], without_test_of_split: int | None = None
    ) -> list[ImageForTraining]:
        """Real images of ``codes`` by id, minus the test side of a split when one is given."""
        marks = ", ".join("?" for _ in codes)
        sql = (
            "SELECT id, sha256, file, entity, MIN(width, height) FROM images"
            f" WHERE kind = 'real' AND entity IN ({marks})"
        )
        params: list = list(codes)
        if without_test_of_split is not None:
            sql += (
                " AND id NOT IN (SELECT image_id FROM split_members"
                " WHERE split_id = ? AND side = 'test')"
            )
            params.append(without_test_of_split)
        return [ImageForTraining(*row) for row in self.conn.execute(sql + " ORDER BY id", params)]

    def pool_candidates(
        self, entity: str, kind: str, synthetic_filters: Iterable[tuple[str, str]] = ()
    ) -> list[tuple[int, str | None]]:
        """(id, lesion_id) of the images of one entity and kind, by id.

        For synthetic images each filter (key, glob pattern) narrows by provenance: ``source``
        (the column or the import's label), ``model`` (the base checkpoint's SHA-256 prefix or file
        name) or any other provenance key.
        """
        sql = "SELECT id, lesion_id FROM images WHERE entity = ? AND kind = ?"
        params: list[object] = [entity, kind]
        if kind == "synthetic":
            for key, pattern in synthetic_filters:
                if key == "source":
                    sql += (
                        " AND (source GLOB ?"
                        " OR CAST(json_extract(provenance, '$.source') AS TEXT) GLOB ?)"
                    )
                    params.append(pattern)
                elif key == "model":
                    sql += (
                        " AND (CAST(json_extract(provenance, '$.base.sha256') AS TEXT) GLOB ? || '*'"
                        " OR CAST(json_extract(provenance, '$.base.file') AS TEXT) GLOB ?)"
                    )
                    params.append(pattern)
                else:
                    sql += " AND CAST(json_extract(provenance, ?) AS TEXT) GLOB ?"
                    params.append(f"$.{key}")
                params.append(pattern)
        return self.conn.execute(sql + " ORDER BY id", params).fetchall()

    # -- writing -----------------------------------------------------------------------------------
    def add_generated(
        self,
        digest: str,
        relpath: str,
        entity: str,
        width: int,
        height: int,
        provenance: dict[str, Any],
        created_at: str,
    ) -> tuple[int, str]:
        """Record a generated PNG (idempotent by content: the same hash returns the stored row)."""
        with self.ws.transaction():
            row = self.conn.execute(
                "SELECT id, file FROM images WHERE sha256 = ?", (digest,)
            ).fetchone()
            if row:  # the same seed and settings again: the library keeps one copy
                return int(row[0]), str(row[1])
            cursor = self.conn.execute(
                "INSERT INTO images (sha256, file, kind, entity, width, height, format, source, "
                "provenance, created_at) "
                "VALUES (?, ?, 'synthetic', ?, ?, ?, 'png', 'generated', ?, ?)",
                (
                    digest,
                    relpath,
                    entity,
                    width,
                    height,
                    json.dumps(provenance, sort_keys=True),
                    created_at,
                ),
            )
            self.ws.audit("image.generate", relpath, {"seed": provenance["seed"], "entity": entity})
            return int(cursor.lastrowid), relpath
