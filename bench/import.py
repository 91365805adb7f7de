"""Benchmark: import the whole downscaled HAM10000 set (10,015 images), then browse it in the panel.

Prints JSON lines: the import (seconds, images/s, per-entity counts) and the Dataset panel on the
imported workspace (time to open, to apply a filter, the longest UI-thread stall while thumbnails load
in the background, and how long until the first screenful of thumbnails is shown). Usage:
    python bench/import.py [FOLDER]   (default ../shared/ham10000-200x150)
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from dermstudy.datasets.ham10000 import import_ham10000
from dermstudy.datasets.summary import dataset_summary
from dermstudy.workspace import Workspace

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "ham10000-200x150"


def bench_import(folder: Path, root: Path) -> dict:
    with Workspace.open(root) as ws:
        started = time.perf_counter()
        summary = import_ham10000(ws, folder)
        seconds = time.perf_counter() - started
        t0 = time.perf_counter()
        counts = dataset_summary(ws)
        summary_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = import_ham10000(ws, folder)
        reimport_seconds = time.perf_counter() - t0
    return {
        "bench": "import",
        "folder": str(folder),
        "cpus": os.cpu_count(),
        "rows": summary.rows,
        "imported": summary.imported_total,
        "skipped": len(summary.skipped),
        "seconds": round(seconds, 2),
        "images_per_second": round(summary.imported_total / seconds, 1),
        "summary_seconds": round(summary_seconds, 4),
        "reimport_seconds": round(reimport_seconds, 2),
        "reimport_already_present": again.already_present,
        "by_entity": {c: v["real"] for c, v in counts["by_entity"].items()},
    }


def bench_panel(root: Path) -> dict:
    """Open the Dataset panel offscreen on the imported workspace and time what a user feels."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QElapsedTimer
    from PySide6.QtWidgets import QApplication

    from dermstudy.ui.panels.dataset import DatasetPanel

    app = QApplication.instance() or QApplication([])
    t0 = time.perf_counter()
    panel = DatasetPanel(root)
    panel.resize(1280, 800)
    panel.show()
    app.processEvents()
    open_seconds = time.perf_counter() - t0
    visible = _visible_rows(panel)
    longest_stall = 0.0
    clock = QElapsedTimer()
    first_screen = None
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 30:
        clock.start()
        app.processEvents()
        longest_stall = max(longest_stall, clock.elapsed() / 1000)
        loaded = sum(panel.model.has_thumbnail(panel.model.row_at(i).sha256) for i in visible)
        if loaded == len(visible):
            first_screen = time.perf_counter() - t0
            break
        time.sleep(0.005)
    t0 = time.perf_counter()
    panel.entity_filter.setCurrentIndex(panel.entity_filter.findData("df"))
    app.processEvents()
    filter_seconds = time.perf_counter() - t0
    rows_after_filter = panel.model.rowCount()
    images = panel.ws.conn.execute("SELECT COUNT(*) FROM images").fetchone()[0]
    panel.shutdown()
    return {
        "bench": "dataset_panel",
        "images": images,
        "open_seconds": round(open_seconds, 3),
        "first_screen_of_thumbnails_seconds": round(first_screen, 3) if first_screen else None,
        "visible_thumbnails": len(visible),
        "longest_ui_stall_seconds": round(longest_stall, 4),
        "filter_seconds": round(filter_seconds, 3),
        "rows_after_filter_df": rows_after_filter,
    }


def _visible_rows(panel) -> list[int]:
    view = panel.view
    rows = []
    for row in range(panel.model.rowCount()):
        rect = view.visualRect(panel.model.index(row, 0))
        if rect.intersects(view.viewport().rect()):
            rows.append(row)
        elif rows:
            break
    return rows


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        print(json.dumps(bench_import(folder, root)), flush=True)
        print(json.dumps(bench_panel(root)), flush=True)


if __name__ == "__main__":
    main()
