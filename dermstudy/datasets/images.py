"""Decoding and checking image files before they enter a workspace."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from dermstudy.errors import DermstudyError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
_FORMAT_SUFFIX = {"JPEG": ".jpg", "PNG": ".png", "BMP": ".bmp", "TIFF": ".tif", "WEBP": ".webp"}


class BadImageError(DermstudyError, ValueError):
    """An image file cannot be decoded; the message says why."""


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    width: int
    height: int
    format: str

    @property
    def suffix(self) -> str:
        return _FORMAT_SUFFIX.get(self.format, ".img")


def check_image_bytes(data: bytes) -> CheckedImage:
    """Decode the image fully once (a truncated file fails here) and return its facts."""
    if not data:
        raise BadImageError("file is empty")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format = image.format or "unknown"
            width, height = image.size
            _refuse_huge(width, height)  # before decoding: a bomb must not take the memory
            image.load()
    except Image.DecompressionBombError as exc:  # not an OSError: it would abort the whole import
        raise BadImageError(f"refused as a decompression bomb ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise BadImageError("not an image file (unrecognised format)") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise BadImageError(f"cannot decode image ({exc})") from exc
    if image_format not in _FORMAT_SUFFIX:
        raise BadImageError(f"unsupported image format {image_format}")
    return CheckedImage(data=data, width=width, height=height, format=image_format)


def _refuse_huge(width: int, height: int) -> None:
    """Pillow only warns between its limit and twice that; we refuse anything above the limit."""
    limit = Image.MAX_IMAGE_PIXELS
    if limit and width * height > limit:
        raise BadImageError(
            f"refused as a possible decompression bomb: {width}x{height} pixels, "
            f"more than {limit:,}"
        )


# Single-channel modes with more than 8 bits per sample. Pillow's convert("RGB") clips their values
# at 255 instead of scaling them, so a 16-bit PNG would turn (almost) white.
_WIDE_GREY_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")


def to_rgb(image: Image.Image) -> Image.Image:
    """``image`` as 8-bit RGB, scaling 16-bit (and 32-bit/float) grey levels instead of clipping."""
    if image.mode not in _WIDE_GREY_MODES:
        return image.convert("RGB")
    values = np.asarray(image, dtype=np.float64)
    if image.mode == "F":
        top = 1.0 if values.size and float(np.nanmax(values)) <= 1.0 else 255.0
    else:
        top = 65535.0  # PNG and TIFF grey images of these modes hold 16-bit samples
    grey = np.clip(np.rint(np.nan_to_num(values) * (255.0 / top)), 0, 255).astype(np.uint8)
    return Image.fromarray(grey).convert("RGB")


def read_and_check(path: Path) -> CheckedImage:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadImageError(f"cannot read file: {exc.strerror or exc}") from exc
    return check_image_bytes(data)


def find_image_files(root: Path) -> tuple[dict[str, Path], list[tuple[str, list[Path]]]]:
    """Map file stem → path for every image below ``root``; also return stems found twice."""
    found: dict[str, list[Path]] = {}
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
            found.setdefault(path.stem, []).append(path)
    unique = {stem: paths[0] for stem, paths in found.items()}
    repeated = [(stem, paths) for stem, paths in found.items() if len(paths) > 1]
    return unique, repeated


def remove_files(paths: list[Path]) -> None:
    """Best-effort removal of files this run created, when it is cancelled or fails."""
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink()
