"""Agreement beyond Cohen's and Fleiss' kappa: weighted kappa on the five-point AI scale, kappa
confidence intervals, and Krippendorff's alpha (which uses every answer, missing ones allowed).

Weighted kappa is scikit-learn's ``cohen_kappa_score(weights=...)`` formula (computed from each
pair's table for speed, tested equal); Krippendorff's alpha comes
from the maintained ``krippendorff`` package (Castro, PyPI). Intervals: Cohen's kappa per pair
gets the large-sample standard error of Fleiss, Cohen & Everitt (1969) as scikit-learn has none;
Fleiss' kappa and Krippendorff's alphas get a percentile case bootstrap (cases resampled with all
their answers).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import krippendorff
import numpy as np
import pandas as pd
from scipy import stats

from dermstudy.analysis import metrics
from dermstudy.entities import CODES

SCALE = [1, 2, 3, 4, 5]


def _matrix(answers: pd.DataFrame, column: str, labels: list) -> tuple[np.ndarray, list[str]]:
    """readers x cases matrix of label positions, NaN where a reader gave no answer."""
    answered = answers[~answers["missing"] & answers[column].notna()]
    readers = metrics.first_seen(answers["reader"])
    cases = metrics.first_seen(answers["case"])
    values = answered[column].to_numpy(dtype=object)
    if column == "ai_scale":
        values = values.astype(int)
    code = pd.Categorical(values, categories=labels).codes.astype(float)
    code[code < 0] = np.nan
    r = pd.Categorical(answered["reader"], categories=readers).codes
    c = pd.Categorical(answered["case"], categories=cases).codes
    out = np.full((len(readers), len(cases)), np.nan)
    out[r, c] = code
    return out, readers


def weighted_kappa(a: np.ndarray, b: np.ndarray, n_labels: int, weights: str) -> float | None:
    """Cohen's weighted kappa, the formula of scikit-learn's ``cohen_kappa_score(weights=...)``
    (tests check they agree); computed here from the pair's table because the library's input
    validation costs more than the statistic when there are hundreds of reader pairs."""
    table = np.zeros((n_labels, n_labels))
    np.add.at(table, (a.astype(int), b.astype(int)), 1.0)
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    idx = np.arange(n_labels)
    w = np.abs(idx[:, None] - idx[None, :]).astype(float)
    if weights == "quadratic":
        w = w**2
    den = (w * expected).sum()
    return metrics.clean_number(1 - (w * table).sum() / den) if den > 0 else None


def cohen_kappa_ci(a: np.ndarray, b: np.ndarray, n_labels: int, level: float = 0.95) -> dict:
    """Cohen's kappa of two label-position vectors with the Fleiss-Cohen-Everitt (1969) SE."""
    n = len(a)
    if n == 0:
        return {"kappa": None, "se": None, "ci_low": None, "ci_high": None, "n_cases": 0}
    table = np.zeros((n_labels, n_labels))
    np.add.at(table, (a.astype(int), b.astype(int)), 1.0)
    p = table / n
    rows, cols = p.sum(axis=1), p.sum(axis=0)
    po, pe = float(np.trace(p)), float(rows @ cols)
    if n == 0 or pe >= 1:
        return {"kappa": None, "se": None, "ci_low": None, "ci_high": None, "n_cases": n}
    kappa = (po - pe) / (1 - pe)
    diag = sum(p[i, i] * (1 - (rows[i] + cols[i]) * (1 - kappa)) ** 2 for i in range(n_labels))
    off = (1 - kappa) ** 2 * sum(
        p[i, j] * (cols[i] + rows[j]) ** 2
        for i in range(n_labels)
        for j in range(n_labels)
        if i != j
    )
    var = (diag + off - (kappa - pe * (1 - kappa)) ** 2) / (n * (1 - pe) ** 2)
    se = math.sqrt(max(var, 0.0))
    z = float(stats.norm.ppf(0.5 + level / 2))
    return {
        "kappa": kappa,
        "se": se,
        "ci_low": max(-1.0, kappa - z * se),  # kappa lies in [-1, 1]
        "ci_high": min(1.0, kappa + z * se),
        "n_cases": n,
    }


def _value_counts(codes: np.ndarray, n_labels: int) -> np.ndarray:
    """cases x labels counts of the answers (krippendorff's ``value_counts`` input)."""
    counts = np.zeros((codes.shape[1], n_labels))
    for k in range(n_labels):
        counts[:, k] = (codes == k).sum(axis=0)
    return counts


def _alpha(counts: np.ndarray, level: str) -> float | None:
    usable = counts[counts.sum(axis=1) >= 2]
    if len(usable) == 0 or (usable.sum(axis=0) > 0).sum() < 2:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        value = krippendorff.alpha(
            value_counts=usable,
            value_domain=list(range(counts.shape[1])),
            level_of_measurement=level,
        )
    return metrics.clean_number(float(value))


def _unit_coincidences(counts: np.ndarray) -> np.ndarray:
    """Each pairable unit's contribution to Krippendorff's coincidence matrix (units x L x L)."""
    usable = counts[counts.sum(axis=1) >= 2]
    m = usable.sum(axis=1)
    outer = usable[:, :, None] * usable[:, None, :]
    idx = np.arange(counts.shape[1])
    outer[:, idx, idx] -= usable
    return outer / (m - 1)[:, None, None]


def bootstrap_alphas(counts: np.ndarray, level: str, picks_weights: np.ndarray) -> np.ndarray:
    """Krippendorff's alpha of many case resamples at once: ``picks_weights`` (resamples x units)
    says how often each pairable unit is drawn; the coincidence matrix of a resample is the
    weighted sum of the units' contributions, so one matrix product serves all resamples."""
    units = _unit_coincidences(counts)
    n_labels = counts.shape[1]
    o = (picks_weights @ units.reshape(len(units), -1)).reshape(-1, n_labels, n_labels)
    n_c = o.sum(axis=2)
    n = n_c.sum(axis=1)
    idx = np.arange(n_labels)
    if level == "nominal":
        delta = np.broadcast_to((idx[:, None] != idx[None, :]).astype(float), o.shape)
    elif level == "interval":
        delta = np.broadcast_to(((idx[:, None] - idx[None, :]) ** 2).astype(float), o.shape)
    else:  # ordinal: (sum of n_g from c to k - (n_c + n_k) / 2)^2
        cum = np.cumsum(n_c, axis=1)
        lo, hi = np.minimum.outer(idx, idx), np.maximum.outer(idx, idx)
        between = cum[:, hi] - cum[:, lo] + n_c[:, lo]
        delta = (between - (n_c[:, :, None] + n_c[:, None, :]) / 2) ** 2
    observed = (o * delta).sum(axis=(1, 2))
    expected = (n_c[:, :, None] * n_c[:, None, :] * delta).sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1 - (n - 1) * observed / expected


def agreement_beyond_kappa(
    answers: pd.DataFrame, n_resamples: int = 200, seed: int = 20240, level: float = 0.95
) -> dict[str, Any]:
    """Weighted kappa per reader pair on the AI scale, Cohen's kappa CIs, Krippendorff's alpha
    (entity and AI vote nominal, AI scale ordinal and interval) with case-bootstrap CIs."""
    tasks = {
        "entity": ("pred_entity", list(CODES), ["nominal"]),
        "ai_vs_real": ("pred_source", list(metrics.SOURCES), ["nominal"]),
        "ai_scale": ("ai_scale", SCALE, ["ordinal", "interval"]),
    }
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {
        "method": "Krippendorff's alpha (krippendorff package) with all answers, missing allowed; "
        f"{n_resamples}-resample percentile case bootstrap (seed {seed}) for alpha and Fleiss; "
        "Cohen's kappa CI: Fleiss, Cohen & Everitt (1969) standard error; weighted kappa: "
        "scikit-learn (linear and quadratic weights) on the AI scale"
    }
    for task, (column, labels, levels) in tasks.items():
        codes, readers = _matrix(answers, column, labels)
        if codes.size == 0 or np.isnan(codes).all():
            out[task] = None
            continue
        counts = _value_counts(codes, len(labels))
        entry: dict[str, Any] = {"n_readers": len(readers), "pairs": []}
        for i, j in itertools.combinations(range(len(readers)), 2):
            both = ~np.isnan(codes[i]) & ~np.isnan(codes[j])
            a, b = codes[i, both], codes[j, both]
            pair: dict[str, Any] = {"reader_a": readers[i], "reader_b": readers[j]}
            pair.update(cohen_kappa_ci(a, b, len(labels), level))
            if task == "ai_scale" and both.sum():
                for weights in ("linear", "quadratic"):
                    pair[f"kappa_{weights}"] = weighted_kappa(a, b, len(labels), weights)
            entry["pairs"].append(pair)
        # Bootstrap: resample the pairable cases; one weight matrix serves every statistic.
        pairable = int((counts.sum(axis=1) >= 2).sum())
        weights = np.zeros((n_resamples, pairable))
        if pairable:
            picks = rng.integers(0, pairable, size=(n_resamples, pairable))
            np.add.at(weights, (np.arange(n_resamples)[:, None], picks), 1.0)
        for lev in levels:
            point = _alpha(counts, lev)
            boot = bootstrap_alphas(counts, lev, weights) if point is not None else np.array([])
            boot = boot[np.isfinite(boot)]
            alpha = (1 - level) / 2
            low, high = np.quantile(boot, [alpha, 1 - alpha]) if len(boot) else (None, None)
            entry[f"krippendorff_alpha_{lev}"] = {
                "alpha": point,
                "ci_low": metrics.clean_number(low),
                "ci_high": metrics.clean_number(high),
            }
        complete = counts[counts.sum(axis=1) == len(readers)]
        if len(readers) >= 2 and len(complete):
            fleiss = metrics.fleiss_kappa(complete)
            sub = rng.integers(0, len(complete), size=(n_resamples, len(complete)))
            boot = [metrics.fleiss_kappa(complete[p]) for p in sub] if fleiss is not None else []
            boot = [v for v in boot if v is not None]
            alpha = (1 - level) / 2
            low, high = np.quantile(boot, [alpha, 1 - alpha]) if boot else (None, None)
            entry["fleiss_kappa"] = {
                "kappa": fleiss,
                "ci_low": metrics.clean_number(low),
                "ci_high": metrics.clean_number(high),
                "n_cases": len(complete),
            }
        out[task] = entry
    return out
