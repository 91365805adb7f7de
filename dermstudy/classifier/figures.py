"""The ablation's figure and workbook (Qt-free): loss curves per arm, and an xlsx of its tables.

``draw_curves`` draws into an existing ``Figure`` (the panel redraws its canvas in place as epochs
arrive); ``save_curves`` writes a PNG; ``write_xlsx`` writes Table 3, one sheet per arm (report and
summed confusion matrix), the per-seed results and the curves' numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from dermstudy.entities import CODES


def draw_curves(figure: Figure, curves: dict[str, dict[int, list[dict]]], title: str = "") -> None:
    """``curves``: arm → seed → epoch records (train_loss, val_loss); one panel per arm.

    A seed has the same colour in every panel (training solid, validation dashed) and one legend
    for the whole figure names the seeds: per-panel legends covered the curves of the small panels
    a 1366 x 768 screen gives the Classifier panel.
    """
    figure.clear()
    arms = list(curves) or ["(no epochs yet)"]
    cols = min(2, len(arms))
    rows = (len(arms) + cols - 1) // cols
    seeds = sorted({seed for arm in curves.values() for seed in arm})
    for n, arm in enumerate(arms, start=1):
        axes = figure.add_subplot(rows, cols, n)
        for seed, records in sorted(curves.get(arm, {}).items()):
            epochs = [r["epoch"] for r in records]
            colour = f"C{seeds.index(seed) % 10}"
            axes.plot(epochs, [r["train_loss"] for r in records], color=colour)
            axes.plot(epochs, [r["val_loss"] for r in records], linestyle="--", color=colour)
        axes.set_title(arm, fontsize=9)
        if n > len(arms) - cols:  # bottom row
            axes.set_xlabel("epoch", fontsize=8)
        if (n - 1) % cols == 0:  # left column
            axes.set_ylabel("loss", fontsize=8)
        axes.tick_params(labelsize=7)
    if seeds:
        handles = [Line2D([], [], color=f"C{i % 10}") for i in range(len(seeds))]
        handles += [Line2D([], [], color="0.3"), Line2D([], [], color="0.3", linestyle="--")]
        labels = [f"seed {seed}" for seed in seeds] + ["training", "validation"]
        figure.legend(handles, labels, loc="outside upper right", ncol=len(labels), fontsize=7,
                      frameon=False)  # fmt: skip
    if title:
        figure.suptitle(title, fontsize=9, x=0.01, ha="left")
    # Constrained layout is redone at every draw: the panel's canvas is resized after drawing.
    figure.set_layout_engine("constrained")


def curves_of(result: dict[str, Any]) -> dict[str, dict[int, list[dict]]]:
    return {
        arm: {s["seed"]: s["history"] for s in data.get("seeds", [])}
        for arm, data in result.get("arms", {}).items()
    }


def save_curves(result: dict[str, Any], path: Path) -> None:
    figure = Figure(figsize=(9, 6), dpi=100)
    draw_curves(figure, curves_of(result), f"{result['name']} — {result['model']}")
    figure.savefig(path)


def write_xlsx(result: dict[str, Any], path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from dermstudy.classifier.ablation import support_cell, table3

    bold = Font(bold=True)
    wb = Workbook()
    sheet = wb.active
    sheet.title = "Table 3"
    head = (
        f"Classifier ablation {result['name']}: model {result['model']}, protocol "
        f"{result['options']['protocol']}, {result['options']['seeds']} seed(s)"
    )
    sheet.append([head])
    sheet["A1"].font = bold
    rows = table3(result)
    if rows:
        columns = list(rows[0])
        for row in rows:
            columns += [c for c in row if c not in columns]
        sheet.append(columns)
        for cell in sheet[2]:
            cell.font = bold
        for row in rows:
            sheet.append([row.get(c, "") for c in columns])
    for arm, data in result["arms"].items():
        summary = data.get("summary")
        if not summary:
            continue
        ws = wb.create_sheet(arm[:31])
        ws.append([f"{arm}: mean (sd) over {summary['seeds']} seed(s)"])
        ws.append(["class", "precision", "recall", "f1-score", "support"])
        for name, cells in summary["report"].items():
            ws.append(
                [name]
                + [
                    f"{cells[m]['mean']:.3f} ({cells[m]['sd']:.3f})"
                    for m in ("precision", "recall", "f1-score")
                ]
                + [support_cell(cells)]
            )
        acc = summary["accuracy"]
        ws.append(["accuracy", f"{acc['mean']:.3f} ({acc['sd']:.3f})"])
        ws.append([])
        ws.append(["confusion matrix (rows true, columns predicted; summed over seeds)"])
        ws.append(["", *CODES])
        for code, counts in zip(CODES, summary["confusion_sum"], strict=True):
            ws.append([code, *counts])
    seeds = wb.create_sheet("Seeds")
    seeds.append(["arm", "seed", "n_train", "n_val", "n_test", "synthetic share", "accuracy",
                  "macro F1", "weighted F1", "best epoch", "epochs", "seconds"])  # fmt: skip
    curves = wb.create_sheet("Curves")
    curves.append(["arm", "seed", "epoch", "train_loss", "val_loss", "val_acc"])
    for arm, data in result["arms"].items():
        for s in data.get("seeds", []):
            seeds.append([
                arm, s["seed"], s["n_train"], s["n_val"], s["n_test"],
                round(s["train_synthetic_share"], 3), s["accuracy"],
                s["report"]["macro avg"]["f1-score"], s["report"]["weighted avg"]["f1-score"],
                s["best_epoch"], len(s["history"]), round(s["seconds"], 1),
            ])  # fmt: skip
            for r in s["history"]:
                curves.append(
                    [arm, s["seed"], r["epoch"], r["train_loss"], r["val_loss"], r["val_acc"]]
                )
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
