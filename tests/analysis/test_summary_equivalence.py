"""classification_summary takes its per-class numbers from one precision_recall_fscore_support call
and its counts from one bincount (for speed); they must be scikit-learn's classification_report and
confusion_matrix values to the last bit, including classes nobody chose or nobody had."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import classification_report, confusion_matrix

from dermstudy.analysis import metrics
from dermstudy.entities import CODES


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_summary_equals_classification_report_and_confusion_matrix(seed):
    rng = np.random.default_rng(seed)
    labels = list(CODES)
    present = labels[:5]  # df and vasc: no true case, and (mostly) never chosen
    n = int(rng.integers(20, 400))
    y_true = rng.choice(present, n)
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.choice(labels[:6], n))
    out = metrics.classification_summary(list(y_true), list(y_pred), labels)
    ref = classification_report(
        y_true, y_pred, labels=labels, output_dict=True, zero_division=np.nan
    )
    for lab in labels:
        for key, ref_key in (("precision", "precision"), ("recall", "recall"), ("f1", "f1-score")):
            expected = ref[lab][ref_key]
            got = out["per_class"][lab][key]
            assert (got is None and np.isnan(expected)) or got == expected, (lab, key)
        assert out["per_class"][lab]["support"] == ref[lab]["support"]
    assert out["accuracy"] == ref["accuracy"]
    assert out["confusion_matrix"] == confusion_matrix(y_true, y_pred, labels=labels).tolist()
