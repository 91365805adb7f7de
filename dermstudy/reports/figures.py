"""Matplotlib figures of a study report: confusion matrices, ROC curves, per-reader bars.

Every function takes the report dict of :func:`dermstudy.analysis.report.build_report` and returns a
``matplotlib.figure.Figure`` built without pyplot (no global state, safe off the UI thread). Sizes are
chosen to be readable when printed at about 16 cm wide; ``width_mm`` lays a figure out for a journal
column instead (:data:`JOURNAL_WIDTHS_MM`: 85 mm single, 175 mm double), fonts kept in points, legends
moved below the plot when the column is narrow. Every series differs by marker or hatch as well as by
colour, so a figure printed in greyscale still tells them apart.
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg", force=False)

import numpy as np
from matplotlib.figure import Figure

from dermstudy.analysis.metrics import chosen_auc
from dermstudy.entities import BY_CODE, CODES
from dermstudy.reports import display

FIGURE_FORMATS = ("png", "svg", "pdf")
DPI = 150
_SOURCE_NAMES = {"real": "Real", "synthetic": "AI-generated"}
# Colour-blind-safe palette (Okabe-Ito) in report order of the entities.
_COLOURS = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"]
# ... and a marker per entity (and per reader), so greyscale prints and overlapping points stay legible.
_MARKERS = ["o", "s", "^", "D", "v", "P", "X"]
_HATCHES = ["", "///", "...", "xx"]
JOURNAL_WIDTHS_MM = {"single": 85.0, "double": 175.0}
NARROW_IN = 5.0  # below this width (inches) legends go under the plot and matrices are stacked
MM_PER_INCH = 25.4


def _width_in(width_mm: float | None, default: float) -> float:
    return default if width_mm is None else width_mm / MM_PER_INCH


def _wrapped(text: str, width_in: float, fontsize: float) -> str:
    """``text`` broken into lines that fit ``width_in`` at ``fontsize`` (about 0.55 em a character)."""
    columns = max(20, int(width_in * 72 / (fontsize * 0.55)))
    return "\n".join(textwrap.fill(line, columns) for line in text.split("\n"))


def display_label(label: str) -> str:
    """Short human name of an entity code or a source label."""
    if label in BY_CODE:
        return BY_CODE[label].short_name
    return _SOURCE_NAMES.get(label, label)


def confusion_figure(report: dict[str, Any], title: str, width_mm: float | None = None) -> Figure:
    """Counts and row-normalised confusion matrices side by side (true on y, predicted on x).

    In a narrow column the two matrices are stacked instead.
    """
    labels = report["labels"]
    counts = np.array(report["confusion_matrix"], dtype=float)
    norm = np.array(
        [
            [np.nan if v is None else v for v in row]
            for row in report["confusion_matrix_normalized"]
        ],
        dtype=float,
    )
    size = 4.2 if len(labels) > 2 else 3.0
    width = _width_in(width_mm, 2 * size + 1.4)
    narrow = width < NARROW_IN
    cell_font = 8 if not narrow or len(labels) <= 2 else 6.5
    if narrow:
        side = min(width, size)
        fig = Figure(figsize=(width, 2 * side + 1.0), dpi=DPI, layout="constrained")
        axes = fig.subplots(2, 1)
    else:
        height = size + 0.9 if width_mm is None else width / 2 - 0.3 + 0.9
        fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
        axes = fig.subplots(1, 2)
    names = [display_label(lab) for lab in labels]
    panels = (
        (axes[0], counts, "Counts", lambda v: f"{int(v)}"),
        (axes[1], norm, "Row-normalised\n(recall on the diagonal)", lambda v: display.fmt(v)),
    )
    for ax, matrix, subtitle, cell_text in panels:
        shown = matrix / matrix.max() if ax is axes[0] and np.nanmax(matrix) > 0 else matrix
        ax.imshow(np.nan_to_num(shown), cmap="Blues", vmin=0, vmax=1)
        for (i, j), value in np.ndenumerate(matrix):
            text = "–" if np.isnan(value) else cell_text(value)
            dark = not np.isnan(shown[i, j]) and shown[i, j] > 0.55
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=cell_font,
                color="white" if dark else "black",
            )
        ax.set_xticks(range(len(labels)), names, rotation=35, ha="right", fontsize=8)
        ax.set_yticks(range(len(labels)), names, fontsize=8)
        ax.set_xlabel(
            "Predicted\n(reader's answer)" if len(labels) <= 2 else "Predicted (reader's answer)"
        )
        ax.set_ylabel("True")
        ax.set_title(subtitle, fontsize=9)
    fig.suptitle(
        f"{title} (n = {report['n_answered']}, missing {report['missing']})",
        fontsize=9 if narrow else 11,
    )
    return fig


def _roc_axes(ax: Any, narrow: bool = False) -> None:
    ax.plot([0, 1], [0, 1], color="0.6", linestyle=":", linewidth=1, label="chance")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_aspect("equal")
    size = 8 if narrow else None
    ax.set_xlabel("False positive rate (1 − specificity)", fontsize=size)
    ax.set_ylabel("True positive rate (sensitivity)", fontsize=size)
    if narrow:
        ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)


def _auc_text(entry: dict[str, Any], which: str) -> str:
    value = entry.get(which)
    if value is None:
        return "n/a"
    text = display.fmt(value, 3)
    if entry.get("ci_of") == which and entry.get("ci_low") is not None:
        text += " " + display.fmt_interval(entry["ci_low"], entry["ci_high"])
    return text


def _roc_legend(ax: Any, below: bool, title: str, ncols: int = 1) -> None:
    """The legend right beside the plot, or under it in a narrow column (never far away)."""
    if below:
        ax.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.2),
            ncols=ncols,
            fontsize=6.5,
            title=title,
            title_fontsize=7,
            frameon=False,
        )
    else:
        ax.legend(
            loc="center left",
            bbox_to_anchor=(1.02, 0.5),
            fontsize=7.5,
            title=title,
            title_fontsize=8,
            frameon=False,
        )


def roc_figure(
    report: dict[str, Any], labels: list[str], title: str, width_mm: float | None = None
) -> Figure:
    """ROC curves of the given labels: rating curves (solid) and binary operating points (markers).

    The legend gives both AUCs per label, with the 95% CI on the one it was computed for; the subtitle
    says only what is actually drawn.
    """
    width = _width_in(width_mm, 7.8 if len(labels) > 1 else 7.6)
    narrow = width < NARROW_IN
    # Seven two-line legend entries need ~3.5 in beside the plot: below it unless there is room.
    below = narrow or width < 7.5
    ncols = 2 if below and not narrow else 1
    side = min(width, 4.0)
    rows = -(-(len(labels) + 1) // ncols)
    height = 5.0 if not below else side + 1.5 + 0.3 * rows
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    _roc_axes(ax, narrow)
    drawn_rating = drawn_binary = False
    for k, label in enumerate(labels):
        colour = _COLOURS[k % len(_COLOURS)] if len(labels) > 1 else "#0072B2"
        marker = _MARKERS[k % len(_MARKERS)]
        curves = report["roc"].get(label, {})
        entry = report["auc"][label]
        parts = []
        if "rating" in curves:
            parts.append(f"rating {_auc_text(entry, 'rating')}")
        parts.append(f"binary {_auc_text(entry, 'binary')}")
        legend = f"{display_label(label)}: " + ",\n    ".join(parts)
        if "rating" in curves:
            drawn_rating = True
            ax.plot(
                curves["rating"]["fpr"],
                curves["rating"]["tpr"],
                color=colour,
                linewidth=1.6,
                marker=marker,
                markersize=3.5,
                label=legend,
            )
            legend = "_nolegend_"
        if "binary" in curves:
            drawn_binary = True
            fpr, tpr = curves["binary"]["fpr"], curves["binary"]["tpr"]
            point = (fpr[1], tpr[1]) if len(fpr) > 2 else (fpr[-1], tpr[-1])
            ax.plot(fpr, tpr, color=colour, linewidth=0.8, linestyle="--", alpha=0.7)
            # Hollow, one shape per label and drawn on top: points that coincide stay visible.
            ax.plot(
                *point,
                marker=marker,
                markersize=6,
                markerfacecolor="none",
                markeredgewidth=1.4,
                color=colour,
                linestyle="none",
                zorder=3 + len(labels) - k,
                label=legend,
            )
    _roc_legend(ax, below, "AUC [95% CI]", ncols)
    drawn = []
    if drawn_rating:
        drawn.append("solid: rating-scale curve")
    if drawn_binary:
        drawn.append("marker + dashed: binarised labels (one operating point)")
    fontsize = 8 if narrow else 9
    # The axes take about half the width beside a legend: wrap the title to that.
    room = width if below else width * 0.5
    ax.set_title(_wrapped("\n".join([title, *drawn]), room, fontsize), fontsize=fontsize)
    return fig


def reader_roc_figure(report: dict[str, Any], width_mm: float | None = None) -> Figure:
    """AI-vs-real ROC curve of every reader (thin) and of all answers pooled (bold).

    The title gives the reader-averaged AUC with its random-reader 95% interval when there are
    several readers.
    """
    width = _width_in(width_mm, 7.6)
    narrow = width < NARROW_IN
    n_lines = len(report["per_reader"]) + 2
    height = 5.0 if not narrow else width + 0.9 + 0.17 * n_lines + 0.6
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    _roc_axes(ax, narrow)
    # (name, AI-vs-real report, line style): each reader thin, then all answers pooled in bold.
    lines = [
        (
            name,
            rep["ai_vs_real"],
            {
                "linewidth": 0.9,
                "alpha": 0.8,
                "color": _COLOURS[k % len(_COLOURS)],
                "marker": _MARKERS[k % len(_MARKERS)],
                "markersize": 3,
            },
        )
        for k, (name, rep) in enumerate(report["per_reader"].items())
    ]
    lines.append(("all answers pooled", report["ai_vs_real"], {"color": "black", "linewidth": 2.2}))
    for name, task, style in lines:
        # The score the report chose (rating, else binary): the one its AUC entry's CI is of.
        entry = task["auc"]["synthetic"]
        which = entry.get("ci_of")
        if which is not None:
            curve = task["roc"]["synthetic"][which]
            label = f"{name}: {display.fmt(entry[which], 3)}"
            ax.plot(curve["fpr"], curve["tpr"], label=label, **style)
    averaged = report["reader_summary"]["reader_averaged_auc"].get("ai_vs_real")
    title = "AI-generated vs real ROC per reader"
    if isinstance(averaged, dict):
        rr = averaged["random_readers"]
        title += (
            f"\nreader-averaged AUC {display.fmt(averaged['auc'], 3)} "
            f"{display.fmt_interval(rr['ci_low'], rr['ci_high'])} (OR/Hillis, random readers)"
        )
        warning = display.few_readers_warning(len(averaged["reader_aucs"]), rr.get("df"))
        if warning is not None:
            title += f"\nCaution: only {len(averaged['reader_aucs'])} readers; interval unreliable"

    fontsize = 8 if narrow else 9
    ax.set_title(_wrapped(title, width if narrow else width * 0.55, fontsize), fontsize=fontsize)
    _roc_legend(ax, narrow, "AUC")
    return fig


def reader_bars_figure(report: dict[str, Any], width_mm: float | None = None) -> Figure:
    """Per-reader accuracy, macro F1 and AI-vs-real AUC, with the readers' mean as a line."""
    readers = list(report["per_reader"])
    series = [
        ("Entity accuracy", [r["entity"]["accuracy"] for r in report["per_reader"].values()]),
        (
            "Entity macro F1",
            [r["entity"]["macro_avg"]["f1"] for r in report["per_reader"].values()],
        ),
        (
            "AI-vs-real accuracy",
            [r["ai_vs_real"]["accuracy"] for r in report["per_reader"].values()],
        ),
        (
            "AI-vs-real AUC",
            [_best_auc(r["ai_vs_real"]["auc"]["synthetic"]) for r in report["per_reader"].values()],
        ),
    ]
    width = _width_in(width_mm, max(6.5, min(16.0, 1.2 + 0.55 * len(readers) * 1.3)))
    narrow = width < NARROW_IN
    fig = Figure(figsize=(width, 4.2 if not narrow else 3.6), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(readers))
    bar = 0.8 / len(series)
    for k, (name, values) in enumerate(series):
        heights = [np.nan if v is None else v for v in values]
        ax.bar(
            x + (k - (len(series) - 1) / 2) * bar,
            heights,
            bar,
            label=name,
            color=_COLOURS[[4, 1, 5, 0][k]],
            hatch=_HATCHES[k],  # two of the colours are alike in greyscale
            edgecolor="white",
            linewidth=0,
        )
        valid = [v for v in values if v is not None]
        if len(readers) > 1 and valid:
            ax.axhline(
                np.mean(valid), color=_COLOURS[[4, 1, 5, 0][k]], linewidth=0.8, linestyle="--"
            )
    ax.set_xticks(
        x,
        readers,
        rotation=30 if len(readers) > 6 else 0,
        ha="right" if len(readers) > 6 else "center",
        fontsize=8,
    )
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("Score")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(
        fontsize=7 if narrow else 8,
        ncols=2 if narrow else 4,
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        frameon=False,
    )
    ax.set_title(
        "Readers (dashed lines: mean across readers)",
        fontsize=8 if narrow else 9,
        pad=34 if narrow else 24,
    )
    return fig


def _best_auc(entry: dict[str, Any]) -> float | None:
    return chosen_auc(entry)


def build_figures(report: dict[str, Any], width_mm: float | None = None) -> dict[str, Figure]:
    """All report figures by file stem, in the order they appear in the workbook.

    ``width_mm`` lays every figure out for that printed width (e.g. ``JOURNAL_WIDTHS_MM["single"]``).
    """
    w = width_mm
    figures = {
        "confusion_entity": confusion_figure(report["entity"], "Entity, all readers", w),
        "confusion_ai_vs_real": confusion_figure(report["ai_vs_real"], "AI-generated vs real", w),
        "roc_entity": roc_figure(report["entity"], list(CODES), "Entity, one-vs-rest ROC", w),
        "roc_ai_vs_real": roc_figure(
            report["ai_vs_real"],
            ["synthetic"],
            "AI-generated vs real ROC (positive: AI-generated)",
            w,
        ),
    }
    if len(report["per_reader"]) > 1:
        figures["roc_ai_vs_real_readers"] = reader_roc_figure(report, w)
    figures["readers"] = reader_bars_figure(report, w)
    for source in ("real", "synthetic"):
        subset = report["subsets"][source]
        if subset["n_answered"]:
            figures[f"confusion_entity_{source}"] = confusion_figure(
                subset, f"Entity, {display_label(source).lower()} cases only", w
            )
    return figures


def figure_bytes(fig: Figure, fmt: str = "png", dpi: int = DPI) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=dpi)
    return buffer.getvalue()


def save_figures(
    figures: dict[str, Figure],
    folder: Path,
    formats: tuple[str, ...] = ("png",),
    rendered: dict[str, dict[str, bytes]] | None = None,
) -> list[Path]:
    """Write every figure in every format; returns the files written.

    ``rendered[fmt][stem]`` may hold bytes already rendered, which are written as they are.
    """
    rendered = rendered or {}
    unknown = [f for f in formats if f not in FIGURE_FORMATS]
    if unknown:
        raise ValueError(f"unknown figure format {unknown[0]!r}; use {', '.join(FIGURE_FORMATS)}")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, fig in figures.items():
        for fmt in formats:
            path = folder / f"{stem}.{fmt}"
            if stem in rendered.get(fmt, {}):
                path.write_bytes(rendered[fmt][stem])
            else:
                fig.savefig(path, format=fmt, dpi=DPI)
            written.append(path)
    return written
