"""Benchmark: time to produce the full study report (JSON + Excel + figures).

Two synthetic studies: 1 reader x 140 cases and 20 readers x 1,400 cases (half real, half
synthetic, all seven entities, readers with 5-point AI scales and entity confidence). The cases
of the fooling-cases gallery get 600 x 450 noise PNGs (made before the clock starts) so the
workbook's thumbnails are timed too. Times ``bundle.produce`` (the analysis, then
the outputs; the command line's path). Prints one JSON object per case with the seconds spent in
each stage, the CPU model and the load. Target: under 10 s for the large case.

    python bench/report.py [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

# The checkout first: its dermstudy, and tests.fixtures for the made-up data.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from machine import cpu_name

from tests.fixtures.sample_studies import synthetic_study


def _gallery_images(report: dict, folder: Path) -> dict[str, Path]:
    """A 600 x 450 noise PNG (the size of a HAM10000 case, hard to compress) per gallery case."""
    from dermstudy.reports.gallery import gallery_cases

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    out = {}
    for case in gallery_cases(report):
        path = folder / f"{case}.png"
        Image.fromarray(rng.integers(0, 255, (450, 600, 3), dtype=np.uint8)).save(path)
        out[case] = path
    return out


def _cpu_seconds() -> float:
    """User + system CPU time of this process and of its finished children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _own_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def _critical_path(t: dict[str, float]) -> float:
    """CPU seconds on the longest chain. Overlapped (bundle.produce with a child): the child
    analyses, then draws the figures; this process writes the answers sheet, then the report's
    sheets once the report is there. Serially: the analysis, then sheets and figures."""
    if "data_sheets_cpu_s" in t and "figures_wait_s" in t:
        analysis = t["analysis_cpu_s"]
        here = max(t["data_sheets_cpu_s"], analysis) + t["excel_cpu_s"]
        return max(here, analysis + t["figures_cpu_s"])
    return t["analysis_cpu_s"] + t["excel_cpu_s"] + t["figures_cpu_s"]


def run_case(n_readers: int, n_cases: int, out: Path) -> dict:
    from dermstudy.analysis.report import build_report
    from dermstudy.reports.bundle import produce

    data = synthetic_study(n_readers, n_cases)
    # The gallery's case images are the study's files: made before the clock starts, for the
    # cases the (deterministic) report lists, from an untimed analysis.
    data.case_images = _gallery_images(build_report(data), out / "cases")
    cpu0, own0, t0 = _cpu_seconds(), _own_cpu_seconds(), time.perf_counter()
    _report, timings = produce(
        data,
        out,
        formats=("png",),
        json_path=out / "report.json",
        xlsx_path=out / "report.xlsx",
    )
    total_s = time.perf_counter() - t0
    own_cpu = _own_cpu_seconds() - own0  # this process's share
    child_cpu = _cpu_seconds() - cpu0 - own_cpu  # the analysis/figure process, when there is one
    return {
        "readers": n_readers,
        "cases": n_cases,
        "answers": len(data.answers),
        **{k: round(v, 3) for k, v in timings.items()},
        "total_s": round(total_s, 3),
        # CPU seconds of this process and of its child (analysis, then figures): less sensitive
        # than wall time to other work on the machine (but the sum of both cores where they
        # overlap). With two idle cores the wall time is about the larger of the two.
        "total_cpu_s": round(own_cpu + child_cpu, 3),
        "cpu_main_s": round(own_cpu, 3),
        "cpu_child_s": round(child_cpu, 3),
        # CPU seconds on the longest chain: about the wall time on two idle cores.
        "critical_path_cpu_s": round(_critical_path(timings), 3),
        "target_s": 10.0 if n_readers == 20 else None,
        "load_avg_1min": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "cpu_model": cpu_name(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="keep the outputs here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.out or Path(tmp)
        for readers, cases in ((1, 140), (20, 1400)):
            target = root / f"{readers}x{cases}"
            target.mkdir(parents=True, exist_ok=True)
            print(json.dumps(run_case(readers, cases, target)))


if __name__ == "__main__":
    main()
