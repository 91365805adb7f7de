"""Held-out splits of the workspace's real images, made by lesion and stratified by entity.

A split is stored once and never changes: ``splits`` holds its name, seed and test fraction,
``split_members`` one row per real image with ``side`` = ``train`` or ``test``. All images of one
lesion (HAM10000 ``lesion_id``; an image without one is its own lesion) land on the same side, so a
model trained on the train side has never seen any view of a test lesion. Studies, the training job
and the classifier ablation all read the same rows::

    SELECT image_id FROM split_members WHERE split_id = ? AND side = 'test'
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

from dermstudy.entities import CODES
from dermstudy.errors import DermstudyError
from dermstudy.workspace import Workspace, now_iso


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
        return {
            "id": self.id,
            "name": self.name,
            "seed": self.seed,
            "test_fraction": self.test_fraction,
            "created_at": self.created_at,
            "counts": self.counts,
        }


def _lesions_by_entity(ws: Workspace) -> dict[str, dict[str, list[int]]]:
    """entity -> lesion key -> image ids; a lesion's entity is its images' most common one."""
    rows = ws.conn.execute(
        "SELECT id, entity, lesion_id FROM images WHERE kind = 'real' ORDER BY id"
    ).fetchall()
    images: dict[str, list[int]] = defaultdict(list)
    entities: dict[str, Counter] = defaultdict(Counter)
    for image_id, entity, lesion_id in rows:
        key = f"lesion:{lesion_id}" if lesion_id else f"image:{image_id}"
        images[key].append(image_id)
        entities[key][entity] += 1
    grouped: dict[str, dict[str, list[int]]] = defaultdict(dict)
    for key, ids in images.items():
        # Ties go to the first entity in report order, so the choice never depends on row order.
        best = max(CODES, key=lambda code: (entities[key][code], -CODES.index(code)))
        grouped[best][key] = ids
    return grouped


def assign_sides(
    lesions: dict[str, dict[str, list[int]]], test_fraction: float, seed: int
) -> dict[int, str]:
    """image id -> side. Per entity, a seeded shuffle of its lesions puts the first part on test.

    The number of test lesions is round(fraction × lesions), at least one when the entity has two
    or more lesions (so every entity is represented on both sides where possible).
    """
    rng = np.random.default_rng(seed)
    sides: dict[int, str] = {}
    for code in CODES:
        keys = sorted(lesions.get(code, {}))
        if not keys:
            continue
        order = rng.permutation(len(keys))
        n_test = round(test_fraction * len(keys))
        if test_fraction > 0 and len(keys) >= 2:
            n_test = min(max(n_test, 1), len(keys) - 1)
        for rank, index in enumerate(order):
            side = "test" if rank < n_test else "train"
            for image_id in lesions[code][keys[index]]:
                sides[image_id] = side
    return sides


def create_split(ws: Workspace, name: str, test_fraction: float, seed: int = 0) -> Split:
    """Make and store a new split of all current real images."""
    name = name.strip()
    if not name:
        raise SplitError("a split needs a name")
    if not 0.0 < test_fraction < 1.0:
        raise SplitError(
            f"--test-fraction must be between 0 and 1 (exclusive), got {test_fraction}"
        )
    if ws.conn.execute("SELECT 1 FROM splits WHERE name = ?", (name,)).fetchone():
        raise SplitError(f"a split named {name!r} already exists (splits never change)")
    lesions = _lesions_by_entity(ws)
    if not lesions:
        raise SplitError(f"{ws.root}: the workspace has no real images to split")
    sides = assign_sides(lesions, test_fraction, seed)
    settings = {"stratified_by": "entity", "unit": "lesion_id", "images": len(sides)}
    with ws.transaction():
        cursor = ws.conn.execute(
            "INSERT INTO splits (name, seed, test_fraction, settings, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (name, int(seed), float(test_fraction), json.dumps(settings), now_iso()),
        )
        split_id = int(cursor.lastrowid)
        ws.conn.executemany(
            "INSERT INTO split_members (split_id, image_id, side) VALUES (?, ?, ?)",
            [(split_id, image_id, side) for image_id, side in sorted(sides.items())],
        )
        ws.audit("split.create", name, {"seed": seed, "test_fraction": test_fraction, **settings})
    return get_split(ws, name)


def get_split(ws: Workspace, name: str) -> Split:
    row = ws.conn.execute(
        "SELECT id, name, seed, test_fraction, created_at FROM splits WHERE name = ?", (name,)
    ).fetchone()
    if row is None:
        known = [r[0] for r in ws.conn.execute("SELECT name FROM splits ORDER BY id")]
        hint = (
            f"; known splits: {', '.join(known)}" if known else "; create one with `split create`"
        )
        raise SplitError(f"no split named {name!r} in {ws.root}{hint}")
    counts: dict[str, dict[str, int]] = {"train": {}, "test": {}}
    for side, entity, count in ws.conn.execute(
        "SELECT m.side, i.entity, COUNT(*) FROM split_members m JOIN images i ON i.id = m.image_id "
        "WHERE m.split_id = ? GROUP BY m.side, i.entity",
        (row[0],),
    ):
        counts[side][entity] = count
    for side in counts:
        counts[side] = {code: counts[side].get(code, 0) for code in CODES}
    return Split(row[0], row[1], row[2], row[3], row[4], counts)


def list_splits(ws: Workspace) -> list[Split]:
    names = [r[0] for r in ws.conn.execute("SELECT name FROM splits ORDER BY id")]
    return [get_split(ws, name) for name in names]


def split_image_ids(ws: Workspace, split_id: int, side: str) -> set[int]:
    """Image ids on one side (``train`` or ``test``) of a split."""
    return {
        r[0]
        for r in ws.conn.execute(
            "SELECT image_id FROM split_members WHERE split_id = ? AND side = ?", (split_id, side)
        )
    }
