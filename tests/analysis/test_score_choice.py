"""The rating-or-binary AUC choice: made once from the study's reading settings, carried in the
report, and read (not re-decided) by the text, workbook, figures and Results panel."""

from __future__ import annotations

import json
from dataclasses import replace

from dermstudy.analysis import metrics
from dermstudy.analysis.data import load_study
from dermstudy.analysis.report import build_report
from dermstudy.reports import figures
from dermstudy.reports.tables import study_table
from dermstudy.reports.text import render_text
from tests.analysis.tiny import CASES, READER_A, READER_B
from tests.fixtures.sample_studies import insert_study

FIVE_POINT_WITH_CONFIDENCE = {"answer_scale": "five-point", "entity_confidence": True}


def _stray_study(ws, name, reading):
    """The tiny two-reader study where reader B's answer to c2 is a bare binary 'real' vote, as a
    ``votes import`` from before the rules were enforced could leave it."""
    votes = [replace(v, ai_scale=None) if (v.reader, v.case) == ("B", "c2") else v
             for v in READER_A + READER_B]  # fmt: skip
    study_id = insert_study(ws, name, CASES, votes)
    if reading is not None:
        with ws.transaction():
            ws.conn.execute(
                "UPDATE studies SET settings = ? WHERE id = ?",
                (json.dumps({"design": "sample", "reading": reading}), study_id),
            )
    return build_report(load_study(ws, name), n_resamples=50)


def _entries(value, path=()):
    """(path, AUC entry) for every AUC entry in the report."""
    if isinstance(value, dict):
        if "ci_of" in value:
            yield path, value
        for key, item in value.items():
            yield from _entries(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _entries(item, (*path, i))


def _keys(value, name):
    if isinstance(value, dict):
        return (name in value) + sum(_keys(v, name) for v in value.values())
    if isinstance(value, list):
        return sum(_keys(v, name) for v in value)
    return 0


def test_a_stray_binary_answer_keeps_the_five_point_rating_auc_everywhere(workspace):
    report = _stray_study(workspace, "five", FIVE_POINT_WITH_CONFIDENCE)
    assert report["scores"] == {
        "ai_vs_real": "rating",
        "entity": "rating",
        "from": "the study's reading settings",
    }
    assert _keys(report, "scores") == 1  # the choice is made, and written, once
    entries = [(path, e) for path, e in _entries(report) if e["ci_of"] is not None]
    assert entries, "the report has AUC entries"
    for path, entry in entries:
        assert entry["ci_of"] == "rating", path
        assert entry["rating"] is not None, path
    reader_b = report["per_reader"]["B"]["ai_vs_real"]["auc"]["synthetic"]
    assert reader_b["ci_of"] == "rating"
    averaged = report["reader_summary"]["reader_averaged_auc"]
    assert {averaged[k]["score"] for k in averaged if isinstance(averaged[k], dict)
            and "score" in averaged[k]} == {"rating"}  # fmt: skip
    # The views read the choice instead of looking for nulls again.
    from dermstudy.ui.panels.results import headline_numbers

    cards = dict(headline_numbers(report))
    assert "AI-vs-real AUC (scale)" in cards
    assert figures._best_auc(reader_b) == reader_b["rating"]
    (row,) = [r for r in study_table(report).rows if r[0] == "main AUC score"]
    assert row[1].startswith("AI vs real: rating, entity: rating")
    assert render_text(report).count("main AUC score") == 1


def test_the_stray_answer_sits_on_the_scale_as_in_the_rating_exports(workspace):
    report = _stray_study(workspace, "five", FIVE_POINT_WITH_CONFIDENCE)
    answers = load_study(workspace, "five").answers
    b = answers[answers["reader"] == "B"].sort_values("case")
    # c2 (synthetic) voted 'real' -> 2 on the scale; the others keep their scale values.
    assert metrics.ai_rating(b).tolist() == [2.0, 2.0, 1.0, 4.0, 2.0, 4.0, 1.0, 5.0]
    assert report["per_reader"]["B"]["ai_vs_real"]["auc"]["synthetic"]["rating"] is not None


def test_a_binary_study_reports_the_binary_auc_even_with_scale_answers(workspace):
    report = _stray_study(workspace, "bin", {"answer_scale": "binary"})
    assert report["scores"]["ai_vs_real"] == "binary"
    assert report["scores"]["entity"] == "binary"  # confidence not asked, though given
    pooled = report["ai_vs_real"]["auc"]["synthetic"]
    assert pooled["ci_of"] == "binary" and pooled["rating"] is None


def test_without_reading_settings_the_answers_decide(workspace):
    # A study made outside the builder records no reading settings: the answers decide, once for
    # the whole report (every scored answer must carry the scale), and the report says so.
    report = _stray_study(workspace, "legacy", None)
    assert report["scores"]["from"].startswith("the answers")
    assert report["scores"]["ai_vs_real"] == "binary"
    assert report["scores"]["entity"] == "rating"  # every answer has a confidence
    for reader in ("A", "B"):  # reader A's own answers all have the scale, yet one choice holds
        assert report["per_reader"][reader]["ai_vs_real"]["auc"]["synthetic"]["ci_of"] == "binary"
