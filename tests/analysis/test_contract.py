"""The JSON contract of ``dermstudy report --json`` and the loader's input errors."""

from __future__ import annotations

import json

import pytest

from dermstudy.analysis.data import AnalysisInputError, load_study
from dermstudy.analysis.report import build_report
from dermstudy.jobs import Cancelled, CancelToken
from tests.analysis.tiny import make_tiny_study
from tests.fixtures.sample_studies import synthetic_study

TOP_LEVEL = {"study", "readers", "entity", "ai_vs_real", "subsets", "per_reader", "agreement"}
REPORT_KEYS = {
    "labels",
    "per_class",
    "accuracy",
    "macro_avg",
    "weighted_avg",
    "confusion_matrix",
    "auc",
    "n_expected",
    "n_answered",
    "missing",
}


def _report_objects(report):
    yield report["entity"]
    yield report["ai_vs_real"]
    yield report["subsets"]["real"]
    yield report["subsets"]["synthetic"]
    for rep in report["per_reader"].values():
        yield rep["entity"]
        yield rep["ai_vs_real"]


def _check_report_object(rep):
    assert set(rep) >= REPORT_KEYS
    labels = rep["labels"]
    assert list(rep["per_class"]) == labels
    for entry in rep["per_class"].values():
        assert set(entry) == {"precision", "recall", "f1", "support"}
    for key in ("macro_avg", "weighted_avg"):
        assert set(rep[key]) == {"precision", "recall", "f1"}
    assert len(rep["confusion_matrix"]) == len(labels)
    assert all(len(row) == len(labels) for row in rep["confusion_matrix"])
    assert list(rep["auc"]) == labels
    for entry in rep["auc"].values():
        assert {"binary", "rating", "ci_low", "ci_high"} <= set(entry)


def test_contract_keys_and_strict_json():
    report = build_report(synthetic_study(3, 70, seed=2), n_resamples=200)
    assert set(report) >= TOP_LEVEL
    assert set(report["subsets"]) == {"real", "synthetic"}
    for rep in _report_objects(report):
        _check_report_object(rep)
    text = json.dumps(report, allow_nan=False)  # no NaN/inf anywhere
    assert json.loads(text)["study"]["name"] == "simulated-3x70"
    assert [r["name"] for r in report["readers"]] == ["reader01", "reader02", "reader03"]
    assert report["entity"]["labels"] == ["mel", "nv", "akiec", "bkl", "bcc", "df", "vasc"]
    assert report["ai_vs_real"]["labels"] == ["real", "synthetic"]


def test_contract_is_stable_full_precision(workspace):
    make_tiny_study(workspace)
    report = build_report(load_study(workspace, "tiny"))
    assert report["entity"]["accuracy"] == 5 / 7  # not rounded
    assert report["study"]["n_cases"] == 8 and report["study"]["n_real"] == 4


def test_reader_filter_and_input_errors(workspace):
    make_tiny_study(workspace, readers="AB")
    data = load_study(workspace, "tiny", ["B"])
    assert data.readers == ["B"]
    with pytest.raises(AnalysisInputError, match="reader 'C' has no session"):
        load_study(workspace, "tiny", ["C"])
    with pytest.raises(AnalysisInputError, match=r"no study named 'other'.*tiny"):
        load_study(workspace, "other")
    assert load_study(workspace, "1").study["name"] == "tiny"  # by id


def test_study_without_sessions_is_reported(workspace):
    from tests.fixtures.sample_studies import CaseSpec, insert_study

    insert_study(workspace, "empty", [CaseSpec("e1", "mel", "real")], [])
    with pytest.raises(AnalysisInputError, match="no reader sessions"):
        load_study(workspace, "empty")


def test_reader_with_session_but_no_answers_counts_all_missing(workspace):
    from tests.analysis.tiny import CASES, READER_A
    from tests.fixtures.sample_studies import insert_study

    insert_study(workspace, "t", CASES, READER_A, readers=["A", "Z"])
    report = build_report(load_study(workspace, "t"), n_resamples=200)
    assert report["missing"]["by_reader"] == {"A": 1, "Z": 8}
    assert report["per_reader"]["Z"]["entity"]["accuracy"] is None
    assert report["entity"]["n_answered"] == 7


def test_build_report_can_be_cancelled():
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        build_report(synthetic_study(1, 30), cancel=token)


def test_binary_study_without_scales_uses_binarised_auc(workspace, tmp_path):
    """A study that collected neither the five-point scale nor confidence (both NULL)."""
    from dermstudy.reports.bundle import write_outputs
    from tests.analysis.tiny import CASES, READER_A, READER_B
    from tests.fixtures.sample_studies import VoteSpec, insert_study

    votes = [
        VoteSpec(v.reader, v.case, v.entity, v.ai_vote, None, None, v.seconds)
        for v in READER_A + READER_B
    ]
    insert_study(workspace, "binary", CASES, votes)
    data = load_study(workspace, "binary")
    report = build_report(data, n_resamples=200)
    auc = report["ai_vs_real"]["auc"]["synthetic"]
    assert auc["rating"] is None and auc["ci_of"] == "binary"
    assert auc["ci_low"] <= auc["binary"] <= auc["ci_high"]
    assert report["entity"]["auc"]["mel"]["rating"] is None
    averaged = report["reader_summary"]["reader_averaged_auc"]["ai_vs_real"]
    assert averaged["score"] == "binary"
    write_outputs(report, data, tmp_path / "f", xlsx_path=tmp_path / "r.xlsx")
    assert (tmp_path / "f" / "roc_ai_vs_real.png").stat().st_size > 5000
