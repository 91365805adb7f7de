"""Blinding: one image format for every case, and opaque case codes.

Every case image — real or synthetic — goes through the same path: decode, apply the EXIF orientation,
convert to RGB, centre-crop to a square, resize to the display size with a Lanczos filter, and encode
as PNG from a fresh pixel buffer, so no ICC profile, EXIF, text, gamma or resolution chunk survives.
The PNG is written uncompressed (zlib level 0): every case file of a study then has exactly the same
byte size, so not even the file size (which for compressed PNGs depends on noise and JPEG artefacts,
and so differs between real and generated images) can hint at the source.

Two further steps defeat a determined reader (see README, "Blinding and data integrity"):

* **Harmonisation** (``harmonise``): real HAM10000 images are JPEGs whose 8x8 block grid survives
  resizing, synthetic ones never were. ``soften`` (the default) applies the same Gaussian low-pass
  (sigma :data:`SOFTEN_SIGMA` px at display size) to every case, which removes the grid and the
  difference in fine detail, and then the same level of fresh noise (sigma :data:`SOFTEN_NOISE` grey
  levels), so sharpness and noise estimates see the added noise rather than the source's.
  ``jpeg`` re-encodes every case through one JPEG quality at display size; ``none`` does neither.
  The blinding audit (:mod:`dermstudy.study.audit`) measures what each option leaves.
* **Secret dither**: every pixel gets -1, 0 or +1 from a random generator keyed by HMAC-SHA-256 of a
  per-study secret (kept only in the coordinator's workspace, never in a package) and the source
  image's hash. Nobody without the secret can re-create a case file from the public source image and
  match it by hash. The change is below visibility (PSNR about 50 dB, SSIM above 0.98; tested).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from dermstudy.datasets.images import to_rgb
from dermstudy.errors import DermstudyError
from dermstudy.study.design import (  # named with the design: the CLI reads them without numpy
    DEFAULT_HARMONISE,
    HARMONISATIONS,
    HARMONISE_JPEG,
    HARMONISE_NONE,
)

BLINDED_FORMAT = "PNG"
BLINDED_MODE = "RGB"
BLINDED_SUFFIX = ".png"

SOFTEN_SIGMA = 2.0
SOFTEN_NOISE = 5.0
JPEG_QUALITY = 90
SECRET_BYTES = 32

# Crockford-style alphabet without look-alikes (no 0/O, 1/I/L, U) so codes can be read aloud.
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


class BlindingError(DermstudyError, ValueError):
    """A source image cannot be turned into a case image; the message says why."""


def new_secret() -> bytes:
    """A fresh per-study dither secret."""
    return secrets.token_bytes(SECRET_BYTES)


def blind_image(
    data: bytes, size: int, *, secret: bytes | None = None, harmonise: str = DEFAULT_HARMONISE
) -> bytes:
    """Re-encode image bytes as a ``size`` x ``size`` RGB PNG with no metadata.

    ``harmonise`` is one of :data:`HARMONISATIONS`; ``secret`` (when given) keys the dither and the
    harmonisation noise, so the result cannot be re-created without it.
    """
    if harmonise not in HARMONISATIONS:
        raise BlindingError(f"harmonisation must be one of {', '.join(HARMONISATIONS)}")
    try:
        with Image.open(io.BytesIO(data)) as source:
            source.load()
            oriented = ImageOps.exif_transpose(source)
            rgb = to_rgb(oriented)  # scales 16-bit grey; a plain convert makes it white
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BlindingError(f"cannot decode image ({exc})") from exc
    except Image.DecompressionBombError as exc:  # not an OSError: a bomb would abort the study
        raise BlindingError(f"refused: {exc}") from exc
    square = centre_square(rgb)
    resized = square.resize((size, size), Image.Resampling.LANCZOS, reducing_gap=None)
    rng = np.random.default_rng(_noise_key(data, secret))
    pixels = harmonised(np.asarray(resized, dtype=np.uint8), harmonise, rng)
    if secret is not None:
        pixels = dither(pixels, rng)
    # A fresh image from the raw pixels carries no info dict (icc_profile, dpi, exif, text ...).
    clean = Image.fromarray(pixels)
    out = io.BytesIO()
    clean.save(out, format=BLINDED_FORMAT, optimize=False, compress_level=0)
    return out.getvalue()


def _noise_key(data: bytes, secret: bytes | None) -> int:
    source = hashlib.sha256(data).digest()
    key = hmac.new(secret, source, hashlib.sha256).digest() if secret is not None else source
    return int.from_bytes(key, "big")


def harmonised(pixels: np.ndarray, harmonise: str, rng: np.random.Generator) -> np.ndarray:
    """The same low-level treatment for every case, whatever its source (see module docstring)."""
    if harmonise == HARMONISE_NONE:
        return pixels
    if harmonise == HARMONISE_JPEG:
        out = io.BytesIO()
        Image.fromarray(pixels).save(out, format="JPEG", quality=JPEG_QUALITY, subsampling=0)
        with Image.open(io.BytesIO(out.getvalue())) as decoded:
            return np.asarray(decoded.convert(BLINDED_MODE), dtype=np.uint8)
    from scipy import ndimage

    soft = ndimage.gaussian_filter(pixels.astype(np.float64), sigma=(SOFTEN_SIGMA, SOFTEN_SIGMA, 0))
    # Top the noise up to one common level: an image that is still noisier gets nothing added.
    have = noise_sigma(soft.mean(axis=2))
    add = float(np.sqrt(max(SOFTEN_NOISE**2 - have**2, 0.0)))
    soft += rng.normal(0.0, add, soft.shape)
    return np.clip(np.rint(soft), 0, 255).astype(np.uint8)


_NOISE_MASK = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64)


def noise_sigma(grey: np.ndarray) -> float:
    """Immerkaer's (1996) fast noise estimate: sqrt(pi/2) / (6 (W-2)(H-2)) * sum |grey * mask|."""
    from scipy import ndimage

    response = np.abs(ndimage.convolve(grey, _NOISE_MASK))[1:-1, 1:-1]
    return float(np.sqrt(np.pi / 2) * response.sum() / (6 * response.size))


def dither(pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Add -1, 0 or +1 to every channel of every pixel (clipped to 0..255)."""
    step = rng.integers(-1, 2, size=pixels.shape, dtype=np.int16)
    return np.clip(pixels.astype(np.int16) + step, 0, 255).astype(np.uint8)


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
