"""ROC statistics the installed libraries lack: DeLong variance, a case bootstrap, and the
Obuchowski-Rockette / Hillis multi-reader analysis of reader-averaged AUC.

AUC point estimates and curves come from scikit-learn (``roc_auc_score``, ``roc_curve``); this module
adds their uncertainty. All functions are pure numpy over arrays.

References: DeLong, DeLong & Clarke-Pearson (1988), Biometrics 44:837; the fast midrank algorithm of
Sun & Xu (2014), IEEE SPL 21:1389; Obuchowski & Rockette (1995); Hillis (2007), Stat Med 26:596.
With jackknife covariances the multi-reader code reproduces the Iowa OR-DBM MRMC 2.51 output
(Van Dyke, Franken); with DeLong covariances RJafroc's ``covEstMethod = "DeLong"``. The full
modality comparison lives in :mod:`dermstudy.analysis.mrmc`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats
from sklearn.metrics import auc, roc_auc_score, roc_curve

Z_95 = float(stats.norm.ppf(0.975))


def _midranks(values: np.ndarray) -> np.ndarray:
    return stats.rankdata(values, method="average")


def delong_components(
    y_true: np.ndarray, score: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """AUC and DeLong's structural components V10 (one per positive) and V01 (one per negative).

    V10[i] is the fraction of negatives a positive outscores (ties count half); V01[j] the fraction
    of positives that outscore a negative. Their means both equal the AUC.
    """
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(score, dtype=float)
    pos, neg = s[y], s[~y]
    m, n = len(pos), len(neg)
    if m == 0 or n == 0:
        raise ValueError("AUC needs at least one positive and one negative case")
    rank_all = _midranks(np.concatenate([pos, neg]))
    v10 = (rank_all[:m] - _midranks(pos)) / n
    v01 = 1.0 - (rank_all[m:] - _midranks(neg)) / m
    return float(v10.mean()), v10, v01


def delong_auc_ci(
    y_true: np.ndarray, score: np.ndarray, level: float = 0.95
) -> tuple[float, float, float, float]:
    """AUC, its DeLong variance, and a Wald confidence interval clipped to [0, 1]."""
    auc, v10, v01 = delong_components(y_true, score)
    m, n = len(v10), len(v01)
    var = (np.var(v10, ddof=1) if m > 1 else 0.0) / m + (np.var(v01, ddof=1) if n > 1 else 0.0) / n
    z = float(stats.norm.ppf(0.5 + level / 2))
    half = z * float(np.sqrt(var))
    return auc, float(var), max(0.0, auc - half), min(1.0, auc + half)


def stratified_case_weights(
    strata: np.ndarray, n_resamples: int = 2000, seed: int = 20240
) -> np.ndarray:
    """How often each case is drawn in each bootstrap resample (resamples x cases).

    Cases are drawn with replacement within each stratum (the true class), so every resample keeps
    the study's class sizes and therefore the positive and negative counts of every one-vs-rest
    task. One matrix serves all labels of a report.
    """
    strata = np.asarray(strata)
    rng = np.random.default_rng(seed)
    weights = np.zeros((n_resamples, len(strata)), dtype=np.float32)
    # The draws per stratum in the same order as ever; one bincount over all of them (integer
    # counts, so the same weights as one bincount per stratum, in a fraction of the passes).
    picks = [
        members[rng.integers(0, len(members), size=(n_resamples, len(members)))]
        for members in (np.flatnonzero(strata == value) for value in np.unique(strata))
    ]
    if picks:
        _bincount_into(weights, np.concatenate(picks, axis=1))
    return weights


def _bincount_into(weights: np.ndarray, picks: np.ndarray) -> None:
    """weights[r, picks[r, k]] += 1 for all r, k, with one bincount instead of a Python loop."""
    n_resamples, n_cases = weights.shape
    offsets = (np.arange(n_resamples) * n_cases)[:, None]
    counts = np.bincount((picks + offsets).ravel(), minlength=n_resamples * n_cases)
    weights += counts.reshape(n_resamples, n_cases).astype(np.float32)


def bootstrap_auc_ci(
    y_case: np.ndarray,
    level_counts: np.ndarray,
    weights: np.ndarray,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile CI of a pooled AUC from case-bootstrap weights.

    ``level_counts[c, k]`` is how many answers to case ``c`` (over all readers) fell in score level
    ``k`` (levels sorted ascending); ``y_case[c]`` is the case's truth; ``weights`` comes from
    :func:`stratified_case_weights`. All readers' answers to a case travel with it, so answers to
    the same case are not treated as independent. Each resample's AUC is computed exactly from the
    weighted level histograms (ties count half).
    """
    y = np.asarray(y_case).astype(bool)
    counts = np.asarray(level_counts, dtype=np.float32)
    # One product gives both weighted histograms (resamples x levels) without copying weights.
    both = weights @ np.concatenate([counts * y[:, None], counts * ~y[:, None]], axis=1)
    pos, neg = np.split(both.astype(np.float64), 2, axis=1)
    neg_below = np.cumsum(neg, axis=1) - neg
    wins = (pos * (neg_below + 0.5 * neg)).sum(axis=1)
    aucs = wins / (pos.sum(axis=1) * neg.sum(axis=1))
    alpha = (1 - level) / 2
    low, high = np.quantile(aucs, [alpha, 1 - alpha])
    return float(low), float(high)


def pooled_level_counts(case_index: np.ndarray, score: np.ndarray, n_cases: int) -> np.ndarray:
    """Histogram of answer scores per case: rows are cases, columns the sorted distinct scores."""
    _, level = np.unique(np.asarray(score, dtype=float), return_inverse=True)
    counts = np.zeros((n_cases, level.max() + 1))
    np.add.at(counts, (np.asarray(case_index), level), 1.0)
    return counts


@dataclass(frozen=True)
class ReaderAveragedAUC:
    """Reader-averaged AUC with the Obuchowski-Rockette / Hillis single-modality intervals."""

    auc: float
    reader_aucs: list[float]
    covariance: str
    var_error: float
    cov2: float
    ms_r: float
    rrrc_se: float
    rrrc_df: float
    rrrc_ci: tuple[float, float]
    frrc_se: float
    frrc_ci: tuple[float, float]

    def as_dict(self) -> dict:
        return {
            "auc": self.auc,
            "reader_aucs": self.reader_aucs,
            "covariance": self.covariance,
            "var_error": self.var_error,
            "cov2": self.cov2,
            "ms_readers": self.ms_r,
            "random_readers": {
                "se": self.rrrc_se,
                "df": self.rrrc_df,
                "ci_low": self.rrrc_ci[0],
                "ci_high": self.rrrc_ci[1],
            },
            "fixed_readers": {
                "se": self.frrc_se,
                "ci_low": self.frrc_ci[0],
                "ci_high": self.frrc_ci[1],
            },
        }


def _auc_covariance(
    y: np.ndarray, scores: np.ndarray, method: str, n_boot: int = 2000, seed: int = 20240
) -> tuple[np.ndarray, np.ndarray]:
    """Reader AUCs and their covariance matrix across cases (``jackknife``, ``delong`` or
    ``bootstrap``)."""
    parts = [delong_components(y, s) for s in scores]
    aucs = np.array([p[0] for p in parts])
    v10 = np.stack([p[1] for p in parts])  # readers x positives
    v01 = np.stack([p[2] for p in parts])  # readers x negatives
    m, n = v10.shape[1], v01.shape[1]
    if m < 2 or n < 2:
        raise ValueError("AUC covariances need at least two positive and two negative cases")
    if method == "delong":
        return aucs, np.atleast_2d(np.cov(v10) / m + np.cov(v01) / n)
    if method == "bootstrap":
        from dermstudy.analysis import mrmc

        r = scores.shape[0]
        cases = [str(i) for i in range(len(y))]
        ratings = mrmc.Ratings([str(i) for i in range(r)], ["0"], cases, y, scores[None])
        return aucs, mrmc.auc_covariance(ratings, "bootstrap", n_boot, seed)
    if method != "jackknife":
        raise ValueError(
            f"unknown covariance method {method!r}; use 'jackknife', 'delong' or 'bootstrap'"
        )
    # Leaving out one case changes the AUC in closed form, so the jackknife needs no refits:
    # without positive i the AUC is (m*AUC - V10[i]) / (m-1); likewise for a negative.
    loo_pos = (m * aucs[:, None] - v10) / (m - 1)
    loo_neg = (n * aucs[:, None] - v01) / (n - 1)
    loo = np.concatenate([loo_pos, loo_neg], axis=1)  # readers x cases
    total = m + n
    centred = loo - loo.mean(axis=1, keepdims=True)
    return aucs, (total - 1) / total * centred @ centred.T


def reader_averaged_auc(
    y_true: np.ndarray,
    reader_scores: np.ndarray,
    covariance: str = "jackknife",
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 20240,
) -> ReaderAveragedAUC:
    """Obuchowski-Rockette analysis of one modality read by several readers.

    ``reader_scores`` is readers x cases (every reader rated every case). Returns the mean AUC with
    the random-reader random-case interval (Hillis 2007 degrees of freedom) and the fixed-reader
    interval, as printed in parts 1(c) and 2(c) of the Iowa OR-DBM MRMC program.
    """
    y = np.asarray(y_true).astype(bool)
    scores = np.atleast_2d(np.asarray(reader_scores, dtype=float))
    r = scores.shape[0]
    if r < 2:
        raise ValueError("a reader-averaged analysis needs at least two readers")
    aucs, cov = _auc_covariance(y, scores, covariance, n_boot, seed)
    mean_auc = float(aucs.mean())
    var_error = float(np.mean(np.diag(cov)))
    off = cov[~np.eye(r, dtype=bool)]
    cov2 = float(off.mean())
    ms_r = float(np.var(aucs, ddof=1))
    rr_term = ms_r + r * max(cov2, 0.0)
    rrrc_se = float(np.sqrt(rr_term / r))
    rrrc_df = float(rr_term**2 / (ms_r**2 / (r - 1))) if ms_r > 0 else float("inf")
    t = float(stats.t.ppf(0.5 + level / 2, rrrc_df))
    frrc_se = float(np.sqrt((var_error + (r - 1) * max(cov2, 0.0)) / r))
    z = float(stats.norm.ppf(0.5 + level / 2))
    return ReaderAveragedAUC(
        auc=mean_auc,
        reader_aucs=[float(a) for a in aucs],
        covariance=covariance,
        var_error=var_error,
        cov2=cov2,
        ms_r=ms_r,
        rrrc_se=rrrc_se,
        rrrc_df=rrrc_df,
        rrrc_ci=(mean_auc - t * rrrc_se, mean_auc + t * rrrc_se),
        frrc_se=frrc_se,
        frrc_ci=(mean_auc - z * frrc_se, mean_auc + z * frrc_se),
    )


def sklearn_auc(y_true: np.ndarray, score: np.ndarray) -> float | None:
    """``roc_auc_score``, or None when only one class is present (AUC undefined)."""
    y = np.asarray(y_true).astype(bool)
    if y.all() or not y.any():
        return None
    return float(roc_auc_score(y, np.asarray(score, dtype=float)))


def sklearn_roc(y_true: np.ndarray, score: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """AUC, FPR and TPR from one ``roc_curve`` call (the trapezoidal area equals roc_auc_score)."""
    fpr, tpr, _ = roc_curve(np.asarray(y_true).astype(bool), np.asarray(score, dtype=float))
    return float(auc(fpr, tpr)), fpr, tpr
