"""Training data: which real images a run uses, their captions, and their pixels cached as uint8.

Pipeline (spec §8.4, the trainer's folder mode with HAM10000-shaped images): decode to RGB, take the
largest centred square (for a 600×450 or 200×150 image exactly what the trainer's random-resized
crop falls back to), resize with PIL bilinear filtering to the model's size; for the upsampler the
square goes to 256 (the target) and that target is resized to 64 with PIL bicubic (the low-res input).
Every image is decoded once: the uint8 tensors are cached in ``<workspace>/cache/training/`` under a
name derived from the image hashes and sizes, so later runs and resumes start at once and an epoch
costs only the network.
"""

from __future__ import annotations

import hashlib
import io
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from dermstudy.datasets.images import to_rgb
from dermstudy.entities import BY_CODE, CODES, parse_entity
from dermstudy.errors import DermstudyError
from dermstudy.files import atomic_path
from dermstudy.jobs import CancelToken, Progress, ProgressEvent, no_progress
from dermstudy.workspace import Workspace
from dermstudy.workspace.images import ImageRepository
from dermstudy.workspace.splits import get_split


class DataError(DermstudyError, ValueError):
    """The selected training data cannot be used; the message says which file or why."""


@dataclass(frozen=True)
class TrainImage:
    id: int
    sha256: str
    file: str
    entity: str
    short_side: int = 0  # min(width, height) as imported

    @property
    def caption(self) -> str:
        return BY_CODE[self.entity].prompt


def select_images(
    ws: Workspace, entities: list[str] | None = None, split: str | None = None
) -> tuple[list[TrainImage], int | None]:
    """Real images of the chosen entities, minus the test side of ``split``; ordered by id."""
    codes = [parse_entity(e) for e in entities] if entities else list(CODES)
    split_id = get_split(ws, split).id if split else None
    rows = ImageRepository(ws).real_for_training(codes, split_id)
    images = [TrainImage(r.id, r.sha256, r.file, r.entity, r.short_side) for r in rows]
    if not images:
        where = f" of {', '.join(codes)}" if entities else ""
        raise DataError(f"{ws.root}: no real images{where} to train on (import HAM10000 first)")
    return images, split_id


def dataset_hash(images: list[TrainImage]) -> str:
    """SHA-256 over the ordered (image hash, caption) pairs: what the run trained on."""
    digest = hashlib.sha256()
    for image in images:
        digest.update(f"{image.sha256}\t{image.caption}\n".encode())
    return digest.hexdigest()


def centre_square(image: Image.Image) -> Image.Image:
    """The largest centred square crop (HAM10000 600×450 → columns 75…524)."""
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return image.crop((left, top, left + side, top + side))


def prepare_pixels(data: bytes, size: int, low_res: int | None = None) -> list[np.ndarray]:
    """[target HWC uint8] or [target, low-res] for one encoded image."""
    with Image.open(io.BytesIO(data)) as image:
        square = centre_square(to_rgb(image))
    target = square.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=None)
    out = [np.asarray(target, dtype=np.uint8)]
    if low_res:
        out.append(
            np.asarray(target.resize((low_res, low_res), Image.Resampling.BICUBIC), dtype=np.uint8)
        )
    return out


@dataclass
class PixelCache:
    """All training pixels as uint8 NCHW tensors (``low`` only for the upsampler)."""

    high: torch.Tensor
    low: torch.Tensor | None
    entity_index: torch.Tensor  # int64 [N], index into CODES

    def __len__(self) -> int:
        return int(self.high.shape[0])


def _cache_path(ws: Workspace, images: list[TrainImage], size: int, low_res: int | None) -> Path:
    digest = hashlib.sha256()
    for image in images:
        digest.update(image.sha256.encode())
    digest.update(f"size={size};low={low_res};crop=centre;filter=bilinear/bicubic;v1".encode())
    return ws.root / "cache" / "training" / f"{digest.hexdigest()[:32]}.pt"


def load_pixels(
    ws: Workspace,
    images: list[TrainImage],
    size: int,
    low_res: int | None = None,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
    workers: int | None = None,
) -> PixelCache:
    """Decode (or read from the cache) every image at ``size`` (and ``low_res``)."""
    entity_index = torch.tensor([CODES.index(i.entity) for i in images], dtype=torch.long)
    path = _cache_path(ws, images, size, low_res)
    if path.exists():
        try:
            stored = torch.load(path, map_location="cpu", weights_only=True)
            return PixelCache(stored["high"], stored.get("low"), entity_index)
        except Exception:  # a damaged cache file is rebuilt, never trusted
            path.unlink(missing_ok=True)
    cancel = cancel or CancelToken()

    def decode(image: TrainImage) -> list[np.ndarray]:
        cancel.raise_if_cancelled()
        file = ws.path_of(image.file)
        try:
            return prepare_pixels(file.read_bytes(), size, low_res)
        except (OSError, ValueError) as exc:
            raise DataError(f"{file}: cannot be read as a training image ({exc})") from exc

    high = np.empty((len(images), size, size, 3), dtype=np.uint8)
    low = np.empty((len(images), low_res, low_res, 3), dtype=np.uint8) if low_res else None
    # PIL releases the GIL while decoding and resizing, so threads use every core.
    with ThreadPoolExecutor(max_workers=workers or min(8, os.cpu_count() or 1)) as pool:
        for n, arrays in enumerate(pool.map(decode, images)):
            high[n] = arrays[0]
            if low is not None:
                low[n] = arrays[1]
            if n % 64 == 0 or n == len(images) - 1:
                progress(ProgressEvent(n + 1, len(images), "decoding images", {"event": "data"}))
    result = PixelCache(
        torch.from_numpy(high).permute(0, 3, 1, 2).contiguous(),
        torch.from_numpy(low).permute(0, 3, 1, 2).contiguous() if low is not None else None,
        entity_index,
    )
    # Straight to a temporary file and renamed: no second in-memory copy of a large cache.
    with atomic_path(path) as tmp:
        torch.save({"high": result.high, "low": result.low}, tmp)
    return result


def random_patches(
    high: torch.Tensor, low: torch.Tensor, patch: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Aligned random crops: ``patch`` target pixels and the matching low-res pixels, per image.

    Offsets are multiples of the scale factor, so each low-res crop is exactly the low-res image of
    its target crop's area (both were made from the same square).
    """
    scale = high.shape[-1] // low.shape[-1]
    low_patch = patch // scale
    positions = low.shape[-1] - low_patch + 1
    offsets = torch.randint(0, positions, (high.shape[0], 2), generator=generator)
    highs, lows = [], []
    for n, (row, col) in enumerate(offsets.tolist()):
        lows.append(low[n, :, row : row + low_patch, col : col + low_patch])
        r, c = row * scale, col * scale
        highs.append(high[n, :, r : r + patch, c : c + patch])
    return torch.stack(highs), torch.stack(lows)


def to_model_range(pixels: torch.Tensor) -> torch.Tensor:
    """uint8 → float32 in [-1, 1] (float first: scaling in uint8/half gave NaN in the trainer)."""
    return pixels.float() / 127.5 - 1.0
