"""Small made-up image libraries for tests and benchmarks (never used by a real study).

Real images are written as JPEGs with EXIF and an ICC profile, synthetic ones as PNGs with a text
chunk and odd sizes, so blinding has something to strip and to normalise.
"""

from __future__ import annotations

import io
import json

import numpy as np
from PIL import Image, ImageCms
from PIL.PngImagePlugin import PngInfo

from dermstudy.entities import CODES
from dermstudy.workspace import Workspace, now_iso


def _real_jpeg(rng: np.random.Generator, size: tuple[int, int]) -> bytes:
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    image = Image.fromarray(pixels)
    exif = Image.Exif()
    exif[0x010F] = "DermaCam"  # Make
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90, exif=exif, icc_profile=icc)
    return out.getvalue()


def _synthetic_png(rng: np.random.Generator, size: tuple[int, int]) -> bytes:
    pixels = rng.integers(0, 256, (size[1], size[0], 4), dtype=np.uint8)
    info = PngInfo()
    info.add_text("prompt", "a dermoscopic image")
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def add_sample_images(
    ws: Workspace,
    real_per_entity: int | dict[str, int] = 3,
    synthetic_per_entity: int | dict[str, int] = 3,
    *,
    seed: int = 0,
    images_per_lesion: int = 1,
    real_size: tuple[int, int] = (60, 45),
    synthetic_size: tuple[int, int] = (64, 64),
) -> list[int]:
    """Insert random real and synthetic images for every entity; returns their ids."""
    rng = np.random.default_rng(seed)
    rows = []
    for code in CODES:
        n_real = (
            real_per_entity.get(code, 0) if isinstance(real_per_entity, dict) else real_per_entity
        )
        n_syn = (
            synthetic_per_entity.get(code, 0)
            if isinstance(synthetic_per_entity, dict)
            else synthetic_per_entity
        )
        for i in range(n_real):
            data = _real_jpeg(rng, real_size)
            lesion = f"L-{code}-{i // images_per_lesion}"
            rows.append(
                _row(
                    ws,
                    data,
                    ".jpg",
                    "real",
                    code,
                    "HAM10000",
                    f"{code}-{i}",
                    lesion,
                    {"dataset": "HAM10000", "image_id": f"{code}-{i}"},
                    real_size,
                    "JPEG",
                )
            )
        for i in range(n_syn):
            data = _synthetic_png(rng, synthetic_size)
            run = "a" if i % 2 == 0 else "b"
            provenance = {
                "origin": "imported",
                "source": f"run-{run}",
                "seed": i,
                "base": {"sha256": run * 64, "file": f"model-{run}.pt"},
            }
            rows.append(
                _row(
                    ws,
                    data,
                    ".png",
                    "synthetic",
                    code,
                    "imported",
                    None,
                    None,
                    provenance,
                    synthetic_size,
                    "PNG",
                )
            )
    with ws.transaction():
        return [
            int(
                ws.conn.execute(
                    "INSERT INTO images (sha256, file, kind, entity, width, height, format, source, "
                    "source_id, lesion_id, provenance, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    row,
                ).lastrowid
            )
            for row in rows
        ]


def _row(ws, data, suffix, kind, code, source, source_id, lesion, provenance, size, fmt) -> tuple:
    digest, relative = ws.store_blob(data, suffix, fsync=False)
    return (
        digest,
        relative,
        kind,
        code,
        size[0],
        size[1],
        fmt,
        source,
        source_id,
        lesion,
        json.dumps(provenance),
        now_iso(),
    )
