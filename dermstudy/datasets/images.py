"""Decoding and checking image files before they enter a workspace."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

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
            image.load()
            width, height = image.size
    except UnidentifiedImageError as exc:
        raise BadImageError("not an image file (unrecognised format)") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise BadImageError(f"cannot decode image ({exc})") from exc
    if image_format not in _FORMAT_SUFFIX:
        raise BadImageError(f"unsupported image format {image_format}")
    return CheckedImage(data=data, width=width, height=height, format=image_format)


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
