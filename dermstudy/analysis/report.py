"""The full study report as one plain dict: the JSON contract of ``dermstudy report --json``.

Top-level keys: ``study``, ``readers``, ``entity``, ``ai_vs_real``, ``subsets`` (``real``,
``synthetic``), ``per_reader``, ``reader_summary``, ``agreement``, ``agreement_extra``,
``reader_vs_model``, ``diagnosis_real_vs_synthetic``, ``fooling_cases``, ``detection_by_setting``
(only with ``by``), ``missing``, ``design_trail``, ``methods``, ``software``. Every report
object has ``labels``, ``per_class``, ``accuracy``, ``macro_avg``, ``weighted_avg``,
``average_labels``, ``confusion_matrix`` (rows true, columns predicted),
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
import scipy
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
    covariance: str = "jackknife",
    complete_readers_only: bool = False,
    by: str | None = None,
) -> dict[str, Any]:
    """Every table of the study report, computed from the tidy answer frame.

    ``covariance`` (jackknife, delong, bootstrap) is the AUC covariance of the reader-averaged
    AUC; ``complete_readers_only`` picks its incomplete-reader rule (see
    :func:`reader_averaged_aucs`). ``by`` (a provenance key such as ``model`` or ``guidance``)
    adds ``detection_by_setting``.
    """
    # The report calls scikit-learn a few thousand times with arguments built here (never user
    # input), so its per-call parameter validation is skipped: the same numbers, ~15 % less time.
    with sklearn.config_context(skip_parameter_validation=True):
        return _build_report(
            data, n_resamples, seed, progress, cancel, covariance, complete_readers_only, by
        )


def _build_report(
    data: StudyData,
    n_resamples: int,
    seed: int,
    progress: Progress,
    cancel: CancelToken | None,
    covariance: str,
    complete_readers_only: bool,
    by: str | None,
) -> dict[str, Any]:
    cancel = cancel or CancelToken()
    answers = data.answers
    readers = data.readers
    # Rating or binary AUC: decided once, from the study's reading settings, and used by every
    # section below; the views read it from the report (``scores`` and each entry's ``ci_of``).
    choice = metrics.score_choice(data.study.get("settings"), answers)
    ent, ai = {"score": choice["entity"]}, {"score": choice["ai_vs_real"]}
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
        "scores": choice,
    }
    report["entity"] = metrics.entity_report(answers, **options, **ent)
    step("entity report")
    report["ai_vs_real"] = metrics.source_report(answers, **options, **ai)
    step("AI-vs-real report")
    report["subsets"] = {
        source: metrics.entity_report(answers[answers["true_source"] == source], **options, **ent)
        for source in metrics.SOURCES
    }
    step("subsets")
    report["per_reader"] = {}
    # One pass over the answers instead of a 28,000-row string comparison per reader; each
    # group keeps the frame's row order, as the boolean selection did.
    by_reader = dict(tuple(answers.groupby("reader", sort=False)))
    for name in readers:
        rows = by_reader[name]
        report["per_reader"][name] = {
            "entity": metrics.entity_report(rows, **ent),
            "ai_vs_real": metrics.source_report(rows, **ai),
        }
        step(f"reader {name}")
    report["reader_summary"] = reader_summary(
        answers,
        report["per_reader"],
        covariance=covariance,
        complete_readers_only=complete_readers_only,
        n_boot=n_resamples,
        seed=seed,
        choice=choice,
    )
    step("reader summary")
    report["agreement"] = {
        "entity": metrics.agreement(answers, "pred_entity", CODES),
        "ai_vs_real": metrics.agreement(answers, "pred_source", metrics.SOURCES),
    }
    from dermstudy.analysis.agreement_extra import agreement_beyond_kappa

    report["agreement_extra"] = agreement_beyond_kappa(
        answers, n_resamples=min(n_resamples, 200), seed=seed
    )
    step("agreement")
    report["reader_vs_model"] = reader_vs_model(data, report["entity"], choice)
    from dermstudy.analysis.inside import diagnosis_real_vs_synthetic, fooling_cases

    report["diagnosis_real_vs_synthetic"] = diagnosis_real_vs_synthetic(answers)
    report["fooling_cases"] = fooling_cases(answers, data.provenance)
    if by:
        from dermstudy.analysis.inside import detection_by_setting

        report["detection_by_setting"] = detection_by_setting(
            answers, data.provenance, by, score=choice["ai_vs_real"]
        )
    report["missing"] = missing_section(answers)
    report["design_trail"] = design_trail(data)
    report["methods"] = methods_section(n_resamples, seed, covariance)
    report["software"] = {
        "dermstudy": __version__,
        "scikit-learn": sklearn.__version__,
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "krippendorff": _version("krippendorff"),
        "matplotlib": matplotlib.__version__,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    step("done")
    return json_safe(report)


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


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
    return metrics.chosen_auc(rep["auc"]["synthetic"])


def reader_summary(
    answers: pd.DataFrame, per_reader: dict[str, Any], **averaged: Any
) -> dict[str, Any]:
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
    return {"metrics": spread, "reader_averaged_auc": reader_averaged_aucs(answers, **averaged)}


RULE_COMPLETE_CASES = (
    "complete cases: readers with no scored answer are left out; the cases every remaining "
    "reader answered are used"
)
RULE_COMPLETE_READERS = (
    "complete readers only: readers who did not answer every scored case are left out; all "
    "cases are used"
)


def averaged_readers(
    answers: pd.DataFrame, complete_readers_only: bool = False
) -> tuple[list[str], list[dict[str, Any]], str]:
    """Which readers enter the reader-averaged (complete-case) analyses, who is left out and why,
    and the rule that decided it."""
    readers = metrics.first_seen(answers["reader"])
    n_cases = answers["case"].nunique()
    answered = answers[~answers["missing"]].groupby("reader")["case"].nunique()
    keep, left_out = [], []
    for name in readers:
        count = int(answered.get(name, 0))
        if count == 0:
            left_out.append({"reader": name, "answered": 0, "reason": "no scored answer"})
        elif complete_readers_only and count < n_cases:
            reason = f"answered {count} of {n_cases} scored cases"
            left_out.append({"reader": name, "answered": count, "reason": reason})
        else:
            keep.append(name)
    return keep, left_out, RULE_COMPLETE_READERS if complete_readers_only else RULE_COMPLETE_CASES


def reader_averaged_aucs(
    answers: pd.DataFrame,
    covariance: str = "jackknife",
    complete_readers_only: bool = False,
    n_boot: int = metrics.BOOTSTRAP_RESAMPLES,
    seed: int = metrics.BOOTSTRAP_SEED,
    choice: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Obuchowski-Rockette reader-averaged AUC for AI-vs-real and each entity.

    Readers without any scored answer never enter (a reader who opened the window and quit must
    not empty the analysis); with ``complete_readers_only`` neither does a reader who skipped a
    case. The analysis then uses the cases every remaining reader answered (counts reported),
    needs at least two readers, and says which rule ran and who was left out. ``choice`` is the
    report's rating-or-binary choice (:func:`metrics.score_choice`); without it the answers decide.
    """
    keep, left_out, rule = averaged_readers(answers, complete_readers_only)
    head: dict[str, Any] = {
        "rule": rule,
        "readers": keep,
        "left_out": left_out,
        "covariance": covariance,
    }
    if len(keep) < 2:
        return {"note": "needs at least two readers with answers", **head}
    answers = answers[answers["reader"].isin(keep)]
    readers = keep
    answered = answers[~answers["missing"]]
    complete = answered.groupby("case")["reader"].nunique()
    cases = complete.index[complete == len(readers)]
    rows = answered[answered["case"].isin(cases)].sort_values(["reader", "case"])
    out: dict[str, Any] = {
        **head,
        "n_cases": len(cases),
        "excluded_cases": answers["case"].nunique() - len(cases),
    }
    if len(cases) == 0:
        out["note"] = "no case was answered by every included reader"
        return out
    choice = choice or metrics.score_choice(None, answers)
    truth_by_case = rows.drop_duplicates("case").set_index("case")
    by_reader = dict(tuple(rows.groupby("reader", sort=False)))
    tasks = {
        "ai_vs_real": (
            "true_source",
            "synthetic",
            choice["ai_vs_real"],
            metrics.source_rating_score,
            metrics.source_binary_score,
        )
    }
    for code in CODES:
        tasks[code] = (
            "true_entity",
            code,
            choice["entity"],
            metrics.entity_rating_score,
            metrics.entity_binary_score,
        )
    for name, (truth_col, label, score, rating_fn, binary_fn) in tasks.items():
        truth = (truth_by_case[truth_col] == label).to_numpy()
        if truth.sum() < 2 or (~truth).sum() < 2:
            out[name] = None  # variances need two positives and two negatives
            continue
        use_rating = score == metrics.RATING
        score_fn = rating_fn(label) if use_rating else binary_fn(label)
        scores = np.stack(
            [score_fn(by_reader[r]) for r in readers]
        )  # readers x cases, both sorted by case code
        result = roc.reader_averaged_auc(
            truth, scores, covariance=covariance, n_boot=n_boot, seed=seed
        ).as_dict()
        out[name] = {"score": "rating" if use_rating else "binary", **result}
    return out


def reader_vs_model(
    data: StudyData, pooled_entity: dict[str, Any], choice: dict[str, str] | None = None
) -> dict[str, Any]:
    """For each classifier with predictions: its report and the Table-2 rows beside the readers'."""
    out: dict[str, Any] = {}
    if data.predictions.empty:
        return out
    choice = choice or metrics.score_choice(data.study.get("settings"), data.answers)
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
                data.answers[data.answers["case"].isin(covered)],
                n_resamples=200,
                score=choice["entity"],
            )
            scope = f"the {len(covered & all_cases)} cases with a model prediction"
        out[str(model)] = {
            "model": model_rep,
            "readers_scope": scope,
            "table": table2_rows(model_rep, readers_rep),
            "tests": model_tests(data.answers, data.cases, preds, choice["entity"]),
        }
    return out


def model_tests(
    answers: pd.DataFrame,
    cases: pd.DataFrame,
    preds: pd.DataFrame,
    score: str | None = None,
) -> dict[str, Any]:
    """Per entity: the model (its probability for the entity) as a fixed reader against the
    readers' one-vs-rest rating score, on the cases the model rated and every included reader
    answered (readers who skipped one of them are left out and named)."""
    from dermstudy.analysis.inside import model_vs_readers

    probs = {
        c: p
        for c, p in zip(preds["case"], preds["probabilities"], strict=True)
        if isinstance(p, dict)
    }
    covered = [c for c in cases["case"] if c in probs]
    rows = answers[answers["case"].isin(covered) & ~answers["missing"]]
    counts = rows.groupby("reader")["case"].nunique()
    everyone = metrics.first_seen(answers["reader"])
    readers = [r for r in everyone if counts.get(r, 0) == len(covered)]
    left_out = [r for r in everyone if r not in readers]
    out: dict[str, Any] = {"readers": readers, "left_out": left_out, "n_cases": len(covered)}
    if len(readers) < 2 or not covered:
        out["note"] = "no test: needs model probabilities and two readers who answered those cases"
        return out
    if score is None:  # alone, judge by these answers
        score = metrics.RATING if rows["confidence"].notna().all() else metrics.BINARY
    if score != metrics.RATING:
        out["note"] = "no test: the readers gave no entity confidence (no rating to compare)"
        return out
    rows = rows.sort_values(["reader", "case"])
    order = sorted(covered)
    truth_of = dict(zip(cases["case"], cases["true_entity"], strict=True))
    for code in CODES:
        truth = np.array([truth_of[c] == code for c in order])
        if truth.sum() < 2 or (~truth).sum() < 2 or not all(code in probs[c] for c in order):
            out[code] = None
            continue
        score = metrics.entity_rating_score(code)
        reader_scores = np.stack([score(rows[rows["reader"] == r]) for r in readers])
        model_score = np.array([float(probs[c][code]) for c in order])
        out[code] = model_vs_readers(truth, reader_scores, model_score)
    return out


def table2_rows(model_rep: dict[str, Any], reader_rep: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows in the layout of the research's Table 2: class, model P/R/F1, readers P/R/F1."""
    rows = []
    for label in CODES:
        m, r = model_rep["per_class"][label], reader_rep["per_class"][label]
        rows.append(_table_row(label, m, r, m["support"], r["support"]))
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
            "readers_support": reader_rep["n_answered"],
        }
    )
    for key, title in (("macro_avg", "macro avg"), ("weighted_avg", "weighted avg")):
        rows.append(
            _table_row(
                title,
                model_rep[key],
                reader_rep[key],
                model_rep["n_answered"],
                reader_rep["n_answered"],
            )
        )
    return rows


def _table_row(name: str, m: dict, r: dict, support: int, readers_support: int) -> dict[str, Any]:
    return {
        "row": name,
        "model_precision": m["precision"],
        "model_recall": m["recall"],
        "model_f1": m["f1"],
        "readers_precision": r["precision"],
        "readers_recall": r["recall"],
        "readers_f1": r["f1"],
        # the model answers each case once, the readers once each: both counts are shown
        "support": support,
        "readers_support": readers_support,
    }


def design_trail(data: StudyData) -> dict[str, Any]:
    """What a reviewer needs to re-derive what each reader saw: the study seed and order settings,
    the practice cases, and each reader's case order (practice block first) with session times."""
    settings = data.study.get("settings", {})
    return {
        "seed": data.study.get("seed"),
        "order_settings": {
            k: v for k, v in settings.items() if "order" in k or k in ("reading", "seed")
        },
        "practice_cases": list(data.practice_cases),
        "sessions": [dict(s) for s in data.sessions],
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


def methods_section(n_resamples: int, seed: int, covariance: str = "jackknife") -> dict[str, str]:
    return {
        "classification": "scikit-learn classification_report and confusion_matrix on answered "
        "cases; undefined ratios (no predictions or no true cases of a class) are null",
        "missing": "unanswered cases are excluded from every metric and counted as missing",
        "auc_binary": "the original research's method: roc_auc_score on binarised true and "
        "predicted labels (one operating point)",
        "auc_rating_ai": "roc_auc_score on the five-point scale (5 = definitely AI-generated)",
        "auc_rating_entity": metrics.ENTITY_RATING_RULE,
        "ci_single_reader": "95% DeLong interval (Wald, clipped to [0, 1])",
        "ci_pooled": f"95% percentile interval of a case bootstrap stratified by the true class "
        f"({n_resamples} resamples, seed {seed}); all readers' answers to a case are resampled "
        "together",
        "reader_averaged_auc": f"Obuchowski-Rockette with {covariance} AUC covariances"
        + (
            " (as the Iowa OR-DBM MRMC program and RJafroc by default)"
            if covariance == "jackknife"
            else ""
        )
        + "; random readers: Hillis (2007) degrees of freedom; fixed readers: normal interval; "
        "readers with no scored answer are left out (see reader_averaged_auc.rule)",
        "macro_average": "unweighted mean over the classes with at least one scored true case; "
        "a ratio with a zero denominator is null per class and counts 0 in the averages",
        "agreement": "Cohen's kappa (scikit-learn's formula) per reader pair on cases both answered; "
        "Fleiss' kappa on cases every reader answered",
        "rounding": ROUNDING_RULE,
    }


_PLAIN = (str, int, bool, type(None))


def json_safe(value: Any) -> Any:
    """Recursively turn numpy scalars into Python numbers and NaN/inf into None."""
    # Fast paths first: the report holds ~10^5 plain floats (ROC points) and strings.
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind in _PLAIN:
        return value
    if kind is list and all(type(v) is float and math.isfinite(v) for v in value):
        return list(value)
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
