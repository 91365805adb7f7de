"""Benchmark: time to produce the full study report (JSON + Excel + figures).

Two synthetic studies: 1 reader x 140 cases and 20 readers x 1,400 cases (half real, half
synthetic, all seven entities, readers with 5-point AI scales and entity confidence). Prints one
JSON object per case with the seconds spent in each stage. Target: under 10 s for the large case.

    python bench/report.py [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from dermstudy.analysis.data import StudyData, tidy_answers
from dermstudy.entities import CODES


def synthetic_study(
    n_readers: int, n_cases: int, seed: int = 0, missing_rate: float = 0.01
) -> StudyData:
    """A study whose readers are right about 60% of entities and 65% of sources."""
    rng = np.random.default_rng(seed)
    cases = pd.DataFrame(
        {
            "case": [f"C{i:05d}" for i in range(n_cases)],
            "position": np.arange(n_cases),
            "true_entity": rng.choice(CODES, n_cases),
            "true_source": np.where(np.arange(n_cases) % 2 == 0, "real", "synthetic"),
        }
    )
    frames = []
    for r in range(n_readers):
        right = rng.random(n_cases) < 0.6
        pred = np.where(right, cases["true_entity"], rng.choice(CODES, n_cases))
        synthetic = (cases["true_source"] == "synthetic").to_numpy()
        scale = np.clip(
            np.round(3 + np.where(synthetic, 0.8, -0.8) + rng.normal(0, 1.3, n_cases)), 1, 5
        )
        frame = cases.assign(
            reader=f"reader{r + 1:02d}",
            pred_entity=pred,
            ai_scale=scale.astype(int),
            ai_vote=np.where(scale >= 3, "ai", "real"),
            confidence=np.where(right, rng.integers(3, 6, n_cases), rng.integers(1, 5, n_cases)),
            seconds=rng.gamma(4, 2.5, n_cases),
        )
        gone = rng.random(n_cases) < missing_rate
        frame.loc[gone, ["pred_entity", "ai_scale", "ai_vote", "confidence", "seconds"]] = None
        frames.append(frame)
    answers = tidy_answers(pd.concat(frames, ignore_index=True))
    study = {
        "id": 1,
        "name": f"bench-{n_readers}x{n_cases}",
        "seed": seed,
        "settings": {},
        "created_at": "2026-01-01T00:00:00+00:00",
    }
    return StudyData(study=study, answers=answers, cases=cases)


def run_case(n_readers: int, n_cases: int, out: Path) -> dict:
    from dermstudy.analysis.report import build_report
    from dermstudy.reports.bundle import write_outputs

    data = synthetic_study(n_readers, n_cases)
    t0 = time.perf_counter()
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
