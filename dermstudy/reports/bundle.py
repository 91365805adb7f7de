"""Writing a study report's outputs: JSON, figures in several formats, the Excel workbook.

With ``parallel=True`` (the command line) the figures are drawn in a forked child process while this
process writes the workbook's tables, which nearly halves the time on a two-core machine. The GUI
keeps the default (drawing in-process) because forking a multi-threaded Qt process is unsafe.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
from collections.abc import Callable
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
) -> dict[str, bytes]:
    """Draw every figure, save it in ``formats`` if a folder is given; returns PNG bytes by stem.

    Each PNG is rendered once: the same bytes go to the figures folder and into the workbook.
    """
    figs = figures.build_figures(report)
    pngs = (
        {stem: figures.figure_bytes(fig, "png") for stem, fig in figs.items()} if need_png else {}
    )
    if figures_dir is not None:
        figures.save_figures(figs, Path(figures_dir), formats, rendered={"png": pngs})
    return pngs


def can_fork() -> bool:
    """Fork-based parallel drawing: Linux with more than one CPU."""
    return sys.platform.startswith("linux") and (os.cpu_count() or 1) > 1


def render_figures_in_child(
    report: dict[str, Any], figures_dir: Path | None, formats: tuple[str, ...], need_png: bool
) -> Callable[[], dict[str, bytes]]:
    """Start :func:`render_figures` in a forked process; the returned function waits for it.

    An error in the child is raised in the parent as a RuntimeError with the child's message.
    """
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)

    def child() -> None:
        try:
            outcome: tuple[str, Any] = (
                "ok",
                render_figures(report, figures_dir, formats, need_png),
            )
        except BaseException as exc:  # reported to the parent as one line
            outcome = ("error", f"{type(exc).__name__}: {exc}")
        sender.send(outcome)
        sender.close()

    process = context.Process(target=child, name="dermstudy-figures", daemon=True)
    process.start()
    sender.close()

    def wait() -> dict[str, bytes]:
        try:
            status, value = receiver.recv()
        except EOFError:
            status, value = "error", "the figure process ended without a result"
        finally:
            receiver.close()
            process.join()
        if status != "ok":
            raise RuntimeError(f"drawing the figures failed: {value}")
        return value

    return wait


def write_outputs(
    report: dict[str, Any],
    data: StudyData | None,
    figures_dir: Path | None,
    *,
    formats: tuple[str, ...] = ("png",),
    json_path: Path | None = None,
    xlsx_path: Path | None = None,
    parallel: bool = False,
) -> dict[str, float]:
    """Write whichever outputs are asked for; returns seconds spent per stage.

    In parallel mode the figures and the workbook overlap, so their time is reported together as
    ``figures_and_excel_s``.
    """
    timings: dict[str, float] = {}
    start = time.perf_counter()
    if json_path is not None:
        atomic_write_bytes(Path(json_path), report_json(report).encode("utf-8"))
    timings["json_s"] = time.perf_counter() - start
    if figures_dir is None and xlsx_path is None:
        return timings
    need_png = xlsx_path is not None or (figures_dir is not None and "png" in formats)
    start = time.perf_counter()
    if parallel and xlsx_path is not None and can_fork():
        pngs: dict[str, bytes] | Callable[[], dict[str, bytes]] = render_figures_in_child(
            report, figures_dir, formats, need_png
        )
    else:
        pngs = render_figures(report, figures_dir, formats, need_png)
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
    key = "excel_s" if "figures_s" in timings else "figures_and_excel_s"
    timings[key] = time.perf_counter() - start
    return timings
