"""The panels' Qt-free view models, fed plain dicts shaped like the core's results: no database."""

from __future__ import annotations

import subprocess
import sys

from dermstudy.entities import BY_CODE, ENTITIES
from dermstudy.ui.viewmodels.dataset import dataset_counts
from dermstudy.ui.viewmodels.results import headline_numbers, summary_text
from dermstudy.ui.viewmodels.studies import (
    design_text,
    reading_progress_rows,
    study_details,
    study_list_rows,
)


def test_view_models_import_no_qt() -> None:
    code = (
        "import sys\n"
        "import dermstudy.ui.viewmodels.dataset, dermstudy.ui.viewmodels.studies\n"
        "import dermstudy.ui.viewmodels.results\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_dataset_counts_keep_the_research_order_and_add_a_total() -> None:
    by_entity = {e.code: {"real": 1000 * i, "synthetic": i} for i, e in enumerate(ENTITIES, 1)}
    counts = dataset_counts(by_entity)
    assert [r.code for r in counts.rows] == [e.code for e in ENTITIES]
    assert counts.rows[1].cells() == [ENTITIES[1].code, ENTITIES[1].name, "2,000", "2", "2,002"]
    assert (counts.total.code, counts.total.name) == ("", "Total")
    assert (counts.total.real, counts.total.synthetic) == (28_000, 28)
    assert counts.summary_text("/ws") == "28,028 images in /ws — 28,000 real, 28 synthetic"


def _summary(**changes) -> dict:
    summary = {
        "name": "pilot",
        "cases": 14,
        "seed": 7,
        "created_at": "2026-11-30T09:15:42+00:00",
        "practice_cases": 0,
        "reading": {"display_size": 512, "order": "per-reader", "answer_scale": "binary"},
        "design": {"pools": {}},
        "counts": {"mel": {"real": 1, "synthetic": 2}, "nv": {"real": 3, "synthetic": 0}},
        "readers": [
            {
                "reader": "A",
                "answered": 14,
                "practice_answered": 2,
                "started_at": "2026-11-30T10:00:05",
                "finished_at": "2026-11-30T10:40:59",
            },
            {
                "reader": "B",
                "answered": 3,
                "practice_answered": 0,
                "started_at": "2026-11-30T11:00:00",
                "finished_at": None,
            },
        ],
    }
    summary.update(changes)
    return summary


def test_study_details_format_counts_and_readers() -> None:
    details = study_details(_summary())
    assert details.title == "pilot — 14 scored cases"
    mel, nv = BY_CODE["mel"].short_name, BY_CODE["nv"].short_name
    assert details.count_rows == [[mel, 1, 2, 3], [nv, 3, 0, 3]]
    assert details.reader_rows == [
        ["A", "14 / 14", 2, "2026-11-30 10:00", "2026-11-30 10:40"],
        ["B", "3 / 14", 0, "2026-11-30 11:00", "—"],
    ]
    assert reading_progress_rows(_summary()) == [
        ["A", "14 / 14", "2026-11-30 10:40"],
        ["B", "3 / 14", "—"],
    ]


def test_design_text_names_the_settings_pools_audit_and_warnings() -> None:
    plain = design_text(_summary())
    assert plain.splitlines() == [
        "Seed 7 · 512 px · own order per reader · no going back · binary",
        "Pools: one image per lesion",
        "Created 2026-11-30 09:15",
    ]
    full = design_text(
        _summary(
            practice_cases=3,
            reading={"display_size": 256, "answer_scale": "five-point", "allow_back": True,
                     "entity_confidence": True},
            design={"pools": {"exclude_sets": ["a", "b"], "one_per_lesion": False}},
            blinding={"audit": {"combined": {"auc": 0.5412, "threshold": 0.6}}},
            warnings=["few melanomas"],
        )
    )  # fmt: skip
    assert "five-point scale · with entity confidence · 3 practice cases" in full
    assert "going back allowed" in full and "same order" in full
    assert "\nPools: excluding sets a, b\n" in full
    assert "Blinding audit: real vs synthetic AUC 0.54 (chance threshold 0.60)" in full
    assert full.endswith("\nWarning: few melanomas")


def test_study_list_rows() -> None:
    studies = [{"name": "s", "cases": 5, "readers": 2, "finished_readers": 1, "other": "x"}]
    assert study_list_rows(studies) == [["s", 5, 2, 1]]


def _report(ci_of: str) -> dict:
    auc = {"binary": 0.61, "rating": 0.72, "ci_of": ci_of, "ci_low": None, "ci_high": None}
    return {
        "study": {"name": "pilot", "n_cases": 14, "n_real": 7, "n_synthetic": 7},
        "readers": ["A", "B"],
        "missing": {"total": 3},
        "entity": {"accuracy": 0.5, "macro_avg": {"f1": 0.25}, "n_answered": 25},
        "ai_vs_real": {"accuracy": 0.75, "auc": {"synthetic": auc}},
        "agreement": {"entity": {"fleiss_kappa": 0.1}},
    }


def test_results_summary_and_cards_follow_the_reports_choice() -> None:
    assert summary_text(_report("binary")) == (
        "pilot: 14 scored cases (7 real, 7 synthetic), 2 reader(s), 3 missing answer(s)."
    )
    binary, scale = (
        dict(headline_numbers(_report("binary"))),
        dict(headline_numbers(_report("rating"))),
    )
    assert "AI-vs-real AUC (binary)" in binary and "AI-vs-real AUC (scale)" in scale
    assert binary["AI-vs-real AUC (binary)"] != scale["AI-vs-real AUC (scale)"]
    assert binary["readers"] == "2" and binary["missing answers"] == "3"
