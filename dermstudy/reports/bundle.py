"""Writing a study report's outputs: JSON, figures in several formats, the Excel workbook.

When both figures and the workbook are asked for on a machine with two or more cores (from the
command line, not the GUI: see :func:`_figure_pool`), the figures are drawn in a forked child
process while this one writes the workbook's table sheets (both are CPU-bound pure-Python work,
so threads would not overlap); the PNG bytes come back for the Figures sheet. The outputs are the
same either way; a child that cannot start or dies falls back to drawing here.

:func:`produce` (the command line and ``bench/report.py``; the GUI analyses in its worker thread
and calls :func:`write_outputs`) goes one step further: the analysis itself runs in the forked
child while this process writes the workbook's data-only sheets (the 28,000-row answers sheet
of a large study costs as much as the analysis); the report comes back pickled, and the same
child then draws the figures while this process writes the report's sheets.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dermstudy.analysis.data import StudyData
from dermstudy.analysis.report import build_report
from dermstudy.jobs import Progress, no_progress
from dermstudy.reports import excel, figures, gallery, tables
from dermstudy.workspace.core import atomic_write_bytes


def report_json(report: dict[str, Any]) -> str:
    """The JSON contract text: full precision, no NaN (undefined values are null)."""
    return json.dumps(report, indent=2, allow_nan=False, ensure_ascii=False)


@dataclass(frozen=True)
class FigureRequest:
    """Which figures to draw and where: the folder (None: none saved) and its ``formats``,
    whether the PNG bytes are wanted back (for the workbook), and the printed width."""

    folder: Path | None
    formats: tuple[str, ...]
    need_png: bool
    width_mm: float | None = None


def render_figures(report: dict[str, Any], request: FigureRequest) -> dict[str, bytes]:
    """Draw every figure, save it in the request's formats if it names a folder; returns PNG
    bytes by stem.

    Each PNG is rendered once: the same bytes go to the figures folder and into the workbook.
    """
    figs = figures.build_figures(report, width_mm=request.width_mm)
    pngs = (
        {stem: figures.figure_bytes(fig, "png") for stem, fig in figs.items()}
        if request.need_png
        else {}
    )
    if request.folder is not None:
        figures.save_figures(figs, Path(request.folder), request.formats, rendered={"png": pngs})
    return pngs


def _render_timed(
    report: dict[str, Any], request: FigureRequest
) -> tuple[dict[str, bytes], float, float]:
    """The PNGs, and the wall and CPU seconds of the process that drew them."""
    start, cpu = time.perf_counter(), time.process_time()
    pngs = render_figures(report, request)
    return pngs, time.perf_counter() - start, time.process_time() - cpu


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
    pool = None

    def submit_figures(args: tuple) -> Future | None:
        nonlocal pool
        pool = _figure_pool()
        return _submit(pool, _render_timed, *args)

    try:
        return _write(
            report,
            data,
            figures_dir,
            formats,
            figure_width_mm,
            json_path,
            xlsx_path,
            thumbnails,
            early=None,
            submit_figures=submit_figures,
        )
    finally:
        if pool is not None:
            pool.shutdown()


def _submit(pool: ProcessPoolExecutor | None, fn: Callable, *args: Any) -> Future | None:
    if pool is None:
        return None
    try:
        return pool.submit(fn, *args)
    except Exception:  # a pool that cannot start or is broken: the caller works here instead
        return None


def _write(
    report: dict[str, Any],
    data: StudyData | None,
    figures_dir: Path | None,
    formats: tuple[str, ...],
    figure_width_mm: float | None,
    json_path: Path | None,
    xlsx_path: Path | None,
    thumbnails: dict[str, bytes] | None,
    *,
    early: tuple[list[tables.Table], excel.PartialWorkbook] | None,
    submit_figures: Callable[[tuple], Future | None],
) -> dict[str, float]:
    """:func:`write_outputs`, given the workbook's data-only sheets when they are written
    (``early``), and a way to have the figures drawn elsewhere (``submit_figures``, None: here)."""
    timings: dict[str, float] = {}
    start = time.perf_counter()
    if json_path is not None:
        atomic_write_bytes(Path(json_path), report_json(report).encode("utf-8"))
    timings["json_s"] = time.perf_counter() - start
    if figures_dir is None and xlsx_path is None:
        return timings
    need_png = xlsx_path is not None or (figures_dir is not None and "png" in formats)
    args = (report, FigureRequest(figures_dir, formats, need_png, figure_width_mm))
    if xlsx_path is None:
        pngs, timings["figures_s"], timings["figures_cpu_s"] = _render_timed(*args)
        return timings
    future = submit_figures(args)
    start, cpu = time.perf_counter(), time.process_time()
    answers = data.answers if data is not None else None
    cases = data.cases if data is not None else None
    if early is None:
        data_only = tables.data_tables(answers, cases)
        partial = excel.start_workbook([t for t in data_only if t.name in excel.DATA_ONLY_TABLES])
    else:
        data_only, partial = early
    sheets = tables.all_tables(report, answers, cases, data_only=data_only)
    if thumbnails is None and data is not None:
        thumbnails = gallery.fooling_thumbnails(report, data.case_images)
    gallery.attach_thumbnails(sheets, thumbnails or {})
    book = excel.continue_workbook(partial, sheets, tables.confusion_tables(report))
    excel_s, excel_cpu = time.perf_counter() - start, time.process_time() - cpu
    drawn = None
    if future is not None:
        waited = time.perf_counter()
        try:
            drawn = future.result()
            # how long the workbook waited for the figures drawn beside it
            timings["figures_wait_s"] = time.perf_counter() - waited
        except BrokenProcessPool:  # the child could not run: draw here instead
            drawn = None
    drawn = drawn if drawn is not None else _render_timed(*args)
    pngs, timings["figures_s"], timings["figures_cpu_s"] = drawn
    start, cpu = time.perf_counter(), time.process_time()
    excel.finish_workbook(book, Path(xlsx_path), pngs)
    timings["excel_s"] = excel_s + time.perf_counter() - start
    timings["excel_cpu_s"] = excel_cpu + time.process_time() - cpu
    return timings


# The study and analysis options handed to a forked analysis child (set just before the fork,
# read in the child: nothing is pickled, the progress bar's stream included), and the report the
# child made, kept there for the figures it draws next.
_PENDING: tuple[StudyData, dict[str, Any], Progress] | None = None
_CHILD_REPORT: dict[str, Any] | None = None


def _analyse_pending() -> tuple[dict[str, Any], float]:
    """In the forked child: the report of the study it was forked with, and its CPU seconds."""
    global _CHILD_REPORT
    if _PENDING is None:
        raise RuntimeError("no study to analyse in this process")
    data, analysis, progress = _PENDING
    cpu = time.process_time()
    _CHILD_REPORT = build_report(data, progress=progress, **analysis)
    return _CHILD_REPORT, time.process_time() - cpu


def _render_child_report(
    extra: dict[str, Any], request: FigureRequest
) -> tuple[dict[str, bytes], float, float]:
    """In the analysis child: the figures of the report it made, with the caller's ``extra``."""
    if _CHILD_REPORT is None:
        raise RuntimeError("no report in this process")
    _CHILD_REPORT.update(extra)
    return _render_timed(_CHILD_REPORT, request)


def produce(
    data: StudyData,
    figures_dir: Path | None = None,
    *,
    analysis: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    progress: Progress = no_progress,
    formats: tuple[str, ...] = ("png",),
    figure_width_mm: float | None = None,
    json_path: Path | None = None,
    xlsx_path: Path | None = None,
) -> tuple[dict[str, Any], dict[str, float]]:
    """Analyse a study and write its outputs: ``build_report(data, **analysis)``, the report
    updated with ``extra``, then :func:`write_outputs`. Returns the report and seconds per stage.

    With a workbook to write and where :func:`_figure_pool` allows a child (the command line),
    the analysis runs in a forked child while this process writes the workbook's data-only
    sheets (the answers); the report comes back pickled, and the same child then draws the
    figures (``extra`` included) while this process finishes the answers and writes the
    report's sheets. Any failure of the child falls back to working here; the outputs are the
    same bytes either way.
    """
    global _PENDING
    analysis, extra = dict(analysis or {}), dict(extra or {})
    pool = _figure_pool() if xlsx_path is not None else None
    outputs = (figures_dir, formats, figure_width_mm, json_path, xlsx_path, None)
    if pool is None:
        start, cpu = time.perf_counter(), time.process_time()
        report = build_report(data, progress=progress, **analysis)
        report.update(extra)
        analysis_s, analysis_cpu = time.perf_counter() - start, time.process_time() - cpu
        timings = write_outputs(
            report,
            data,
            figures_dir,
            formats=formats,
            figure_width_mm=figure_width_mm,
            json_path=json_path,
            xlsx_path=xlsx_path,
        )
        return report, {"analysis_s": analysis_s, "analysis_cpu_s": analysis_cpu, **timings}
    try:
        start, cpu = time.perf_counter(), time.process_time()
        _PENDING = (data, analysis, progress)
        try:
            future = _submit(pool, _analyse_pending)  # forks here, with _PENDING set
        finally:
            _PENDING = None
        # Queued behind the analysis in the same one-worker child: the figures are drawn as soon
        # as the report exists there, while this process still writes the answers sheet.
        drawing = _submit(
            pool,
            _render_child_report,
            extra,
            FigureRequest(figures_dir, formats, True, figure_width_mm),
        )
        data_only = tables.data_tables(data.answers, data.cases)
        partial = excel.start_workbook([t for t in data_only if t.name in excel.DATA_ONLY_TABLES])
        timings = {
            "data_sheets_s": time.perf_counter() - start,
            "data_sheets_cpu_s": time.process_time() - cpu,
        }
        report = None
        if future is not None:
            try:
                report, timings["analysis_cpu_s"] = future.result()
            except Exception:  # the child died or the analysis failed: analyse here
                report = None
        in_child = report is not None
        if report is None:
            cpu = time.process_time()
            report = build_report(data, progress=progress, **analysis)
            timings["analysis_cpu_s"] = time.process_time() - cpu
        report.update(extra)
        timings["analysis_s"] = time.perf_counter() - start

        if not in_child and drawing is not None:
            drawing.cancel()  # it would find no report there: draw here

        def submit_figures(args: tuple) -> Future | None:
            # _write's own arguments (the report and a FigureRequest with need_png=True, as
            # with any workbook): the ones the queued drawing was given
            return drawing if in_child else None

        timings.update(
            _write(
                report,
                data,
                *outputs,
                early=(data_only, partial),
                submit_figures=submit_figures,
            )
        )
        return report, timings
    finally:
        pool.shutdown()
