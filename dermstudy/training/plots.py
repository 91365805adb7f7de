"""The loss-curve figure of a training run (matplotlib, Qt-free): used by the panel and the docs.

``draw_loss_curve`` draws into an existing ``Figure`` so the panel can redraw its canvas in place;
``loss_curve_png`` renders a run log to a PNG file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator


def moving_average(values: list[float], window: int) -> np.ndarray:
    """Trailing mean over up to ``window`` values (shorter at the start, never NaN)."""
    array = np.asarray(values, dtype=float)
    if array.size == 0:
        return array
    sums = np.cumsum(np.insert(array, 0, 0.0))
    index = np.arange(1, array.size + 1)
    start = np.maximum(index - window, 0)
    return (sums[index] - sums[start]) / (index - start)


def moving_median(values: list[float], window: int) -> np.ndarray:
    """Trailing median: robust to the rare t = 0 decoder-NLL spikes of the hybrid loss."""
    import pandas as pd

    return pd.Series(values, dtype=float).rolling(window, min_periods=1).median().to_numpy()


def draw_loss_curve(figure: Figure, records: list[dict], title: str = "") -> None:
    """Per-step loss (faint), its moving median, and the noise-MSE term when the loss is hybrid."""
    figure.clear()
    axes = figure.add_subplot(1, 1, 1)
    steps = [r["step"] for r in records if r.get("event") == "step"]
    losses = [r["loss"] for r in records if r.get("event") == "step"]
    mse = [r.get("mse", r["loss"]) for r in records if r.get("event") == "step"]
    if steps:
        window = max(5, len(steps) // 20)
        axes.plot(steps, losses, color="#9db3c9", linewidth=0.8, label="loss per step")
        axes.plot(
            steps,
            moving_median(losses, window),
            color="#2c5d8f",
            linewidth=1.8,
            label=f"loss, median of {window}",
        )
        if any(abs(a - b) > 1e-12 for a, b in zip(losses, mse, strict=True)):
            axes.plot(
                steps,
                moving_average(mse, window),
                color="#c26d1a",
                linewidth=1.2,
                label="noise MSE term, mean",
            )
        positive = [v for v in losses if v > 0 and np.isfinite(v)]
        if positive and max(positive) / min(positive) > 20:  # log only when it helps reading
            axes.set_yscale("log")
        axes.legend(loc="upper right", fontsize=8, frameon=False)
    else:
        axes.text(
            0.5,
            0.5,
            "no steps yet",
            ha="center",
            va="center",
            transform=axes.transAxes,
            color="#5f6b76",
        )
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("optimiser step")
    axes.set_ylabel("training loss")
    if title:
        axes.set_title(title, fontsize=10)
    axes.grid(True, which="both", alpha=0.25)
    figure.tight_layout()


def loss_curve_png(records: list[dict], path: Path, title: str = "", size=(7.0, 3.6)) -> Path:
    figure = Figure(figsize=size, dpi=110)
    draw_loss_curve(figure, records, title)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path
