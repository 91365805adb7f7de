"""The numbers themselves: paired pixel metrics, Fréchet distance, KID and Inception Score.

Everything here works on arrays already in memory (images as ``uint8`` HxWx3, features as
``float64`` NxD); loading images and running networks is :mod:`dermstudy.quality.features`.

* Pixel metrics (SSIM, PSNR, MSE) are scikit-image's, on images scaled to **[0, 1]**
  (``data_range=1.0``): SSIM is computed per colour channel and averaged (``channel_axis=2``), as in
  the research. They compare *paired* images; pairing unrelated real and synthetic images makes them
  weak measures of quality (they reward blur and average colour, not realism).
* The Fréchet distance is pytorch-fid's formula; with fewer images than feature dimensions (every
  per-entity set of a study) the trace of the matrix square root comes exactly from a small
  eigenproblem instead of a 2048 x 2048 ``sqrtm``.
* KID is the unbiased squared MMD with the polynomial kernel ``(x·y/d + 1)^3`` averaged over random
  subsets, as torch-fidelity computes it; its standard deviation comes with it.
* IS is ``exp(E_x KL(p(y|x) || p(y)))`` from the 1008-way logits, averaged over splits.
"""

from __future__ import annotations

import random
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg
from PIL import Image
from skimage.metrics import mean_squared_error, peak_signal_noise_ratio, structural_similarity

from dermstudy.datasets.images import to_rgb

PIXEL_RANGE = "[0, 1]"
PAIRING_RULE = (
    "per entity, the synthetic images (in workspace order) are shuffled with random.Random(seed) "
    "and the real images with random.Random(seed + 1); the i-th synthetic image is paired with "
    "the i-th real image, min(n_synthetic, n_real) pairs; both are centre-cropped to a square and "
    "resized (PIL bicubic) to size x size pixels"
)
WEAK_PAIRING_NOTE = (
    "SSIM/PSNR/MSE compare each synthetic image with an unrelated real image of the same entity: "
    "weak measures of quality (they reward blur and average colour, not realism)."
)


# -- paired pixel metrics ------------------------------------------------------------------------


def pair_indices(n_synthetic: int, n_real: int, seed: int) -> list[tuple[int, int]]:
    """The documented pairing rule: (synthetic index, real index) pairs, seeded and reproducible."""
    n = min(n_synthetic, n_real)
    syn = list(range(n_synthetic))
    real = list(range(n_real))
    random.Random(seed).shuffle(syn)
    random.Random(seed + 1).shuffle(real)
    return list(zip(syn[:n], real[:n], strict=True))


def square_resize(image: Image.Image, size: int) -> np.ndarray:
    """Centre-crop to a square (HAM10000 is 4:3, GLIDE 1:1), resize, and scale to [0, 1]."""
    image = to_rgb(image)
    w, h = image.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    image = image.crop((left, top, left + side, top + side))
    if side != size:
        image = image.resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(image, dtype=np.float64) / 255.0


@dataclass(frozen=True)
class PixelScores:
    ssim: float
    psnr: float
    mse: float


def pixel_scores(a: np.ndarray, b: np.ndarray) -> PixelScores:
    """SSIM (per channel, averaged), PSNR (dB) and MSE of two same-size images in [0, 1]."""
    ssim = structural_similarity(a, b, channel_axis=2, data_range=1.0)
    mse = mean_squared_error(a, b)
    # Identical images have infinite PSNR; scikit-image warns and returns inf, which we keep.
    with np.errstate(divide="ignore"):
        psnr = peak_signal_noise_ratio(a, b, data_range=1.0)
    return PixelScores(float(ssim), float(psnr), float(mse))


# -- Fréchet distance ----------------------------------------------------------------------------


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (rows are samples)."""
    a = np.asarray(features_a, dtype=np.float64)
    b = np.asarray(features_b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sets must be N x D with the same D, got {a.shape} and {b.shape}")
    if len(a) < 2 or len(b) < 2:
        raise ValueError("the Fréchet distance needs at least 2 images on each side")
    centred_a = a - a.mean(axis=0)
    centred_b = b - b.mean(axis=0)
    diff = a.mean(axis=0) - b.mean(axis=0)
    trace_a = float((centred_a**2).sum() / (len(a) - 1))
    trace_b = float((centred_b**2).sum() / (len(b) - 1))
    if min(len(a), len(b)) <= a.shape[1]:
        trace_covmean = _trace_sqrt_product_low_rank(centred_a, centred_b)
    else:
        sigma1, sigma2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", scipy.linalg.LinAlgWarning)
                covmean = scipy.linalg.sqrtm(sigma1.dot(sigma2))
            if not np.isfinite(covmean).all():
                # As pytorch-fid: a singular product gets a small offset on the diagonal.
                offset = np.eye(sigma1.shape[0]) * 1e-6
                covmean = scipy.linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
            trace_covmean = float(np.trace(np.real(covmean)))
        except scipy.linalg.LinAlgWarning:
            # A singular covariance (e.g. a classifier's dead ReLU units: constant features): scipy
            # warns that sqrtm may be inaccurate; the symmetric route is exact for singular ones.
            trace_covmean = _trace_sqrt_product_psd(sigma1, sigma2)
    return float(diff.dot(diff) + trace_a + trace_b - 2 * trace_covmean)


def _trace_sqrt_product_low_rank(centred_a: np.ndarray, centred_b: np.ndarray) -> float:
    """``tr sqrtm(Σa Σb)`` when there are fewer images than dimensions (a study's sets).

    With Σa = AᵀA/(na-1) and Σb = BᵀB/(nb-1), the non-zero eigenvalues of Σa Σb are those of the
    small symmetric matrix (A Bᵀ)(A Bᵀ)ᵀ / ((na-1)(nb-1)), so the trace of the square root is the sum
    of their square roots: exact, and na x na instead of a 2048 x 2048 ``sqrtm`` (minutes on CPU).
    """
    cross = centred_a @ centred_b.T
    small = cross @ cross.T / ((len(centred_a) - 1) * (len(centred_b) - 1))
    eigenvalues = np.linalg.eigvalsh(small)
    return float(np.sqrt(np.clip(eigenvalues, 0.0, None)).sum())


def _trace_sqrt_product_psd(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """``tr sqrtm(Σ1 Σ2)`` for positive semi-definite Σ1, Σ2, singular ones included.

    Σ1 Σ2 has the eigenvalues of the symmetric PSD matrix Σ1^½ Σ2 Σ1^½, whose square roots sum to
    the trace; ``eigh`` is stable where ``sqrtm`` of the non-symmetric product is not.
    """
    values, vectors = np.linalg.eigh(sigma1)
    root = (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
    middle = root @ sigma2 @ root
    eigenvalues = np.linalg.eigvalsh((middle + middle.T) / 2)
    return float(np.sqrt(np.clip(eigenvalues, 0.0, None)).sum())


# -- KID -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KidResult:
    mean: float
    std: float
    subsets: int
    subset_size: int


def polynomial_kernel(x: np.ndarray, y: np.ndarray, degree: int = 3, coef0: float = 1.0):
    """``(x·y / d + coef0) ** degree`` (gamma = 1/d, torch-fidelity's default)."""
    return (x @ y.T / x.shape[1] + coef0) ** degree


def unbiased_mmd2(k_xx: np.ndarray, k_yy: np.ndarray, k_xy: np.ndarray) -> float:
    """Unbiased MMD² from the three kernel matrices (diagonals of K_xx and K_yy left out)."""
    m = k_xx.shape[0]
    sum_xx = k_xx.sum() - np.trace(k_xx)
    sum_yy = k_yy.sum() - np.trace(k_yy)
    return float((sum_xx + sum_yy) / (m * (m - 1)) - 2 * k_xy.sum() / (m * m))


def kernel_inception_distance(
    features_a: np.ndarray,
    features_b: np.ndarray,
    subsets: int = 100,
    subset_size: int = 1000,
    degree: int = 3,
    coef0: float = 1.0,
    seed: int = 0,
) -> KidResult:
    """KID as torch-fidelity: subsets drawn with ``np.random.RandomState(seed)``, mean and std.

    ``subset_size`` shrinks to the smaller set when a set is smaller (a study's 10 images).
    """
    a = np.asarray(features_a, dtype=np.float64)
    b = np.asarray(features_b, dtype=np.float64)
    size = min(subset_size, len(a), len(b))
    if size < 2:
        raise ValueError("KID needs at least 2 images on each side")
    rng = np.random.RandomState(seed)
    values = []
    for _ in range(subsets):
        x = a[rng.choice(len(a), size, replace=False)]
        y = b[rng.choice(len(b), size, replace=False)]
        values.append(
            unbiased_mmd2(
                polynomial_kernel(x, x, degree, coef0),
                polynomial_kernel(y, y, degree, coef0),
                polynomial_kernel(x, y, degree, coef0),
            )
        )
    return KidResult(float(np.mean(values)), float(np.std(values)), subsets, size)


# -- Inception Score -------------------------------------------------------------------------------


@dataclass(frozen=True)
class InceptionScore:
    mean: float
    std: float
    splits: int


def inception_score(logits: np.ndarray, splits: int = 10) -> InceptionScore:
    """IS from N x 1008 logits: softmax, then exp(mean KL(p(y|x) || p(y))) per split; mean and std.

    Splits are consecutive blocks of the rows, the std is numpy's (ddof=0), as torch-fidelity after
    its shuffle (callers pass the images in a seeded order). Fewer images than splits is an error.
    """
    logits = np.asarray(logits, dtype=np.float64)
    n = len(logits)
    if splits < 1 or n < splits:
        raise ValueError(f"the Inception Score needs at least {splits} images (one per split)")
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    p = np.exp(log_p)
    scores = []
    for i in range(splits):
        # torch-fidelity's split boundaries: rows i*n//splits up to (i+1)*n//splits.
        block = slice(i * n // splits, (i + 1) * n // splits)
        p_y = p[block].mean(axis=0)
        kl = (p[block] * (log_p[block] - np.log(p_y))).sum(axis=1).mean()
        scores.append(np.exp(kl))
    return InceptionScore(float(np.mean(scores)), float(np.std(scores)), splits)
