"""Views of an MRMC analysis (:func:`dermstudy.analysis.mrmc.analyse`): text at the Iowa OR-DBM
MRMC program's printed precision, report tables, and the workbook of ``dermstudy mrmc --xlsx``."""

from __future__ import annotations

import math
from pathlib import Path

from dermstudy.reports.tables import Table, Value

ANALYSES = (
    ("rrrc", "Random readers, random cases"),
    ("frrc", "Fixed readers, random cases"),
    ("rrfc", "Random readers, fixed cases"),
)
OR_COMPONENTS = (
    ("var_r", "Var(R)", None),
    ("var_tr", "Var(T*R)", None),
    ("cov1", "Cov1", "rho_1"),
    ("cov2", "Cov2", "rho_2"),
    ("cov3", "Cov3", "rho_3"),
    ("var_error", "Var(Error)", None),
)
DBM_COMPONENTS = (
    ("var_r", "Var(R)"),
    ("var_c", "Var(C)"),
    ("var_tr", "Var(T*R)"),
    ("var_tc", "Var(T*C)"),
    ("var_rc", "Var(R*C)"),
    ("var_error", "Var(T*R*C) + Var(Error)"),
)


def _f(value: float | None, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return f"{value:.{digits}f}"


def _df(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else _f(value, 2)


def _p(value: float) -> str:
    return "<0.0001" if value < 0.0001 else _f(value, 4)


# One modality difference as a table row: the same columns for every analysis and every reader.
DIFFERENCE_COLUMNS = ["comparison", "difference", "SE", "df", "t or z", "p", "CI low", "CI high"]


def _difference_row(d: dict) -> list[Value]:
    statistic = d.get("t", d.get("z"))  # t with a df, z without one
    estimate = [d["comparison"], d["difference"], d["se"], d.get("df"), statistic, d["p"]]
    return [*estimate, d["ci_low"], d["ci_high"]]


def tables(result: dict) -> list[Table]:
    """The analysis as report tables (full precision; the workbook and the GUI format them)."""
    a = result["analysis"]
    method = a["method"].upper()
    note = f"{method} method, {a['covariance']} covariance, alpha {result['design']['alpha']}"
    out = [
        Table(
            "mrmc_aucs",
            "Empirical AUC per reader and modality",
            ["modality", "reader", "AUC"],
            [[r["modality"], r["reader"], r["auc"]] for r in result["reader_aucs"]]
            + [[m["modality"], "reader average", m["auc"]] for m in result["modality_aucs"]],
            [note],
        )
    ]
    tests: list[list[Value]] = []
    diffs: list[list[Value]] = []
    single: list[list[Value]] = []
    for key, title in ANALYSES:
        part = a.get(key, {})
        if "f" in part:
            tests.append([title, "F", part["f"], part["ndf"], part["ddf"], part["p"]])
        elif "chi2" in part:
            tests.append([title, "chi-square", part["chi2"], part["df"], None, part["p"]])
        diffs += [[title, *_difference_row(d)] for d in part.get("differences", [])]
        for s in part.get("single", []):
            single.append(
                [title, s["modality"], s["auc"], s["se"], s.get("df"), s["ci_low"], s["ci_high"]]
            )
    if tests:
        out.append(
            Table(
                "mrmc_tests",
                "Test of equal modality AUCs",
                ["analysis", "statistic", "value", "df", "denominator df", "p"],
                tests,
                [note, "denominator df of random readers: Hillis (2007)"],
            )
        )
        out.append(
            Table(
                "mrmc_differences",
                "Modality differences (first minus second)",
                ["analysis", *DIFFERENCE_COLUMNS],
                diffs,
                [note, "no df: normal (z) interval"],
            )
        )
    out.append(
        Table(
            "mrmc_single",
            "Reader-averaged AUC of each modality",
            ["analysis", "modality", "AUC", "SE", "df", "CI low", "CI high"],
            single,
            [note, "no df: normal (z) interval"],
        )
    )
    per_reader = a.get("frrc", {}).get("per_reader", [])
    if per_reader:
        out.append(
            Table(
                "mrmc_per_reader",
                "Modality differences for each reader (fixed readers)",
                ["reader", *DIFFERENCE_COLUMNS],
                [[d["reader"], *_difference_row(d)] for d in per_reader],
                [note],
            )
        )
    comp_rows: list[list[Value]] = []
    if a["method"] == "or":
        comp = a["components"]
        for key, label, rho in OR_COMPONENTS:
            if key in comp and not (isinstance(comp[key], float) and math.isnan(comp[key])):
                comp_rows.append(["OR", label, comp[key], comp[rho] if rho else None])
    dbm_comp = a.get("components") if a["method"] == "dbm" else None
    if dbm_comp:
        for key, label in DBM_COMPONENTS:
            comp_rows.append(["DBM", label, dbm_comp[key], None])
    if comp_rows:
        out.append(
            Table(
                "mrmc_components",
                "Variance components (ANOVA estimates; can be negative)",
                ["model", "component", "estimate", "correlation"],
                comp_rows,
                ["for sizing a next study: dermstudy mrmc size"],
            )
        )
    ms = a.get("mean_squares") or result.get("dbm_mean_squares")
    if ms:
        out.append(
            Table(
                "mrmc_dbm_ms",
                "DBM mean squares (jackknife pseudovalues)",
                ["source", "mean square"],
                [[k, v] for k, v in ms.items()],
            )
        )
    return out


def format_text(result: dict) -> str:
    """The analysis as text, at the precision the Iowa OR-DBM MRMC program prints."""
    d = result["design"]
    a = result["analysis"]
    lines = [
        f"{len(d['modalities'])} modalities, {len(d['readers'])} readers, {d['n_cases']} cases "
        f"({d['n_normal']} normal, {d['n_abnormal']} abnormal); AUC: {d['auc']}",
        f"Method: {a['method'].upper()}, covariance: {a['covariance']}, alpha {d['alpha']}",
        "",
        "AUC per reader and modality",
    ]
    mods = d["modalities"]
    aucs = {(r["modality"], r["reader"]): r["auc"] for r in result["reader_aucs"]}
    lines.append("  reader      " + "".join(f"{m:>14}" for m in mods))
    for reader in d["readers"]:
        lines.append(f"  {reader:<12}" + "".join(f"{_f(aucs[(m, reader)], 8):>14}" for m in mods))
    lines.append(
        "  mean        " + "".join(f"{_f(m['auc'], 8):>14}" for m in result["modality_aucs"])
    )
    level = f"{100 * (1 - d['alpha']):g}%"
    for key, title in ANALYSES:
        part = a.get(key)
        if not part:
            continue
        lines += ["", f"{title} ({key.upper()})"]
        if "f" in part:
            lines.append(
                f"  F({part['ndf']}, {_df(part['ddf'])}) = {_f(part['f'], 2)}, "
                f"p = {_p(part['p'])}  (error term {_f(part['error_ms'], 8)})"
            )
        elif "chi2" in part:
            lines.append(
                f"  X2({part['df']}) = {_f(part['chi2'], 5)}, p = {_p(part['p'])}  "
                f"(error term {_f(part['error_ms'], 8)})"
            )
        for diff in part.get("differences", []):
            stat = (
                f"t = {_f(diff['t'], 2)}, df = {_df(diff['df'])}"
                if "t" in diff
                else (f"z = {_f(diff['z'], 2)}")
            )
            lines.append(
                f"  {diff['comparison']}: difference {_f(diff['difference'], 5)}, "
                f"SE {_f(diff['se'], 5)}, {stat}, p = {_p(diff['p'])}, {level} CI "
                f"({_f(diff['ci_low'], 5)}, {_f(diff['ci_high'], 5)})"
            )
        for row in part.get("single", []):
            df = f", df {_df(row['df'])}" if row.get("df") is not None else ""
            lines.append(
                f"  modality {row['modality']}: AUC {_f(row['auc'], 8)}, SE {_f(row['se'], 8)}"
                f"{df}, {level} CI ({_f(row['ci_low'], 8)}, {_f(row['ci_high'], 8)})"
            )
        if part.get("per_reader"):
            lines.append("  each reader:")
            for diff in part["per_reader"]:
                stat = f"t = {_f(diff['t'], 2)}" if "t" in diff else f"z = {_f(diff['z'], 2)}"
                lines.append(
                    f"    reader {diff['reader']}, {diff['comparison']}: "
                    f"{_f(diff['difference'], 5)}, SE {_f(diff['se'], 5)}, {stat}, "
                    f"p = {_p(diff['p'])}, CI ({_f(diff['ci_low'], 5)}, {_f(diff['ci_high'], 5)})"
                )
    for table in tables(result):
        if table.name in {"mrmc_components", "mrmc_dbm_ms"}:
            lines += ["", table.title]
            for row in table.rows:
                label = (
                    " ".join(str(v) for v in row[:-2]) if table.name == "mrmc_components" else ""
                )
                if table.name == "mrmc_components":
                    rho = f"  (correlation {_f(row[3], 8)})" if row[3] is not None else ""
                    lines.append(f"  {label:<30}{_f(row[2], 8):>14}{rho}")
                else:
                    lines.append(f"  {row[0]:<6}{_f(row[1], 8):>14}")
    return "\n".join(lines) + "\n"


def write_xlsx(path: Path, result: dict) -> Path:
    """The analysis as a workbook, one sheet per table (full precision)."""
    from dermstudy.reports.excel import write_workbook

    return write_workbook(path, tables(result), [])


def format_size_text(rows: list[dict], components: dict, unreachable: list[int] = ()) -> str:
    """Sizing results: one line per design; ``unreachable`` reader counts that no case count
    brings to the target power."""
    lines = [
        f"Pilot: {components['k_star']} cases; OR components Var(Error) "
        f"{_f(components['var_error'], 8)}, Cov1 {_f(components['cov1'], 8)}, "
        f"Cov2 {_f(components['cov2'], 8)}, Cov3 {_f(components['cov3'], 8)}, "
        f"MS(T*R) {_f(components['ms_tr'], 8)}",
        "",
        f"{'analysis':<9}{'readers':>8}{'cases':>8}{'effect':>10}{'power':>9}{'ddf':>9}{'ncp':>9}",
    ]
    for r in rows:
        lines.append(
            f"{r['analysis'].upper():<9}{r['readers']:>8}{r['cases']:>8}{r['effect']:>10.4f}"
            f"{r['power']:>9.4f}{_df(r['ddf']) if math.isfinite(r['ddf']) else 'chi2':>9}"
            f"{r['ncp']:>9.3f}"
        )
    if unreachable:
        counts = ", ".join(str(j) for j in unreachable)
        lines.append(f"(with {counts} readers no number of cases reaches the target power)")
    return "\n".join(lines) + "\n"
