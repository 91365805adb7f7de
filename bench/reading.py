"""Benchmark: the reader window over a 140-case study (7 entities x (10 real + 10 synthetic)).

For every case the answer keys are typed into a real ``ReaderWidget`` (1280x860, Qt platform from
``QT_QPA_PLATFORM``, default offscreen) and Enter is pressed; it measures

* key_to_paint_ms: from the Enter key event reaching the window to the next case's image painted
  (includes the durable commit, swapping the preloaded pixmap and the paint itself);
* commit_ms: ``ReadingSession.submit`` alone (one SQLite transaction, synchronous=FULL, fsync).

Prints one JSON object with p50/p95/max; the target is p95 < 50 ms. Usage:
    python bench/reading.py [--cases-per-kind 10] [--size 256]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# The checkout first: its dermstudy, and tests.fixtures for the made-up data.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from dermstudy.reading import open_reading
from dermstudy.study.builder import StudyDesign, create_study
from dermstudy.ui.app import create_application
from dermstudy.ui.reader_window import ReaderWindow
from dermstudy.workspace import Workspace
from tests.fixtures.sample_images import add_sample_images

TARGET_P95_MS = 50.0
ENTITY_KEYS = [getattr(Qt.Key, f"Key_{i}") for i in range(1, 8)]
SCALE_KEYS = [Qt.Key.Key_A, Qt.Key.Key_S, Qt.Key.Key_D, Qt.Key.Key_F, Qt.Key.Key_G]


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "n": len(ordered),
        "p50": round(q[49], 2),
        "p95": round(q[94], 2),
        "max": round(ordered[-1], 2),
        "mean": round(statistics.fmean(ordered), 2),
    }


def make_workspace(root: Path, per_kind: int, size: int) -> float:
    """A made-up library and a 7 x (per_kind + per_kind) study; returns the study build seconds."""
    with Workspace.open(root) as ws:
        add_sample_images(ws, per_kind + 2, per_kind + 2, seed=1, real_size=(300, 225))
        started = time.perf_counter()
        create_study(
            ws,
            StudyDesign.with_counts("bench", None, per_kind, per_kind, seed=1, display_size=size),
        )
        return time.perf_counter() - started


def read_whole_study(root: Path) -> dict:
    app = create_application()
    session = open_reading(root, "bench", "bench-reader")
    window = ReaderWindow(session)
    window.resize(1280, 860)
    window.show()
    reader = window.reader
    deadline_s = 5.0
    for n in range(session.total):
        app.processEvents()
        time.sleep(0.02)  # a reader looks at the case: give the preloader its chance, as in use
        app.processEvents()
        QTest.keyClick(reader, ENTITY_KEYS[n % 7])
        QTest.keyClick(reader, SCALE_KEYS[n % 5])
        painted_before = len(reader.timings.key_to_paint_ms)
        QTest.keyClick(reader, Qt.Key.Key_Return)
        if n == session.total - 1:
            break  # the last Enter shows the finish screen, not an image
        waited = time.perf_counter()
        while len(reader.timings.key_to_paint_ms) == painted_before:
            app.processEvents()
            if time.perf_counter() - waited > deadline_s:
                raise RuntimeError(f"case {n + 2} was not painted within {deadline_s} s")
    answered = session.scored_progress()
    timings = reader.timings
    window.close()
    session.close()
    return {
        "answered": answered[0],
        "cases": answered[1],
        "key_to_paint_ms": percentiles(timings.key_to_paint_ms),
        "commit_ms": percentiles(timings.commit_ms),
        "preloaded": timings.preloaded,
        "decoded_on_demand": timings.decoded_on_demand,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cases-per-kind", type=int, default=10, help="real (and synthetic) per entity"
    )
    parser.add_argument("--size", type=int, default=256, help="display size of the blinded images")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dermstudy-bench-reading-") as tmp:
        root = Path(tmp) / "ws"
        build_seconds = make_workspace(root, args.cases_per_kind, args.size)
        result = read_whole_study(root)
    result.update(
        {
            "bench": "reading",
            "platform": os.environ.get("QT_QPA_PLATFORM"),
            "cpus": os.cpu_count(),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "display_size": args.size,
            "study_build_seconds": round(build_seconds, 2),
            "target_p95_ms": TARGET_P95_MS,
            "meets_target": result["key_to_paint_ms"]["p95"] < TARGET_P95_MS,
        }
    )
    json.dump(result, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
