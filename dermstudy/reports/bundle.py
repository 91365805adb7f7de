"""Writing a study report's outputs: JSON, figures in several formats, the Excel workbook.

When both figures and the workbook are asked for on a machine with two or more cores (from the
command line, not the GUI: see :func:`_figure_pool`), the figures are drawn in a forked child
process while this one writes the workbook's table sheets (both are CPU-bound pure-Python work,
so threads would not overlap); the PNG bytes come back for the Figures sheet. The outputs are the
same either way; a child that cannot start or dies falls back to drawing here.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from dermstudy.analysis.data import StudyData
from dermstudy.reports import excel, figures, gallery, tables
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


def _render_timed(
    report: dict[str, Any],
    figures_dir: Path | None,
    formats: tuple[str, ...],
    need_png: bool,
    width_mm: float | None,
) -> tuple[dict[str, bytes], float]:
    start = time.perf_counter()
    pngs = render_figures(report, figures_dir, formats, need_png, width_mm)
    return pngs, time.perf_counter() - start


def _figure_pool() -> ProcessPoolExecutor | None:
    """A one-worker process pool for the figures, or None where drawing here is better.

    Only by ``fork`` (the child starts in milliseconds, nothing re-imported) and only from a
    single-threaded process without Qt: forking a process with other threads (the GUI, whose Qt
    threads Python does not even see) is unsafe, and a ``spawn`` child's imports would eat most
    of the gain on two cores. Everywhere else, and with ``DERMSTUDY_SERIAL_OUTPUTS`` set, the
    figures are drawn here.
    """
    if (
        (os.cpu_count() or 1) < 2
        or os.environ.get("DERMSTUDY_SERIAL_OUTPUTS")
        or "fork" not in multiprocessing.get_all_start_methods()
        or threading.active_count() > 1
        or any(name.startswith(("PySide6", "PyQt")) for name in sys.modules)
    ):
        return None
    try:
        return ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
    except (OSError, ValueError):
        return None


def write_outputs(
    report: dict[str, Any],
    data: StudyData | None,
    figures_dir: Path | None,
    *,
    formats: tuple[str, ...] = ("png",),
    figure_width_mm: float | None = None,
    json_path: Path | None = None,
    xlsx_path: Path | None = None,
    thumbnails: dict[str, bytes] | None = None,
) -> dict[str, float]:
    """Write whichever outputs are asked for; returns seconds spent per stage.

    The workbook's fooling-cases sheet shows ``thumbnails`` (case -> PNG), made from
    ``data.case_images`` when not given.
    """
    timings: dict[str, float] = {}
    start = time.perf_counter()
    if json_path is not None:
        atomic_write_bytes(Path(json_path), report_json(report).encode("utf-8"))
    timings["json_s"] = time.perf_counter() - start
    if figures_dir is None and xlsx_path is None:
        return timings
    need_png = xlsx_path is not None or (figures_dir is not None and "png" in formats)
    args = (report, figures_dir, formats, need_png, figure_width_mm)
    if xlsx_path is None:
        pngs, timings["figures_s"] = _render_timed(*args)
        return timings
    pool = _figure_pool()
    future = None
    if pool is not None:
        try:
            future = pool.submit(_render_timed, *args)
        except Exception:  # a pool that cannot start: draw here instead
            future = None
    start = time.perf_counter()
    sheets = tables.all_tables(
        report,
        data.answers if data is not None else None,
        data.cases if data is not None else None,
    )
    if thumbnails is None and data is not None:
        thumbnails = gallery.fooling_thumbnails(report, data.case_images)
    gallery.attach_thumbnails(sheets, thumbnails or {})
    book = excel.begin_workbook(sheets, tables.confusion_tables(report))
    excel_s = time.perf_counter() - start
    try:
        drawn = None
        if future is not None:
            waited = time.perf_counter()
            try:
                drawn = future.result()
                # how long the workbook waited for the figures drawn beside it
                timings["figures_wait_s"] = time.perf_counter() - waited
            except BrokenProcessPool:  # the child could not run: draw here instead
                drawn = None
        pngs, timings["figures_s"] = drawn if drawn is not None else _render_timed(*args)
    finally:
        if pool is not None:
            pool.shutdown()
    start = time.perf_counter()
    excel.finish_workbook(book, Path(xlsx_path), pngs)
    timings["excel_s"] = excel_s + time.perf_counter() - start
    return timings
