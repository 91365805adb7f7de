"""The report's tables as plain rows: one shape shared by the workbook, the text view and the GUI.

A :class:`Table` is a title, a header and rows of plain values (str, int, float or None). Floats keep
full precision here; each view decides how to display them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from dermstudy.entities import BY_CODE
from dermstudy.reports.display import clip_unit, few_readers_warning, is_clipped
from dermstudy.reports.figures import display_label

Value = str | int | float | None


@dataclass
class Table:
    name: str
    title: str
    header: list[str]
    rows: list[list[Value]]
    notes: list[str] = field(default_factory=list)
    # Which columns hold ratios/AUCs (shown with two decimals); others are shown as they are.
    decimal_columns: set[int] = field(default_factory=set)
    # A column whose cells show a picture (the fooling-cases gallery): ``images[row]`` is a PNG.
    image_column: int | None = None
    images: dict[int, bytes] = field(default_factory=dict)


REPORT_HEADER = [
    "class",
    "name",
    "precision",
    "recall",
    "f1",
    "support",
    "AUC binary",
    "AUC rating",
    "CI low",
    "CI high",
    "CI of",
    "CI method",
]
_REPORT_DECIMALS = {2, 3, 4, 6, 7, 8, 9}


def _label_name(label: str) -> str:
    return BY_CODE[label].name if label in BY_CODE else display_label(label)


def report_rows(rep: dict[str, Any]) -> list[list[Value]]:
    """Per-class rows, then accuracy, macro and weighted averages (classification_report layout)."""
    rows: list[list[Value]] = []
    for label in rep["labels"]:
        pc, auc = rep["per_class"][label], rep["auc"].get(label, {})
        rows.append(
            [
                label,
                _label_name(label),
                pc["precision"],
                pc["recall"],
                pc["f1"],
                pc["support"],
                auc.get("binary"),
                auc.get("rating"),
                auc.get("ci_low"),
                auc.get("ci_high"),
                auc.get("ci_of"),
                auc.get("ci_method"),
            ]
        )
    total = rep["n_answered"]
    rows.append(["accuracy", "", None, None, rep["accuracy"], total] + [None] * 6)
    for key, title in (("macro_avg", "macro avg"), ("weighted_avg", "weighted avg")):
        avg = rep[key]
        rows.append([title, "", avg["precision"], avg["recall"], avg["f1"], total] + [None] * 6)
    return rows


def _counts_note(rep: dict[str, Any]) -> str:
    return (
        f"{rep['n_answered']} answers scored of {rep['n_expected']} expected; "
        f"{rep['missing']} missing (not scored, not guessed)"
    )


def report_table(name: str, title: str, rep: dict[str, Any]) -> Table:
    return Table(
        name, title, REPORT_HEADER, report_rows(rep), [_counts_note(rep)], set(_REPORT_DECIMALS)
    )


def subsets_table(report: dict[str, Any]) -> Table:
    rows, notes = [], []
    for source in ("real", "synthetic"):
        rep = report["subsets"][source]
        rows += [[source, *row] for row in report_rows(rep)]
        notes.append(f"{source}: {_counts_note(rep)}")
    return Table(
        "subsets",
        "Entity report on real cases and on synthetic cases",
        ["subset", *REPORT_HEADER],
        rows,
        notes,
        {c + 1 for c in _REPORT_DECIMALS},
    )


def study_table(report: dict[str, Any]) -> Table:
    study, software = report["study"], report["software"]
    rows: list[list[Value]] = [
        ["study", study["name"]],
        ["study id", study["id"]],
        ["randomisation seed", study["seed"]],
        ["created", study["created_at"]],
        ["scored cases", study["n_cases"]],
        ["real cases", study["n_real"]],
        ["synthetic cases", study["n_synthetic"]],
        ["readers", ", ".join(r["name"] for r in report["readers"])],
        ["missing answers", report["missing"]["total"]],
    ]
    scores = report.get("scores")  # the report's one rating-or-binary choice (older JSON lacks it)
    if scores:
        rows.append(
            [
                "main AUC score",
                f"AI vs real: {scores['ai_vs_real']}, entity: {scores['entity']} "
                f"(from {scores['from']})",
            ]
        )
    for key, value in flatten_settings(study.get("settings", {})):
        rows.append([f"setting: {key}", value])
    for code, by_source in study["cases_by_entity"].items():
        rows.append(
            [f"cases: {code}", f"{by_source['real']} real, {by_source['synthetic']} synthetic"]
        )
    for key, value in software.items():
        rows.append([f"software: {key}", value])
    for key, value in report["methods"].items():
        rows.append([f"method: {key}", value])
    # Text values keep the key/value sheet left-aligned and uniform in every view.
    rows = [[key, None if value is None else str(value)] for key, value in rows]
    return Table("study", "Study design and software", ["item", "value"], rows)


def flatten_settings(settings: Any, prefix: str = "") -> list[tuple[str, Value]]:
    """Nested study settings as (dotted key, plain value) pairs; lists become comma-separated."""
    if isinstance(settings, dict):
        pairs: list[tuple[str, Value]] = []
        for key in sorted(settings):
            pairs += flatten_settings(settings[key], f"{prefix}{key}.")
        return pairs
    key = prefix.rstrip(".")
    if isinstance(settings, list):
        return [(key, ", ".join(str(v) for v in settings))]
    if isinstance(settings, str | int | float) or settings is None:
        return [(key, settings)]
    return [(key, str(settings))]


def image_labels(answers: pd.DataFrame, cases: pd.DataFrame | None) -> pd.Series:
    """``source:source_id`` of each answer's image (e.g. ``HAM10000:ISIC_0024306``), else ''."""
    if cases is None or "image_source" not in cases.columns:
        return pd.Series([""] * len(answers), index=answers.index)
    label = (
        cases["image_source"].astype(str) + ":" + cases["image_source_id"].fillna("").astype(str)
    )
    mapping = dict(zip(cases["case"], label.str.rstrip(":"), strict=True))
    return answers["case"].map(mapping).fillna("")


def answers_table(answers: pd.DataFrame, cases: pd.DataFrame | None = None) -> Table:
    """Raw answers joined with the key, one row per reader x case (blank answer = missing)."""
    header = [
        "reader",
        "case",
        "image",
        "true entity",
        "true source",
        "answered entity",
        "confidence",
        "AI vote",
        "AI scale",
        "seconds",
        "entity correct",
        "source correct",
        "missing",
    ]
    frame = answers
    answered = ~frame["missing"]
    columns = [
        frame["reader"],
        frame["case"],
        image_labels(frame, cases),
        frame["true_entity"],
        frame["true_source"],
        frame["pred_entity"],
        frame["confidence"],
        frame["ai_vote"],
        frame["ai_scale"],
        frame["seconds"],
        (frame["true_entity"] == frame["pred_entity"]).where(answered),
        (frame["true_source"] == frame["pred_source"]).where(answered),
        frame["missing"],
    ]
    lists = [[_cell(v) for v in col.tolist()] for col in columns]
    rows = [list(r) for r in zip(*lists, strict=True)]
    return Table("answers", "Answers joined with the key", header, rows, decimal_columns={9})


def _cell(value: Any) -> Value:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and value != value:
        return None
    return value


def readers_table(report: dict[str, Any]) -> Table:
    header = [
        "reader",
        "answered",
        "missing",
        "entity accuracy",
        "entity macro F1",
        "entity weighted F1",
        "AI accuracy",
        "AI macro F1",
        "AI AUC binary",
        "AI AUC rating",
        "AI AUC CI low",
        "AI AUC CI high",
        "median seconds",
    ]
    counts = {r["name"]: r for r in report["readers"]}
    rows = []
    for name, rep in report["per_reader"].items():
        ent, ai = rep["entity"], rep["ai_vs_real"]
        auc = ai["auc"]["synthetic"]
        rows.append(
            [
                name,
                ent["n_answered"],
                ent["missing"],
                ent["accuracy"],
                ent["macro_avg"]["f1"],
                ent["weighted_avg"]["f1"],
                ai["accuracy"],
                ai["macro_avg"]["f1"],
                auc["binary"],
                auc["rating"],
                auc["ci_low"],
                auc["ci_high"],
                counts[name]["median_seconds"],
            ]
        )
    return Table(
        "readers",
        "Per-reader results",
        header,
        rows,
        [
            "AI AUC: positive class AI-generated; CI: DeLong, for the rating AUC where "
            "collected, else the binary one"
        ],
        set(range(3, 13)),
    )


def reader_summary_table(report: dict[str, Any]) -> Table:
    header = ["metric", "mean", "SD", "min", "max", "readers"]
    rows: list[list[Value]] = [
        [key.replace("_", " "), st["mean"], st["sd"], st["min"], st["max"], st["n_readers"]]
        for key, st in report["reader_summary"]["metrics"].items()
    ]
    return Table(
        "reader_summary",
        "Mean and spread across readers",
        header,
        rows,
        ["SD across readers (n - 1)"],
        {1, 2, 3, 4},
    )


def reader_averaged_table(report: dict[str, Any]) -> Table:
    """Obuchowski-Rockette reader-averaged AUC per task, random- and fixed-reader intervals."""
    header = [
        "task",
        "score",
        "AUC",
        "SE",
        "df",
        "CI low",
        "CI high",
        "fixed-reader CI low",
        "fixed-reader CI high",
        "lowest reader AUC",
        "highest reader AUC",
        "cases",
    ]
    averaged = report["reader_summary"]["reader_averaged_auc"]
    rows: list[list[Value]] = []
    warnings: list[str] = []
    clipped = False
    for task, result in averaged.items():
        if not isinstance(result, dict):
            continue
        rr, fr = result["random_readers"], result["fixed_readers"]
        task_name = "AI vs real" if task == "ai_vs_real" else task
        clipped = clipped or is_clipped(rr["ci_low"], rr["ci_high"])
        clipped = clipped or is_clipped(fr["ci_low"], fr["ci_high"])
        warning = few_readers_warning(len(result["reader_aucs"]), rr["df"])
        if warning is not None:
            warnings.append(f"{task_name}: {warning}")
        rows.append(
            [
                task_name,
                result["score"],
                result["auc"],
                rr["se"],
                rr["df"],
                clip_unit(rr["ci_low"]),  # shown clipped; the JSON keeps the raw limits
                clip_unit(rr["ci_high"]),
                clip_unit(fr["ci_low"]),
                clip_unit(fr["ci_high"]),
                min(result["reader_aucs"]),
                max(result["reader_aucs"]),
                averaged.get("n_cases"),
            ]
        )
    notes = (
        [averaged["note"]]
        if "note" in averaged
        else [
            f"Obuchowski-Rockette with {averaged.get('covariance', 'DeLong')} covariances on the "
            "cases every reader answered; "
            "random readers: Hillis df, t interval; fixed readers: normal interval"
        ]
    ) + _averaged_rule_notes(averaged)
    if clipped:
        notes.append(
            "Interval limits beyond [0, 1] are shown as 0 or 1; the report's JSON keeps the raw "
            "limits (as OR-DBM MRMC prints them)"
        )
    notes += [f"Warning: {w}" for w in warnings]
    return Table(
        "reader_averaged",
        "Reader-averaged AUC (multi-reader ROC)",
        header,
        rows,
        notes,
        {2, 3, 4, 5, 6, 7, 8, 9, 10},
    )


def _averaged_rule_notes(averaged: dict[str, Any]) -> list[str]:
    """Which incomplete-reader rule ran and who it left out (reader-averaged AUC)."""
    notes = [f"rule: {averaged['rule']}"] if averaged.get("rule") else []
    for entry in averaged.get("left_out", []):
        notes.append(f"left out: {entry['reader']} ({entry['reason']})")
    return notes


def agreement_table(report: dict[str, Any]) -> Table:
    header = ["task", "reader A", "reader B", "kappa", "cases", "statistic"]
    rows: list[list[Value]] = []
    for task, agr in report["agreement"].items():
        for pair in agr["pairs"]:
            rows.append(
                [task, pair["reader_a"], pair["reader_b"], pair["kappa"], pair["n_cases"], "Cohen"]
            )
        if agr["n_readers"] >= 2:
            rows.append(
                [task, "all readers", "", agr["fleiss_kappa"], agr["fleiss_n_cases"], "Fleiss"]
            )
    notes = [] if rows else ["agreement needs at least two readers"]
    return Table("agreement", "Inter-reader agreement", header, rows, notes, {3})


def confusion_tables(report: dict[str, Any]) -> list[Table]:
    """Count and row-normalised matrices of the pooled, subset and AI-vs-real reports."""
    sources = [
        ("entity", "Entity", report["entity"]),
        ("entity_real", "Entity, real cases", report["subsets"]["real"]),
        ("entity_synthetic", "Entity, synthetic cases", report["subsets"]["synthetic"]),
        ("ai_vs_real", "AI-generated vs real", report["ai_vs_real"]),
    ]
    tables = []
    for key, title, rep in sources:
        labels = rep["labels"]
        counts = [
            [lab, *row, sum(row)] for lab, row in zip(labels, rep["confusion_matrix"], strict=True)
        ]
        tables.append(
            Table(
                f"cm_{key}",
                f"{title}: counts (rows true, columns predicted)",
                ["true \\ predicted", *labels, "total"],
                counts,
            )
        )
        norm = [
            [lab, *row] for lab, row in zip(labels, rep["confusion_matrix_normalized"], strict=True)
        ]
        tables.append(
            Table(
                f"cmn_{key}",
                f"{title}: row-normalised",
                ["true \\ predicted", *labels],
                norm,
                [],
                set(range(1, len(labels) + 1)),
            )
        )
    return tables


def model_tables(report: dict[str, Any]) -> list[Table]:
    """Table 2 of the research per classifier: model and readers side by side."""
    tables = []
    for model, result in report.get("reader_vs_model", {}).items():
        header = [
            "class",
            "AI model precision",
            "AI model recall",
            "AI model F1",
            "dermatologists precision",
            "dermatologists recall",
            "dermatologists F1",
            "model support",
            "dermatologists support",
        ]
        rows = [
            [
                r["row"],
                r["model_precision"],
                r["model_recall"],
                r["model_f1"],
                r["readers_precision"],
                r["readers_recall"],
                r["readers_f1"],
                r["support"],
                r.get("readers_support"),
            ]
            for r in result["table"]
        ]
        rep = result["model"]
        tables.append(
            Table(
                f"model_{model}",
                f"Reader vs model: {model}",
                header,
                rows,
                [
                    f"model: {_counts_note(rep)}",
                    f"dermatologists: all readers pooled, on {result['readers_scope']}",
                ],
                set(range(1, 7)),
            )
        )
    return tables


def missing_table(report: dict[str, Any]) -> Table:
    rows = [[m["reader"], m["case"]] for m in report["missing"]["answers"]]
    return Table(
        "missing",
        "Missing answers (not scored)",
        ["reader", "case"],
        rows,
        [f"{report['missing']['total']} missing answers"],
    )


def data_tables(answers: pd.DataFrame | None, cases: pd.DataFrame | None = None) -> list[Table]:
    """The tables made from the study's data alone (no report needed): the raw answers."""
    return [answers_table(answers, cases)] if answers is not None else []


def all_tables(
    report: dict[str, Any],
    answers: pd.DataFrame | None = None,
    cases: pd.DataFrame | None = None,
    *,
    data_only: list[Table] | None = None,
) -> list[Table]:
    """Every table of the report in workbook order (the raw answers only when given).

    ``data_only``: the :func:`data_tables` of ``answers`` and ``cases``, when already made.
    """
    tables = [study_table(report)]
    tables += data_only if data_only is not None else data_tables(answers, cases)
    tables += [
        report_table("entity", "Entity classification, all readers pooled", report["entity"]),
        report_table(
            "ai_vs_real", "AI-generated vs real, all readers pooled", report["ai_vs_real"]
        ),
        subsets_table(report),
        readers_table(report),
        reader_summary_table(report),
        reader_averaged_table(report),
        agreement_table(report),
        *model_tables(report),
        *_inside_tables(report),
        missing_table(report),
    ]
    return tables


def _inside_tables(report: dict[str, Any]) -> list[Table]:
    from dermstudy.reports.inside_tables import inside_tables

    return inside_tables(report)
