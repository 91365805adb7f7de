"""Repository for held-out splits: ``splits`` (name, seed, test fraction) and ``split_members``.

A split belongs to the dataset: studies keep its images out, training and the classifier ablation
train on one side. How a split is drawn lives in :mod:`dermstudy.datasets.splits`; this module only
stores and reads it. A split is stored once and never changes.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from dermstudy.entities import CODES
from dermstudy.errors import DermstudyError
from dermstudy.workspace.repository import Repository

if TYPE_CHECKING:
    from dermstudy.workspace.core import Workspace


class SplitError(DermstudyError, ValueError):
    """A split cannot be created or found; the message says why."""


@dataclass(frozen=True)
class Split:
    id: int
    name: str
    seed: int
    test_fraction: float
    created_at: str
    counts: dict[str, dict[str, int]]  # side -> entity -> images

    def to_dict(self) -> dict:
        return asdict(self)


class SplitRepository(Repository):
    def names(self) -> list[str]:
        """Split names in creation order."""
        return self.column("SELECT name FROM splits ORDER BY id")

    def exists(self, name: str) -> bool:
        return (
            self.conn.execute("SELECT 1 FROM splits WHERE name = ?", (name,)).fetchone() is not None
        )

    def get(self, name: str) -> Split:
        """The split with its image counts per side and entity; SplitError naming the known ones."""
        row = self.conn.execute(
            "SELECT id, name, seed, test_fraction, created_at FROM splits WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            known = self.names()
            hint = (
                f"; known splits: {', '.join(known)}"
                if known
                else "; create one with `split create`"
            )
            raise SplitError(f"no split named {name!r} in {self.ws.root}{hint}")
        counts: dict[str, dict[str, int]] = {"train": {}, "test": {}}
        for side, entity, count in self.conn.execute(
            "SELECT m.side, i.entity, COUNT(*) FROM split_members m "
            "JOIN images i ON i.id = m.image_id WHERE m.split_id = ? GROUP BY m.side, i.entity",
            (row[0],),
        ):
            counts[side][entity] = count
        for side in counts:
            counts[side] = {code: counts[side].get(code, 0) for code in CODES}
        return Split(row[0], row[1], row[2], row[3], row[4], counts)

    def all(self) -> list[Split]:
        return [self.get(name) for name in self.names()]

    def image_ids(self, split_id: int, side: str) -> set[int]:
        """Image ids on one side (``train`` or ``test``) of a split."""
        return {
            r[0]
            for r in self.conn.execute(
                "SELECT image_id FROM split_members WHERE split_id = ? AND side = ?",
                (split_id, side),
            )
        }

    def add(
        self,
        name: str,
        seed: int,
        test_fraction: float,
        settings: dict[str, Any],
        sides: dict[int, str],
        created_at: str,
    ) -> int:
        """Store a new split with one member row per image (and an audit line); returns its id."""
        with self.ws.transaction():
            cursor = self.conn.execute(
                "INSERT INTO splits (name, seed, test_fraction, settings, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (name, int(seed), float(test_fraction), json.dumps(settings), created_at),
            )
            split_id = int(cursor.lastrowid)
            self.conn.executemany(
                "INSERT INTO split_members (split_id, image_id, side) VALUES (?, ?, ?)",
                [(split_id, image_id, side) for image_id, side in sorted(sides.items())],
            )
            self.ws.audit(
                "split.create", name, {"seed": seed, "test_fraction": test_fraction, **settings}
            )
        return split_id


def get_split(ws: Workspace, name: str) -> Split:
    return SplitRepository(ws).get(name)


def list_splits(ws: Workspace) -> list[Split]:
    return SplitRepository(ws).all()


def split_image_ids(ws: Workspace, split_id: int, side: str) -> set[int]:
    """Image ids on one side (``train`` or ``test``) of a split."""
    return SplitRepository(ws).image_ids(split_id, side)
