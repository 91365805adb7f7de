"""A test set for the blinding audit: real JPEG sources and synthetic sources with no JPEG history.

The synthetic half imitates a generator's output without being one: a *different* source image is
low-passed at full resolution (sigma 3 px, which removes its 8x8 JPEG grid: the grid's fundamental is
attenuated to about 6 %, its harmonics to nothing), resized to 256 px like GLIDE's upsampler output,
given fresh fine detail (Gaussian noise) and saved as PNG. It therefore differs from the real half in
exactly the non-semantic ways the audit looks for (no block grid, different fine detail and noise)
while showing the same kind of lesions.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "ham10000-sample" / "images"


def never_jpeg_counterpart(data: bytes, seed: int, size: int = 256) -> bytes:
    """A GLIDE-like PNG made from ``data`` that carries no JPEG block grid."""
    with Image.open(io.BytesIO(data)) as image:
        rgb = np.asarray(image.convert("RGB"), dtype=np.float64)
    soft = ndimage.gaussian_filter(rgb, sigma=(3, 3, 0))
    small = Image.fromarray(np.clip(np.rint(soft), 0, 255).astype(np.uint8)).resize(
        (round(size * rgb.shape[1] / rgb.shape[0]), size), Image.Resampling.LANCZOS
    )
    pixels = np.asarray(small, dtype=np.float64)
    pixels += np.random.default_rng(seed).normal(0, 3.0, pixels.shape)
    out = io.BytesIO()
    Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8)).save(out, format="PNG")
    return out.getvalue()


def sample_sources(n_real: int, n_synthetic: int) -> tuple[list[bytes], list[bytes]]:
    """(real JPEG bytes, never-JPEG synthetic PNG bytes) from the shared HAM10000 sample."""
    # Interleaved, so both halves draw on the same mix of entities and photographs.
    files = sorted(SAMPLE.glob("*.jpg"))
    real = [f.read_bytes() for f in files[0::2][:n_real]]
    others = files[1::2][:n_synthetic]
    synthetic = [never_jpeg_counterpart(f.read_bytes(), i) for i, f in enumerate(others)]
    return real, synthetic
