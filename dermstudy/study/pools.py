"""The image pools a study draws from, and seeded drawing from them.

Real pool of an entity: every ``kind='real'`` image of that entity, minus excluded images (named image
sets, one side of a stored split — by default its train side — always with every other image of
the same lesions). Synthetic pool: every ``kind='synthetic'`` image of that entity that
matches all synthetic filters. A filter is ``KEY=PATTERN`` (SQLite GLOB, so ``*`` and ``?`` work):
``source`` matches the ``images.source`` column (``generated`` for dermstudy's GLIDE, ``imported``)
or an import's ``source`` label; ``model`` matches the generating checkpoint's SHA-256 prefix or file
name (``base.sha256`` / ``base.file`` in the provenance); any other key is a field of the provenance
JSON, dotted for nested fields (e.g. ``guidance=3``, ``base.sampler=ddim*``, ``upsampler.file=up*``)
(e.g. ``origin=imported``, ``source=external``, ``model_sha256=ab12*``, ``run=7``).

With ``one_per_lesion`` (the default) at most one image per HAM10000 lesion enters a study, so a reader
never sees the same lesion twice; the pool's size is then its number of distinct lesions.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from dermstudy.errors import DermstudyError
from dermstudy.workspace import Workspace
from dermstudy.workspace.image_sets import ImageSetRepository
from dermstudy.workspace.images import ImageRepository

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class PoolError(DermstudyError, ValueError):
    """A pool option names something that does not exist or is malformed."""


@dataclass(frozen=True)
class PoolOptions:
    exclude_sets: tuple[str, ...] = ()
    exclude_splits: tuple[str, ...] = ()
    synthetic_filters: tuple[tuple[str, str], ...] = ()
    one_per_lesion: bool = True

    def to_dict(self) -> dict:
        return {
            "exclude_sets": list(self.exclude_sets),
            "exclude_splits": list(self.exclude_splits),
            "synthetic_filters": [f"{k}={v}" for k, v in self.synthetic_filters],
            "one_per_lesion": self.one_per_lesion,
        }


def parse_filter(text: str) -> tuple[str, str]:
    """``KEY=PATTERN`` -> (key, pattern), with a clear error for anything else."""
    key, sep, pattern = text.partition("=")
    key = key.strip()
    if not sep or not _KEY.match(key) or not pattern:
        raise PoolError(f"synthetic filter {text!r} must look like KEY=PATTERN (e.g. source=glide)")
    return key, pattern.strip()


@dataclass
class Pool:
    """Candidate image ids of one (entity, kind), grouped by lesion (or by image)."""

    entity: str
    kind: str
    groups: dict[str, list[int]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.groups)

    def draw(self, rng: random.Random, n: int, taken_groups: set[str]) -> list[int]:
        """``n`` image ids from distinct groups not in ``taken_groups`` (which is updated)."""
        keys = sorted(k for k in self.groups if k not in taken_groups)
        chosen = rng.sample(keys, n)
        taken_groups.update(chosen)
        return [rng.choice(sorted(self.groups[k])) for k in chosen]


def excluded_image_ids(ws: Workspace, options: PoolOptions) -> set[int]:
    """Ids of every image the options keep out (named sets and training splits, whole lesions)."""
    excluded: set[int] = set()
    sets = ImageSetRepository(ws)
    for name in options.exclude_sets:
        set_id = sets.id_of(name)
        if set_id is None:
            raise PoolError(f"no image set named {name!r} in this workspace")
        excluded.update(sets.member_ids(set_id))
    for name in options.exclude_splits:
        excluded.update(split_image_ids(ws, name))
    return with_same_lesions(ws, excluded)


def split_image_ids(ws: Workspace, spec: str) -> set[int]:
    """Image ids of one side of a stored split: ``NAME`` (its ``train`` side) or ``NAME:SIDE``.

    Excluding a split's train side keeps every image a model was fine-tuned on out of the study.
    """
    from dermstudy.workspace.splits import SplitError, get_split
    from dermstudy.workspace.splits import split_image_ids as side_ids

    name, _, side = spec.partition(":")
    side = side or "train"
    if side not in ("train", "test"):
        raise PoolError(f"split side must be train or test, got {side!r} in {spec!r}")
    try:
        split = get_split(ws, name)
    except SplitError as exc:
        raise PoolError(str(exc)) from None
    return side_ids(ws, split.id, side)


def with_same_lesions(ws: Workspace, image_ids: set[int]) -> set[int]:
    """``image_ids`` plus every other image of the same lesions (no lesion on both sides)."""
    if not image_ids:
        return set()
    rows = ImageRepository(ws).lesions()
    lesions = {lesion for image_id, lesion in rows if image_id in image_ids and lesion}
    return set(image_ids) | {image_id for image_id, lesion in rows if lesion in lesions}


def build_pool(
    ws: Workspace, entity: str, kind: str, options: PoolOptions, excluded: set[int]
) -> Pool:
    pool = Pool(entity, kind)
    candidates = ImageRepository(ws).pool_candidates(entity, kind, options.synthetic_filters)
    for image_id, lesion_id in candidates:
        if image_id in excluded:
            continue
        key = f"lesion:{lesion_id}" if lesion_id and options.one_per_lesion else f"image:{image_id}"
        pool.groups.setdefault(key, []).append(image_id)
    return pool
