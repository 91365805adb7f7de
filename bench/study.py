"""Benchmark: build the reference 140-case study and read it through the Qt-free session API.

Uses the shipped demo images as the real pool and 256x256 made-up PNGs as the synthetic pool, then
measures: study creation (draw + blind 140 images), package export, the durable commit of each
answer (``ReadingSession.submit``: one transaction, synchronous=FULL) in a workspace and in a
package's answers file, and reading one blinded image (``image_bytes`` uncached). Prints JSON.
Target from issue 5: p95 of a durable commit under 50 ms on the 2-core machine.

    python bench/study.py
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

# The checkout first: its dermstudy, and tests.fixtures for the made-up data.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dermstudy.commands.demo import prepare_demo
from dermstudy.reading import Answer, open_reading
from dermstudy.study.builder import StudyDesign, create_study
from dermstudy.study.package import export_package
from dermstudy.workspace import Workspace
from tests.fixtures.sample_images import add_sample_images


def percentiles(samples: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in samples)
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return {"p50_ms": round(q[49], 2), "p95_ms": round(q[94], 2), "max_ms": round(ms[-1], 2)}


def read_all(source: Path, study: str | None, reader: str) -> dict[str, dict[str, float]]:
    commits, images = [], []
    with open_reading(source, study, reader) as session:
        for i in range(session.total):
            t0 = time.perf_counter()
            session._cache.clear()  # measure the uncached read, not the LRU hit
            session.image_bytes(i)
            images.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            session.submit(i, Answer("mel", ai_scale=i % 5 + 1))
            commits.append(time.perf_counter() - t0)
        session.finish()
    return {"commit": percentiles(commits), "image_bytes": percentiles(images)}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root, _summary = prepare_demo(Path(tmp) / "ws")
        with Workspace.open(root) as ws:
            add_sample_images(ws, 0, 12, synthetic_size=(256, 256))
            t0 = time.perf_counter()
            create_study(ws, StudyDesign.with_counts("bench", seed=1))
            created = time.perf_counter() - t0
            t0 = time.perf_counter()
            package = Path(tmp) / "bench.zip"
            export_package(ws, "bench", package)
            exported = time.perf_counter() - t0
        result = {
            "cases": 140,
            "create_study_s": round(created, 2),
            "export_package_s": round(exported, 2),
            "package_mb": round(package.stat().st_size / 1e6, 1),
            "workspace": read_all(root, "bench", "bench-reader"),
            "package": read_all(package, None, "bench-reader"),
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
