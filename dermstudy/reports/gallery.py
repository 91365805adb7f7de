"""Thumbnails of the cases that fooled readers (the coordinator's gallery; reveals the truth).

Qt-free (Pillow): small PNGs of only the cases the report's ``fooling_cases`` lists (at most the
top N of each kind), for the workbook's fooling-cases sheet and the Results panel. A case whose
image is missing or unreadable simply has no thumbnail.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from dermstudy.reports.tables import Table

THUMB_PX = 96  # longest side in pixels: a workbook row of 72 pt, an icon in the panel


def gallery_cases(report: dict[str, Any]) -> list[str]:
    """The case codes the fooling-cases gallery lists, in its order, each once."""
    fool = report.get("fooling_cases") or {}
    codes = [
        e["case"] for key in ("synthetic_called_real", "real_called_ai") for e in fool.get(key, [])
    ]
    return list(dict.fromkeys(codes))


def thumbnail_png(path: Path, size: int = THUMB_PX) -> bytes | None:
    """A PNG at most ``size`` px per side, or None when the file cannot be read as an image."""
    try:
        with Image.open(path) as image:
            image.draft("RGB", (size, size))  # JPEG: decode at reduced scale
            small = image.convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError):
        return None
    small.thumbnail((size, size), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    small.save(buffer, "PNG")
    return buffer.getvalue()


def fooling_thumbnails(
    report: dict[str, Any], case_images: dict[str, Path], size: int = THUMB_PX
) -> dict[str, bytes]:
    """Case code -> thumbnail PNG for every gallery case whose image can be read."""
    out: dict[str, bytes] = {}
    for case in gallery_cases(report):
        path = case_images.get(case)
        png = thumbnail_png(Path(path), size) if path is not None else None
        if png is not None:
            out[case] = png
    return out


def attach_thumbnails(tables: list[Table], thumbnails: dict[str, bytes]) -> None:
    """Give the fooling-cases table its pictures: ``images[row] = png`` by the row's case code."""
    for table in tables:
        if table.name != "fooling_cases" or table.image_column is None:
            continue
        case_col = table.header.index("case")
        table.images = {
            i: thumbnails[row[case_col]]
            for i, row in enumerate(table.rows)
            if row[case_col] in thumbnails
        }
