"""Figures at journal widths (85 mm single, 175 mm double column) and in greyscale."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from dermstudy.analysis.data import load_study
from dermstudy.analysis.report import build_report
from dermstudy.reports.figures import JOURNAL_WIDTHS_MM, build_figures, roc_figure
from tests.analysis.tiny import make_tiny_study


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from dermstudy.workspace import Workspace

    with Workspace.open(tmp_path_factory.mktemp("figs") / "ws") as ws:
        make_tiny_study(ws, readers="AB")
        return build_report(load_study(ws, "tiny"), n_resamples=50)


def _texts_outside(fig) -> list[str]:
    """Every visible text (labels, ticks, titles, legends) that reaches past the figure's edge."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    box = fig.bbox
    texts = list(fig.texts)
    if fig._suptitle is not None:
        texts.append(fig._suptitle)
    for ax in fig.axes:
        texts += [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label]
        texts += ax.texts
        for axis, (low, high) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            low, high = sorted((low, high))
            texts += [t.label1 for t in axis.get_major_ticks() if low <= t.get_loc() <= high]
        legend = ax.get_legend()
        if legend is not None:
            texts += [*legend.get_texts(), legend.get_title()]
    for legend in fig.legends:
        texts += [*legend.get_texts(), legend.get_title()]
    bad = []
    for text in texts:
        if not text.get_visible() or not text.get_text().strip():
            continue
        extent = text.get_window_extent(renderer)
        if (
            extent.x0 < box.x0 - 1
            or extent.y0 < box.y0 - 1
            or extent.x1 > box.x1 + 1
            or extent.y1 > box.y1 + 1
        ):
            bad.append(text.get_text()[:40])
    return bad


@pytest.mark.parametrize("column", ["single", "double"])
def test_every_figure_fits_a_journal_column(report, column):
    width_mm = JOURNAL_WIDTHS_MM[column]
    for stem, fig in build_figures(report, width_mm=width_mm).items():
        assert fig.get_figwidth() * 25.4 == pytest.approx(width_mm), stem
        assert fig.get_figheight() * 25.4 <= 240, stem  # fits a journal page's text block
        assert _texts_outside(fig) == [], stem  # no clipped label, tick or legend entry
        smallest = min(
            t.get_fontsize() for t in fig.findobj(match=lambda a: hasattr(a, "get_fontsize"))
        )
        assert smallest >= 6, stem  # still legible when printed at that width


def test_default_figures_have_nothing_clipped(report):
    for stem, fig in build_figures(report).items():
        assert _texts_outside(fig) == [], stem


def test_legend_sits_beside_the_plot(report):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = roc_figure(report["entity"], ["mel", "nv", "bcc"], "t")
    FigureCanvasAgg(fig).draw()
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent()
    plot = ax.get_window_extent()
    assert 0 <= legend.x0 - plot.x1 < 0.1 * fig.bbox.width  # right next to the axes, not far off


def test_subtitle_says_only_what_is_drawn(report):
    binary_only = {
        **report["entity"],
        "roc": {
            k: {"binary": v["binary"]} for k, v in report["entity"]["roc"].items() if "binary" in v
        },
    }
    title = roc_figure(binary_only, ["mel", "nv"], "t").axes[0].get_title()
    assert "rating-scale" not in title and "binarised" in title
    both = roc_figure(report["ai_vs_real"], ["synthetic"], "t").axes[0].get_title()
    assert ("rating" in report["ai_vs_real"]["roc"]["synthetic"]) == ("rating-scale" in both)


def test_series_stay_apart_in_greyscale(report):
    figures = build_figures(report)
    # ROC: every label has its own marker, so colour is not needed to tell them apart.
    ax = figures["roc_entity"].axes[0]
    markers = {}
    for line in ax.get_lines():
        if line.get_marker() not in ("None", "", None) and not line.get_label().startswith("_"):
            markers[line.get_label()] = line.get_marker()
    assert len(markers) >= 2 and len(set(markers.values())) == len(markers)
    # Bars: each series differs in grey level or in hatch.
    bars = figures["readers"].axes[0]
    looks = set()
    for container in bars.containers:
        patch = container.patches[0]
        r, g, b, _ = patch.get_facecolor()
        grey = round((0.299 * r + 0.587 * g + 0.114 * b) * 10)  # 10 grey steps
        looks.add((grey, patch.get_hatch() or ""))
    assert len(looks) == len(bars.containers) == 4
    # And the rendered greyscale image still has ink beyond the background (not washed out).
    png = io.BytesIO()
    figures["roc_entity"].savefig(png, format="png", dpi=80)
    grey = np.asarray(Image.open(png).convert("L"))
    assert (grey < 128).mean() > 0.005


def test_report_command_writes_journal_width_figures(tmp_path, capsys):
    from PIL import Image as PILImage

    from dermstudy.cli import main
    from dermstudy.workspace import Workspace

    root = tmp_path / "ws"
    with Workspace.open(root) as ws:
        make_tiny_study(ws, readers="AB")
    out = tmp_path / "figs"
    args = ["--workspace", str(root), "report", "tiny", "--resamples", "100", "--figures", str(out)]
    assert main([*args, "--figure-width", "single"]) == 0
    with PILImage.open(out / "roc_entity.png") as image:
        assert image.width == pytest.approx(85 / 25.4 * 150, abs=2)  # 85 mm at 150 dpi
    assert main([*args, "--figure-width", "tiny"]) == 2
    assert "--figure-width 'tiny'" in capsys.readouterr().err
