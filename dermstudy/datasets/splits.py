"""Held-out splits of the workspace's real images, made by lesion and stratified by entity.

A split belongs to the dataset and is stored once (``workspace.splits.SplitRepository``: ``splits``
holds its name, seed and test fraction, ``split_members`` one row per real image with ``side`` =
``train`` or ``test``); it never changes. All images of one
lesion (HAM10000 ``lesion_id``; an image without one is its own lesion) land on the same side, so a
model trained on the train side has never seen any view of a test lesion. Studies, the training job
and the classifier ablation all read the same rows (``split_image_ids``).
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from dermstudy.entities import CODES
from dermstudy.workspace import Workspace, now_iso
from dermstudy.workspace.images import ImageRepository
from dermstudy.workspace.splits import (
    Split,
    SplitError,
    SplitRepository,
    get_split,
    list_splits,
    split_image_ids,
)

__all__ = [
    "Split",
    "SplitError",
    "assign_sides",
    "create_split",
    "get_split",
    "list_splits",
    "split_image_ids",
]


def _lesions_by_entity(ws: Workspace) -> dict[str, dict[str, list[int]]]:
    """entity -> lesion key -> image ids; a lesion's entity is its images' most common one."""
    rows = ImageRepository(ws).real_lesions()
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
    repo = SplitRepository(ws)
    if repo.exists(name):
        raise SplitError(f"a split named {name!r} already exists (splits never change)")
    lesions = _lesions_by_entity(ws)
    if not lesions:
        raise SplitError(f"{ws.root}: the workspace has no real images to split")
    sides = assign_sides(lesions, test_fraction, seed)
    settings = {"stratified_by": "entity", "unit": "lesion_id", "images": len(sides)}
    repo.add(name, seed, test_fraction, settings, sides, now_iso())
    return repo.get(name)
