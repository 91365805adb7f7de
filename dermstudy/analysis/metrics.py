"""Report objects over answer rows: classification reports, confusion matrices, AUCs, kappas.

Pure functions over pandas/numpy that return plain dicts (the JSON contract). Every number comes
from scikit-learn, except Fleiss' kappa (its textbook formula) and the AUC intervals in
:mod:`dermstudy.analysis.roc`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_fscore_support

from dermstudy.analysis import roc
from dermstudy.entities import CODES

SOURCES: tuple[str, str] = ("real", "synthetic")
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20240

# A one-vs-rest score for entity e from a single answer (predicted entity + confidence 1..5):
# predicted e with confidence c -> 5 + c (6..10); predicted another entity with confidence c -> 6 - c
# (1..5). So "sure it is e" ranks highest and "sure it is something else" lowest.
ENTITY_RATING_RULE = (
    "one-vs-rest score for entity e: 5 + confidence when the reader chose e, "
    "6 - confidence when the reader chose another entity"
)

ScoreFn = Callable[[pd.DataFrame], np.ndarray]

# Which AUC a task reports as its main one (and gives the interval of): the reader's rating
# (AI scale, entity confidence) or the binarised answer. Decided once per report, by
# :func:`score_choice`, and carried in every AUC entry as ``ci_of``.
RATING, BINARY = "rating", "binary"
# A stray binary AI/real answer in a five-point study sits on the scale as the rating exports
# put it (ai -> 4, real -> 2); a stray missing confidence in a confidence study counts as the
# middle of the scale (3).
AI_VOTE_ON_SCALE = {"ai": 4.0, "real": 2.0}
MISSING_CONFIDENCE = 3.0


def score_choice(study_settings: dict[str, Any] | None, answers: pd.DataFrame) -> dict[str, str]:
    """Rating or binary AUC for ``ai_vs_real`` and ``entity``, and what decided it (``from``).

    The study's reading settings decide (five-point scale -> rating; entity confidence asked ->
    rating), so a stray answer of the other kind cannot switch a whole analysis. Only a study that
    records no reading settings (one not made by dermstudy's builder) is judged by its answers:
    rating where every scored answer has one.
    """
    reading = (study_settings or {}).get("reading")
    if isinstance(reading, dict) and reading:
        from dermstudy.reading.answers import FIVE_POINT, ReadingSettings

        try:
            rules = ReadingSettings.from_dict(reading)
        except (TypeError, ValueError):
            rules = None
        if rules is not None:
            return {
                "ai_vs_real": RATING if rules.answer_scale == FIVE_POINT else BINARY,
                "entity": RATING if rules.entity_confidence else BINARY,
                "from": "the study's reading settings",
            }
    answered = answers[~answers["missing"]]
    return {
        "ai_vs_real": RATING if _rating_available(answered, "ai_scale") else BINARY,
        "entity": RATING if _rating_available(answered, "confidence") else BINARY,
        "from": "the answers (the study records no reading settings)",
    }


def chosen_auc(entry: dict[str, Any]) -> float | None:
    """The AUC an entry reports as its main one: the score its interval is of (``ci_of``)."""
    which = entry.get("ci_of")
    return entry.get(which) if which else None


def ai_rating(rows: pd.DataFrame) -> np.ndarray:
    """Each answer's AI rating (5 = surely AI); a binary answer where the scale is missing sits
    at :data:`AI_VOTE_ON_SCALE`."""
    scale = rows["ai_scale"].astype("Float64")
    vote = rows["ai_vote"].map(AI_VOTE_ON_SCALE).astype("Float64")
    return scale.fillna(vote).to_numpy(dtype=float, na_value=np.nan)


def first_seen(values: pd.Series) -> list[Any]:
    """Distinct values in order of first appearance (``list(dict.fromkeys(values))``, without
    iterating a pandas string column element by element: ~50 times faster on 28,000 answers)."""
    return list(pd.unique(values))


def clean_number(value: Any) -> Any:
    """Python float/int for numpy scalars; None for NaN/inf (JSON has no NaN)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def classification_summary(
    y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    """Per-class precision/recall/F1/support, accuracy, averages and confusion matrices.

    All ``labels`` are listed in order even when absent from the data. A ratio with a zero
    denominator is undefined and reported as None (precision of a class nobody chose, recall of a
    class with no scored true case), like the normalised confusion row of such a class. The macro
    and weighted averages run over the classes with at least one scored true case (the study's
    classes, not every possible one); among those, a class nobody chose counts precision 0 (as
    scikit-learn's ``zero_division=0``).
    """
    labels = list(labels)
    if len(y_true) == 0:
        empty = {"precision": None, "recall": None, "f1": None}
        return {
            "labels": labels,
            "per_class": {lab: {**empty, "support": 0} for lab in labels},
            "accuracy": None,
            "macro_avg": dict(empty),
            "weighted_avg": dict(empty),
            "average_labels": [],
            "confusion_matrix": [[0] * len(labels) for _ in labels],
            "confusion_matrix_normalized": [[None] * len(labels) for _ in labels],
        }
    # Integer codes make scikit-learn's input checks much faster than strings; same numbers.
    true_codes = _codes(y_true, labels)
    pred_codes = _codes(y_pred, labels)
    index = list(range(len(labels)))
    # The per-class rows of classification_report(output_dict=True) come from this one call
    # (the report makes three more for averages we compute below over the study's classes).
    precision, recall, f1, support_all = precision_recall_fscore_support(
        true_codes, pred_codes, labels=index, average=None, zero_division=np.nan
    )
    raw = {
        lab: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1-score": float(f1[i]),
            "support": int(support_all[i]),
        }
        for i, lab in enumerate(labels)
    }
    # confusion_matrix's counts from one bincount (its input checks cost more than the count)
    k = len(labels)
    cells = true_codes.astype(np.int64) * k + pred_codes.astype(np.int64)
    matrix = np.bincount(cells, minlength=k * k).reshape(k, k)
    scored = [i for i in index if matrix[i].sum() > 0]

    def scores(entry: dict[str, float]) -> dict[str, float | None]:
        return {
            "precision": clean_number(float(entry["precision"])),
            "recall": clean_number(float(entry["recall"])),
            "f1": clean_number(float(entry["f1-score"])),
        }

    # Averages over the scored classes with undefined ratios as 0 (scikit-learn's
    # zero_division=0 averages), from the per-class values already computed: no second pass.
    def ratios(key: str) -> np.ndarray:
        return np.nan_to_num(np.array([float(raw[labels[i]][key]) for i in scored]))

    support = np.array([matrix[i].sum() for i in scored], dtype=float)

    def average(kind: str) -> dict[str, float | None]:
        weights = support / support.sum() if kind == "weighted" else None
        return {
            name: float(np.average(ratios(key), weights=weights))
            for name, key in (("precision", "precision"), ("recall", "recall"), ("f1", "f1-score"))
        }

    return {
        "labels": labels,
        "per_class": {
            lab: {**scores(raw[lab]), "support": int(raw[lab]["support"])} for lab in labels
        },
        # classification_report's "accuracy" is its micro precision: correct / answered
        "accuracy": float(np.trace(matrix) / matrix.sum()),
        "macro_avg": average("macro"),
        "weighted_avg": average("weighted"),
        "average_labels": [labels[i] for i in scored],
        "confusion_matrix": matrix.astype(int).tolist(),
        "confusion_matrix_normalized": _row_normalise(matrix),
    }


def _codes(values: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    """Label positions; a value outside ``labels`` is an input error, never silently dropped."""
    values = np.asarray(values, dtype=object)
    codes = pd.Categorical(values, categories=list(labels)).codes
    if (codes < 0).any():
        bad = values[np.flatnonzero(codes < 0)[0]]
        raise ValueError(f"unexpected label {bad!r}; expected one of {', '.join(labels)}")
    return np.asarray(codes)


def _row_normalise(matrix: np.ndarray) -> list[list[float | None]]:
    """Rows divided by their totals; a row with no true cases is all None (undefined)."""
    out: list[list[float | None]] = []
    for row in matrix:
        total = row.sum()
        out.append([float(v / total) for v in row] if total else [None] * len(row))
    return out


# -- scores for ROC -----------------------------------------------------------------------------


def entity_binary_score(label: str) -> ScoreFn:
    return lambda rows: (rows["pred_entity"] == label).to_numpy(dtype=float)


def entity_rating_score(label: str) -> ScoreFn:
    def score(rows: pd.DataFrame) -> np.ndarray:
        conf = rows["confidence"].astype("Float64").fillna(MISSING_CONFIDENCE)
        conf = conf.to_numpy(dtype=float, na_value=np.nan)
        chosen = (rows["pred_entity"] == label).to_numpy()
        return np.where(chosen, 5.0 + conf, 6.0 - conf)

    return score


def source_binary_score(label: str) -> ScoreFn:
    return lambda rows: (rows["pred_source"] == label).to_numpy(dtype=float)


def source_rating_score(label: str) -> ScoreFn:
    # ai_scale: 5 = definitely AI-generated, so it rates "synthetic"; "real" is its mirror.
    def score(rows: pd.DataFrame) -> np.ndarray:
        scale = ai_rating(rows)
        return scale if label == "synthetic" else 6.0 - scale

    return score


@dataclass
class CaseBootstrap:
    """Shared resampling plan of one pooled report: case index per answer row, case weights."""

    case_index: np.ndarray
    n_cases: int
    weights: np.ndarray
    description: str

    @classmethod
    def plan(
        cls, rows: pd.DataFrame, strata_column: str, n_resamples: int, seed: int
    ) -> CaseBootstrap:
        codes, case_index = np.unique(rows["case"].to_numpy(), return_inverse=True)
        strata = np.empty(len(codes), dtype=object)
        strata[case_index] = rows[strata_column].to_numpy()
        weights = roc.stratified_case_weights(strata, n_resamples, seed)
        text = (
            f"stratified case bootstrap (strata: {strata_column.replace('_', ' ')}), "
            f"{n_resamples} resamples, seed {seed}"
        )
        return cls(case_index, len(codes), weights, text)

    def ci(self, truth: np.ndarray, score: np.ndarray) -> tuple[float, float]:
        counts = roc.pooled_level_counts(self.case_index, score, self.n_cases)
        case_truth = np.zeros(self.n_cases, dtype=bool)
        case_truth[self.case_index] = truth
        return roc.bootstrap_auc_ci(case_truth, counts, self.weights)


def probability_score(label: str) -> ScoreFn:
    """A classifier's predicted probability of ``label`` (column ``probabilities``: dicts)."""
    return lambda rows: np.array([p[label] for p in rows["probabilities"]], dtype=float)


def auc_entry(
    rows: pd.DataFrame,
    truth: np.ndarray,
    binary: ScoreFn,
    rating: ScoreFn | None,
    bootstrap: CaseBootstrap | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """AUC of one label: binarised (single operating point) and rating-based, with a 95% CI.

    The CI is for the rating AUC where it is defined, else for the binary one (``ci_of`` says
    which): DeLong for one reader, the shared case ``bootstrap`` when several readers are pooled
    (all readers' answers to a case are resampled together). Returns (auc dict, ROC points).
    """
    entry: dict[str, Any] = {
        "binary": None,
        "rating": None,
        "ci_low": None,
        "ci_high": None,
        "ci_of": None,
        "ci_method": None,
        "positives": int(truth.sum()),
        "negatives": int((~truth).sum()),
    }
    curves: dict[str, Any] = {}
    if entry["positives"] == 0 or entry["negatives"] == 0:
        entry["note"] = "undefined: needs true positives and true negatives"
        return entry, curves
    scores = {"binary": binary(rows)}
    if rating is not None:
        scores["rating"] = rating(rows)
    for name, score in scores.items():
        entry[name], fpr, tpr = roc.sklearn_roc(truth, score)
        curves[name] = {"fpr": fpr.tolist(), "tpr": tpr.tolist()}
    ci_of = "rating" if "rating" in scores else "binary"
    entry["ci_of"] = ci_of
    if bootstrap is None:
        _, _, low, high = roc.delong_auc_ci(truth, scores[ci_of])
        entry["ci_method"] = "DeLong"
    else:
        low, high = bootstrap.ci(truth, scores[ci_of])
        entry["ci_method"] = bootstrap.description
    entry["ci_low"], entry["ci_high"] = low, high
    return entry, curves


def _bootstrap_for(
    answered: pd.DataFrame, strata_column: str, n_resamples: int, seed: int
) -> CaseBootstrap | None:
    """A case bootstrap when several readers are pooled; None (DeLong) for a single reader."""
    if answered["reader"].nunique() <= 1 or answered.empty:
        return None
    return CaseBootstrap.plan(answered, strata_column, n_resamples, seed)


def answer_counts(rows: pd.DataFrame) -> dict[str, int]:
    return {
        "n_expected": len(rows),
        "n_answered": int((~rows["missing"]).sum()),
        "missing": int(rows["missing"].sum()),
    }


def _rating_available(answered: pd.DataFrame, column: str) -> bool:
    return len(answered) > 0 and bool(answered[column].notna().all())


@dataclass(frozen=True)
class Task:
    """What a report classifies: the answer columns it compares, its labels, the column that
    holds the reader's rating for it, and its two ROC scores per label."""

    truth: str
    predicted: str
    labels: Sequence[str]
    rating_column: str
    binary_score: Callable[[str], ScoreFn]
    rating_score: Callable[[str], ScoreFn]


ENTITY = Task(
    "true_entity", "pred_entity", CODES, "confidence", entity_binary_score, entity_rating_score
)
SOURCE = Task(
    "true_source", "pred_source", SOURCES, "ai_scale", source_binary_score, source_rating_score
)


def task_report(
    task: Task,
    rows: pd.DataFrame,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    score: str | None = None,
) -> dict[str, Any]:
    """The report of one ``task`` over answer rows (missing rows counted, not scored)."""
    answered = rows[~rows["missing"]]
    report = classification_summary(answered[task.truth], answered[task.predicted], task.labels)
    report.update(answer_counts(rows))
    # ``score`` is the report's choice (:func:`score_choice`); alone, judge by these answers.
    has_rating = score == RATING if score else _rating_available(answered, task.rating_column)
    bootstrap = _bootstrap_for(answered, task.truth, n_resamples, seed)
    report["auc"], report["roc"] = {}, {}
    for label in task.labels:
        truth = (answered[task.truth] == label).to_numpy()
        report["auc"][label], report["roc"][label] = auc_entry(
            answered,
            truth,
            task.binary_score(label),
            task.rating_score(label) if has_rating else None,
            bootstrap,
        )
    return report


def entity_report(rows: pd.DataFrame, **options: Any) -> dict[str, Any]:
    """The 7-class entity report (:func:`task_report` of :data:`ENTITY`)."""
    return task_report(ENTITY, rows, **options)


def source_report(rows: pd.DataFrame, **options: Any) -> dict[str, Any]:
    """The AI-generated vs real report (labels ``real``, ``synthetic``; :data:`SOURCE`)."""
    return task_report(SOURCE, rows, **options)


def model_report(cases: pd.DataFrame, predictions: pd.DataFrame) -> dict[str, Any]:
    """Entity report for one classifier's predictions on the study's cases.

    ``cases`` has ``case, true_entity``; ``predictions`` has ``case, pred_entity, probabilities``
    (label -> probability, possibly empty). Cases without a prediction are counted as missing.
    Probabilities, when given for every case, are the rating score of the AUC (DeLong CI).
    """
    merged = cases[["case", "true_entity"]].merge(
        predictions[["case", "pred_entity", "probabilities"]], on="case", how="left"
    )
    merged["missing"] = merged["pred_entity"].isna()
    answered = merged[~merged["missing"]]
    report = classification_summary(answered["true_entity"], answered["pred_entity"], CODES)
    report.update(
        {
            "n_expected": len(merged),
            "n_answered": len(answered),
            "missing": int(merged["missing"].sum()),
        }
    )
    probs = list(answered["probabilities"])
    report["auc"], report["roc"] = {}, {}
    for label in CODES:
        truth = (answered["true_entity"] == label).to_numpy()
        has_prob = bool(probs) and all(isinstance(p, dict) and label in p for p in probs)
        report["auc"][label], report["roc"][label] = auc_entry(
            answered.assign(reader="model"),
            truth,
            entity_binary_score(label),
            probability_score(label) if has_prob else None,
        )
    return report


# -- agreement ----------------------------------------------------------------------------------


def fleiss_kappa(counts: np.ndarray) -> float | None:
    """Fleiss' kappa from a subjects x categories matrix of rater counts (same raters per subject).

    kappa = (P_bar - P_e) / (1 - P_e), with P_i = (sum_j n_ij^2 - n) / (n (n - 1)) and
    P_e = sum_j p_j^2 (Fleiss 1971). None when undefined (fewer than 2 raters, no subjects, or
    every rating in one category).
    """
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 2 or counts.shape[0] == 0:
        return None
    raters = counts.sum(axis=1)
    if not np.all(raters == raters[0]) or raters[0] < 2:
        return None
    n = raters[0]
    p_i = (np.square(counts).sum(axis=1) - n) / (n * (n - 1))
    p_j = counts.sum(axis=0) / counts.sum()
    p_e = float(np.square(p_j).sum())
    if math.isclose(p_e, 1.0):
        return None
    return float((p_i.mean() - p_e) / (1 - p_e))


def cohen_kappa(a: np.ndarray, b: np.ndarray, n_labels: int) -> float | None:
    """Cohen's kappa of two label-position vectors: scikit-learn's ``cohen_kappa_score`` formula,
    step for step (tests check they agree to the last bit), from one ``bincount`` table.

    A report has hundreds of reader pairs, and the library's input checks cost ~50 times the
    statistic. None where kappa is undefined (both readers used one and the same label).
    """
    table = np.bincount(
        np.asarray(a, dtype=np.int64) * n_labels + np.asarray(b, dtype=np.int64),
        minlength=n_labels * n_labels,
    )
    confusion = table.reshape(n_labels, n_labels).astype(np.float64)
    sum0, sum1 = confusion.sum(axis=0), confusion.sum(axis=1)
    total = sum0.sum()
    if total == 0:
        return None
    expected = np.outer(sum0, sum1) / total
    weights = np.ones((n_labels, n_labels), dtype=np.float64)
    np.fill_diagonal(weights, 0)
    denominator = (weights * expected).sum()
    if denominator == 0:
        return None
    return clean_number(float(1 - (weights * confusion).sum() / denominator))


def agreement(rows: pd.DataFrame, column: str, labels: Sequence[str]) -> dict[str, Any]:
    """Cohen's kappa for every reader pair and Fleiss' kappa overall, on one answer column.

    Each pair uses the cases both readers answered; Fleiss uses the cases every reader answered.
    The numbers of cases used and left out are reported.
    """
    answered = rows[~rows["missing"]]
    readers = first_seen(rows["reader"])
    all_cases = rows["case"].nunique()
    wide = answered.pivot(index="case", columns="reader", values=column).reindex(columns=readers)
    # Label positions per case x reader, -1 where the reader gave no answer.
    codes = (
        np.stack(
            [_codes(wide[r].astype(object).fillna(labels[0]), labels) for r in readers], axis=1
        )
        if len(wide)
        else np.zeros((0, len(readers)), dtype=int)
    )
    codes[wide.isna().to_numpy()] = -1
    index = list(range(len(labels)))
    pairs = []
    for (i, a), (j, b) in itertools.combinations(enumerate(readers), 2):
        both = (codes[:, i] >= 0) & (codes[:, j] >= 0)
        kappa = cohen_kappa(codes[both, i], codes[both, j], len(labels)) if both.any() else None
        pairs.append({"reader_a": a, "reader_b": b, "kappa": kappa, "n_cases": int(both.sum())})
    complete = codes[(codes >= 0).all(axis=1)]
    fleiss = None
    if len(readers) >= 2 and len(complete):
        counts = np.stack([(complete == k).sum(axis=1) for k in index], axis=1)
        fleiss = fleiss_kappa(counts)
    pair_values = [p["kappa"] for p in pairs if p["kappa"] is not None]
    several = len(readers) >= 2
    return {
        "labels": list(labels),
        "pairs": pairs,
        "mean_pairwise_kappa": float(np.mean(pair_values)) if pair_values else None,
        "fleiss_kappa": fleiss,
        "fleiss_n_cases": len(complete) if several else 0,
        "fleiss_excluded_cases": all_cases - len(complete) if several else 0,
        "n_readers": len(readers),
    }
