"""Helpers for the UI tests: small image libraries written straight into a workspace."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dermstudy.workspace import Workspace, now_iso


def lesion_jpeg(seed: int, size: tuple[int, int] = (64, 48)) -> bytes:
    """A small, unique JPEG (noise plus a dark blob) made from a seed."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(120, 230, size=(size[1], size[0], 3), dtype=np.uint8)
    yy, xx = np.mgrid[: size[1], : size[0]]
    blob = (yy - size[1] / 2) ** 2 + (xx - size[0] / 2) ** 2 < (min(size) / 4) ** 2
    pixels[blob] = pixels[blob] // 3
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def add_images(ws: Workspace, counts: dict[tuple[str, str], int], seed: int = 0) -> list[int]:
    """Insert ``counts[(entity, kind)]`` images; synthetic ones get source 'test-gen'."""
    ids = []
    for (entity, kind), n in counts.items():
        for _ in range(n):
            seed += 1
            data = lesion_jpeg(seed)
            sha, relative = ws.store_blob(data, ".jpg")
            real = kind == "real"
            with ws.transaction():
                cursor = ws.conn.execute(
                    "INSERT INTO images (sha256, file, kind, entity, width, height, format, source,"
                    " source_id, lesion_id, provenance, created_at)"
                    " VALUES (?, ?, ?, ?, 64, 48, 'JPEG', ?, ?, ?, ?, ?)",
                    (
                        sha,
                        relative,
                        kind,
                        entity,
                        "HAM10000" if real else "test-gen",
                        f"ISIC_{seed:07d}" if real else None,
                        f"HAM_{seed:07d}" if real else None,
                        json.dumps({"seed": seed} if not real else {"dx_type": "histo"}),
                        now_iso(),
                    ),
                )
                ids.append(cursor.lastrowid)
    return ids


def write_ham_folder(root: Path, dx_codes: list[str], start: int = 1) -> Path:
    """A HAM10000-layout folder: metadata CSV plus one JPEG per row in a part folder."""
    (root / "part_1").mkdir(parents=True, exist_ok=True)
    with open(root / "HAM10000_metadata.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["lesion_id", "image_id", "dx", "dx_type", "age", "sex", "localization"])
        for offset, dx in enumerate(dx_codes):
            number = start + offset
            image_id = f"ISIC_{number:07d}"
            writer.writerow([f"HAM_{number:07d}", image_id, dx, "histo", "50.0", "male", "back"])
            (root / "part_1" / f"{image_id}.jpg").write_bytes(lesion_jpeg(1000 + number))
    return root


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """A workspace with 3 real + 2 synthetic images of each of mel, nv and df."""
    root = tmp_path / "library"
    with Workspace.open(root) as ws:
        add_images(
            ws,
            {
                (e, k): (3 if k == "real" else 2)
                for e in ("mel", "nv", "df")
                for k in ("real", "synthetic")
            },
        )
    return root
