"""Multi-reader multi-case (MRMC) ROC analysis of a fully crossed ratings table.

Owns the modality comparison the field's programs (Iowa OR-DBM MRMC, RJafroc, MRMCaov) do:
empirical (Wilcoxon) AUC per reader and modality, the Obuchowski-Rockette (OR) analysis with
jackknife, DeLong or bootstrap AUC covariances, and the Dorfman-Berbaum-Metz (DBM) analysis of
jackknife pseudovalues, each as random-reader random-case (RRRC, Hillis 2007 denominator df),
fixed-reader random-case (FRRC) and random-reader fixed-case (RRFC). Results are plain dicts (the
JSON of ``dermstudy mrmc``); :func:`format_text` prints them at the Iowa program's precision.

Formulas: Hillis, Obuchowski, Schartz & Berbaum (2005) Stat Med 24:1579; Hillis (2007) Stat Med
26:596; Hillis, Berbaum & Metz (2008) Acad Radiol 15:647. The variance components follow the Iowa
program (no truncation of Cov2 - Cov3 inside Var(R) and Var(TxR)); RJafroc truncates there, which
changes only those two numbers when Cov2 < Cov3 (Franken). Checked digit for digit against the
Iowa OR-DBM MRMC 2.51 output and RJafroc's stored values (tests/data/mrmc/PROVENANCE.md).
"""

from __future__ import annotations

import csv
import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from dermstudy.analysis import roc
from dermstudy.errors import DermstudyError

COLUMNS = ("reader", "case", "modality", "truth", "rating")
# Column names other tools use for the same thing (RJafroc's CSV says "treatment").
ALIASES = {"treatment": "modality", "test": "modality", "readerid": "reader", "caseid": "case"}
COV_METHODS = ("jackknife", "delong", "bootstrap")


class MrmcInputError(DermstudyError, ValueError):
    """A ratings table the analysis cannot use; the message names the file/row and the problem."""


@dataclass(frozen=True)
class Ratings:
    """A fully crossed ratings table: ``scores[t, r, c]`` for modality t, reader r, case c."""

    readers: list[str]
    modalities: list[str]
    cases: list[str]
    truth: np.ndarray  # bool per case, True = abnormal
    scores: np.ndarray  # modalities x readers x cases

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.scores.shape  # type: ignore[return-value]


def _sort_key(label: str) -> tuple[int, float | str]:
    """Numeric labels in numeric order, then the rest alphabetically."""
    try:
        return (0, float(label))
    except ValueError:
        return (1, label)


def ratings_from_rows(rows: list[dict[str, str]], source: str = "ratings") -> Ratings:
    """Build a :class:`Ratings` from long-format rows (``reader, case, modality, truth, rating``).

    Raises :class:`MrmcInputError` naming the row (1-based, header = row 1) and the problem.
    """
    if not rows:
        raise MrmcInputError(f"{source}: no rows")
    truth: dict[str, int] = {}
    truth_row: dict[str, int] = {}
    cells: dict[tuple[str, str, str], float] = {}
    for number, row in enumerate(rows, start=2):
        reader, case, modality = (str(row[k]).strip() for k in ("reader", "case", "modality"))
        raw_truth, raw_rating = str(row["truth"]).strip(), str(row["rating"]).strip()
        if raw_truth not in {"0", "1", "0.0", "1.0"}:
            raise MrmcInputError(
                f"{source} row {number}: truth {raw_truth!r} is not 0 (normal) or 1 (abnormal)"
            )
        value = int(float(raw_truth))
        if truth.setdefault(case, value) != value:
            raise MrmcInputError(
                f"{source} row {number}: case {case} has truth {value} here but "
                f"{truth[case]} in row {truth_row[case]}"
            )
        truth_row.setdefault(case, number)
        try:
            rating = float(raw_rating)
        except ValueError:
            rating = math.nan
        if not math.isfinite(rating):
            raise MrmcInputError(f"{source} row {number}: rating {raw_rating!r} is not a number")
        key = (modality, reader, case)
        if key in cells:
            raise MrmcInputError(
                f"{source} row {number}: reader {reader} rated case {case} in modality "
                f"{modality} twice"
            )
        cells[key] = rating
    modalities = sorted({k[0] for k in cells}, key=_sort_key)
    readers = sorted({k[1] for k in cells}, key=_sort_key)
    cases = sorted(truth, key=_sort_key)
    if len(readers) < 2:
        raise MrmcInputError(
            f"{source}: MRMC analysis needs at least 2 readers, found {len(readers)}"
        )
    y = np.array([truth[c] for c in cases], dtype=bool)
    if y.sum() < 2 or (~y).sum() < 2:
        raise MrmcInputError(
            f"{source}: need at least 2 normal and 2 abnormal cases, found {(~y).sum()} normal "
            f"and {y.sum()} abnormal"
        )
    scores = np.full((len(modalities), len(readers), len(cases)), np.nan)
    index = {c: k for k, c in enumerate(cases)}
    for (modality, reader, case), rating in cells.items():
        scores[modalities.index(modality), readers.index(reader), index[case]] = rating
    missing = np.isnan(scores)
    if missing.any():
        t, r = (int(v) for v in np.argwhere(missing.any(axis=2))[0])
        gone = [cases[k] for k in np.flatnonzero(missing[t, r])]
        shown = ", ".join(gone[:5]) + (", ..." if len(gone) > 5 else "")
        raise MrmcInputError(
            f"{source}: reader {readers[r]} has no rating for {len(gone)} of {len(cases)} cases "
            f"in modality {modalities[t]} (case {shown}); MRMC analysis needs every reader to rate "
            "every case in every modality"
        )
    return Ratings(readers, modalities, cases, y, scores)


def read_ratings_csv(path: str | Path) -> Ratings:
    """Read a long-format ratings CSV (MRMCaov's / RJafroc's layout) into :class:`Ratings`."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [
            ALIASES.get(h.strip().lower(), h.strip().lower()) for h in reader.fieldnames or []
        ]
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise MrmcInputError(
                f"{path}: missing column {', '.join(missing)} (need {', '.join(COLUMNS)})"
            )
        reader.fieldnames = header
        rows = list(reader)
    return ratings_from_rows(rows, source=str(path))


# --- AUCs and their covariance -----------------------------------------------------------------


def _flat(scores: np.ndarray) -> np.ndarray:
    return scores.reshape(-1, scores.shape[-1])


def wilcoxon_aucs(ratings: Ratings) -> np.ndarray:
    """Empirical (trapezoidal) AUC per modality and reader (modalities x readers)."""
    flat = _flat(ratings.scores)
    aucs = [roc.delong_components(ratings.truth, s)[0] for s in flat]
    return np.array(aucs).reshape(ratings.scores.shape[:2])


def jackknife_aucs(ratings: Ratings) -> np.ndarray:
    """AUC with each case left out in turn: (modalities*readers) x cases, in case order.

    Closed form (no refits): without abnormal case i the AUC is (m*AUC - V10[i]) / (m-1), and
    likewise for a normal case with V01.
    """
    y = ratings.truth
    flat = _flat(ratings.scores)
    m, n = int(y.sum()), int((~y).sum())
    out = np.empty_like(flat, dtype=float)
    for row, s in enumerate(flat):
        auc, v10, v01 = roc.delong_components(y, s)
        out[row, y] = (m * auc - v10) / (m - 1)
        out[row, ~y] = (n * auc - v01) / (n - 1)
    return out


def auc_covariance(
    ratings: Ratings, method: str = "jackknife", n_boot: int = 2000, seed: int = 20240
) -> np.ndarray:
    """Covariance matrix of the (modality, reader) AUCs across cases, flattened modality-major.

    ``jackknife``: (c-1)/c * sum of products of leave-one-case-out deviations (Iowa, RJafroc);
    ``delong``: DeLong's structural components; ``bootstrap``: case resampling within truth,
    ``n_boot`` resamples from ``seed``.
    """
    y = ratings.truth
    flat = _flat(ratings.scores)
    if method == "jackknife":
        loo = jackknife_aucs(ratings)
        c = loo.shape[1]
        centred = loo - loo.mean(axis=1, keepdims=True)
        return (c - 1) / c * centred @ centred.T
    if method == "delong":
        parts = [roc.delong_components(y, s) for s in flat]
        v10 = np.stack([p[1] for p in parts])
        v01 = np.stack([p[2] for p in parts])
        return np.atleast_2d(np.cov(v10) / v10.shape[1] + np.cov(v01) / v01.shape[1])
    if method == "bootstrap":
        return np.atleast_2d(np.cov(bootstrap_aucs(ratings, n_boot, seed), rowvar=False))
    raise MrmcInputError(f"unknown covariance method {method!r}; use {', '.join(COV_METHODS)}")


def bootstrap_aucs(ratings: Ratings, n_boot: int = 2000, seed: int = 20240) -> np.ndarray:
    """AUC of every (modality, reader) in each case resample (resamples x modality*readers).

    Cases are drawn with replacement within normal and abnormal (so every resample keeps both), and
    a case carries all its readings, as in RJafroc's bootstrap covariance.
    """
    y = ratings.truth
    weights = roc.stratified_case_weights(y.astype(int), n_boot, seed).astype(np.float64)
    flat = _flat(ratings.scores)
    out = np.empty((n_boot, flat.shape[0]))
    for row, s in enumerate(flat):
        levels, level = np.unique(s, return_inverse=True)
        onehot = np.zeros((len(s), len(levels)))
        onehot[np.arange(len(s)), level] = 1.0
        pos = weights[:, y] @ onehot[y]
        neg = weights[:, ~y] @ onehot[~y]
        neg_below = np.cumsum(neg, axis=1) - neg
        wins = (pos * (neg_below + 0.5 * neg)).sum(axis=1)
        out[:, row] = wins / (pos.sum(axis=1) * neg.sum(axis=1))
    return out


# --- Obuchowski-Rockette -----------------------------------------------------------------------


def _mean_or_nan(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else math.nan


def or_components(aucs: np.ndarray, cov: np.ndarray) -> dict:
    """OR mean squares and error-covariance estimates from reader AUCs (t x r) and their
    covariance (tr x tr, modality-major)."""
    t, r = aucs.shape
    ti, ri = np.divmod(np.arange(t * r), r)
    same_t = ti[:, None] == ti[None, :]
    same_r = ri[:, None] == ri[None, :]
    var = float(np.mean(np.diag(cov)))
    cov1 = _mean_or_nan(cov[~same_t & same_r])
    cov2 = _mean_or_nan(cov[same_t & ~same_r])
    cov3 = _mean_or_nan(cov[~same_t & ~same_r])
    grand = aucs.mean()
    ms_t = r * float(((aucs.mean(axis=1) - grand) ** 2).sum()) / (t - 1) if t > 1 else math.nan
    ms_r = t * float(((aucs.mean(axis=0) - grand) ** 2).sum()) / (r - 1)
    resid = aucs - aucs.mean(axis=1, keepdims=True) - aucs.mean(axis=0, keepdims=True) + grand
    ms_tr = float((resid**2).sum()) / ((t - 1) * (r - 1)) if t > 1 else math.nan
    per_t = []
    for i in range(t):
        block = cov[i * r : (i + 1) * r, i * r : (i + 1) * r]
        per_t.append(
            {
                "ms_r": float(np.var(aucs[i], ddof=1)),
                "var": float(np.mean(np.diag(block))),
                "cov2": float(block[~np.eye(r, dtype=bool)].mean()),
            }
        )
    per_r = []
    for j in range(r):
        idx = np.flatnonzero(ri == j)
        block = cov[np.ix_(idx, idx)]
        per_r.append(
            {
                "ms_t": float(np.var(aucs[:, j], ddof=1)) if t > 1 else math.nan,
                "var": float(np.mean(np.diag(block))),
                "cov1": float(block[~np.eye(t, dtype=bool)].mean()) if t > 1 else math.nan,
            }
        )
    out = {
        "ms_t": ms_t,
        "ms_r": ms_r,
        "ms_tr": ms_tr,
        "var_error": var,
        "cov1": cov1,
        "cov2": cov2,
        "cov3": cov3,
        "per_modality": per_t,
        "per_reader": per_r,
    }
    if t > 1:
        # Iowa's ANOVA estimates (they can be negative): E[MS(TR)] and E[MS(R)] solved.
        out["var_tr"] = ms_tr - var + cov1 + cov2 - cov3
        out["var_r"] = (ms_r - ms_tr) / t - cov1 + cov3
    else:
        out["var_r"] = ms_r - var + cov2  # includes Var(TxR) when only one modality was read
    for name in ("cov1", "cov2", "cov3"):
        out[f"rho_{name[-1]}"] = out[name] / var if var > 0 else math.nan
    return out


def _t_ci(est: float, se: float, df: float, alpha: float) -> tuple[float, float]:
    q = float(stats.t.ppf(1 - alpha / 2, df)) if math.isfinite(df) else _z(alpha)
    return float(est - q * se), float(est + q * se)


def _z(alpha: float) -> float:
    return float(stats.norm.ppf(1 - alpha / 2))


def _t_p(stat: float, df: float) -> float:
    if not math.isfinite(df):
        return float(2 * stats.norm.sf(abs(stat)))
    return float(2 * stats.t.sf(abs(stat), df))


def _diff_rows(
    aucs: np.ndarray, labels: list[str], se: float, df: float | None, alpha: float
) -> list[dict]:
    """One row per pair of modalities: difference, SE, t or z, p and CI."""
    means = aucs.mean(axis=1)
    rows = []
    for a, b in itertools.combinations(range(len(labels)), 2):
        diff = float(means[a] - means[b])
        stat = diff / se if se > 0 else math.nan
        if df is None:  # normal theory (fixed readers in OR)
            z = _z(alpha)
            row = {"z": stat, "p": float(2 * stats.norm.sf(abs(stat)))}
            ci = (diff - z * se, diff + z * se)
        else:
            row = {"df": df, "t": stat, "p": _t_p(stat, df)}
            ci = _t_ci(diff, se, df, alpha)
        rows.append(
            {
                "comparison": f"{labels[a]} - {labels[b]}",
                "difference": diff,
                "se": se,
                **row,
                "ci_low": ci[0],
                "ci_high": ci[1],
            }
        )
    return rows


def _f_test(
    ms_t: float,
    error_ms: float,
    ddf: float,
    aucs: np.ndarray,
    labels: list[str],
    diff_se: float,
    alpha: float,
) -> dict:
    """The F test of equal modality AUCs (``ms_t`` over the ``error_ms`` with ``ddf`` denominator
    degrees of freedom) and the pairwise differences with their standard error ``diff_se``:
    the rows the OR and DBM analyses print for each of their generalisations."""
    ndf = aucs.shape[0] - 1
    f = ms_t / error_ms
    return {
        "f": f,
        "ndf": ndf,
        "ddf": ddf,
        "p": float(stats.f.sf(f, ndf, ddf)),
        "error_ms": error_ms,
        "differences": _diff_rows(aucs, labels, diff_se, ddf, alpha),
    }


def or_analysis(
    ratings: Ratings,
    cov_method: str = "jackknife",
    alpha: float = 0.05,
    n_boot: int = 2000,
    seed: int = 20240,
) -> dict:
    """Obuchowski-Rockette analysis (Hillis 2007 df) as the Iowa program prints it."""
    aucs = wilcoxon_aucs(ratings)
    cov = auc_covariance(ratings, cov_method, n_boot, seed)
    return or_from_covariance(aucs, cov, ratings.modalities, ratings.readers, cov_method, alpha)


def or_from_covariance(
    aucs: np.ndarray,
    cov: np.ndarray,
    modalities: list[str],
    readers: list[str],
    cov_method: str,
    alpha: float = 0.05,
) -> dict:
    """The OR tests from reader AUCs (modalities x readers) and their covariance matrix
    (modality-major), whatever design produced them."""
    comp = or_components(aucs, cov)
    t, r = aucs.shape
    mods = modalities
    means = aucs.mean(axis=1)
    out: dict = {"method": "or", "covariance": cov_method, "components": comp}
    # Single-modality intervals (parts 1c, 2c, 3c of the Iowa output).
    single = {"rrrc": [], "frrc": [], "rrfc": []}
    for i, label in enumerate(mods):
        pt = comp["per_modality"][i]
        den = pt["ms_r"] + r * max(pt["cov2"], 0.0)
        se = math.sqrt(den / r)
        df = den**2 / (pt["ms_r"] ** 2 / (r - 1)) if pt["ms_r"] > 0 else math.inf
        lo, hi = _t_ci(means[i], se, df, alpha)
        single["rrrc"].append(
            {"modality": label, "auc": means[i], "se": se, "df": df, "ci_low": lo, "ci_high": hi}
        )
        se = math.sqrt((pt["var"] + (r - 1) * max(pt["cov2"], 0.0)) / r)
        z = _z(alpha)
        single["frrc"].append(
            {
                "modality": label,
                "auc": means[i],
                "se": se,
                "ci_low": means[i] - z * se,
                "ci_high": means[i] + z * se,
            }
        )
        se = math.sqrt(pt["ms_r"] / r)
        lo, hi = _t_ci(means[i], se, r - 1, alpha)
        single["rrfc"].append(
            {"modality": label, "auc": means[i], "se": se, "df": r - 1, "ci_low": lo, "ci_high": hi}
        )
    for key in single:
        for row in single[key]:
            row["auc"] = float(row["auc"])
    if t < 2:
        out.update(rrrc={"single": single["rrrc"]}, frrc={"single": single["frrc"]})
        out["rrfc"] = {"single": single["rrfc"]}
        return out
    ms_t, ms_tr = comp["ms_t"], comp["ms_tr"]
    # RRRC: error term MS(TR) + r*max(Cov2 - Cov3, 0), Hillis (2007) ddf_H.
    den = ms_tr + r * max(comp["cov2"] - comp["cov3"], 0.0)
    ddf = den**2 / (ms_tr**2 / ((t - 1) * (r - 1))) if ms_tr > 0 else math.inf
    out["rrrc"] = {
        **_f_test(ms_t, den, ddf, aucs, mods, math.sqrt(2 / r * den), alpha),
        "single": single["rrrc"],
    }
    # FRRC: chi-square with t-1 df, normal-theory intervals.
    den = comp["var_error"] - comp["cov1"] + (r - 1) * max(comp["cov2"] - comp["cov3"], 0.0)
    x2 = (t - 1) * ms_t / den
    per_reader = []
    for j, reader in enumerate(readers):
        pr = comp["per_reader"][j]
        se = math.sqrt(2 * (pr["var"] - pr["cov1"]))
        for row in _diff_rows(aucs[:, [j]], mods, se, None, alpha):
            per_reader.append({"reader": reader, **row})
    out["frrc"] = {
        "chi2": x2,
        "df": t - 1,
        "p": float(stats.chi2.sf(x2, t - 1)),
        "error_ms": den,
        "differences": _diff_rows(aucs, mods, math.sqrt(2 / r * den), None, alpha),
        "single": single["frrc"],
        "per_reader": per_reader,
    }
    # RRFC: conventional modality x reader ANOVA of the AUCs.
    ddf = (t - 1) * (r - 1)
    out["rrfc"] = {
        **_f_test(ms_t, ms_tr, ddf, aucs, mods, math.sqrt(2 / r * ms_tr), alpha),
        "single": single["rrfc"],
    }
    return out


# --- Dorfman-Berbaum-Metz -------------------------------------------------------------------------


def pseudovalues(ratings: Ratings) -> np.ndarray:
    """Jackknife pseudovalues (t x r x c), centred so each (t, r) mean equals its AUC (as RJafroc)."""
    t, r, c = ratings.shape
    loo = jackknife_aucs(ratings).reshape(t, r, c)
    aucs = wilcoxon_aucs(ratings)
    pv = c * aucs[:, :, None] - (c - 1) * loo
    return pv + (aucs - pv.mean(axis=2))[:, :, None]


def _anova3(y: np.ndarray) -> dict[str, float]:
    """Mean squares of the fully crossed T x R x C table with one observation per cell."""
    t, r, c = y.shape
    g = y.mean()
    mt, mr, mc = y.mean(axis=(1, 2)), y.mean(axis=(0, 2)), y.mean(axis=(0, 1))
    mtr, mtc, mrc = y.mean(axis=2), y.mean(axis=1), y.mean(axis=0)
    ss = {
        "T": r * c * ((mt - g) ** 2).sum(),
        "R": t * c * ((mr - g) ** 2).sum(),
        "C": t * r * ((mc - g) ** 2).sum(),
        "TR": c * ((mtr - mt[:, None] - mr[None, :] + g) ** 2).sum(),
        "TC": r * ((mtc - mt[:, None] - mc[None, :] + g) ** 2).sum(),
        "RC": t * ((mrc - mr[:, None] - mc[None, :] + g) ** 2).sum(),
    }
    resid = (
        y
        - mtr[:, :, None]
        - mtc[:, None, :]
        - mrc[None, :, :]
        + mt[:, None, None]
        + mr[None, :, None]
        + mc[None, None, :]
        - g
    )
    ss["TRC"] = (resid**2).sum()
    df = {
        "T": t - 1,
        "R": r - 1,
        "C": c - 1,
        "TR": (t - 1) * (r - 1),
        "TC": (t - 1) * (c - 1),
        "RC": (r - 1) * (c - 1),
        "TRC": (t - 1) * (r - 1) * (c - 1),
    }
    return {k: float(ss[k] / df[k]) if df[k] > 0 else math.nan for k in ss}


def dbm_analysis(ratings: Ratings, alpha: float = 0.05) -> dict:
    """DBM analysis of jackknife pseudovalues with Hillis's (2008) improvements."""
    pv = pseudovalues(ratings)
    t, r, c = pv.shape
    aucs = wilcoxon_aucs(ratings)
    means = aucs.mean(axis=1)
    mods = ratings.modalities
    ms = _anova3(pv)
    per_t = []
    for i in range(t):
        m2 = _anova3(pv[[i]])
        per_t.append({"ms_r": m2["R"], "ms_c": m2["C"], "ms_rc": m2["RC"]})
    per_r = []
    for j in range(r):
        m2 = _anova3(pv[:, [j]])
        per_r.append({"ms_t": m2["T"], "ms_c": m2["C"], "ms_tc": m2["TC"]})
    out: dict = {"method": "dbm", "covariance": "jackknife", "mean_squares": ms}
    out["mean_squares_per_modality"] = per_t
    out["mean_squares_per_reader"] = per_r
    if t > 1:
        out["components"] = {
            "var_r": (ms["R"] - ms["RC"] - ms["TR"] + ms["TRC"]) / (t * c),
            "var_c": (ms["C"] - ms["TC"] - ms["RC"] + ms["TRC"]) / (t * r),
            "var_tr": (ms["TR"] - ms["TRC"]) / c,
            "var_tc": (ms["TC"] - ms["TRC"]) / r,
            "var_rc": (ms["RC"] - ms["TRC"]) / t,
            "var_error": ms["TRC"],
        }
    single: dict[str, list[dict]] = {"rrrc": [], "frrc": [], "rrfc": []}
    for i, label in enumerate(mods):
        p = per_t[i]
        variants = {
            "rrrc": (p["ms_r"] + max(p["ms_c"] - p["ms_rc"], 0.0), None),
            "frrc": (p["ms_c"], c - 1),
            "rrfc": (p["ms_r"], r - 1),
        }
        for key, (den, df) in variants.items():
            if df is None:
                df = den**2 / (p["ms_r"] ** 2 / (r - 1)) if p["ms_r"] > 0 else math.inf
            se = math.sqrt(den / (r * c))
            lo, hi = _t_ci(float(means[i]), se, df, alpha)
            single[key].append(
                {
                    "modality": label,
                    "auc": float(means[i]),
                    "se": se,
                    "df": df,
                    "ci_low": lo,
                    "ci_high": hi,
                }
            )
    if t < 2:
        for key, rows in single.items():
            out[key] = {"single": rows}
        return out
    dens = {
        "rrrc": ms["TR"] + max(ms["TC"] - ms["TRC"], 0.0),
        "frrc": ms["TC"],
        "rrfc": ms["TR"],
    }
    for key, den in dens.items():
        if key == "rrrc":
            ddf = den**2 / (ms["TR"] ** 2 / ((t - 1) * (r - 1))) if ms["TR"] > 0 else math.inf
        elif key == "frrc":
            ddf = (t - 1) * (c - 1)
        else:
            ddf = (t - 1) * (r - 1)
        out[key] = {
            **_f_test(ms["T"], den, ddf, aucs, mods, math.sqrt(2 * den / (r * c)), alpha),
            "single": single[key],
        }
    per_reader = []
    for j, reader in enumerate(ratings.readers):
        se = math.sqrt(2 * per_r[j]["ms_tc"] / c)
        for row in _diff_rows(aucs[:, [j]], mods, se, c - 1, alpha):
            per_reader.append({"reader": reader, **row})
    out["frrc"]["per_reader"] = per_reader
    return out


# --- The whole analysis ------------------------------------------------------------------------


def analyse(
    ratings: Ratings,
    method: str = "or",
    cov_method: str = "jackknife",
    alpha: float = 0.05,
    n_boot: int = 2000,
    seed: int = 20240,
) -> dict:
    """The full MRMC analysis as one JSON-ready dict (see ``dermstudy mrmc --json``)."""
    if method not in {"or", "dbm"}:
        raise MrmcInputError(f"unknown method {method!r}; use 'or' or 'dbm'")
    if not 0 < alpha < 1:
        raise MrmcInputError(f"--alpha must lie between 0 and 1, not {alpha}")
    if method == "dbm" and cov_method != "jackknife":
        raise MrmcInputError("DBM works on jackknife pseudovalues; use --cov jackknife with it")
    aucs = wilcoxon_aucs(ratings)
    _t, _r, c = ratings.shape
    result = {
        "design": {
            "modalities": ratings.modalities,
            "readers": ratings.readers,
            "n_cases": c,
            "n_normal": int((~ratings.truth).sum()),
            "n_abnormal": int(ratings.truth.sum()),
            "auc": "empirical (Wilcoxon / trapezoidal)",
            "alpha": alpha,
        },
        "reader_aucs": [
            {"modality": m, "reader": rd, "auc": float(aucs[i, j])}
            for i, m in enumerate(ratings.modalities)
            for j, rd in enumerate(ratings.readers)
        ],
        "modality_aucs": [
            {"modality": m, "auc": float(aucs[i].mean())} for i, m in enumerate(ratings.modalities)
        ],
    }
    if cov_method == "bootstrap":
        result["design"].update(n_boot=n_boot, seed=seed)
    if method == "or":
        result["analysis"] = or_analysis(ratings, cov_method, alpha, n_boot, seed)
    else:
        result["analysis"] = dbm_analysis(ratings, alpha)
    # Both methods' variance descriptions are useful next to either test.
    if method == "or" and cov_method == "jackknife":
        result["dbm_mean_squares"] = _anova3(pseudovalues(ratings))
    return result


# --- Sizing the next study (Hillis, Obuchowski & Berbaum 2011) ----------------------------------


def pilot_components(ratings: Ratings) -> dict:
    """What sizing needs from a two-modality pilot: OR components (jackknife), its case count and
    observed effect (mean AUC of the first modality minus the second)."""
    if len(ratings.modalities) != 2:
        raise MrmcInputError(
            f"sizing needs a pilot with exactly 2 modalities, found {len(ratings.modalities)}"
        )
    aucs = wilcoxon_aucs(ratings)
    comp = or_components(aucs, auc_covariance(ratings, "jackknife"))
    return {
        "k_star": len(ratings.cases),
        "effect": float(aucs[0].mean() - aucs[1].mean()),
        "ms_tr": comp["ms_tr"],
        "var_error": comp["var_error"],
        "cov1": comp["cov1"],
        "cov2": comp["cov2"],
        "cov3": comp["cov3"],
    }


def power(
    readers: int,
    cases: int,
    effect: float,
    components: dict,
    alpha: float = 0.05,
    analysis: str = "rrrc",
) -> dict:
    """Power of a two-modality study with ``readers`` x ``cases`` (Hillis et al. 2011, Acad Radiol
    18:129, eq. 9-10), from pilot OR components scaled from ``k_star`` pilot cases to ``cases``.

    ``components`` holds ``k_star, var_error, cov1, cov2, cov3`` and either ``var_tr`` or the
    pilot's ``ms_tr`` (then Var(TxR) = MS(TR) - Var + Cov1 + max(Cov2 - Cov3, 0), eq. 9; a
    negative estimate counts as 0, as in RJafroc).
    """
    j, k = readers, cases
    if j < 2 or k < 2:
        raise MrmcInputError("a study needs at least 2 readers and 2 cases")
    c = components
    scale = c["k_star"] / k
    d23 = max(c["cov2"] - c["cov3"], 0.0)
    var_tr = c.get("var_tr")
    if var_tr is None:
        var_tr = c["ms_tr"] - c["var_error"] + c["cov1"] + d23
    var_tr = max(var_tr, 0.0)
    case_part = scale * (c["var_error"] - c["cov1"] + (j - 1) * d23)
    if analysis == "rrrc":
        den = var_tr + case_part
        ddf = den**2 / ((var_tr + scale * (c["var_error"] - c["cov1"] - d23)) ** 2 / (j - 1))
    elif analysis == "frrc":
        den, ddf = case_part, math.inf
    elif analysis == "rrfc":
        den = var_tr + scale * (c["var_error"] - c["cov1"] - d23)
        ddf = j - 1
    else:
        raise MrmcInputError(f"unknown analysis {analysis!r}; use rrrc, frrc or rrfc")
    ncp = effect**2 * j / 2 / den
    if math.isfinite(ddf):
        crit = float(stats.f.ppf(1 - alpha, 1, ddf))
        pw = float(stats.ncf.sf(crit, 1, ddf, ncp))
    else:  # fixed readers: chi-square test
        crit = float(stats.chi2.ppf(1 - alpha, 1))
        pw = float(stats.ncx2.sf(crit, 1, ncp))
    return {
        "readers": j,
        "cases": k,
        "analysis": analysis,
        "effect": effect,
        "alpha": alpha,
        "power": pw,
        "ncp": ncp,
        "ddf": ddf,
        "critical_value": crit,
    }


def cases_for_power(
    readers: int,
    effect: float,
    components: dict,
    target: float = 0.8,
    alpha: float = 0.05,
    analysis: str = "rrrc",
    max_cases: int = 100_000,
) -> dict:
    """Fewest cases giving at least ``target`` power with ``readers`` readers (as RJafroc's
    SsSampleSizeKGivenJ). Raises when even ``max_cases`` cases are not enough (e.g. RRFC, where
    more cases cannot remove reader variability)."""
    if not 0 < target < 1:
        raise MrmcInputError(f"--power must lie between 0 and 1, not {target}")

    def enough(k: int) -> bool:
        return power(readers, k, effect, components, alpha, analysis)["power"] >= target

    if not enough(max_cases):
        raise MrmcInputError(
            f"{readers} readers cannot reach power {target} at effect {effect:g} "
            f"({analysis.upper()}) with up to {max_cases} cases; add readers"
        )
    low, high = 2, max_cases  # power grows with K: bisect for the first K that is enough
    while low < high:
        mid = (low + high) // 2
        if enough(mid):
            high = mid
        else:
            low = mid + 1
    return power(readers, low, effect, components, alpha, analysis)


def jsonable(value: object) -> object:
    """``value`` with NaN and infinite floats as None (strict JSON has neither)."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value
