"""Blinding audit on the shared HAM10000 sample vs never-JPEG synthetic images, per harmonisation.

Prints, for each ``--harmonise`` option, the audit's per-feature and combined real-vs-synthetic AUC
(with permutation thresholds), and how much each step changes the image (SSIM / PSNR against the
plain resize). Needs ../shared/ham10000-sample. Usage: python bench/blinding_audit.py [N]
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from machine import cpu_name, load_average

from dermstudy.study.audit import audit_images
from dermstudy.study.blinding import HARMONISATIONS, blind_image
from tests.study.audit_data import SAMPLE, sample_sources


def pixels(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    if not SAMPLE.is_dir():
        sys.exit(f"needs {SAMPLE}")
    print(f"CPU: {cpu_name()}; load average {load_average()}")
    real, synthetic = sample_sources(n, n)
    labels = [False] * len(real) + [True] * len(synthetic)
    secret = b"bench secret"
    plain = [pixels(blind_image(s, 256, harmonise="none")) for s in real[:20]]
    dithered = [pixels(blind_image(s, 256, harmonise="none", secret=secret)) for s in real[:20]]
    ssim = [
        structural_similarity(a, b, channel_axis=2, data_range=255)
        for a, b in zip(plain, dithered, strict=True)
    ]
    psnr = [
        peak_signal_noise_ratio(a, b, data_range=255) for a, b in zip(plain, dithered, strict=True)
    ]
    print(
        f"secret dither vs none: SSIM min {min(ssim):.4f}, PSNR min {min(psnr):.1f} dB (20 images)"
    )
    for harmonise in HARMONISATIONS:
        started = time.perf_counter()
        cases = [blind_image(s, 256, secret=secret, harmonise=harmonise) for s in real + synthetic]
        result = audit_images(cases, labels)
        changed = [pixels(c) for c in cases[:20]]
        ssim = np.mean(
            [
                structural_similarity(a, b, channel_axis=2, data_range=255)
                for a, b in zip(plain, changed, strict=True)
            ]
        )
        print(
            f"\n--harmonise {harmonise}: mean SSIM vs plain resize {ssim:.3f}; "
            f"{time.perf_counter() - started:.1f} s"
        )
        print(result.to_text())


if __name__ == "__main__":
    main()
