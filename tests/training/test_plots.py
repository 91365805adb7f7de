"""Loss-curve helpers: trailing means/medians and the PNG a run's log becomes."""

from __future__ import annotations

import numpy as np
from PIL import Image

from dermstudy.training.plots import loss_curve_png, moving_average, moving_median


def test_trailing_mean_and_median():
    assert np.allclose(moving_average([1, 2, 3, 4], 2), [1, 1.5, 2.5, 3.5])
    assert np.allclose(moving_median([1, 100, 2, 3, 4], 3), [1, 50.5, 2, 3, 3])
    assert moving_average([], 3).size == 0


def test_loss_curve_png_from_log_records(tmp_path):
    records = [{"event": "start"}] + [
        {"event": "step", "step": i, "loss": 1 / i + (5 if i == 7 else 0), "mse": 1 / i}
        for i in range(1, 40)
    ]
    path = loss_curve_png(records, tmp_path / "loss.png", title="run")
    with Image.open(path) as image:
        assert image.size[0] > 300 and image.size[1] > 200
