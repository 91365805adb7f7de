"""The classifier ablation: original / synthetic / combined (and size-matched combined) arms.

Arms (``ARMS``), each trained on its own pool of workspace images:

* ``original`` — real images only; ``synthetic`` — synthetic images only (kind ``synthetic``);
* ``combined`` — both; ``combined-matched`` — a seeded random subset of ``combined`` as large as the
  ``original`` pool, so that "more data" is not confused with "synthetic data".

Protocols:

* ``held-out`` (default) — the test set is the REAL images on the test side of a workspace split
  (``dermstudy.datasets.splits``; made by lesion, so no view of a test lesion is trained on). The
  split is the one the latest GLIDE training run left out, else the newest split, else a new split
  ``classifier-held-out`` (20 %, seed 0) is created and stored. The same test set serves every arm
  and seed; real training images come from the split's train side only. A validation set (10 %,
  grouped by lesion) is drawn from each arm's pool per seed. Class imbalance: cross-entropy with
  sklearn's "balanced" class weights from the training part (training and validation loss).
* ``paper`` — the research's protocol: the arm's pooled images split 80/20 at random (not by
  lesion; synthetic arms are tested on synthetic images), validation 10 % of the 80 % at random,
  no class weights.

Each arm is repeated over ``seeds`` seeds (0..N-1); results are per seed plus mean ± sd.
A run lives in ``<workspace>/classifier/<name>/``: ``result.json`` (rewritten after every finished
arm × seed), ``partitions.json`` (the image ids of every train/val/test set),
``checkpoints/<arm>-seed<k>.pt`` (format: :mod:`dermstudy.classifier.model`) and ``curves.png``.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dermstudy.classifier.model import MODELS, predict_proba, save_checkpoint
from dermstudy.classifier.settings import ARMS, PROTOCOLS
from dermstudy.classifier.train import (
    TrainOptions,
    balanced_class_weights,
    resolve_device,
    train_classifier,
)
from dermstudy.entities import BY_CODE, CODES
from dermstudy.errors import DermstudyError
from dermstudy.files import atomic_write_text
from dermstudy.jobs import Cancelled, CancelToken, Progress, ProgressEvent, no_progress
from dermstudy.workspace import Workspace, now_iso
from dermstudy.workspace.classifier_store import ClassifierImage, ClassifierStore

DEFAULT_SPLIT = "classifier-held-out"
RESULT_VERSION = 1


class AblationError(DermstudyError, ValueError):
    """The ablation cannot run as asked; the message says why (one line)."""


@dataclass
class AblationOptions:
    protocol: str = "held-out"
    arms: tuple[str, ...] = ARMS
    seeds: int = 3
    split: str | None = None
    val_fraction: float = 0.1
    test_fraction: float = 0.2  # paper protocol, and a new held-out split
    train: TrainOptions = field(default_factory=TrainOptions)
    name: str | None = None

    def to_dict(self) -> dict:
        return {
            "protocol": self.protocol,
            "arms": list(self.arms),
            "seeds": self.seeds,
            "split": self.split,
            "val_fraction": self.val_fraction,
            "test_fraction": self.test_fraction,
            "train": self.train.to_dict(),
        }


@dataclass
class Partition:
    """Image ids of one arm × seed (``test`` is the same for every arm under held-out)."""

    train: list[int]
    val: list[int]
    test: list[int]


def check_options(options: AblationOptions) -> None:
    if options.protocol not in PROTOCOLS:
        raise AblationError(f"--protocol must be one of {', '.join(PROTOCOLS)}")
    unknown = [a for a in options.arms if a not in ARMS]
    if unknown or not options.arms:
        raise AblationError(f"unknown arm(s) {', '.join(unknown)}; choose from {', '.join(ARMS)}")
    if options.train.model not in MODELS:
        raise AblationError(f"--model must be one of {', '.join(MODELS)}")
    if options.seeds < 1:
        raise AblationError("--seeds must be at least 1")
    if options.train.epochs < 1:
        raise AblationError("--epochs must be at least 1")
    if options.train.image_size < 8 or options.train.image_size % 8:
        raise AblationError("--image-size must be a multiple of 8 (three 2×2 poolings), e.g. 64")
    if not 0 < options.val_fraction < 0.5:
        raise AblationError("--val-fraction must be between 0 and 0.5")
    if not 0 < options.test_fraction < 0.5:
        raise AblationError("--test-fraction must be between 0 and 0.5")
    if options.name is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", options.name):
        raise AblationError(f"run name {options.name!r}: use letters, digits, '.', '_' and '-'")


# ---------------------------------------------------------------------------- partitions


def _group_split(
    images: list[ClassifierImage], fraction: float, seed: int, grouped: bool
) -> tuple[list[ClassifierImage], list[ClassifierImage]]:
    """(rest, held) with about ``fraction`` of the images held; by lesion when ``grouped``."""
    from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit

    if len(images) < 2:
        return images, []
    if grouped:
        groups = [im.group for im in images]
        if len(set(groups)) < 2:
            return images, []
        splitter = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
        rest, held = next(splitter.split(np.zeros(len(images)), groups=groups))
    else:
        splitter = ShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
        rest, held = next(splitter.split(np.zeros(len(images))))
    return [images[i] for i in rest], [images[i] for i in held]


def _matched(pool: list[ClassifierImage], size: int, seed: int) -> list[ClassifierImage]:
    rng = np.random.default_rng(seed + 10_007)  # its own stream: not the validation draw
    if len(pool) <= size:
        return list(pool)
    keep = np.sort(rng.choice(len(pool), size=size, replace=False))
    return [pool[i] for i in keep]


@dataclass
class Pools:
    """What every arm draws from: real train side, synthetic images, the real test set."""

    real_train: list[ClassifierImage]
    synthetic: list[ClassifierImage]
    real_test: list[ClassifierImage]
    real_all: list[ClassifierImage]
    split: str | None


def resolve_pools(ws: Workspace, options: AblationOptions) -> Pools:
    store = ClassifierStore(ws)
    real = store.images("real")
    synthetic = store.images("synthetic")
    if not real and any(a != "synthetic" for a in options.arms):
        raise AblationError(f"{ws.root}: no real images (import HAM10000 first)")
    if not synthetic and any(a != "original" for a in options.arms):
        needing = [a for a in options.arms if a != "original"]
        raise AblationError(
            f"{ws.root}: no synthetic images, which arm(s) {', '.join(needing)} need; "
            "generate or import some, or run with --arms original"
        )
    if options.protocol == "paper":
        return Pools([], synthetic, [], real, None)
    from dermstudy.datasets.splits import create_split, get_split, split_image_ids

    name = options.split or store.default_split_name()
    if name is None:
        split = create_split(ws, DEFAULT_SPLIT, options.test_fraction, seed=0)
    else:
        split = get_split(ws, name)
    test_ids = split_image_ids(ws, split.id, "test")
    train_ids = split_image_ids(ws, split.id, "train")
    real_test = [im for im in real if im.id in test_ids]
    real_train = [im for im in real if im.id in train_ids]
    if not real_test:
        raise AblationError(f"split {split.name!r} has no real test images")
    return Pools(real_train, synthetic, real_test, real, split.name)


def partition(
    pools: Pools, arm: str, protocol: str, seed: int, options: AblationOptions
) -> Partition:
    """The train/val/test image ids of one arm and seed."""
    if protocol == "held-out":
        base = {"original": pools.real_train, "synthetic": pools.synthetic}
        base["combined"] = pools.real_train + pools.synthetic
        base["combined-matched"] = _matched(base["combined"], len(pools.real_train), seed)
        train, val = _group_split(base[arm], options.val_fraction, seed, grouped=True)
        test = pools.real_test
    else:
        base = {"original": pools.real_all, "synthetic": pools.synthetic}
        base["combined"] = pools.real_all + pools.synthetic
        base["combined-matched"] = _matched(base["combined"], len(pools.real_all), seed)
        rest, test = _group_split(base[arm], options.test_fraction, seed, grouped=False)
        train, val = _group_split(rest, options.val_fraction, seed, grouped=False)
    return Partition([im.id for im in train], [im.id for im in val], [im.id for im in test])


# ---------------------------------------------------------------------------- pixels


def load_all_pixels(
    ws: Workspace,
    images: list[ClassifierImage],
    size: int,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> tuple[dict[int, int], torch.Tensor, torch.Tensor]:
    """id → row, uint8 (N,3,S,S) pixels and entity labels; decoded once and cached as uint8.

    Reuses the training data cache (centre square, bilinear resize to ``size``): the research
    resized the whole frame; a square crop keeps the lesion's proportions instead of squashing.
    """
    from dermstudy.training.data import TrainImage, load_pixels

    train_images = [TrainImage(im.id, im.sha256, im.file, im.entity) for im in images]
    workers = min(2, os.cpu_count() or 1)
    cache = load_pixels(ws, train_images, size, progress=progress, cancel=cancel, workers=workers)
    row = {im.id: n for n, im in enumerate(images)}
    return row, cache.high, cache.entity_index


# ---------------------------------------------------------------------------- metrics


def evaluate(y_true: np.ndarray, proba: np.ndarray) -> dict[str, Any]:
    """Classification report (sklearn), confusion matrix and accuracy, labels in CODES order."""
    from sklearn.metrics import accuracy_score, classification_report, confusion_matrix

    labels = list(range(len(CODES)))
    y_pred = proba.argmax(1)
    report = classification_report(
        y_true, y_pred, labels=labels, target_names=list(CODES), output_dict=True, zero_division=0
    )
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "report": report,
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


REPORT_ROWS = (*CODES, "macro avg", "weighted avg")
METRICS = ("precision", "recall", "f1-score")


def summarise(seed_results: list[dict]) -> dict[str, Any]:
    """Mean and sd (ddof 1; 0 for one seed) over seeds of accuracy and every report cell."""

    def stats(values: list[float]) -> dict[str, float]:
        arr = np.asarray(values, dtype=float)
        sd = float(arr.std(ddof=1)) if len(arr) > 1 else 0.0
        return {"mean": float(arr.mean()), "sd": sd}

    summary: dict[str, Any] = {
        "seeds": len(seed_results),
        "accuracy": stats([r["accuracy"] for r in seed_results]),
        "report": {},
        "confusion_sum": np.sum([r["confusion"] for r in seed_results], axis=0).tolist(),
    }
    for row in REPORT_ROWS:
        summary["report"][row] = {
            m: stats([r["report"][row][m] for r in seed_results]) for m in METRICS
        }
        supports = [int(r["report"][row]["support"]) for r in seed_results]
        # Held-out: one test set, the same support every seed. Paper: a new random split per
        # seed, so the support differs; Table 3 then shows its range, not seed 0's alone.
        summary["report"][row]["support"] = supports[0]
        summary["report"][row]["support_range"] = [min(supports), max(supports)]
    return summary


def support_cell(cells: dict[str, Any]) -> int | str:
    """A Table 3 support cell: the number, or ``low–high`` where the seeds' test sets differ."""
    low, high = cells.get("support_range") or (cells["support"], cells["support"])
    return cells["support"] if low == high else f"{low}–{high}"


def _cell(stat: dict[str, float], seeds: int) -> str:
    return f"{stat['mean']:.2f} ± {stat['sd']:.2f}" if seeds > 1 else f"{stat['mean']:.2f}"


def table3(result: dict) -> list[dict[str, Any]]:
    """The research's Table 3 layout: one row per class, then accuracy, macro and weighted
    averages; per arm precision / recall / F1 (mean ± sd over seeds) and support (its range
    over seeds where the seeds' test sets differ, as under the paper protocol)."""
    rows = []
    arms = [a for a in result["options"]["arms"] if result["arms"].get(a, {}).get("summary")]
    for row in (*CODES, "accuracy", "macro avg", "weighted avg"):
        label = BY_CODE[row].short_name if row in BY_CODE else row
        out: dict[str, Any] = {"class": label}
        for arm in arms:
            summary = result["arms"][arm]["summary"]
            seeds = summary["seeds"]
            if row == "accuracy":  # as in sklearn's report: in the F1 column, with the support
                out[f"{arm} precision"] = out[f"{arm} recall"] = ""
                out[f"{arm} f1-score"] = _cell(summary["accuracy"], seeds)
                out[f"{arm} support"] = support_cell(summary["report"]["macro avg"])
                continue
            cells = summary["report"][row]
            for metric in METRICS:
                out[f"{arm} {metric}"] = _cell(cells[metric], seeds)
            out[f"{arm} support"] = support_cell(cells)
        rows.append(out)
    return rows


# ---------------------------------------------------------------------------- the run


def runs_folder(ws: Workspace) -> Path:
    return ws.root / "classifier"


def run_folder(ws: Workspace, name: str) -> Path:
    return run_folder_at(ws.root, name)


def run_folder_at(workspace_root: Path, name: str) -> Path:
    """The run's folder from the workspace path alone (no database connection needed)."""
    return Path(workspace_root) / "classifier" / name


def _write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=1, default=str))


def run_ablation(
    workspace: Path | str,
    options: AblationOptions,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> dict[str, Any]:
    """Train and test every arm × seed; returns the result dict (also in ``result.json``).

    Opens its own workspace (safe on a worker thread). On cancel the partial result is kept with
    ``status`` = ``cancelled`` and :class:`~dermstudy.jobs.Cancelled` is raised.
    """
    check_options(options)
    cancel = cancel or CancelToken()
    device = resolve_device(options.train.device)
    with Workspace.open(workspace, create=False) as ws:
        pools = resolve_pools(ws, options)
        everything = {im.id: im for im in pools.real_all + pools.synthetic}
        images = sorted(everything.values(), key=lambda im: im.id)
        name = options.name or time.strftime("ablation-%Y%m%d-%H%M%S")
        folder = run_folder(ws, name)
        if folder.exists():
            raise AblationError(f"{folder}: a classifier run of that name exists already")
        rows, pixels, labels = load_all_pixels(
            ws, images, options.train.image_size, progress, cancel
        )
    (folder / "checkpoints").mkdir(parents=True)
    result: dict[str, Any] = {
        "version": RESULT_VERSION,
        "name": name,
        "status": "running",
        "created_at": now_iso(),
        "model": options.train.model,
        "device": device,
        "split": pools.split,
        "options": options.to_dict(),
        "images": {"real": len(pools.real_all), "synthetic": len(pools.synthetic)},
        "arms": {arm: {"seeds": []} for arm in options.arms},
    }
    partitions: dict[str, dict[str, Any]] = {}
    _write_json(folder / "result.json", result)
    progress(ProgressEvent(0, None, f"run {name}", {"event": "start", "run": name}))
    synthetic_ids = {im.id for im in pools.synthetic}
    total = len(options.arms) * options.seeds * options.train.epochs
    slot = 0
    try:
        for arm in options.arms:
            for seed in range(options.seeds):
                part = partition(pools, arm, options.protocol, seed, options)
                partitions[f"{arm}/seed{seed}"] = part.__dict__
                _write_json(folder / "partitions.json", partitions)
                seed_result = _train_one(
                    folder, arm, seed, part, rows, pixels, labels, options, result,
                    synthetic_ids, progress, cancel, slot, total,
                )  # fmt: skip
                result["arms"][arm]["seeds"].append(seed_result)
                result["arms"][arm]["summary"] = summarise(result["arms"][arm]["seeds"])
                result["table3"] = table3(result)
                _write_json(folder / "result.json", result)
                slot += options.train.epochs
                progress(
                    ProgressEvent(
                        slot,
                        total,
                        f"{arm} seed {seed}: accuracy {seed_result['accuracy']:.3f}",
                        {"event": "seed_done", "run": name, "arm": arm, "seed": seed},
                    )
                )
    except Cancelled:
        result["status"] = "cancelled"
        _write_json(folder / "result.json", result)
        raise
    result["status"] = "finished"
    result["finished_at"] = now_iso()
    _write_json(folder / "result.json", result)
    try:
        from dermstudy.classifier.figures import save_curves

        save_curves(result, folder / "curves.png")
    except Exception as exc:  # a figure problem must not lose a finished run
        result["curves_error"] = str(exc)
    progress(ProgressEvent(total, total, f"finished: {folder}", {"event": "finished"}))
    return result


def _train_one(
    folder: Path,
    arm: str,
    seed: int,
    part: Partition,
    rows: dict[int, int],
    pixels: torch.Tensor,
    labels: torch.Tensor,
    options: AblationOptions,
    result: dict,
    synthetic_ids: set[int],
    progress: Progress,
    cancel: CancelToken,
    slot: int,
    total: int,
) -> dict[str, Any]:
    def take(ids: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        index = torch.tensor([rows[i] for i in ids], dtype=torch.long)
        return pixels[index], labels[index]

    train_x, train_y = take(part.train)
    val_x, val_y = take(part.val)
    test_x, test_y = take(part.test)
    if len(val_x) == 0:
        raise AblationError(f"arm {arm}: too few images to hold out a validation set")
    weights = None
    if options.protocol == "held-out":
        weights = balanced_class_weights(train_y.numpy(), len(CODES))

    def on_epoch(record: dict) -> None:
        progress(
            ProgressEvent(
                slot + record["epoch"],
                total,
                f"{arm} seed {seed} epoch {record['epoch']}: val loss {record['val_loss']:.3f}",
                {"event": "epoch", "arm": arm, "seed": seed, **record},
            )
        )

    trained = train_classifier(
        train_x, train_y, val_x, val_y, options.train, seed, weights, on_epoch, cancel
    )
    proba = predict_proba(trained.model, test_x).numpy()
    metrics = evaluate(test_y.numpy(), proba)
    checkpoint = folder / "checkpoints" / f"{arm}-seed{seed}.pt"
    save_checkpoint(
        checkpoint,
        trained.model,
        options.train.model,
        {
            "image_size": options.train.image_size,
            "arm": arm,
            "seed": seed,
            "protocol": options.protocol,
            "run": result["name"],
            "epochs_trained": len(trained.history),
            "best_epoch": trained.best_epoch,
            "best_val_loss": trained.best_val_loss,
        },
    )
    return {
        "seed": seed,
        "n_train": len(part.train),
        "n_val": len(part.val),
        "n_test": len(part.test),
        "train_synthetic_share": sum(i in synthetic_ids for i in part.train) / len(part.train),
        "class_weights": None if weights is None else [float(w) for w in weights],
        "history": trained.history,
        "best_epoch": trained.best_epoch,
        "best_val_loss": trained.best_val_loss,
        "stopped_early": trained.stopped_early,
        "stopped_by_time": trained.stopped_by_time,
        "seconds": trained.seconds,
        "checkpoint": str(checkpoint.relative_to(folder)),
        **metrics,
    }


def load_result(ws: Workspace, name: str) -> dict[str, Any]:
    path = run_folder(ws, name) / "result.json"
    if not path.is_file():
        known = list_runs(ws)
        hint = f"; runs: {', '.join(known)}" if known else "; no classifier runs yet"
        raise AblationError(f"no classifier run {name!r} in {ws.root}{hint}")
    return json.loads(path.read_text())


def list_runs(ws: Workspace) -> list[str]:
    root = runs_folder(ws)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "result.json").is_file())
