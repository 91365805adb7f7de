"""Benchmark: time to produce the full study report (JSON + Excel + figures).

Two synthetic studies: 1 reader x 140 cases and 20 readers x 1,400 cases (half real, half
synthetic, all seven entities, readers with 5-point AI scales and entity confidence). Prints one
JSON object per case with the seconds spent in each stage. Target: under 10 s for the large case.

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

# The checkout first: its dermstudy, and tests.fixtures for the made-up data.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fixtures.sample_studies import synthetic_study


def _cpu_seconds() -> float:
    """User + system CPU time of this process and of its finished children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def run_case(n_readers: int, n_cases: int, out: Path) -> dict:
    from dermstudy.analysis.report import build_report
    from dermstudy.reports.bundle import write_outputs

    data = synthetic_study(n_readers, n_cases)
    cpu0, t0 = _cpu_seconds(), time.perf_counter()
    report = build_report(data)
    t1 = time.perf_counter()
    timings = write_outputs(
        report,
        data,
        out,
        formats=("png",),
        json_path=out / "report.json",
        xlsx_path=out / "report.xlsx",
    )
    t2 = time.perf_counter()
    return {
        "readers": n_readers,
        "cases": n_cases,
        "answers": len(data.answers),
        "analysis_s": round(t1 - t0, 3),
        **{k: round(v, 3) for k, v in timings.items()},
        "total_s": round(t2 - t0, 3),
        # CPU seconds of this process: less sensitive than wall time to other work on the machine.
        "total_cpu_s": round(_cpu_seconds() - cpu0, 3),
        "target_s": 10.0 if n_readers == 20 else None,
        "load_avg_1min": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
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
