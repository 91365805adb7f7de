"""Cohen's and Fleiss' kappa, and multi-reader pooling, on hand-computed data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from dermstudy.analysis import metrics
from dermstudy.analysis.data import load_study, tidy_answers
from dermstudy.analysis.report import build_report
from tests.analysis.tiny import make_tiny_study


def test_fleiss_kappa_wikipedia_example():
    # Fleiss (1971) worked example as on Wikipedia: 10 subjects, 14 raters, 5 categories: 0.210
    counts = np.array(
        [
            [0, 0, 0, 0, 14],
            [0, 2, 6, 4, 2],
            [0, 0, 3, 5, 6],
            [0, 3, 9, 2, 0],
            [2, 2, 8, 1, 1],
            [7, 7, 0, 0, 0],
            [3, 2, 6, 3, 0],
            [2, 5, 3, 2, 2],
            [6, 5, 2, 1, 0],
            [0, 2, 2, 3, 7],
        ]
    )
    assert metrics.fleiss_kappa(counts) == pytest.approx(0.2099, abs=1e-4)


def test_fleiss_kappa_perfect_and_undefined():
    assert metrics.fleiss_kappa(np.array([[3, 0], [0, 3], [3, 0]])) == pytest.approx(1.0)
    assert metrics.fleiss_kappa(np.array([[3, 0], [3, 0]])) is None  # one category only
    assert metrics.fleiss_kappa(np.array([[1, 0]])) is None  # one rater


def _frame(rows):
    frame = pd.DataFrame(
        rows, columns=["reader", "case", "true_entity", "true_source", "pred_entity", "ai_vote"]
    )
    return tidy_answers(frame)


def test_cohen_kappa_pair_by_hand():
    # A: ai ai real real; B: ai real real real -> po = 3/4, pe = 1/2, kappa = 1/2
    rows = []
    for case, a, b in [
        ("c1", "ai", "ai"),
        ("c2", "ai", "real"),
        ("c3", "real", "real"),
        ("c4", "real", "real"),
    ]:
        rows.append(["A", case, "mel", "real", "mel", a])
        rows.append(["B", case, "mel", "real", "mel", b])
    agr = metrics.agreement(_frame(rows), "pred_source", metrics.SOURCES)
    assert agr["pairs"] == [
        {"reader_a": "A", "reader_b": "B", "kappa": pytest.approx(0.5), "n_cases": 4}
    ]
    # with two raters Fleiss' kappa uses pooled marginals: pe = (3/8)^2 + (5/8)^2
    pe = (3 / 8) ** 2 + (5 / 8) ** 2
    assert agr["fleiss_kappa"] == pytest.approx((3 / 4 - pe) / (1 - pe))


def test_agreement_uses_only_cases_both_answered(workspace):
    make_tiny_study(workspace, readers="AB")
    report = build_report(load_study(workspace, "tiny"))
    entity = report["agreement"]["entity"]
    pair = entity["pairs"][0]
    assert pair["n_cases"] == 7  # c7 is missing for A
    # A vs B entity: agree on c1 c2 c3 c5 c6 c8, differ on c4 -> po = 6/7
    a = ["mel", "mel", "nv", "mel", "bcc", "nv", "vasc"]
    b = ["mel", "mel", "nv", "nv", "bcc", "nv", "vasc"]
    pe = sum((a.count(c) / 7) * (b.count(c) / 7) for c in set(a + b))
    assert pair["kappa"] == pytest.approx((6 / 7 - pe) / (1 - pe))
    assert entity["fleiss_n_cases"] == 7 and entity["fleiss_excluded_cases"] == 1


def test_multi_reader_pooling_and_spread(workspace):
    make_tiny_study(workspace, readers="AB")
    report = build_report(load_study(workspace, "tiny"), n_resamples=300)
    ent = report["entity"]
    assert (ent["n_expected"], ent["n_answered"], ent["missing"]) == (16, 15, 1)
    # pooled accuracy: A 5/7 right, B 8/8 right (c6 answered nv is wrong for B too -> 7/8)
    assert ent["accuracy"] == pytest.approx((5 + 7) / 15)
    per_a = report["per_reader"]["A"]["entity"]["accuracy"]
    per_b = report["per_reader"]["B"]["entity"]["accuracy"]
    assert (per_a, per_b) == (pytest.approx(5 / 7), pytest.approx(7 / 8))
    spread = report["reader_summary"]["metrics"]["entity_accuracy"]
    assert spread["mean"] == pytest.approx((5 / 7 + 7 / 8) / 2)
    assert spread["sd"] == pytest.approx(np.std([5 / 7, 7 / 8], ddof=1))
    assert report["ai_vs_real"]["auc"]["synthetic"]["ci_method"].startswith(
        "stratified case bootstrap"
    )
    averaged = report["reader_summary"]["reader_averaged_auc"]
    assert (averaged["n_cases"], averaged["excluded_cases"]) == (7, 1)
    # reader-averaged AUC on the 7 cases both answered (c7 left out): mean of the two scale AUCs
    truth = [0, 1, 0, 1, 0, 1, 1]  # synthetic? for c1 c2 c3 c4 c5 c6 c8
    scale_a = [1, 4, 2, 5, 4, 2, 5]
    scale_b = [2, 2, 1, 4, 2, 4, 5]
    expected = (roc_auc_score(truth, scale_a) + roc_auc_score(truth, scale_b)) / 2
    assert averaged["ai_vs_real"]["auc"] == pytest.approx(expected)
    assert averaged["ai_vs_real"]["score"] == "rating"
    # mel has 2 positives and 5 negatives among the 7: defined; df has no positives: None
    assert averaged["mel"]["auc"] is not None
    assert averaged["df"] is None


def test_kappa_undefined_is_none_not_nan():
    rows = [[r, c, "mel", "real", "mel", "ai"] for r in ("A", "B") for c in ("c1", "c2")]
    agr = metrics.agreement(_frame(rows), "pred_entity", metrics.CODES)
    assert agr["pairs"][0]["kappa"] is None
    assert agr["fleiss_kappa"] is None and agr["mean_pairwise_kappa"] is None


@pytest.mark.parametrize("n_labels", [2, 5, 7])
def test_cohen_kappa_equals_scikit_learn_to_the_bit(n_labels):
    """metrics.cohen_kappa (one bincount, for speed) is scikit-learn's formula, step for step."""
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(n_labels)
    for size in (3, 40, 1400):
        a = rng.integers(0, n_labels, size)
        # b agrees with a on about half the cases, so kappa is well away from 0
        b = np.where(rng.random(size) < 0.5, a, rng.integers(0, n_labels, size))
        expected = cohen_kappa_score(a, b, labels=list(range(n_labels)))
        assert metrics.cohen_kappa(a, b, n_labels) == float(expected)
    # one shared label: undefined, None (scikit-learn gives NaN)
    assert metrics.cohen_kappa(np.zeros(5, int), np.zeros(5, int), n_labels) is None


def test_first_seen_keeps_order_of_first_appearance():
    values = pd.Series(["r2", "r1", "r2", "r3", "r1"], dtype="string")
    assert metrics.first_seen(values) == list(dict.fromkeys(values))
    assert metrics.first_seen(values) == ["r2", "r1", "r3"]
