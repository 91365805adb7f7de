"""The metric formulas against independent derivations and scikit-image."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image
from skimage.metrics import mean_squared_error, peak_signal_noise_ratio, structural_similarity

from dermstudy.quality import metrics


def test_pairing_is_seeded_one_to_one_and_min_sized() -> None:
    pairs = metrics.pair_indices(7, 4, seed=3)
    assert pairs == metrics.pair_indices(7, 4, seed=3)
    assert len(pairs) == 4
    assert len({s for s, _ in pairs}) == 4 and len({r for _, r in pairs}) == 4
    assert {r for _, r in pairs} == set(range(4))
    assert all(0 <= s < 7 for s, _ in pairs)
    assert (
        metrics.pair_indices(7, 4, seed=4) != pairs or metrics.pair_indices(7, 4, seed=5) != pairs
    )
    assert metrics.pair_indices(0, 4, seed=0) == []


def test_square_resize_crops_the_centre_and_scales_to_unit_range() -> None:
    pixels = np.zeros((30, 40, 3), dtype=np.uint8)
    pixels[:, 5:35] = 255  # the centre 30 x 30 square is white, the side bands black
    out = metrics.square_resize(Image.fromarray(pixels), 30)
    assert out.shape == (30, 30, 3)
    assert out.min() == 1.0 and out.max() == 1.0


def test_pixel_scores_equal_scikit_image_on_unit_range() -> None:
    rng = np.random.default_rng(0)
    a = rng.random((32, 32, 3))
    b = np.clip(a + rng.normal(0, 0.1, a.shape), 0, 1)
    scores = metrics.pixel_scores(a, b)
    per_channel = np.mean(
        [structural_similarity(a[..., c], b[..., c], data_range=1.0) for c in range(3)]
    )
    assert scores.ssim == pytest.approx(per_channel, abs=1e-12)
    assert scores.mse == mean_squared_error(a, b)
    assert scores.psnr == peak_signal_noise_ratio(a, b, data_range=1.0)
    assert scores.psnr == pytest.approx(10 * math.log10(1 / np.mean((a - b) ** 2)))


def test_frechet_distance_of_gaussians_matches_the_closed_form() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(0, 1, (4000, 2))
    b = rng.normal(0, 1, (4000, 2)) * [2.0, 1.0] + [3.0, 0.0]
    # Diagonal covariances: |mu1-mu2|^2 + sum (s1 - s2)^2 over the standard deviations.
    expected = (a.mean(0) - b.mean(0)) @ (a.mean(0) - b.mean(0)) + np.sum(
        (a.std(0, ddof=1) - b.std(0, ddof=1)) ** 2
    )
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=0.02)
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="at least 2"):
        metrics.frechet_distance(a[:1], b)


def _kid_by_loops(a, b, subsets, size, seed):
    """torch-fidelity's KID re-derived with explicit sums over pairs i != j."""
    rng = np.random.RandomState(seed)
    d = a.shape[1]
    values = []
    for _ in range(subsets):
        x = a[rng.choice(len(a), size, replace=False)]
        y = b[rng.choice(len(b), size, replace=False)]
        k = lambda u, v: (u @ v / d + 1.0) ** 3  # noqa: E731
        xx = sum(k(x[i], x[j]) for i in range(size) for j in range(size) if i != j)
        yy = sum(k(y[i], y[j]) for i in range(size) for j in range(size) if i != j)
        xy = sum(k(x[i], y[j]) for i in range(size) for j in range(size))
        values.append((xx + yy) / (size * (size - 1)) - 2 * xy / size**2)
    return np.mean(values), np.std(values)


def test_kid_equals_the_torch_fidelity_formula() -> None:
    rng = np.random.default_rng(2)
    a = rng.normal(0, 1, (12, 5))
    b = rng.normal(0.5, 1, (9, 5))
    result = metrics.kernel_inception_distance(a, b, subsets=7, subset_size=6, seed=11)
    mean, std = _kid_by_loops(a, b, 7, 6, 11)
    assert result.mean == pytest.approx(mean, rel=1e-10)
    assert result.std == pytest.approx(std, rel=1e-10)
    assert result.subset_size == 6


def test_kid_shrinks_the_subset_to_the_smaller_set_and_is_unbiased_near_zero() -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(0, 1, (200, 8))
    b = rng.normal(0, 1, (10, 8))
    result = metrics.kernel_inception_distance(a, b, subsets=50, subset_size=1000)
    assert result.subset_size == 10
    # Same distribution: the unbiased estimate scatters around zero, within a few std.
    assert abs(result.mean) < 3 * result.std
    with pytest.raises(ValueError, match="at least 2"):
        metrics.kernel_inception_distance(a, b[:1])


def test_inception_score_limits() -> None:
    # All images give the same prediction: p(y|x) = p(y), KL = 0, IS = 1.
    same = np.tile(np.linspace(0, 3, 1008), (20, 1))
    assert metrics.inception_score(same, splits=2).mean == pytest.approx(1.0)
    # Confident and spread over k classes per split: IS = k.
    confident = np.full((20, 1008), -50.0)
    for i in range(20):
        confident[i, i % 5] = 50.0
    score = metrics.inception_score(confident, splits=4)
    assert score.mean == pytest.approx(5.0, rel=1e-6)
    assert score.std == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="at least 10"):
        metrics.inception_score(confident[:9], splits=10)


def test_inception_score_equals_a_direct_formula_with_uneven_splits() -> None:
    logits = np.random.default_rng(4).normal(0, 2, (23, 1008))
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    expected = []
    for i in range(3):
        part = p[i * 23 // 3 : (i + 1) * 23 // 3]
        py = part.mean(0)
        expected.append(np.exp(np.mean([np.sum(q * np.log(q / py)) for q in part])))
    score = metrics.inception_score(logits, splits=3)
    assert score.mean == pytest.approx(np.mean(expected), rel=1e-9)
    assert score.std == pytest.approx(np.std(expected), rel=1e-9)


def test_low_rank_frechet_trace_equals_scipy_sqrtm() -> None:
    import scipy.linalg

    rng = np.random.default_rng(5)
    for n1, n2, d in ((5, 7, 40), (12, 9, 30)):
        a = rng.normal(0, 1, (n1, d))
        b = rng.normal(0.3, 1.2, (n2, d))
        s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
        diff = a.mean(0) - b.mean(0)
        covmean = np.real(scipy.linalg.sqrtm(s1 @ s2))
        expected = diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)
        assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)


def test_singular_covariances_give_the_exact_frechet_distance_without_a_warning() -> None:
    import warnings

    # More images than dimensions, and dead units (constant features, as a classifier's ReLU
    # layer gives): both covariances are singular, where scipy's sqrtm warns that it may be inaccurate.
    rng = np.random.default_rng(11)
    a = np.maximum(rng.normal(0, 1, (80, 12)), 0)
    b = np.maximum(rng.normal(0.2, 1.1, (90, 12)), 0)
    a[:, :5] = 0.0
    b[:, 3:6] = 0.0
    diff = a.mean(0) - b.mean(0)
    ca, cb = a - a.mean(0), b - b.mean(0)
    # The exact trace from the n x n route, valid for any shapes (its docstring's identity).
    exact = metrics._trace_sqrt_product_low_rank(ca, cb)
    expected = diff @ diff + np.trace(np.cov(a, rowvar=False)) + np.trace(np.cov(b, rowvar=False))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert metrics.frechet_distance(a, b) == pytest.approx(expected - 2 * exact, rel=1e-6)
