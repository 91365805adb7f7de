"""Blinding: one image format for every case, and opaque case codes.

Every case image — real or synthetic — goes through the same path: decode, apply the EXIF orientation,
convert to RGB, centre-crop to a square, resize to the display size with a Lanczos filter, and encode
as PNG from a fresh pixel buffer, so no ICC profile, EXIF, text, gamma or resolution chunk survives.
The PNG is written uncompressed (zlib level 0): every case file of a study then has exactly the same
byte size, so not even the file size (which for compressed PNGs depends on noise and JPEG artefacts,
and so differs between real and generated images) can hint at the source.
"""

from __future__ import annotations

import io
import secrets

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

BLINDED_FORMAT = "PNG"
BLINDED_MODE = "RGB"
BLINDED_SUFFIX = ".png"

# Crockford-style alphabet without look-alikes (no 0/O, 1/I/L, U) so codes can be read aloud.
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


class BlindingError(ValueError):
    """A source image cannot be turned into a case image; the message says why."""


def blind_image(data: bytes, size: int) -> bytes:
    """Re-encode image bytes as a ``size`` x ``size`` RGB PNG with no metadata."""
    try:
        with Image.open(io.BytesIO(data)) as source:
            source.load()
            oriented = ImageOps.exif_transpose(source)
            rgb = oriented.convert(BLINDED_MODE)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BlindingError(f"cannot decode image ({exc})") from exc
    square = centre_square(rgb)
    resized = square.resize((size, size), Image.Resampling.LANCZOS, reducing_gap=None)
    # A fresh image from the raw pixels carries no info dict (icc_profile, dpi, exif, text ...).
    clean = Image.fromarray(np.asarray(resized, dtype=np.uint8))
    out = io.BytesIO()
    clean.save(out, format=BLINDED_FORMAT, optimize=False, compress_level=0)
    return out.getvalue()


def centre_square(image: Image.Image) -> Image.Image:
    """The largest centred square of ``image`` (dermoscopic lesions are centred by convention)."""
    width, height = image.size
    side = min(width, height)
    left = (width - side) // 2
    top = (height - side) // 2
    return image.crop((left, top, left + side, top + side))


def new_case_code(taken: set[str]) -> str:
    """A random code like ``K7QM-2XPD``: carries no order, truth or study information."""
    while True:
        raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
        code = f"{raw[:4]}-{raw[4:]}"
        if code not in taken:
            taken.add(code)
            return code
