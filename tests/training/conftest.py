"""Fixtures for the training tests: workspaces with a few small real images made on the fly."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from dermstudy.entities import CODES
from dermstudy.workspace import Workspace, now_iso


def png_bytes(seed: int, size: tuple[int, int] = (40, 30)) -> bytes:
    """A smooth random image (a blob of colour over a gradient), so a model can learn something."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    cx, cy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h
    blob = np.exp(-(((xx - cx) / (0.25 * w)) ** 2 + ((yy - cy) / (0.25 * h)) ** 2))
    base = rng.uniform(150, 230, 3)
    spot = rng.uniform(40, 120, 3)
    pixels = base[None, None] * (1 - blob[..., None]) + spot[None, None] * blob[..., None]
    buffer = io.BytesIO()
    Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def add_real_images(
    ws: Workspace,
    per_entity: int = 2,
    size: tuple[int, int] = (40, 30),
    lesions: dict | None = None,
    start: int = 0,
) -> list[int]:
    """Insert ``per_entity`` real images of every entity; ``lesions`` maps index -> lesion id."""
    ids = []
    index = start
    with ws.transaction():
        for code in CODES:
            for _ in range(per_entity):
                data = png_bytes(index, size)
                sha, rel = ws.store_blob(data, ".png")
                lesion = (lesions or {}).get(index, f"HAM_{index:07d}")
                cursor = ws.conn.execute(
                    "INSERT INTO images (sha256, file, kind, entity, width, height, format, source,"
                    " source_id, lesion_id, provenance, created_at)"
                    " VALUES (?, ?, 'real', ?, ?, ?, 'PNG', 'test', ?, ?, ?, ?)",
                    (
                        sha,
                        rel,
                        code,
                        size[0],
                        size[1],
                        f"img{index}",
                        lesion,
                        json.dumps({}),
                        now_iso(),
                    ),
                )
                ids.append(int(cursor.lastrowid))
                index += 1
    return ids


@pytest.fixture
def real_workspace(workspace: Workspace) -> Workspace:
    add_real_images(workspace, per_entity=2)
    return workspace
