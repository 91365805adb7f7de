"""The quality report as a table: the columns (shared by the CLI, the xlsx export and the panel),
plain text in the layout of the research's Table 1 plus KID and memorisation, and an xlsx workbook.
"""

from __future__ import annotations

import math
from pathlib import Path

from dermstudy.entities import BY_CODE
from dermstudy.files import atomic_path
from dermstudy.quality.report import QualityReport, QualityRow

# (key, header); "is", "kid" and "cls_kid" show mean ± std.
COLUMNS: list[tuple[str, str]] = [
    ("entity", "Entity"),
    ("n_synthetic", "n syn"),
    ("n_real", "n real"),
    ("ssim", "SSIM"),
    ("psnr", "PSNR dB"),
    ("mse", "MSE"),
    ("fid", "FID"),
    ("is", "IS ± sd"),
    ("kid", "KID ± sd"),
    ("cls_fd", "Cls FD"),
    ("cls_kid", "Cls KID ± sd"),
    ("near_copies", "Near-copies"),
    ("min_pixel_rmse", "Min RMSE"),
    ("min_feature_cosine", "Min cos"),
]

_DIGITS = {
    "ssim": 3, "psnr": 2, "mse": 4, "fid": 1, "is": 2, "kid": 4, "cls_fd": 2, "cls_kid": 4,
    "min_pixel_rmse": 4, "min_feature_cosine": 4,
}  # fmt: skip


def value(row: QualityRow, key: str) -> float | int | str | None:
    """The sortable value behind a cell (the mean for ± columns)."""
    if key == "is":
        return row.is_mean
    if key == "kid":
        return row.kid_mean
    if key == "cls_kid":
        return row.cls_kid_mean
    return getattr(row, key)


def _number(x: float | None, digits: int) -> str:
    if x is None:
        return "–"
    if math.isinf(x):
        return "inf"
    return f"{x:.{digits}f}"


def cell(row: QualityRow, key: str) -> str:
    """The text of one cell."""
    if key == "entity":
        return row.entity if row.entity == "overall" else f"{row.entity} ({_name(row.entity)})"
    if key in ("n_synthetic", "n_real", "near_copies"):
        return str(getattr(row, key))
    digits = _DIGITS[key]
    if key == "cls_fd" and row.cls_fd is not None and not math.isinf(row.cls_fd):
        # A classifier's feature scale is its own: significant digits, not fixed decimals.
        return f"{row.cls_fd:.4g}"
    if key in ("is", "kid", "cls_kid"):
        mean = value(row, key)
        std = {"is": row.is_std, "kid": row.kid_std, "cls_kid": row.cls_kid_std}[key]
        if mean is None:
            return "–"
        if key == "cls_kid" and std is not None and math.isfinite(mean) and math.isfinite(std):
            # Same reason as Cls FD: 0.0000 ± 0.0000 would hide a small-scale feature space.
            return f"{mean:.3g} ± {std:.2g}"
        return f"{_number(mean, digits)} ± {_number(std, digits)}"
    return _number(getattr(row, key), digits)


def _name(code: str) -> str:
    entity = BY_CODE.get(code)
    return entity.short_name if entity else code


def to_text(report: QualityReport) -> str:
    rows = [*report.rows, report.overall]
    table = [[h for _, h in COLUMNS]] + [[cell(r, k) for k, _ in COLUMNS] for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    lines = []
    for n, line in enumerate(table):
        lines.append(
            "  ".join(
                text.ljust(w) if i == 0 else text.rjust(w)
                for i, (text, w) in enumerate(zip(line, widths, strict=True))
            )
        )
        if n == 0 or n == len(table) - 2:
            lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        for note in r.notes:
            lines.append(f"note [{r.entity}]: {note}")
    for metric, reason in report.skipped.items():
        lines.append(f"skipped [{metric}]: {reason}")
    for kind, name in report.extractors.items():
        lines.append(f"features [{kind}]: {name}")
    copies = [m for m in report.memorisation if m.near_copy]
    if copies:
        lines.append(f"near-copies ({len(copies)}):")
        for m in copies:
            cos = "" if m.feature_cosine is None else f", cosine {m.feature_cosine:.4f}"
            lines.append(
                f"  synthetic image {m.synthetic_id} ~ real image {m.pixel_real_id} "
                f"(pixel RMSE {m.pixel_rmse:.4f}{cos})"
            )
    lines.extend(report.notes)
    return "\n".join(lines)


def write_xlsx(report: QualityReport, path: Path) -> None:
    """Sheets: quality (the table, numbers as numbers), memorisation, notes."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "quality"
    headers = [
        "entity", "n_synthetic", "n_real", "n_pairs", "ssim", "psnr", "mse", "fid", "is_mean",
        "is_std", "kid_mean", "kid_std", "kid_subset_size", "cls_fd", "cls_kid_mean",
        "cls_kid_std", "near_copies", "min_pixel_rmse", "min_feature_cosine", "notes",
    ]  # fmt: skip
    sheet.append(headers)
    for row in [*report.rows, report.overall]:
        values = [getattr(row, h) for h in headers[:-1]]
        values = [None if isinstance(v, float) and math.isinf(v) else v for v in values]
        sheet.append([*values, "; ".join(row.notes)])
    mem = book.create_sheet("memorisation")
    fields = [
        "entity", "synthetic_id", "synthetic_path", "pixel_real_id", "pixel_real_path",
        "pixel_rmse", "feature_real_id", "feature_real_path", "feature_cosine", "near_copy",
    ]  # fmt: skip
    mem.append(fields)
    for m in report.memorisation:
        mem.append([getattr(m, f) for f in fields])
    notes = book.create_sheet("notes")
    for note in report.notes:
        notes.append([note])
    for metric, reason in report.skipped.items():
        notes.append([f"skipped [{metric}]: {reason}"])
    for key, val in report.options.items():
        notes.append([f"option {key}", str(val)])
    with atomic_path(path) as tmp:
        book.save(tmp)
