"""The panels' Qt-free view models, fed plain dicts shaped like the core's results: no database."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from dermstudy.classifier.ablation import evaluate, summarise
from dermstudy.entities import BY_CODE, CODES, ENTITIES
from dermstudy.quality.report import NearestReal, QualityReport, QualityRow
from dermstudy.quality.tables import COLUMNS
from dermstudy.ui.viewmodels import classifier, quality
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
        "import dermstudy.ui.viewmodels.results, dermstudy.ui.viewmodels.quality\n"
        "import dermstudy.ui.viewmodels.classifier\n"
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
            blinding={"harmonise": "jpeg", "audit": {"combined": {"auc": 0.5412, "threshold": 0.6}}},
            warnings=["few melanomas", "AUC 0.9; consider another --harmonise option"],
        )
    )  # fmt: skip
    assert "five-point scale · with entity confidence · 3 practice cases" in full
    assert "going back allowed" in full and "same order" in full
    assert "\nPools: excluding sets a, b\n" in full
    assert "\nImages harmonised: jpeg\nBlinding audit: real vs synthetic AUC 0.54 (chance " in full
    assert "\nWarning: few melanomas\n" in full
    assert full.endswith("\nWarning: AUC 0.9; consider another “Harmonise images” option")


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


def _quality_report() -> QualityReport:
    rows = [
        QualityRow("vasc", 2, 5, ssim=0.25, fid=None, near_copies=1, notes=["few images"]),
        QualityRow("mel", 3, 5, ssim=0.5, fid=12.3456, near_copies=0),
    ]
    overall = QualityRow("overall", 5, 10, ssim=0.375, near_copies=1)
    pairs = [
        NearestReal("mel", 11, "/s/11.png", 21, "/r/21.png", 0.25, 31, "/r/31.png", 0.9876, False),
        NearestReal("vasc", 12, "/s/12.png", 22, "/r/22.png", 0.0123, near_copy=True),
    ]
    return QualityReport(
        rows, overall, pairs, {"fid": "no Inception weights"}, ["pixels at 256 px"], {},
        {"inception": "Inception v3"},
    )  # fmt: skip


def test_quality_cells_sort_entities_in_research_order_and_numbers_as_numbers() -> None:
    report = _quality_report()
    vasc, mel = (quality.quality_cells(row) for row in report.rows)
    assert len(mel) == len(COLUMNS) == len(quality.ENTITY_HEADERS)
    assert [mel[0].key, vasc[0].key] == [CODES.index("mel"), CODES.index("vasc")]
    assert mel[0].text == "mel" and mel[0].label and not mel[0].right_aligned
    assert vasc[0].tooltip.endswith("\nfew images") and vasc[0].tooltip.startswith("vasc (")
    ssim = [key for key, _ in COLUMNS].index("ssim")
    fid = [key for key, _ in COLUMNS].index("fid")
    assert (mel[ssim].text, mel[ssim].key, mel[ssim].right_aligned) == ("0.500", 0.5, True)
    assert (vasc[fid].text, vasc[fid].key) == ("–", None)
    assert quality.quality_cells(report.overall)[0].key == len(CODES)  # after every entity
    assert quality.sorts_before(2, 10) and not quality.sorts_before(10, 2)  # not "10" < "2"
    assert quality.sorts_before(0.1, None) and not quality.sorts_before(None, 0.1)
    assert not quality.sorts_before(None, None)


def test_memorisation_cells_captions_notes_and_status() -> None:
    report = _quality_report()
    with_features, copy = (quality.memorisation_cells(m) for m in report.memorisation)
    assert [c.text for c in with_features] == ["mel", "11", "21", "0.2500", "31", "0.9876", ""]
    assert [c.text for c in copy][4:] == ["–", "–", "yes"]
    assert copy[4].key is None and copy[6].key == 1 and copy[3].key == 0.0123
    assert quality.MEMORISATION_HEADERS[quality.MEMORISATION_SORT_COLUMN] == "Pixel\nRMSE"
    assert quality.pair_captions(report.memorisation[1]) == (
        "Synthetic image 12 (vasc) — near-copy",
        "Nearest real image 22: pixel RMSE 0.0123",
    )
    assert quality.pair_captions(report.memorisation[0])[0] == "Synthetic image 11 (mel)"
    assert quality.notes_text(report).split("\n\n") == [
        "pixels at 256 px",
        "Skipped (fid): no Inception weights",
        "vasc: few images",
        "Features: Inception v3",
    ]
    assert quality.status_text(report) == "5 synthetic images, 2 entities; 1 near-copy."
    report.overall.near_copies = 3
    assert quality.status_text(report).endswith("; 3 near-copies.")


def test_two_line_headers_break_at_the_first_space_or_hyphen() -> None:
    assert quality.two_lines("Real (Inception)") == "Real\n(Inception)"
    assert quality.two_lines("Near-copies") == "Near-\ncopies"
    assert quality.two_lines("SSIM") == "SSIM"


def _seed(seed: int, predicted: list[int]) -> dict:
    """One arm × seed as the ablation stores it: 4 test images of mel (0) and nv (1)."""
    proba = np.eye(len(CODES))[predicted]
    return {
        "seed": seed,
        "n_train": 40,
        "train_synthetic_share": 0.25,
        **evaluate(np.array([0, 0, 1, 1]), proba),
        "history": [{"epoch": e, "train_loss": 2.0 - e / 10, "val_loss": 2.0} for e in (1, 2, 3)],
        "best_epoch": 2,
    }


def _ablation_result() -> dict:
    seeds = [_seed(0, [0, 1, 1, 1]), _seed(1, [0, 0, 1, 1])]
    return {
        "name": "r1",
        "status": "finished",
        "model": "paper-cnn",
        "options": {"arms": ["original", "combined"], "protocol": "held-out"},
        "arms": {"original": {"seeds": seeds, "summary": summarise(seeds)}},  # combined: none yet
    }


def test_classifier_tables_from_a_stored_result() -> None:
    result = _ablation_result()
    table = classifier.table3_text(result)
    assert len(table.rows) == len(CODES) + 3  # classes, accuracy, macro and weighted averages
    assert table.headers[:3] == ["class", "original\nprecision", "original\nrecall"]
    assert not any(h.startswith("combined") for h in table.headers)  # no finished seed yet
    accuracy = next(row for row in table.rows if row[0] == "accuracy")
    f1 = table.headers.index("original\nf1-score")
    assert accuracy[f1] == "0.88 ± 0.18"  # mean of 0.75 and 1.0, sd (ddof 1) 0.177
    assert classifier.table3_text(None) == classifier.TextTable([], [])
    # macro F1 over the 7 classes: seed 0 has mel 2/3 and nv 0.8, the rest 0; seed 1 is perfect.
    assert classifier.seed_rows(result) == [
        ["original", "0", "40", "25", "0.750", f"{(2 / 3 + 0.8) / 7:.3f}", "2 of 3"],
        ["original", "1", "40", "25", "1.000", f"{2 / 7:.3f}", "2 of 3"],
    ]
    assert len(classifier.SEED_HEADERS) == len(classifier.seed_rows(result)[0])
    assert classifier.stored_run_text("r1", result) == (
        "Run r1: finished, model paper-cnn, protocol held-out."
    )


def test_ablation_view_follows_events_and_reads_the_result(tmp_path) -> None:
    view = classifier.AblationView()
    assert view.on_event({"event": "start", "run": "r1"}) is None and view.run_name == "r1"
    for epoch in (1, 2):
        event = {"event": "epoch", "arm": "original", "seed": "0", "epoch": epoch}
        assert view.on_event(event) == classifier.REDRAW
    assert view.on_event({"event": "epoch", "arm": "combined", "seed": 1, "epoch": 1}) == "redraw"
    assert [e["epoch"] for e in view.curves["original"][0]] == [1, 2]
    assert list(view.curves) == ["original", "combined"] and list(view.curves["combined"]) == [1]
    assert view.on_event({"event": "log", "message": "x"}) is None
    # Nothing written yet: nothing to read, and the view keeps what it had.
    assert view.on_event({"event": "seed_done", "run": "r1", "arm": "original"}) == "reload"
    assert not view.reload(tmp_path) and view.result is None
    folder = tmp_path / "classifier" / "r1"
    folder.mkdir(parents=True)
    (folder / "result.json").write_text(json.dumps(_ablation_result()))
    assert view.reload(tmp_path) and view.result["status"] == "finished"
    (folder / "result.json").write_text("{half a")
    assert not view.reload(tmp_path) and view.result["status"] == "finished"

    stored = classifier.AblationView()
    (folder / "result.json").write_text(json.dumps(_ablation_result()))
    assert stored.show_stored(tmp_path, "r1") and stored.run_name == "r1"
    assert list(stored.curves) == ["original"]  # the stored curves replace any live ones
    assert [len(stored.curves["original"][seed]) for seed in (0, 1)] == [3, 3]
    assert not classifier.AblationView().show_stored(tmp_path, "missing")
