"""Fixtures for the foundation tests: small HAM10000-layout folders made on the fly."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

HEADER = ["lesion_id", "image_id", "dx", "dx_type", "age", "sex", "localization"]


def jpeg_bytes(seed: int, size: tuple[int, int] = (40, 30)) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def write_ham_folder(root: Path, rows: list[dict], header: list[str] = HEADER) -> Path:
    """Write a metadata CSV and split the images over two part folders, like the official download."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "HAM10000_metadata.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return root


def make_row(index: int, dx: str, lesion: str | None = None) -> dict:
    return {
        "lesion_id": lesion or f"HAM_{index:07d}",
        "image_id": f"ISIC_{index:07d}",
        "dx": dx,
        "dx_type": "histo",
        "age": "50.0",
        "sex": "female",
        "localization": "back",
    }


@pytest.fixture
def ham_folder(tmp_path: Path) -> Path:
    """14 valid rows (two per entity, one lesion with two images) with images in two parts."""
    codes = ["mel", "nv", "akiec", "bkl", "bcc", "df", "vasc"]
    rows = [
        make_row(i, codes[i % 7], lesion="HAM_SHARED" if i in (0, 7) else None) for i in range(14)
    ]
    root = write_ham_folder(tmp_path / "ham", rows)
    for i, row in enumerate(rows):
        part = root / ("HAM10000_images_part_1" if i % 2 else "HAM10000_images_part_2")
        part.mkdir(exist_ok=True)
        (part / f"{row['image_id']}.jpg").write_bytes(jpeg_bytes(i))
    return root
