"""Fixtures for the classifier tests: tiny workspaces of synthetic-pixel images made on the fly.

Each entity gets its own colour of blob (plus per-image noise), so a small CNN can learn something
in a few epochs; images of one lesion share their lesion id.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from dermstudy.entities import CODES
from dermstudy.workspace import Workspace, now_iso

COLOURS = np.array(
    [[40, 20, 20], [120, 70, 40], [200, 60, 60], [160, 160, 60], [60, 160, 160], [60, 60, 200],
     [200, 40, 200]],
    dtype=float,
)  # fmt: skip


def blob_png(entity_index: int, seed: int, size: tuple[int, int] = (24, 18)) -> bytes:
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    cx, cy = rng.uniform(0.35, 0.65) * w, rng.uniform(0.35, 0.65) * h
    blob = np.exp(-(((xx - cx) / (0.3 * w)) ** 2 + ((yy - cy) / (0.3 * h)) ** 2))
    base = np.array([220.0, 200.0, 190.0])
    pixels = base * (1 - blob[..., None]) + COLOURS[entity_index] * blob[..., None]
    pixels += rng.normal(0, 8, pixels.shape)
    buffer = io.BytesIO()
    Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def add_images(
    ws: Workspace, kind: str, per_entity: int, images_per_lesion: int = 1, start: int = 0
) -> list[int]:
    """Insert ``per_entity`` images of each entity; real ones grouped into lesions."""
    ids = []
    with ws.transaction():
        for e, code in enumerate(CODES):
            for k in range(per_entity):
                index = start + e * 1000 + k
                sha, rel = ws.store_blob(
                    blob_png(e, index + (0 if kind == "real" else 50_000)), ".png"
                )
                lesion = f"{kind}_{code}_{k // images_per_lesion}" if kind == "real" else None
                cursor = ws.conn.execute(
                    "INSERT INTO images (sha256, file, kind, entity, width, height, format, source,"
                    " source_id, lesion_id, provenance, created_at)"
                    " VALUES (?, ?, ?, ?, 24, 18, 'PNG', 'test', ?, ?, ?, ?)",
                    (sha, rel, kind, code, f"{kind}{index}", lesion, json.dumps({}), now_iso()),
                )
                ids.append(int(cursor.lastrowid))
    return ids


@pytest.fixture
def ablation_ws(tmp_path):
    """12 real images per entity (2 per lesion) and 6 synthetic per entity."""
    ws = Workspace.open(tmp_path / "ws")
    add_images(ws, "real", 12, images_per_lesion=2)
    add_images(ws, "synthetic", 6)
    yield ws
    ws.close()
