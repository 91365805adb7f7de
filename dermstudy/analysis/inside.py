"""Reader-study comparisons inside one study: which generation settings fool readers, and the
standalone model against the reader panel.

``detection_by_setting`` groups a study's synthetic cases by a provenance key (``model``,
``guidance``, ``base.sampler``, any dotted key) and compares how well readers tell each group from
the real cases: per group the share called AI, the mean AI rating, each reader's AUC of that
group's synthetic cases against all real cases, their mean, and the Obuchowski-Rockette test
between groups. The groups share the readers and the real cases but not the synthetic cases, so
the AUC covariances are DeLong's: the shared real cases give the covariance between groups, the
distinct synthetic cases none (the jackknife of a fully crossed table does not apply here).

``model_vs_readers`` is the standalone model as a fixed "reader" against the random readers'
average, as RJafroc's CAD-vs-radiologists analysis (Hillis's single-treatment RRRC on the
differences reader AUC - model AUC, jackknife covariances).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from dermstudy.analysis import metrics, mrmc, roc

# Short names for provenance keys of images dermstudy generated.
KEY_ALIASES = {"model": "base.file", "upsampler_model": "upsampler.file"}


def lookup(provenance: dict[str, Any], key: str) -> Any:
    """The value at a dotted ``key`` (``base.sampler``); ``model`` falls back to ``base.file``."""
    for candidate in (key, KEY_ALIASES.get(key)):
        if candidate is None:
            continue
        value: Any = provenance
        for part in candidate.split("."):
            if not isinstance(value, dict) or part not in value:
                value = None
                break
            value = value[part]
        if value is not None:
            return value
    return None


COMMON_KEYS = ("model", "base.sampler", "guidance")


def provenance_keys(provenance: dict[str, dict[str, Any]]) -> list[str]:
    """Every dotted key with a plain value in the cases' provenance (``base.sampler``, ...),
    sorted: what ``detection_by_setting`` can group by in this study."""
    keys: set[str] = set()

    def walk(value: dict[str, Any], prefix: str) -> None:
        for name, item in value.items():
            key = f"{prefix}{name}"
            if isinstance(item, dict):
                walk(item, key + ".")
            elif item is not None and not isinstance(item, list):
                keys.add(key)

    for prov in provenance.values():
        if isinstance(prov, dict):
            walk(prov, "")
    return sorted(keys)


def _rating(rows: pd.DataFrame, score: str | None) -> tuple[np.ndarray, str]:
    """The AI score of each answer: the report's choice ``score``; alone (None), the scale
    where every answer has one."""
    if score is None:
        score = metrics.RATING if rows["ai_scale"].notna().all() else metrics.BINARY
    if score == metrics.RATING:
        return metrics.ai_rating(rows), metrics.RATING
    return (rows["pred_source"] == "synthetic").to_numpy(dtype=float), metrics.BINARY


def detection_by_setting(
    answers: pd.DataFrame,
    provenance: dict[str, dict[str, Any]],
    key: str,
    alpha: float = 0.05,
    score: str | None = None,
) -> dict[str, Any]:
    """Detection of synthetic images per value of provenance ``key`` (see module docstring);
    ``score`` is the report's rating-or-binary choice for AI vs real."""
    synth = answers[answers["true_source"] == "synthetic"]
    groups: dict[str, list[str]] = {}
    for case in dict.fromkeys(synth["case"]):
        value = lookup(provenance.get(case, {}), key)
        groups.setdefault("(not recorded)" if value is None else str(value), []).append(case)
    real_cases = list(dict.fromkeys(answers.loc[answers["true_source"] == "real", "case"]))
    out: dict[str, Any] = {"key": key, "n_real_cases": len(real_cases), "groups": []}
    answered = answers[~answers["missing"]]
    readers = list(dict.fromkeys(answers["reader"]))
    for value, cases in sorted(groups.items()):
        rows = answered[answered["case"].isin(cases)]
        scale = rows["ai_scale"].dropna()
        entry: dict[str, Any] = {
            "value": value,
            "n_cases": len(cases),
            "n_answers": len(rows),
            "share_called_ai": float((rows["pred_source"] == "synthetic").mean())
            if len(rows)
            else None,
            "mean_rating": float(scale.mean()) if len(scale) else None,
            "reader_aucs": {},
        }
        for reader in readers:
            mine = answered[
                (answered["reader"] == reader) & answered["case"].isin([*cases, *real_cases])
            ]
            truth = (mine["true_source"] == "synthetic").to_numpy()
            values, _ = _rating(mine, score)
            entry["reader_aucs"][reader] = roc.sklearn_auc(truth, values)
        defined = [v for v in entry["reader_aucs"].values() if v is not None]
        entry["mean_reader_auc"] = float(np.mean(defined)) if defined else None
        out["groups"].append(entry)
    out["test"] = _group_test(answers, groups, real_cases, alpha, score)
    return mrmc.jsonable(out)


def _group_test(
    answers: pd.DataFrame,
    groups: dict[str, list[str]],
    real_cases: list[str],
    alpha: float,
    score: str | None = None,
) -> dict[str, Any]:
    """OR test of equal mean AUC across groups (DeLong covariances), or why there is none."""
    usable = {g: c for g, c in groups.items() if len(c) >= 2 and g != "(not recorded)"}
    if len(usable) < 2:
        return {"note": "no test: needs at least two settings with two or more synthetic cases"}
    if len(real_cases) < 2:
        return {"note": "no test: needs at least two real cases"}
    involved = set(real_cases).union(*usable.values())
    rows = answers[answers["case"].isin(involved)]
    counts = rows[~rows["missing"]].groupby("reader")["case"].nunique()
    readers = [r for r in dict.fromkeys(rows["reader"]) if counts.get(r, 0) == len(involved)]
    if len(readers) < 2:
        return {
            "note": "no test: needs two readers who answered every real case and every "
            "synthetic case of these settings"
        }
    labels = sorted(usable)
    kind = "rating"
    wide = rows[rows["reader"].isin(readers)].pivot(index="case", columns="reader")
    real = wide.loc[real_cases]
    v01_parts, v10_parts, aucs = [], [], np.zeros((len(labels), len(readers)))
    for g, label in enumerate(labels):
        pos = wide.loc[usable[label]]
        for j, reader in enumerate(readers):
            s_pos, kind = _rating(_column(pos, reader), score)
            s_neg, _ = _rating(_column(real, reader), score)
            y = np.r_[np.ones(len(s_pos), bool), np.zeros(len(s_neg), bool)]
            auc, v10, v01 = roc.delong_components(y, np.r_[s_pos, s_neg])
            aucs[g, j] = auc
            v10_parts.append((g, v10))
            v01_parts.append(v01)
    n = len(real_cases)
    v01 = np.stack(v01_parts)
    cov = np.cov(v01) / n
    for a, (ga, va) in enumerate(v10_parts):
        for b, (gb, vb) in enumerate(v10_parts):
            if ga == gb:  # same synthetic cases: their structural components covary
                cov[a, b] += np.cov(va, vb)[0, 1] / len(va)
    result = mrmc.or_from_covariance(aucs, cov, labels, readers, "delong", alpha)
    return {
        "method": "Obuchowski-Rockette, DeLong covariances (settings share readers and real "
        "cases; synthetic cases differ), Hillis denominator df",
        "score": kind,
        "readers": readers,
        "settings": labels,
        "components": {k: v for k, v in result["components"].items() if not k.startswith("per_")},
        "rrrc": result["rrrc"],
        "frrc": {k: v for k, v in result["frrc"].items() if k != "per_reader"},
    }


def _column(frame: pd.DataFrame, reader: str) -> pd.DataFrame:
    """One reader's answers from the case x (field, reader) pivot, as an answer frame."""
    return pd.DataFrame(
        {
            "ai_scale": frame[("ai_scale", reader)],
            "ai_vote": frame[("ai_vote", reader)],
            "pred_source": frame[("pred_source", reader)],
        }
    )


def model_vs_readers(
    truth: np.ndarray, reader_scores: np.ndarray, model_score: np.ndarray, alpha: float = 0.05
) -> dict[str, Any]:
    """The model as a fixed reader against the random readers (RJafroc's CAD vs radiologists).

    ``reader_scores`` is readers x cases, ``model_score`` one score per case. The differences
    D_j = AUC_j - AUC_model get the single-treatment RRRC analysis (Hillis 2007 df) with
    jackknife covariances: mean D, SE, df, t, p and CI.
    """
    y = np.asarray(truth).astype(bool)
    scores = np.vstack([np.atleast_2d(reader_scores), np.asarray(model_score, float)])
    r = scores.shape[0] - 1
    if r < 2:
        raise mrmc.MrmcInputError("model vs readers needs at least two readers")
    ratings = mrmc.Ratings(
        [str(i) for i in range(r + 1)], ["0"], [str(c) for c in range(len(y))], y, scores[None]
    )
    aucs = mrmc.wilcoxon_aucs(ratings)[0]
    loo = mrmc.jackknife_aucs(ratings)
    d = aucs[:r] - aucs[r]
    d_loo = loo[:r] - loo[r]
    c = len(y)
    centred = d_loo - d_loo.mean(axis=1, keepdims=True)
    cov = (c - 1) / c * centred @ centred.T
    ms_r = float(np.var(d, ddof=1))
    cov2 = float(cov[~np.eye(r, dtype=bool)].mean())
    den = ms_r + r * max(cov2, 0.0)
    se = math.sqrt(den / r)
    df = den**2 / (ms_r**2 / (r - 1)) if ms_r > 0 else math.inf
    mean = float(d.mean())
    tstat = mean / se if se > 0 else math.nan
    q = (
        float(stats.t.ppf(1 - alpha / 2, df))
        if math.isfinite(df)
        else float(stats.norm.ppf(1 - alpha / 2))
    )
    p = (
        float(2 * stats.t.sf(abs(tstat), df))
        if math.isfinite(df)
        else float(2 * stats.norm.sf(abs(tstat)))
    )
    return {
        "method": "model as a fixed reader vs random readers: single-treatment OR/RRRC on "
        "reader AUC - model AUC, jackknife covariances, Hillis df (as RJafroc's CAD analysis)",
        "model_auc": float(aucs[r]),
        "reader_aucs": [float(a) for a in aucs[:r]],
        "mean_reader_auc": float(aucs[:r].mean()),
        "difference": mean,
        "se": se,
        "df": df,
        "t": tstat,
        "p": p,
        "ci_low": mean - q * se,
        "ci_high": mean + q * se,
        "ms_r": ms_r,
        "cov2": cov2,
    }


def diagnosis_real_vs_synthetic(answers: pd.DataFrame) -> dict[str, Any]:
    """Entity accuracy on the real and on the synthetic cases, per reader, with paired tests across
    readers (paired t-test and Wilcoxon signed-rank on synthetic - real)."""
    answered = answers[~answers["missing"]]
    rows = []
    for reader, mine in answered.groupby("reader", sort=False):
        entry: dict[str, Any] = {"reader": reader}
        for source in ("real", "synthetic"):
            part = mine[mine["true_source"] == source]
            entry[f"n_{source}"] = len(part)
            entry[f"accuracy_{source}"] = (
                float((part["pred_entity"] == part["true_entity"]).mean()) if len(part) else None
            )
        both = entry["accuracy_real"] is not None and entry["accuracy_synthetic"] is not None
        entry["difference"] = entry["accuracy_synthetic"] - entry["accuracy_real"] if both else None
        rows.append(entry)
    diffs = np.array([r["difference"] for r in rows if r["difference"] is not None])
    out: dict[str, Any] = {"readers": rows, "n_readers_paired": len(diffs)}
    if len(diffs) >= 2:
        out["mean_difference"] = float(diffs.mean())
        if np.ptp(diffs) > 0:
            t = stats.ttest_rel(
                [r["accuracy_synthetic"] for r in rows if r["difference"] is not None],
                [r["accuracy_real"] for r in rows if r["difference"] is not None],
            )
            out["paired_t"] = {"t": float(t.statistic), "df": len(diffs) - 1, "p": float(t.pvalue)}
        if diffs.any():
            w = stats.wilcoxon(diffs)
            out["wilcoxon"] = {"statistic": float(w.statistic), "p": float(w.pvalue)}
    else:
        out["note"] = "paired test needs two readers with both real and synthetic answers"
    return mrmc.jsonable(out)


GALLERY_KEYS = ("base.file", "guidance", "sampler", "seed", "prompt")


def fooling_cases(
    answers: pd.DataFrame, provenance: dict[str, dict[str, Any]], top: int = 20
) -> dict[str, Any]:
    """The synthetic cases most often called real and the real cases most often called AI, with
    their votes and generation settings (coordinator's view: shows the truth)."""
    answered = answers[~answers["missing"]]
    out: dict[str, Any] = {}
    for source, fooled_by in (("synthetic", "real"), ("real", "synthetic")):
        part = answered[answered["true_source"] == source]
        per_case = (
            part.assign(
                wrong=(part["pred_source"] == fooled_by).astype(int),
                rating=part["ai_scale"].astype("Float64"),
            )
            .groupby("case", sort=False)
            .agg(
                n=("wrong", "size"),
                wrong=("wrong", "sum"),
                entity=("true_entity", "first"),
                rating=("rating", "mean"),
            )
        )
        per_case = per_case[per_case["wrong"] > 0]
        per_case = per_case.assign(share=per_case["wrong"] / per_case["n"]).reset_index()
        per_case = per_case.sort_values(
            ["share", "wrong", "case"], ascending=[False, False, True]
        ).head(top)
        entries = []
        for row in per_case.itertuples(index=False):
            prov = provenance.get(row.case, {})
            entries.append(
                {
                    "case": row.case,
                    "entity": row.entity,
                    "n_votes": int(row.n),
                    "votes_wrong": int(row.wrong),
                    "share_wrong": float(row.share),
                    "mean_rating": None if pd.isna(row.rating) else float(row.rating),
                    "provenance": {k: lookup(prov, k) for k in GALLERY_KEYS if lookup(prov, k)},
                }
            )
        key = "synthetic_called_real" if source == "synthetic" else "real_called_ai"
        out[key] = entries
    return mrmc.jsonable(out)
