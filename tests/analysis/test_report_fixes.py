"""Issue 16 fixes to the study report: macro averages over the study's classes, undefined ratios
as null, both supports in Table 2, ``--reader A B``, scipy in ``software``, the covariance choice
and the incomplete-reader rule of the reader-averaged AUC."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from dermstudy.analysis import metrics, roc
from dermstudy.analysis.data import load_study
from dermstudy.analysis.report import build_report, table2_rows
from tests.analysis.tiny import CASES, READER_A, READER_B, make_tiny_study
from tests.fixtures.sample_studies import VoteSpec, insert_study


def test_two_entity_study_macro_average_is_over_its_two_entities():
    truth = ["mel", "mel", "nv", "nv"]
    pred = ["mel", "nv", "nv", "nv"]
    rep = metrics.classification_summary(truth, pred, metrics.CODES)
    # mel: P 1, R 1/2, F1 2/3; nv: P 2/3, R 1, F1 0.8 -> macro F1 0.733, not 0.21 over 7 classes
    assert rep["average_labels"] == ["mel", "nv"]
    assert rep["macro_avg"]["f1"] == pytest.approx((2 / 3 + 0.8) / 2)
    assert rep["per_class"]["bcc"] == {"precision": None, "recall": None, "f1": None, "support": 0}
    i = metrics.CODES.index("bcc")
    assert rep["confusion_matrix_normalized"][i] == [None] * 7  # agrees with the null ratios


def test_never_chosen_class_of_the_study_has_null_precision_and_counts_zero_in_macro():
    rep = metrics.classification_summary(["mel", "nv"], ["mel", "mel"], metrics.CODES)
    assert rep["per_class"]["nv"]["precision"] is None  # 0/0: nobody chose nv
    assert rep["per_class"]["nv"]["recall"] == 0.0
    assert rep["macro_avg"]["precision"] == pytest.approx((0.5 + 0.0) / 2)


def test_table2_shows_both_supports():
    model = metrics.classification_summary(["mel", "nv"], ["mel", "nv"], metrics.CODES)
    readers = metrics.classification_summary(["mel"] * 3 + ["nv"] * 3, ["mel"] * 6, metrics.CODES)
    model["n_answered"], readers["n_answered"] = 2, 6
    rows = {r["row"]: r for r in table2_rows(model, readers)}
    assert (rows["mel"]["support"], rows["mel"]["readers_support"]) == (1, 3)
    assert (rows["accuracy"]["support"], rows["accuracy"]["readers_support"]) == (2, 6)


def test_reader_option_takes_several_names_and_software_lists_scipy(workspace, capsys):
    from dermstudy.cli import main

    make_tiny_study(workspace, readers="AB")
    argv = ["--workspace", str(workspace.root), "report", "tiny", "--json", "--resamples", "100"]
    assert main([*argv, "--reader", "A", "B"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in report["readers"]] == ["A", "B"]
    assert "scipy" in report["software"]
    assert main([*argv, "--reader", "B"]) == 0
    assert [r["name"] for r in json.loads(capsys.readouterr().out)["readers"]] == ["B"]


def _tiny_with_readers(workspace, extra_votes=(), extra_readers=()):
    votes = [*READER_A, *READER_B, *extra_votes]
    insert_study(workspace, "t", CASES, votes, readers=extra_readers)
    return load_study(workspace, "t")


def test_reader_who_never_answered_no_longer_empties_the_averaged_auc(workspace):
    data = _tiny_with_readers(workspace, extra_readers=("quitter",))
    averaged = build_report(data, n_resamples=100)["reader_summary"]["reader_averaged_auc"]
    assert averaged["readers"] == ["A", "B"]
    assert averaged["left_out"] == [
        {"reader": "quitter", "answered": 0, "reason": "no scored answer"}
    ]
    assert averaged["rule"].startswith("complete cases")
    assert averaged["n_cases"] == 7  # c7, which A skipped, is left out
    truth = [0, 1, 0, 1, 0, 1, 1]
    expected = (
        roc_auc_score(truth, [1, 4, 2, 5, 4, 2, 5]) + roc_auc_score(truth, [2, 2, 1, 4, 2, 4, 5])
    ) / 2
    assert averaged["ai_vs_real"]["auc"] == pytest.approx(expected)


def test_complete_readers_only_drops_readers_who_skipped_a_case(workspace):
    # reader C answers every case as B does: with the rule, A (skipped c7) is out
    c = [
        VoteSpec("C", v.case, v.entity, v.ai_vote, v.ai_scale, v.confidence, v.seconds)
        for v in READER_B
    ]
    data = _tiny_with_readers(workspace, extra_votes=c)
    report = build_report(data, n_resamples=100, complete_readers_only=True, covariance="delong")
    averaged = report["reader_summary"]["reader_averaged_auc"]
    assert averaged["readers"] == ["B", "C"]
    assert averaged["left_out"][0]["reader"] == "A"
    assert averaged["left_out"][0]["reason"] == "answered 7 of 8 scored cases"
    assert averaged["rule"].startswith("complete readers only")
    assert averaged["n_cases"] == 8
    assert averaged["covariance"] == "delong"
    assert "delong" in report["methods"]["reader_averaged_auc"]


def test_report_covariance_choice_reaches_the_or_analysis(workspace):
    data = _tiny_with_readers(workspace)
    rows = data.answers[data.answers["case"] != "c7"].sort_values(["reader", "case"])
    truth = (rows[rows["reader"] == "A"]["true_source"] == "synthetic").to_numpy()
    scores = np.stack([rows[rows["reader"] == r]["ai_scale"].to_numpy(float) for r in ("A", "B")])
    for cov in ("jackknife", "delong", "bootstrap"):
        got = build_report(data, n_resamples=200, covariance=cov)["reader_summary"]
        expected = roc.reader_averaged_auc(truth, scores, covariance=cov, n_boot=200)
        assert got["reader_averaged_auc"]["ai_vs_real"]["var_error"] == pytest.approx(
            expected.var_error, rel=1e-12
        ), cov
