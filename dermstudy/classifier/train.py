"""One classifier training: Adam, mini-batches, per-image augmentation, early stopping.

The research's recipe: Adam (lr 1e-3), batch 32, up to 100 epochs, early stopping on validation loss
with patience 5 restoring the best weights. Inputs are uint8 NCHW tensors (decoded once, see
:mod:`dermstudy.classifier.data`), scaled to [0, 1] per batch. Class imbalance is optionally handled
by class weights in the cross-entropy (``class_weights``; the held-out protocol passes sklearn's
"balanced" weights). Everything random (shuffling, augmentation, dropout, initialisation) draws
from torch's global generator seeded with ``seed``, so one seed gives one result on one machine.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from dermstudy.classifier.model import augment_batch, augmentation, build_model, to_input
from dermstudy.jobs import CancelToken

EpochCallback = Callable[[dict], None]


@dataclass
class TrainOptions:
    model: str = "paper-cnn"
    image_size: int = 64
    epochs: int = 100
    batch_size: int = 32
    lr: float = 1e-3
    patience: int = 5
    augment: bool = True
    device: str = "cpu"
    threads: int = 0  # torch CPU threads; 0 = leave torch's default
    time_limit_s: float = 0.0  # stop after the epoch that passes this (0 = no limit)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class TrainResult:
    model: nn.Module
    history: list[dict] = field(default_factory=list)  # per epoch: train_loss, val_loss, val_acc
    best_epoch: int = 0
    best_val_loss: float = math.inf
    stopped_early: bool = False
    stopped_by_time: bool = False
    seconds: float = 0.0


def balanced_class_weights(labels: np.ndarray, classes: int) -> torch.Tensor:
    """sklearn's "balanced" weights n / (k · n_c) for the present classes; 0 for absent ones."""
    from sklearn.utils.class_weight import compute_class_weight

    weights = np.zeros(classes, dtype=np.float32)
    present = np.unique(labels)
    weights[present] = compute_class_weight("balanced", classes=present, y=labels)
    return torch.from_numpy(weights)


def resolve_device(device: str) -> str:
    if device in ("", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"--device {device}: CUDA is not available on this machine")
    return device


@torch.no_grad()
def evaluate_loss(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module, device: str
) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` on uint8 images ``x`` (eval mode)."""
    model.eval()
    total, correct = 0.0, 0
    for i in range(0, len(x), 256):
        logits = model(to_input(x[i : i + 256]).to(device))
        target = y[i : i + 256].to(device)
        total += float(loss_fn(logits, target)) * len(target)
        correct += int((logits.argmax(1) == target).sum())
    n = max(1, len(x))
    return total / n, correct / n


def train_classifier(
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    val_x: torch.Tensor,
    val_y: torch.Tensor,
    options: TrainOptions,
    seed: int,
    class_weights: torch.Tensor | None = None,
    on_epoch: EpochCallback | None = None,
    cancel: CancelToken | None = None,
) -> TrainResult:
    """Train a fresh model; returns it with the best validation-loss weights restored."""
    if len(train_x) == 0:
        raise ValueError("no training images")
    if len(val_x) == 0:
        raise ValueError("no validation images (the training pool is too small to split)")
    if options.threads:
        torch.set_num_threads(options.threads)
    device = resolve_device(options.device)
    torch.manual_seed(seed)
    model = build_model(options.model, options.image_size).to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=options.lr)
    weight = class_weights.to(device) if class_weights is not None else None
    train_loss_fn = nn.CrossEntropyLoss(weight=weight)
    # Validation loss uses the same weights: early stopping then watches the loss that is optimised.
    val_loss_fn = nn.CrossEntropyLoss(weight=weight)
    transform = augmentation() if options.augment else None
    generator = torch.Generator().manual_seed(seed)
    result = TrainResult(model)
    best_state = copy.deepcopy(model.state_dict())
    waited = 0
    started = time.monotonic()
    for epoch in range(1, options.epochs + 1):
        model.train()
        order = torch.randperm(len(train_x), generator=generator)
        seen, running = 0, 0.0
        epoch_started = time.monotonic()
        for start in range(0, len(order), options.batch_size):
            if cancel is not None:
                cancel.raise_if_cancelled()
            index = order[start : start + options.batch_size]
            batch = train_x[index]
            if transform is not None:
                batch = augment_batch(batch, transform)
            logits = model(to_input(batch).to(device))
            loss = train_loss_fn(logits, train_y[index].to(device))
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            running += loss.detach().item() * len(index)
            seen += len(index)
        train_seconds = time.monotonic() - epoch_started
        val_loss, val_acc = evaluate_loss(model, val_x, val_y, val_loss_fn, device)
        record = {
            "epoch": epoch,
            "train_loss": running / seen,
            "val_loss": val_loss,
            "val_acc": val_acc,
            "seconds": time.monotonic() - epoch_started,
            "train_seconds": train_seconds,
        }
        result.history.append(record)
        improved = val_loss < result.best_val_loss
        if improved:
            result.best_val_loss, result.best_epoch, waited = val_loss, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
        if on_epoch is not None:
            on_epoch(record)
        if waited >= options.patience:
            result.stopped_early = True
            break
        if options.time_limit_s and time.monotonic() - started > options.time_limit_s:
            result.stopped_by_time = True  # a budgeted run: the best epoch so far is kept
            break
    model.load_state_dict(best_state)
    model.eval()
    result.seconds = time.monotonic() - started
    return result
