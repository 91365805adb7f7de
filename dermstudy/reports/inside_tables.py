"""Report tables of the in-study comparisons (:mod:`dermstudy.analysis.inside`): detection per
generation setting with its test, and the model-vs-readers test beside Table 2."""

from __future__ import annotations

from typing import Any

from dermstudy.reports.tables import Table, Value


def detection_table(report: dict[str, Any]) -> Table | None:
    det = report.get("detection_by_setting")
    if not det:
        return None
    readers = list(dict.fromkeys(r for g in det["groups"] for r in g["reader_aucs"]))
    header = [det["key"], "cases", "answers", "share called AI", "mean AI rating"]
    header += ["mean reader AUC", *[f"AUC {r}" for r in readers]]
    keys = ("value", "n_cases", "n_answers", "share_called_ai", "mean_rating", "mean_reader_auc")
    rows: list[list[Value]] = [
        [g[k] for k in keys] + [g["reader_aucs"].get(r) for r in readers] for g in det["groups"]
    ]
    notes = [
        f"synthetic cases grouped by provenance key {det['key']!r}; AUC: each group's synthetic "
        f"cases against all {det['n_real_cases']} real cases"
    ]
    test = det["test"]
    if "rrrc" in test:
        rr = test["rrrc"]
        notes.append(
            f"test of equal AUC across settings: F({rr['ndf']}, {rr['ddf']:.2f}) = {rr['f']:.2f}, "
            f"p = {rr['p']:.4f} ({test['method']}; readers {', '.join(test['readers'])})"
        )
        for d in rr["differences"]:
            notes.append(
                f"{d['comparison']}: {d['difference']:.4f} (95% CI {d['ci_low']:.4f} to "
                f"{d['ci_high']:.4f}, p = {d['p']:.4f})"
            )
    else:
        notes.append(test.get("note", ""))
    return Table(
        "detection_by_setting",
        f"Detection of synthetic images by {det['key']}",
        header,
        rows,
        notes,
        set(range(3, len(header))),
    )


def model_test_tables(report: dict[str, Any]) -> list[Table]:
    out = []
    for model, result in report.get("reader_vs_model", {}).items():
        tests = result.get("tests") or {}
        header = ["entity", "model AUC", "mean reader AUC", "difference", "SE", "df", "p"]
        header += ["CI low", "CI high"]
        keys = ("model_auc", "mean_reader_auc", "difference", "se", "df", "p", "ci_low", "ci_high")
        rows: list[list[Value]] = [
            [code] + [t[k] for k in keys]
            for code, t in tests.items()
            if isinstance(t, dict) and "difference" in t
        ]
        notes = [
            "difference = mean reader AUC - model AUC; model as a fixed reader, readers random "
            "(single-treatment OR on the differences, jackknife, Hillis df; RJafroc's CAD method)"
        ]
        if tests.get("note"):
            notes.append(tests["note"])
        if tests.get("left_out"):
            notes.append(f"left out (did not answer every case): {', '.join(tests['left_out'])}")
        out.append(
            Table(
                f"modeltest_{model}",
                f"Model vs readers test: {model}",
                header,
                rows,
                notes,
                {1, 2, 3, 4, 7, 8},
            )
        )
    return out


def case_order_table(report: dict[str, Any]) -> Table | None:
    """Each reader's case order, one row per position (the audit trail of the design)."""
    trail = report.get("design_trail")
    if not trail or not trail.get("sessions"):
        return None
    practice = set(trail.get("practice_cases", []))
    rows: list[list[Value]] = []
    for session in trail["sessions"]:
        for position, case in enumerate(session["case_order"], start=1):
            rows.append([session["reader"], position, case, "yes" if case in practice else ""])
    notes = [
        f"study seed {trail.get('seed')}; each reader's order as stored when the session began "
        "(practice cases first)"
    ]
    notes += [
        f"{s['reader']}: started {s['started_at']}, finished {s['finished_at'] or '-'}"
        for s in trail["sessions"]
    ]
    return Table(
        "case_orders",
        "Case order per reader (audit trail)",
        ["reader", "position", "case", "practice"],
        rows,
        notes,
    )


def diagnosis_table(report: dict[str, Any]) -> Table | None:
    diag = report.get("diagnosis_real_vs_synthetic")
    if not diag or not diag.get("readers"):
        return None
    keys = ("reader", "n_real", "accuracy_real", "n_synthetic", "accuracy_synthetic", "difference")
    rows: list[list[Value]] = [[r[k] for k in keys] for r in diag["readers"]]
    notes = [
        "entity accuracy on the real and on the synthetic cases; difference = synthetic - real"
    ]
    if "paired_t" in diag:
        t = diag["paired_t"]
        notes.append(
            f"paired t-test across {diag['n_readers_paired']} readers: mean difference "
            f"{diag['mean_difference']:.4f}, t({t['df']}) = {t['t']:.3f}, p = {t['p']:.4f}"
        )
    if "wilcoxon" in diag:
        notes.append(f"Wilcoxon signed-rank: p = {diag['wilcoxon']['p']:.4f}")
    if diag.get("note"):
        notes.append(diag["note"])
    return Table(
        "diagnosis_real_vs_synthetic",
        "Diagnosis on real vs synthetic images, per reader",
        [
            "reader",
            "real cases",
            "accuracy real",
            "synthetic cases",
            "accuracy synthetic",
            "difference",
        ],
        rows,
        notes,
        {2, 4, 5},
    )


def fooling_table(report: dict[str, Any]) -> Table | None:
    fool = report.get("fooling_cases")
    if not fool or not (fool.get("synthetic_called_real") or fool.get("real_called_ai")):
        return None
    rows: list[list[Value]] = []
    for key, label in (
        ("synthetic_called_real", "synthetic, called real"),
        ("real_called_ai", "real, called AI"),
    ):
        for e in fool.get(key, []):
            settings = ", ".join(f"{k}={v}" for k, v in e["provenance"].items())
            rows.append(
                [
                    label,
                    e["case"],
                    e["entity"],
                    e["votes_wrong"],
                    e["n_votes"],
                    e["share_wrong"],
                    e["mean_rating"],
                    settings,
                    None,  # the image: a thumbnail where one is attached (reports.gallery)
                ]
            )
    return Table(
        "fooling_cases",
        "Cases that fooled readers (coordinator only)",
        [
            "kind",
            "case",
            "entity",
            "wrong votes",
            "votes",
            "share wrong",
            "mean AI rating",
            "generation settings",
            "image",
        ],
        rows,
        ["most-fooling first; reveals the truth: not for readers"],
        {5, 6},
        image_column=8,
    )


def agreement_extra_table(report: dict[str, Any]) -> Table | None:
    extra = report.get("agreement_extra")
    if not extra:
        return None
    rows: list[list[Value]] = []
    for task in ("entity", "ai_vs_real", "ai_scale"):
        entry = extra.get(task)
        if not entry:
            continue
        for key, value in entry.items():
            if key.startswith("krippendorff_alpha_"):
                level = key.removeprefix("krippendorff_alpha_")
                rows.append(
                    [
                        task,
                        f"Krippendorff's alpha ({level})",
                        "all",
                        value["alpha"],
                        value["ci_low"],
                        value["ci_high"],
                        None,
                    ]
                )
        if entry.get("fleiss_kappa"):
            f = entry["fleiss_kappa"]
            rows.append(
                [task, "Fleiss' kappa", "all", f["kappa"], f["ci_low"], f["ci_high"], f["n_cases"]]
            )
        for pair in entry["pairs"]:
            who = f"{pair['reader_a']} / {pair['reader_b']}"
            rows.append(
                [
                    task,
                    "Cohen's kappa",
                    who,
                    pair["kappa"],
                    pair["ci_low"],
                    pair["ci_high"],
                    pair["n_cases"],
                ]
            )
            for weights in ("linear", "quadratic"):
                if f"kappa_{weights}" in pair:
                    rows.append(
                        [
                            task,
                            f"weighted kappa ({weights})",
                            who,
                            pair[f"kappa_{weights}"],
                            None,
                            None,
                            pair["n_cases"],
                        ]
                    )
    return Table(
        "agreement_extra",
        "Agreement beyond kappa",
        ["task", "statistic", "readers", "value", "CI low", "CI high", "cases"],
        rows,
        [extra["method"]],
        {3, 4, 5},
    )


def inside_tables(report: dict[str, Any]) -> list[Table]:
    """The new tables in workbook order (none when the report has no such sections)."""
    tables = model_test_tables(report)
    for extra in (
        detection_table(report),
        diagnosis_table(report),
        fooling_table(report),
        agreement_extra_table(report),
        case_order_table(report),
    ):
        if extra is not None:
            tables.append(extra)
    return tables
