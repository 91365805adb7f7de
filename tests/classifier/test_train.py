"""The training loop: early stopping restores the best weights; a seed fixes the result."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dermstudy.classifier import train as train_module
from dermstudy.classifier.train import TrainOptions, balanced_class_weights, train_classifier
from dermstudy.jobs import Cancelled, CancelToken


def _data(n: int = 48, size: int = 16):
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=g)
    y = torch.arange(n) % 7
    return x, y


def test_early_stopping_stops_after_patience_and_restores_the_best_epoch(monkeypatch):
    scripted = iter([1.0, 0.5, 0.7, 0.6, 0.8, 0.9, 0.95, 1.0])
    monkeypatch.setattr(train_module, "evaluate_loss", lambda *a: (next(scripted), 0.0))
    snapshots = {}
    x, y = _data()
    options = TrainOptions(image_size=16, epochs=8, patience=3, augment=False, threads=1)

    def remember(record):
        snapshots[record["epoch"]] = {k: v.clone() for k, v in result_model().state_dict().items()}

    models = []
    real_build = train_module.build_model
    monkeypatch.setattr(
        train_module, "build_model", lambda *a: models.append(real_build(*a)) or models[-1]
    )

    def result_model():
        return models[-1]

    result = train_classifier(x, y, x[:14], y[:14], options, seed=0, on_epoch=remember)
    assert [r["epoch"] for r in result.history] == [1, 2, 3, 4, 5]  # 3 epochs without a new best
    assert result.stopped_early and result.best_epoch == 2 and result.best_val_loss == 0.5
    restored = result.model.state_dict()
    assert all(torch.equal(restored[k], snapshots[2][k]) for k in restored)
    assert not all(torch.equal(restored[k], snapshots[5][k]) for k in restored)


def test_same_seed_same_result_other_seed_other_result():
    x, y = _data()
    options = TrainOptions(image_size=16, epochs=2, patience=5, threads=1)
    a = train_classifier(x, y, x[:14], y[:14], options, seed=3)
    b = train_classifier(x, y, x[:14], y[:14], options, seed=3)
    c = train_classifier(x, y, x[:14], y[:14], options, seed=4)
    assert [r["val_loss"] for r in a.history] == [r["val_loss"] for r in b.history]
    sa, sb, sc = a.model.state_dict(), b.model.state_dict(), c.model.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def test_balanced_weights_follow_sklearn_and_are_zero_for_absent_classes():
    labels = np.array([0, 0, 0, 1, 3, 3])
    weights = balanced_class_weights(labels, 7)
    n = len(labels)
    assert weights[0] == pytest.approx(n / (3 * 3))
    assert weights[1] == pytest.approx(n / (3 * 1))
    assert weights[3] == pytest.approx(n / (3 * 2))
    assert weights[2] == 0 and weights[6] == 0


def test_cancel_stops_training():
    x, y = _data()
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        train_classifier(
            x, y, x[:7], y[:7], TrainOptions(image_size=16, epochs=3, threads=1), 0, cancel=token
        )


def test_empty_validation_set_is_refused():
    x, y = _data()
    with pytest.raises(ValueError, match="no validation images"):
        train_classifier(x, y, x[:0], y[:0], TrainOptions(image_size=16), 0)
