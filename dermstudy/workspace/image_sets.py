"""Repository for named image sets (``image_sets``, ``image_set_members``): written once, never changed.

How references are resolved and checked lives in :mod:`dermstudy.study.image_sets`.
"""

from __future__ import annotations

from collections.abc import Iterable

from dermstudy.workspace.repository import Repository


class ImageSetRepository(Repository):
    def names(self) -> list[str]:
        return self.column("SELECT name FROM image_sets ORDER BY name")

    def id_of(self, name: str) -> int | None:
        row = self.conn.execute("SELECT id FROM image_sets WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else None

    def member_ids(self, set_id: int) -> set[int]:
        return {
            r[0]
            for r in self.conn.execute(
                "SELECT image_id FROM image_set_members WHERE set_id = ?", (set_id,)
            )
        }

    def add(self, name: str, description: str, image_ids: Iterable[int], created_at: str) -> int:
        """Store set ``name`` with its images (and an audit line); returns its id."""
        ids = sorted(image_ids)
        with self.ws.transaction():
            set_id = self.conn.execute(
                "INSERT INTO image_sets (name, description, created_at) VALUES (?, ?, ?)",
                (name, description, created_at),
            ).lastrowid
            self.conn.executemany(
                "INSERT INTO image_set_members (set_id, image_id) VALUES (?, ?)",
                [(set_id, i) for i in ids],
            )
            self.ws.audit("image-set.create", name, {"images": len(ids)})
        return int(set_id)
