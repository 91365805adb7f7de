"""The two classifier backbones, their augmentation, and the checkpoint format other modules read.

Models (``MODELS``):

* ``paper-cnn`` — the research's small CNN: three 3×3 convolutions (32, 64, 128 channels, padding 1,
  ReLU), each followed by 2×2 max-pooling; flatten; dense 64 + ReLU; dropout 0.5; dense 7. The
  softmax of the research is folded into the loss (cross-entropy on logits); :func:`predict_proba`
  applies it. Inputs are float RGB scaled to [0, 1] (``uint8 / 255``).
* ``resnet18`` — torchvision's ResNet-18 with 7 outputs, trained from scratch (``weights=None``: no
  pretrained download is reachable offline, and nothing may download at run time).

Both take ``(N, 3, S, S)`` float tensors in [0, 1] (``S`` = ``image_size``, default 64) and return
logits ``(N, 7)`` in the order of :data:`dermstudy.entities.CODES`.

Features API (used by the Fréchet distance in ``dermstudy.quality``)::

    model, options = load_checkpoint(path)          # eval mode, on CPU
    feats = features(model, images)                  # images: uint8 or [0,1] float (N,3,S,S)
    # -> float32 (N, D): penultimate layer; D = 64 (paper-cnn, after ReLU) or 512 (resnet18, pooled)

``features`` resizes nothing: pass images at ``options["image_size"]`` (see :func:`to_input`).

Checkpoint format (``torch.save`` of a plain dict, read with ``torch.load(weights_only=True)``)::

    {
        "format": "dermstudy-classifier/1",
        "model": "paper-cnn" | "resnet18",
        "options": {"image_size": 64, "classes": ["mel", ..., "vasc"], ...},  # JSON-able; the
                    # ablation adds arm, seed, protocol, epochs_trained, best_epoch, best_val_loss
        "state_dict": {name: tensor},
    }
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dermstudy.classifier.settings import MODEL_NAMES
from dermstudy.classifier.tv import import_torchvision
from dermstudy.entities import CODES
from dermstudy.errors import DermstudyError
from dermstudy.files import atomic_path

torchvision = import_torchvision()
from torchvision.transforms import v2  # noqa: E402  (after the import shim above)

FORMAT = "dermstudy-classifier/1"
MODELS = MODEL_NAMES
DEFAULT_IMAGE_SIZE = 64


class CheckpointError(DermstudyError, ValueError):
    """A classifier checkpoint cannot be read; the message names the file and why."""


class PaperCNN(nn.Module):
    """The research's three-convolution CNN (see the module docstring)."""

    def __init__(self, image_size: int = DEFAULT_IMAGE_SIZE, classes: int = len(CODES)) -> None:
        super().__init__()
        if image_size < 8:
            raise ValueError(f"image size {image_size} is too small for three 2×2 poolings")
        layers: list[nn.Module] = []
        channels = 3
        for width in (32, 64, 128):
            layers += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            channels = width
        self.conv = nn.Sequential(*layers)
        side = image_size // 8
        self.dense = nn.Sequential(nn.Flatten(), nn.Linear(128 * side * side, 64), nn.ReLU())
        self.dropout = nn.Dropout(0.5)
        self.head = nn.Linear(64, classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense(self.conv(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(x)))


class ResNet18(nn.Module):
    """torchvision ResNet-18 from scratch, with a ``features`` method (the pooled 512 vector)."""

    def __init__(self, classes: int = len(CODES)) -> None:
        super().__init__()
        self.net = torchvision.models.resnet18(weights=None, num_classes=classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        net = self.net
        x = net.maxpool(net.relu(net.bn1(net.conv1(x))))
        x = net.layer4(net.layer3(net.layer2(net.layer1(x))))
        return torch.flatten(net.avgpool(x), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.fc(self.features(x))


def build_model(name: str, image_size: int = DEFAULT_IMAGE_SIZE) -> nn.Module:
    if name == "paper-cnn":
        return PaperCNN(image_size)
    if name == "resnet18":
        return ResNet18()
    raise ValueError(f"unknown classifier model {name!r} (choose from {', '.join(MODELS)})")


def to_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N,3,S,S) → float32 in [0, 1]; float input is passed through as float32."""
    if images.dtype == torch.uint8:
        return images.float() / 255.0
    return images.float()


@torch.no_grad()
def _in_eval_batches(
    model: nn.Module,
    images: torch.Tensor,
    batch_size: int,
    forward: Callable[[torch.Tensor], torch.Tensor],
) -> list[torch.Tensor]:
    """``forward`` of each batch of ``images`` on the model's device, in eval mode and without
    gradients, as float32 on the CPU; the model's train/eval mode is restored afterwards."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    try:
        return [
            forward(to_input(images[i : i + batch_size]).to(device)).float().cpu()
            for i in range(0, images.shape[0], batch_size)
        ]
    finally:
        model.train(was_training)


def features(model: nn.Module, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Penultimate-layer features ``(N, D)`` of ``images`` (uint8 or [0,1] float), in eval mode."""
    out = _in_eval_batches(model, images, batch_size, model.features)
    return torch.cat(out) if out else torch.empty(0, 0)


def predict_proba(model: nn.Module, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Softmax probabilities ``(N, 7)`` in CODES order, in eval mode."""
    out = _in_eval_batches(model, images, batch_size, lambda x: torch.softmax(model(x), 1))
    return torch.cat(out) if out else torch.empty(0, len(CODES))


def augmentation(
    rotation: float = 20.0, shift: float = 0.1, zoom: float = 0.1, flip: bool = True
) -> v2.Compose:
    """Keras-style augmentation with torchvision: rotation, width/height shift, zoom, h-flip.

    Applied to one uint8 (3,S,S) image at a time so every image gets its own random parameters
    (a v2 transform on a batch tensor draws one set for the whole batch).
    """
    steps: list[nn.Module] = [
        v2.RandomAffine(degrees=rotation, translate=(shift, shift), scale=(1 - zoom, 1 + zoom))
    ]
    if flip:
        steps.append(v2.RandomHorizontalFlip())
    return v2.Compose(steps)


def augment_batch(images: torch.Tensor, transform: v2.Compose) -> torch.Tensor:
    """Per-image augmentation of a uint8 batch (labels are untouched: only pixels move)."""
    return torch.stack([transform(image) for image in images])


def save_checkpoint(path: Path, model: nn.Module, name: str, options: dict[str, Any]) -> None:
    options = {"classes": list(CODES), **options}
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, "model": name, "options": options, "state_dict": state}, tmp)


def load_checkpoint(path: Path, device: str = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """The model (eval mode) and its options from a checkpoint written by :func:`save_checkpoint`."""
    path = Path(path)
    try:
        data = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except Exception as exc:
        raise CheckpointError(f"{path}: not a readable checkpoint ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a dermstudy classifier checkpoint ({FORMAT})")
    options = dict(data.get("options") or {})
    try:
        model = build_model(data["model"], int(options.get("image_size", DEFAULT_IMAGE_SIZE)))
        model.load_state_dict(data["state_dict"])
    except (KeyError, RuntimeError, ValueError) as exc:
        raise CheckpointError(f"{path}: weights do not fit the model ({exc})") from None
    model.to(device).eval()
    return model, {"model": data["model"], **options}
