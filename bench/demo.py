"""Benchmark: how long `dermstudy demo` takes to build the demo workspace, and to reopen it.

Builds the workspace (140 shipped real images imported, 70 shipped generated images stored with their
provenance, the blinded 140-case study with its audit, the demo reader's answers) in a temporary
folder, then calls the build again on the finished workspace (what every later `dermstudy demo` does).
Prints one JSON object with the CPU model and load. Target: first build under 60 s on a 2-core CPU.

    python bench/demo.py
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    from machine import cpu_name

    from dermstudy.demo import build_demo

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        first = build_demo(Path(tmp) / "demo")
        built = time.perf_counter() - start
        start = time.perf_counter()
        build_demo(Path(tmp) / "demo")
        reopened = time.perf_counter() - start
    print(
        json.dumps(
            {
                "cpu": cpu_name(),
                "cpus": os.cpu_count(),
                "load_average_1min_before": round(load_before, 2),
                "first_build_s": round(built, 1),
                "reopen_s": round(reopened, 2),
                "real_imported": first.real_imported,
                "synthetic_imported": first.synthetic_imported,
                "answers": first.answers_added,
            }
        )
    )


if __name__ == "__main__":
    main()
