"""Single-reader report against numbers worked out by hand for the tiny study (tests/analysis/tiny.py)."""

from __future__ import annotations

import pytest

from dermstudy.analysis.data import load_study
from dermstudy.analysis.report import build_report
from dermstudy.entities import CODES
from tests.analysis.tiny import make_tiny_study


@pytest.fixture
def report(workspace):
    make_tiny_study(workspace)
    return build_report(load_study(workspace, "tiny"))


def test_practice_case_is_not_scored_and_missing_is_counted(workspace):
    make_tiny_study(workspace)
    data = load_study(workspace, "tiny")
    assert "p0" not in set(data.answers["case"])
    assert len(data.answers) == 8
    missing = data.answers[data.answers["missing"]]
    assert list(missing["case"]) == ["c7"]
    assert missing["pred_entity"].isna().all()


def test_entity_report_by_hand(report):
    ent = report["entity"]
    assert (ent["n_expected"], ent["n_answered"], ent["missing"]) == (8, 7, 1)
    assert ent["labels"] == list(CODES)
    # answered: (mel,mel) (mel,mel) (nv,nv) (nv,mel) (bcc,bcc) (bcc,nv) (vasc,vasc)
    expected = {
        "mel": (2 / 3, 1.0, 0.8, 2),
        "nv": (0.5, 0.5, 0.5, 2),
        # not in the study and never chosen: every ratio is 0/0, undefined -> None (as the
        # normalised confusion row), not 0
        "akiec": (None, None, None, 0),
        "bkl": (None, None, None, 0),
        "bcc": (1.0, 0.5, 2 / 3, 2),
        "df": (None, None, None, 0),  # c7 (df) is missing, so df has no scored support
        "vasc": (1.0, 1.0, 1.0, 1),
    }
    for label, (p, r, f1, support) in expected.items():
        got = ent["per_class"][label]
        for key, value in (("precision", p), ("recall", r), ("f1", f1)):
            if value is None:
                assert got[key] is None, (label, key)
            else:
                assert got[key] == pytest.approx(value), (label, key)
        assert got["support"] == support, label
    assert ent["accuracy"] == pytest.approx(5 / 7)
    # macro average over the four classes with scored true cases (mel, nv, bcc, vasc), not all 7
    assert ent["average_labels"] == ["mel", "nv", "bcc", "vasc"]
    assert ent["macro_avg"]["precision"] == pytest.approx((2 / 3 + 0.5 + 1 + 1) / 4)
    assert ent["macro_avg"]["f1"] == pytest.approx((0.8 + 0.5 + 2 / 3 + 1) / 4)
    assert ent["weighted_avg"]["recall"] == pytest.approx((2 * 1 + 2 * 0.5 + 2 * 0.5 + 1) / 7)


def test_confusion_matrix_rows_true_columns_predicted(report):
    cm = report["entity"]["confusion_matrix"]
    i = {c: k for k, c in enumerate(CODES)}
    assert cm[i["nv"]][i["mel"]] == 1  # c4: true nv answered mel
    assert cm[i["mel"]][i["nv"]] == 0
    assert cm[i["bcc"]][i["nv"]] == 1  # c6
    assert sum(map(sum, cm)) == 7
    norm = report["entity"]["confusion_matrix_normalized"]
    assert norm[i["nv"]][i["mel"]] == pytest.approx(0.5)
    assert norm[i["df"]] == [None] * 7  # no scored df cases: undefined, not zero


def test_ai_vs_real_report_and_auc_by_hand(report):
    ai = report["ai_vs_real"]
    assert ai["labels"] == ["real", "synthetic"]
    assert ai["per_class"]["real"]["precision"] == pytest.approx(2 / 3)
    assert ai["per_class"]["real"]["recall"] == pytest.approx(2 / 3)
    assert ai["per_class"]["synthetic"]["precision"] == pytest.approx(3 / 4)
    assert ai["per_class"]["synthetic"]["support"] == 4
    assert ai["confusion_matrix"] == [[2, 1], [1, 3]]
    auc = ai["auc"]["synthetic"]
    # binarised: TPR 3/4, FPR 1/3 -> (1 + TPR - FPR) / 2
    assert auc["binary"] == pytest.approx((1 + 3 / 4 - 1 / 3) / 2)
    # scale: synthetic {4, 5, 2, 5} vs real {1, 2, 4}: 4 -> 2.5, 5 -> 3, 2 -> 1.5, 5 -> 3 of 12
    assert auc["rating"] == pytest.approx(10 / 12)
    assert auc["ci_of"] == "rating" and auc["ci_method"] == "DeLong"
    assert auc["ci_low"] <= auc["rating"] <= auc["ci_high"]
    assert ai["auc"]["real"]["rating"] == pytest.approx(auc["rating"])


def test_entity_rating_auc_uses_confidence(report):
    mel = report["entity"]["auc"]["mel"]
    # binarised: TPR 1, FPR 1/5
    assert mel["binary"] == pytest.approx((1 + 1 - 1 / 5) / 2)
    # scores: c1 10, c2 9 (mel) vs c4 7, c6 5, c3 3, c5 2, c8 1 -> perfect ranking
    assert mel["rating"] == pytest.approx(1.0)
    assert report["entity"]["auc"]["df"]["binary"] is None  # no positives among answered
    assert "undefined" in report["entity"]["auc"]["df"]["note"]


def test_subsets_split_real_and_synthetic(report):
    real, synth = report["subsets"]["real"], report["subsets"]["synthetic"]
    assert (real["n_expected"], real["missing"]) == (4, 1)
    assert synth["n_answered"] == 4
    # real answered: c1 mel ok, c3 nv ok, c5 bcc ok -> 3/3; synthetic: c2 ok, c4 wrong, c6 wrong, c8 ok
    assert real["accuracy"] == pytest.approx(1.0)
    assert synth["accuracy"] == pytest.approx(0.5)


def test_single_reader_has_no_agreement(report):
    assert report["agreement"]["entity"]["pairs"] == []
    assert report["agreement"]["entity"]["fleiss_kappa"] is None
    assert "note" in report["reader_summary"]["reader_averaged_auc"]
    assert report["missing"] == {
        "total": 1,
        "by_reader": {"A": 1},
        "answers": [{"reader": "A", "case": "c7"}],
    }
