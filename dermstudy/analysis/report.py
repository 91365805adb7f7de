"""The full study report as one plain dict: the JSON contract of ``dermstudy report --json``.

Top-level keys: ``study``, ``readers``, ``entity``, ``ai_vs_real``, ``subsets`` (``real``,
``synthetic``), ``per_reader``, ``reader_summary``, ``agreement``, ``reader_vs_model``, ``missing``,
``methods``, ``software``. Every report object has ``labels``, ``per_class``, ``accuracy``,
``macro_avg``, ``weighted_avg``, ``confusion_matrix`` (rows true, columns predicted),
``confusion_matrix_normalized``, ``auc`` and ``roc`` plus the answer counts ``n_expected``,
``n_answered`` and ``missing``.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import sklearn

from dermstudy import __version__
from dermstudy.analysis import metrics, roc
from dermstudy.analysis.data import StudyData
from dermstudy.entities import CODES
from dermstudy.jobs import CancelToken, Progress, ProgressEvent, no_progress
from dermstudy.reports.display import ROUNDING_RULE

SUMMARY_METRICS: tuple[tuple[str, str, str], ...] = (
    ("entity_accuracy", "entity", "accuracy"),
    ("entity_macro_f1", "entity", "macro_f1"),
    ("entity_weighted_f1", "entity", "weighted_f1"),
    ("ai_accuracy", "ai_vs_real", "accuracy"),
    ("ai_macro_f1", "ai_vs_real", "macro_f1"),
    ("ai_auc", "ai_vs_real", "auc"),
)


def build_report(
    data: StudyData,
    *,
    n_resamples: int = metrics.BOOTSTRAP_RESAMPLES,
    seed: int = metrics.BOOTSTRAP_SEED,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> dict[str, Any]:
    """Every table of the study report, computed from the tidy answer frame."""
    cancel = cancel or CancelToken()
    answers = data.answers
    readers = data.readers
    options = {"n_resamples": n_resamples, "seed": seed}
    steps = 6 + len(readers)
    done = 0

    def step(message: str) -> None:
        nonlocal done
        cancel.raise_if_cancelled()
        done += 1
        progress(ProgressEvent(done, steps, message))

    report: dict[str, Any] = {
        "study": study_section(data),
        "readers": reader_list(answers),
    }
    report["entity"] = metrics.entity_report(answers, **options)
    step("entity report")
    report["ai_vs_real"] = metrics.source_report(answers, **options)
    step("AI-vs-real report")
    report["subsets"] = {
        source: metrics.entity_report(answers[answers["true_source"] == source], **options)
        for source in metrics.SOURCES
    }
    step("subsets")
    report["per_reader"] = {}
    for name in readers:
        rows = answers[answers["reader"] == name]
        report["per_reader"][name] = {
            "entity": metrics.entity_report(rows),
            "ai_vs_real": metrics.source_report(rows),
        }
        step(f"reader {name}")
    report["reader_summary"] = reader_summary(answers, report["per_reader"])
    step("reader summary")
    report["agreement"] = {
        "entity": metrics.agreement(answers, "pred_entity", CODES),
        "ai_vs_real": metrics.agreement(answers, "pred_source", metrics.SOURCES),
    }
    step("agreement")
    report["reader_vs_model"] = reader_vs_model(data, report["entity"])
    report["missing"] = missing_section(answers)
    report["methods"] = methods_section(n_resamples, seed)
    report["software"] = {
        "dermstudy": __version__,
        "scikit-learn": sklearn.__version__,
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "matplotlib": matplotlib.__version__,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    step("done")
    return json_safe(report)


def study_section(data: StudyData) -> dict[str, Any]:
    cases = data.cases
    by_entity = {
        code: {
            source: int(((cases["true_entity"] == code) & (cases["true_source"] == source)).sum())
            for source in metrics.SOURCES
        }
        for code in CODES
    }
    return {
        **data.study,
        "n_cases": len(cases),
        "n_real": int((cases["true_source"] == "real").sum()),
        "n_synthetic": int((cases["true_source"] == "synthetic").sum()),
        "cases_by_entity": by_entity,
    }


def reader_list(answers: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for name, rows in answers.groupby("reader", sort=False):
        seconds = rows.loc[~rows["missing"], "seconds"].dropna()
        out.append(
            {
                "name": name,
                **metrics.answer_counts(rows),
                "median_seconds": float(seconds.median()) if len(seconds) else None,
                "total_seconds": float(seconds.sum()) if len(seconds) else None,
            }
        )
    return out


def _reader_metric(per_reader: dict[str, Any], section: str, metric: str) -> float | None:
    rep = per_reader[section]
    if metric == "accuracy":
        return rep["accuracy"]
    if metric == "macro_f1":
        return rep["macro_avg"]["f1"]
    if metric == "weighted_f1":
        return rep["weighted_avg"]["f1"]
    auc = rep["auc"]["synthetic"]
    return auc["rating"] if auc["rating"] is not None else auc["binary"]


def reader_summary(answers: pd.DataFrame, per_reader: dict[str, Any]) -> dict[str, Any]:
    """Mean and spread of reader-level metrics, and the reader-averaged AUCs (OR / Hillis)."""
    spread: dict[str, Any] = {}
    for key, section, metric in SUMMARY_METRICS:
        values = [_reader_metric(rep, section, metric) for rep in per_reader.values()]
        values = [v for v in values if v is not None]
        spread[key] = {
            "mean": float(np.mean(values)) if values else None,
            "sd": float(np.std(values, ddof=1)) if len(values) > 1 else None,
            "min": float(np.min(values)) if values else None,
            "max": float(np.max(values)) if values else None,
            "n_readers": len(values),
        }
    return {"metrics": spread, "reader_averaged_auc": reader_averaged_aucs(answers)}


def reader_averaged_aucs(answers: pd.DataFrame) -> dict[str, Any]:
    """Obuchowski-Rockette reader-averaged AUC (DeLong covariances) for AI-vs-real and entities.

    Uses the cases every reader answered (the count is reported); needs at least two readers.
    """
    readers = list(dict.fromkeys(answers["reader"]))
    if len(readers) < 2:
        return {"note": "needs at least two readers"}
    answered = answers[~answers["missing"]]
    complete = answered.groupby("case")["reader"].nunique()
    cases = complete.index[complete == len(readers)]
    rows = answered[answered["case"].isin(cases)].sort_values(["reader", "case"])
    out: dict[str, Any] = {
        "n_cases": len(cases),
        "excluded_cases": answers["case"].nunique() - len(cases),
    }
    if len(cases) == 0:
        return out
    truth_by_case = rows.drop_duplicates("case").set_index("case")
    tasks = {
        "ai_vs_real": (
            "true_source",
            "synthetic",
            "ai_scale",
            metrics.source_rating_score,
            metrics.source_binary_score,
        )
    }
    for code in CODES:
        tasks[code] = (
            "true_entity",
            code,
            "confidence",
            metrics.entity_rating_score,
            metrics.entity_binary_score,
        )
    for name, (truth_col, label, rating_col, rating_fn, binary_fn) in tasks.items():
        truth = (truth_by_case[truth_col] == label).to_numpy()
        if truth.sum() < 2 or (~truth).sum() < 2:
            out[name] = None  # variances need two positives and two negatives
            continue
        use_rating = bool(rows[rating_col].notna().all())
        score_fn = rating_fn(label) if use_rating else binary_fn(label)
        scores = np.stack(
            [score_fn(rows[rows["reader"] == r]) for r in readers]
        )  # readers x cases, both sorted by case code
        result = roc.reader_averaged_auc(truth, scores, covariance="delong").as_dict()
        out[name] = {"score": "rating" if use_rating else "binary", **result}
    return out


def reader_vs_model(data: StudyData, pooled_entity: dict[str, Any]) -> dict[str, Any]:
    """For each classifier with predictions: its report and the Table-2 rows beside the readers'."""
    out: dict[str, Any] = {}
    if data.predictions.empty:
        return out
    all_cases = set(data.cases["case"])
    for model, preds in data.predictions.groupby("model", sort=True):
        model_rep = metrics.model_report(data.cases, preds)
        covered = set(preds["case"])
        # Compare on the same cases: the readers' column is restricted to the cases the model
        # has predictions for (usually all of them, then it is the pooled report itself).
        if covered >= all_cases:
            readers_rep, scope = pooled_entity, "all scored cases"
        else:
            readers_rep = metrics.entity_report(
                data.answers[data.answers["case"].isin(covered)], n_resamples=200
            )
            scope = f"the {len(covered & all_cases)} cases with a model prediction"
        out[str(model)] = {
            "model": model_rep,
            "readers_scope": scope,
            "table": table2_rows(model_rep, readers_rep),
        }
    return out


def table2_rows(model_rep: dict[str, Any], reader_rep: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows in the layout of the research's Table 2: class, model P/R/F1, readers P/R/F1."""
    rows = []
    for label in CODES:
        m, r = model_rep["per_class"][label], reader_rep["per_class"][label]
        rows.append(_table_row(label, m, r, m["support"]))
    rows.append(
        {
            "row": "accuracy",
            "model_precision": None,
            "model_recall": None,
            "model_f1": model_rep["accuracy"],
            "readers_precision": None,
            "readers_recall": None,
            "readers_f1": reader_rep["accuracy"],
            "support": model_rep["n_answered"],
        }
    )
    for key, title in (("macro_avg", "macro avg"), ("weighted_avg", "weighted avg")):
        rows.append(_table_row(title, model_rep[key], reader_rep[key], model_rep["n_answered"]))
    return rows


def _table_row(name: str, m: dict, r: dict, support: int) -> dict[str, Any]:
    return {
        "row": name,
        "model_precision": m["precision"],
        "model_recall": m["recall"],
        "model_f1": m["f1"],
        "readers_precision": r["precision"],
        "readers_recall": r["recall"],
        "readers_f1": r["f1"],
        "support": support,
    }


def missing_section(answers: pd.DataFrame) -> dict[str, Any]:
    missing = answers[answers["missing"]]
    return {
        "total": len(missing),
        "by_reader": {
            name: int(rows["missing"].sum()) for name, rows in answers.groupby("reader", sort=False)
        },
        "answers": [
            {"reader": r, "case": c}
            for r, c in zip(missing["reader"], missing["case"], strict=True)
        ],
    }


def methods_section(n_resamples: int, seed: int) -> dict[str, str]:
    return {
        "classification": "scikit-learn classification_report and confusion_matrix on answered "
        "cases; undefined ratios (no predictions or no true cases of a class) are 0",
        "missing": "unanswered cases are excluded from every metric and counted as missing",
        "auc_binary": "the original research's method: roc_auc_score on binarised true and "
        "predicted labels (one operating point)",
        "auc_rating_ai": "roc_auc_score on the five-point scale (5 = definitely AI-generated)",
        "auc_rating_entity": metrics.ENTITY_RATING_RULE,
        "ci_single_reader": "95% DeLong interval (Wald, clipped to [0, 1])",
        "ci_pooled": f"95% percentile interval of a case bootstrap stratified by the true class "
        f"({n_resamples} resamples, seed {seed}); all readers' answers to a case are resampled "
        "together",
        "reader_averaged_auc": "Obuchowski-Rockette with DeLong covariances; random readers: "
        "Hillis (2007) degrees of freedom; fixed readers: normal interval",
        "agreement": "Cohen's kappa (scikit-learn) per reader pair on cases both answered; "
        "Fleiss' kappa on cases every reader answered",
        "rounding": ROUNDING_RULE,
    }


def json_safe(value: Any) -> Any:
    """Recursively turn numpy scalars into Python numbers and NaN/inf into None."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA:
        return None
    return value
