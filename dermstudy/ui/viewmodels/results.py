"""The Results panel's summary line and headline cards, from the analysis report."""

from __future__ import annotations

from typing import Any

from dermstudy.analysis.metrics import RATING, chosen_auc
from dermstudy.reports.display import fmt, fmt_interval, fmt_pct


def _num(value: float | None) -> str:
    return fmt(value, 3, missing="–")


def headline_numbers(report: dict[str, Any]) -> list[tuple[str, str]]:
    """The few numbers a coordinator looks at first, formatted for the summary cards."""
    ai_auc = report["ai_vs_real"]["auc"]["synthetic"]
    # The report chose rating or binary once (``ci_of``); the card shows that choice.
    auc_text = _num(chosen_auc(ai_auc))
    if ai_auc.get("ci_low") is not None:
        auc_text += f" <span style='font-size:11pt'>{fmt_interval(ai_auc['ci_low'], ai_auc['ci_high'])}</span>"
    kappa = report["agreement"]["entity"]["fleiss_kappa"]
    return [
        ("entity accuracy (pooled)", fmt_pct(report["entity"]["accuracy"])),
        ("entity macro F1", _num(report["entity"]["macro_avg"]["f1"])),
        ("AI-vs-real accuracy", fmt_pct(report["ai_vs_real"]["accuracy"])),
        (
            "AI-vs-real AUC " + ("(scale)" if ai_auc.get("ci_of") == RATING else "(binary)"),
            auc_text,
        ),
        ("readers", str(len(report["readers"]))),
        ("answers scored", f"{report['entity']['n_answered']:,}"),
        ("missing answers", f"{report['missing']['total']:,}"),
        ("Fleiss' kappa, entity", _num(kappa)),
    ]


def summary_text(report: dict[str, Any]) -> str:
    study = report["study"]
    return (
        f"{study['name']}: {study['n_cases']} scored cases ({study['n_real']} real, "
        f"{study['n_synthetic']} synthetic), {len(report['readers'])} reader(s), "
        f"{report['missing']['total']} missing answer(s)."
    )
