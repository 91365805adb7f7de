"""Benchmark: import the whole downscaled HAM10000 set (10,015 images) into a fresh workspace.

Prints one JSON line: seconds, images per second, per-entity counts. Usage:
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


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    with tempfile.TemporaryDirectory() as tmp, Workspace.open(Path(tmp) / "ws") as ws:
        started = time.perf_counter()
        summary = import_ham10000(ws, folder)
        seconds = time.perf_counter() - started
        t0 = time.perf_counter()
        counts = dataset_summary(ws)
        summary_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = import_ham10000(ws, folder)
        reimport_seconds = time.perf_counter() - t0
    print(json.dumps({
        "bench": "import", "folder": str(folder), "cpus": os.cpu_count(),
        "rows": summary.rows, "imported": summary.imported_total,
        "skipped": len(summary.skipped), "seconds": round(seconds, 2),
        "images_per_second": round(summary.imported_total / seconds, 1),
        "summary_seconds": round(summary_seconds, 4),
        "reimport_seconds": round(reimport_seconds, 2), "reimport_already_present": again.already_present,
        "by_entity": {c: v["real"] for c, v in counts["by_entity"].items()},
    }))


if __name__ == "__main__":
    main()
