"""Matplotlib figures of a study report: confusion matrices, ROC curves, per-reader bars.

Every function takes the report dict of :func:`dermstudy.analysis.report.build_report` and returns a
``matplotlib.figure.Figure`` built without pyplot (no global state, safe off the UI thread). Sizes are
chosen to be readable when printed at about 16 cm wide.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg", force=False)

import numpy as np
from matplotlib.figure import Figure

from dermstudy.entities import BY_CODE, CODES
from dermstudy.reports import display

FIGURE_FORMATS = ("png", "svg", "pdf")
DPI = 150
_SOURCE_NAMES = {"real": "Real", "synthetic": "AI-generated"}
# Colour-blind-safe palette (Okabe-Ito) in report order of the entities.
_COLOURS = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"]


def display_label(label: str) -> str:
    """Short human name of an entity code or a source label."""
    if label in BY_CODE:
        return BY_CODE[label].short_name
    return _SOURCE_NAMES.get(label, label)


def confusion_figure(report: dict[str, Any], title: str) -> Figure:
    """Counts and row-normalised confusion matrices side by side (true on y, predicted on x)."""
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
    fig = Figure(figsize=(2 * size + 1.4, size + 0.9), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, 2)
    names = [display_label(lab) for lab in labels]
    panels = (
        (axes[0], counts, "Counts", lambda v: f"{int(v)}"),
        (axes[1], norm, "Row-normalised (recall on the diagonal)", lambda v: display.fmt(v)),
    )
    for ax, matrix, subtitle, cell_text in panels:
        shown = matrix / matrix.max() if ax is axes[0] and np.nanmax(matrix) > 0 else matrix
        ax.imshow(np.nan_to_num(shown), cmap="Blues", vmin=0, vmax=1)
        for (i, j), value in np.ndenumerate(matrix):
            text = "–" if np.isnan(value) else cell_text(value)
            dark = not np.isnan(shown[i, j]) and shown[i, j] > 0.55
            ax.text(
                j, i, text, ha="center", va="center", fontsize=8, color="white" if dark else "black"
            )
        ax.set_xticks(range(len(labels)), names, rotation=35, ha="right", fontsize=8)
        ax.set_yticks(range(len(labels)), names, fontsize=8)
        ax.set_xlabel("Predicted (reader's answer)")
        ax.set_ylabel("True")
        ax.set_title(subtitle, fontsize=9)
    fig.suptitle(f"{title} (n = {report['n_answered']}, missing {report['missing']})", fontsize=11)
    return fig


def _roc_axes(ax: Any) -> None:
    ax.plot([0, 1], [0, 1], color="0.6", linestyle=":", linewidth=1, label="chance")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("False positive rate (1 − specificity)")
    ax.set_ylabel("True positive rate (sensitivity)")
    ax.grid(alpha=0.3)


def _auc_text(entry: dict[str, Any], which: str) -> str:
    value = entry.get(which)
    if value is None:
        return "n/a"
    text = display.fmt(value, 3)
    if entry.get("ci_of") == which and entry.get("ci_low") is not None:
        text += " " + display.fmt_interval(entry["ci_low"], entry["ci_high"])
    return text


def roc_figure(report: dict[str, Any], labels: list[str], title: str) -> Figure:
    """ROC curves of the given labels: rating curves (solid) and binary operating points (dots).

    The legend gives both AUCs per label, with the 95% CI on the one it was computed for.
    """
    fig = Figure(figsize=(8.9 if len(labels) > 1 else 7.6, 5.0), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    _roc_axes(ax)
    for k, label in enumerate(labels):
        colour = _COLOURS[k % len(_COLOURS)] if len(labels) > 1 else "#0072B2"
        curves = report["roc"].get(label, {})
        entry = report["auc"][label]
        parts = []
        if "rating" in curves:
            parts.append(f"rating {_auc_text(entry, 'rating')}")
        parts.append(f"binary {_auc_text(entry, 'binary')}")
        legend = f"{display_label(label)}: " + ", ".join(parts)
        if "rating" in curves:
            ax.plot(
                curves["rating"]["fpr"],
                curves["rating"]["tpr"],
                color=colour,
                linewidth=1.6,
                label=legend,
            )
            legend = "_nolegend_"
        if "binary" in curves:
            fpr, tpr = curves["binary"]["fpr"], curves["binary"]["tpr"]
            point = (fpr[1], tpr[1]) if len(fpr) > 2 else (fpr[-1], tpr[-1])
            ax.plot(fpr, tpr, color=colour, linewidth=0.8, linestyle="--", alpha=0.7)
            ax.plot(*point, marker="o", color=colour, markersize=5, linestyle="none", label=legend)
    fig.legend(
        loc="outside right center",
        fontsize=7.5,
        frameon=False,
        title="AUC [95% CI]",
        title_fontsize=8,
    )
    ax.set_title(
        title + "\nsolid: rating-scale curve; dot + dashed: binarised labels (one point)",
        fontsize=9,
    )
    return fig


def reader_roc_figure(report: dict[str, Any]) -> Figure:
    """AI-vs-real ROC curve of every reader (thin) and of all answers pooled (bold).

    The title gives the reader-averaged AUC with its random-reader 95% interval when there are
    several readers.
    """
    fig = Figure(figsize=(7.6, 5.0), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    _roc_axes(ax)
    for k, (name, rep) in enumerate(report["per_reader"].items()):
        curves = rep["ai_vs_real"]["roc"].get("synthetic", {})
        which = "rating" if "rating" in curves else "binary"
        if which in curves:
            auc = rep["ai_vs_real"]["auc"]["synthetic"][which]
            ax.plot(
                curves[which]["fpr"],
                curves[which]["tpr"],
                linewidth=0.9,
                alpha=0.8,
                color=_COLOURS[k % len(_COLOURS)],
                label=f"{name}: {display.fmt(auc, 3)}",
            )
    pooled = report["ai_vs_real"]["roc"].get("synthetic", {})
    which = "rating" if "rating" in pooled else "binary"
    if which in pooled:
        auc = report["ai_vs_real"]["auc"]["synthetic"][which]
        ax.plot(
            pooled[which]["fpr"],
            pooled[which]["tpr"],
            color="black",
            linewidth=2.2,
            label=f"all answers pooled: {display.fmt(auc, 3)}",
        )
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

    ax.set_title(title, fontsize=9)
    fig.legend(
        loc="outside right center", fontsize=7.5, frameon=False, title="AUC", title_fontsize=8
    )
    return fig


def reader_bars_figure(report: dict[str, Any]) -> Figure:
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
    width = max(6.5, min(16.0, 1.2 + 0.55 * len(readers) * 1.3))
    fig = Figure(figsize=(width, 4.2), dpi=DPI, layout="constrained")
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
    ax.legend(fontsize=8, ncols=4, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    ax.set_title("Readers (dashed lines: mean across readers)", fontsize=9, pad=24)
    return fig


def _best_auc(entry: dict[str, Any]) -> float | None:
    return entry["rating"] if entry.get("rating") is not None else entry.get("binary")


def build_figures(report: dict[str, Any]) -> dict[str, Figure]:
    """All report figures by file stem, in the order they appear in the workbook."""
    figures = {
        "confusion_entity": confusion_figure(report["entity"], "Entity, all readers"),
        "confusion_ai_vs_real": confusion_figure(report["ai_vs_real"], "AI-generated vs real"),
        "roc_entity": roc_figure(report["entity"], list(CODES), "Entity, one-vs-rest ROC"),
        "roc_ai_vs_real": roc_figure(
            report["ai_vs_real"], ["synthetic"], "AI-generated vs real ROC (positive: AI-generated)"
        ),
    }
    if len(report["per_reader"]) > 1:
        figures["roc_ai_vs_real_readers"] = reader_roc_figure(report)
    figures["readers"] = reader_bars_figure(report)
    for source in ("real", "synthetic"):
        subset = report["subsets"][source]
        if subset["n_answered"]:
            figures[f"confusion_entity_{source}"] = confusion_figure(
                subset, f"Entity, {display_label(source).lower()} cases only"
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
