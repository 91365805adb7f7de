"""Krippendorff's alpha on the published example, weighted kappa and the kappa intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from dermstudy.analysis import agreement_extra as ax
from dermstudy.entities import CODES

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", section C: 4 observers x 12
# units, values 1-5, with missing values; published alpha: nominal .743, ordinal .815, interval .849
K2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def _frame(matrix):
    rows = []
    for r, values in enumerate(matrix):
        for c, v in enumerate(values):
            rows.append(
                {
                    "reader": f"R{r}",
                    "case": f"u{c:02d}",
                    "missing": v is None,
                    "ai_scale": v,
                    "pred_entity": None if v is None else CODES[v - 1],
                    "pred_source": None if v is None else ("synthetic" if v >= 4 else "real"),
                }
            )
    return pd.DataFrame(rows)


def test_krippendorff_published_example():
    out = ax.agreement_beyond_kappa(_frame(K2011), n_resamples=50)
    assert round(out["entity"]["krippendorff_alpha_nominal"]["alpha"], 3) == 0.743
    assert round(out["ai_scale"]["krippendorff_alpha_ordinal"]["alpha"], 3) == 0.815
    assert round(out["ai_scale"]["krippendorff_alpha_interval"]["alpha"], 3) == 0.849
    ci = out["ai_scale"]["krippendorff_alpha_ordinal"]
    assert ci["ci_low"] < ci["alpha"] < ci["ci_high"]


def test_weighted_and_unweighted_kappa_match_sklearn_and_the_se_the_bootstrap():
    rng = np.random.default_rng(4)
    truth = rng.integers(1, 6, 300)
    a = np.clip(truth + rng.integers(-1, 2, 300), 1, 5)
    b = np.clip(truth + rng.integers(-1, 2, 300), 1, 5)
    out = ax.agreement_beyond_kappa(_frame([a.tolist(), b.tolist()]), n_resamples=20)
    [pair] = out["ai_scale"]["pairs"]
    assert pair["kappa"] == pytest.approx(cohen_kappa_score(a, b))
    assert pair["kappa_quadratic"] == pytest.approx(cohen_kappa_score(a, b, weights="quadratic"))
    assert pair["kappa_linear"] == pytest.approx(cohen_kappa_score(a, b, weights="linear"))
    boot = []
    for _ in range(400):
        pick = rng.integers(0, 300, 300)
        boot.append(cohen_kappa_score(a[pick], b[pick]))
    assert pair["se"] == pytest.approx(np.std(boot), rel=0.2)


def test_vectorised_bootstrap_alpha_equals_the_package_on_each_resample():
    import krippendorff

    codes, _ = ax._matrix(_frame(K2011), "ai_scale", ax.SCALE)
    counts = ax._value_counts(codes, 5)
    usable = counts[counts.sum(axis=1) >= 2]
    rng = np.random.default_rng(2)
    picks = rng.integers(0, len(usable), size=(5, len(usable)))
    weights = np.zeros((5, len(usable)))
    np.add.at(weights, (np.arange(5)[:, None], picks), 1.0)
    for level in ("nominal", "ordinal", "interval"):
        ours = ax.bootstrap_alphas(counts, level, weights)
        for k in range(5):
            theirs = krippendorff.alpha(
                value_counts=usable[picks[k]], value_domain=range(5), level_of_measurement=level
            )
            assert ours[k] == pytest.approx(theirs, rel=1e-10), (level, k)
