"""The image pools a study draws from, and seeded drawing from them.

Real pool of an entity: every ``kind='real'`` image of that entity, minus excluded images (named image
sets, stored training splits). Synthetic pool: every ``kind='synthetic'`` image of that entity that
matches all synthetic filters. A filter is ``KEY=PATTERN`` (SQLite GLOB, so ``*`` and ``?`` work):
``source`` matches the ``images.source`` column or the provenance's ``source`` label, any other key a
top-level field of the provenance JSON
(e.g. ``origin=imported``, ``source=external``, ``model_sha256=ab12*``, ``run=7``).

With ``one_per_lesion`` (the default) at most one image per HAM10000 lesion enters a study, so a reader
never sees the same lesion twice; the pool's size is then its number of distinct lesions.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from dermstudy.workspace import Workspace

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class PoolError(ValueError):
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
    for name in options.exclude_sets:
        row = ws.conn.execute("SELECT id FROM image_sets WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise PoolError(f"no image set named {name!r} in this workspace")
        excluded.update(
            r[0]
            for r in ws.conn.execute(
                "SELECT image_id FROM image_set_members WHERE set_id = ?", (row[0],)
            )
        )
    for name in options.exclude_splits:
        excluded.update(split_image_ids(ws, name))
    return with_same_lesions(ws, excluded)


def split_image_ids(ws: Workspace, spec: str) -> set[int]:
    """Image ids of a stored split ``NAME`` (its training part) or ``NAME:PART``.

    Works with a ``splits`` table that has a split name column (``name`` or ``split``), a part column
    (``part`` / ``subset`` / ``role``) and an ``image_id`` or ``lesion_id`` column.
    """
    name, _, part = spec.partition(":")
    columns = {r[1] for r in ws.conn.execute("PRAGMA table_info(splits)")}
    if not columns:
        raise PoolError("this workspace has no stored splits (create one when training first)")
    name_col = next((c for c in ("name", "split") if c in columns), None)
    part_col = next((c for c in ("part", "subset", "role") if c in columns), None)
    member_col = next((c for c in ("image_id", "lesion_id") if c in columns), None)
    if name_col is None or member_col is None:
        raise PoolError("the workspace's splits table has a layout this version cannot read")
    where, params = f"{name_col} = ?", [name]
    if part_col is not None:
        where += f" AND {part_col} = ?"
        params.append(part or "train")
    members = {
        r[0] for r in ws.conn.execute(f"SELECT {member_col} FROM splits WHERE {where}", params)
    }
    if not members:
        raise PoolError(f"no stored split {spec!r} (or it is empty)")
    if member_col == "image_id":
        return set(members)
    marks = ",".join("?" * len(members))
    query = f"SELECT id FROM images WHERE lesion_id IN ({marks})"
    return {r[0] for r in ws.conn.execute(query, list(members))}


def with_same_lesions(ws: Workspace, image_ids: set[int]) -> set[int]:
    """``image_ids`` plus every other image of the same lesions (no lesion on both sides)."""
    if not image_ids:
        return set()
    ws.conn.execute("CREATE TEMP TABLE IF NOT EXISTS _excluded (id INTEGER PRIMARY KEY)")
    ws.conn.execute("DELETE FROM _excluded")
    ws.conn.executemany(
        "INSERT OR IGNORE INTO _excluded (id) VALUES (?)", [(i,) for i in image_ids]
    )
    rows = ws.conn.execute(
        "SELECT id FROM images WHERE id IN (SELECT id FROM _excluded) OR lesion_id IN "
        "(SELECT lesion_id FROM images WHERE id IN (SELECT id FROM _excluded) "
        "AND lesion_id IS NOT NULL)"
    )
    result = {r[0] for r in rows}
    ws.conn.execute("DELETE FROM _excluded")
    return result


def build_pool(
    ws: Workspace, entity: str, kind: str, options: PoolOptions, excluded: set[int]
) -> Pool:
    sql = "SELECT id, lesion_id FROM images WHERE entity = ? AND kind = ?"
    params: list[object] = [entity, kind]
    if kind == "synthetic":
        for key, pattern in options.synthetic_filters:
            if key == "source":
                # Either the images.source column or the import's source label in the provenance.
                sql += " AND (source GLOB ? OR CAST(json_extract(provenance, '$.source') AS TEXT) GLOB ?)"
                params.append(pattern)
            else:
                sql += " AND CAST(json_extract(provenance, ?) AS TEXT) GLOB ?"
                params.append(f"$.{key}")
            params.append(pattern)
    pool = Pool(entity, kind)
    for image_id, lesion_id in ws.conn.execute(sql + " ORDER BY id", params):
        if image_id in excluded:
            continue
        key = f"lesion:{lesion_id}" if lesion_id and options.one_per_lesion else f"image:{image_id}"
        pool.groups.setdefault(key, []).append(image_id)
    return pool
