"""Writing a study report's outputs: JSON, figures in several formats, the Excel workbook."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from dermstudy.analysis.data import StudyData
from dermstudy.reports import excel, figures, tables
from dermstudy.workspace.core import atomic_write_bytes


def report_json(report: dict[str, Any]) -> str:
    """The JSON contract text: full precision, no NaN (undefined values are null)."""
    return json.dumps(report, indent=2, allow_nan=False, ensure_ascii=False)


def render_figures(
    report: dict[str, Any],
    figures_dir: Path | None,
    formats: tuple[str, ...],
    need_png: bool,
    width_mm: float | None = None,
) -> dict[str, bytes]:
    """Draw every figure, save it in ``formats`` if a folder is given; returns PNG bytes by stem.

    Each PNG is rendered once: the same bytes go to the figures folder and into the workbook.
    """
    figs = figures.build_figures(report, width_mm=width_mm)
    pngs = (
        {stem: figures.figure_bytes(fig, "png") for stem, fig in figs.items()} if need_png else {}
    )
    if figures_dir is not None:
        figures.save_figures(figs, Path(figures_dir), formats, rendered={"png": pngs})
    return pngs


def write_outputs(
    report: dict[str, Any],
    data: StudyData | None,
    figures_dir: Path | None,
    *,
    formats: tuple[str, ...] = ("png",),
    figure_width_mm: float | None = None,
    json_path: Path | None = None,
    xlsx_path: Path | None = None,
) -> dict[str, float]:
    """Write whichever outputs are asked for; returns seconds spent per stage."""
    timings: dict[str, float] = {}
    start = time.perf_counter()
    if json_path is not None:
        atomic_write_bytes(Path(json_path), report_json(report).encode("utf-8"))
    timings["json_s"] = time.perf_counter() - start
    if figures_dir is None and xlsx_path is None:
        return timings
    need_png = xlsx_path is not None or (figures_dir is not None and "png" in formats)
    start = time.perf_counter()
    pngs = render_figures(report, figures_dir, formats, need_png, figure_width_mm)
    timings["figures_s"] = time.perf_counter() - start
    start = time.perf_counter()
    if xlsx_path is not None:
        excel.write_workbook(
            Path(xlsx_path),
            tables.all_tables(
                report,
                data.answers if data is not None else None,
                data.cases if data is not None else None,
            ),
            tables.confusion_tables(report),
            pngs,
        )
    timings["excel_s"] = time.perf_counter() - start
    return timings
