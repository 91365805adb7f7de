"""``dermstudy report`` (study analysis: text, JSON, figures, workbook) and
``dermstudy predictions import|list`` (classifier predictions for the reader-vs-model table)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dermstudy.commands import _common
from dermstudy.commands._common import UserError, open_workspace, print_json, print_result


def register(subparsers: argparse._SubParsersAction) -> None:
    report = subparsers.add_parser(
        "report",
        help="analyse a study's answers: reports, ROC/AUC, readers, agreement, figures, Excel",
        description="Analyse a study. Without --json the tables are printed as text; "
        "--xlsx and --figures write the workbook and figure files as well.",
    )
    report.add_argument("study", metavar="STUDY", help="study name or id")
    report.add_argument(
        "--reader",
        action="extend",
        nargs="+",
        metavar="NAME",
        help="only these readers (--reader A B, or repeat --reader)",
    )
    _common.add_json_option(report, "the report")
    report.add_argument("--xlsx", metavar="FILE", type=Path, help="write the Excel workbook")
    report.add_argument("--figures", metavar="DIR", type=Path, help="write the figures here")
    report.add_argument(
        "--format",
        default="png",
        metavar="LIST",
        help="figure formats, comma-separated from png,svg,pdf (default png)",
    )
    report.add_argument(
        "--figure-width",
        metavar="WIDTH",
        default=None,
        help="lay the figures out for a printed width: single (85 mm), double (175 mm) or a "
        "number of mm (default: about 16 cm, for the screen and the workbook)",
    )
    report.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        help="write everything into DIR: report.json, report.xlsx, figures/",
    )
    report.add_argument(
        "--resamples",
        type=int,
        default=2000,
        metavar="N",
        help="bootstrap resamples for pooled multi-reader AUC intervals (default 2000)",
    )
    report.add_argument("--seed", type=int, default=20240, help="bootstrap seed (default 20240)")
    report.add_argument(
        "--cov",
        choices=("jackknife", "delong", "bootstrap"),
        default="jackknife",
        help="AUC covariance of the reader-averaged AUC (default jackknife, as the Iowa program)",
    )
    report.add_argument(
        "--complete-readers-only",
        action="store_true",
        help="reader-averaged AUC only from readers who answered every case (default: readers "
        "with any answer, on the cases all of them answered)",
    )
    report.add_argument(
        "--by",
        metavar="KEY",
        help="detection of synthetic images per generation setting: a provenance key such as "
        "model, guidance, sampler, base.sampler (any dotted key)",
    )
    report.set_defaults(handler=run_report)

    sub = _common.add_actions(
        subparsers,
        "predictions",
        "classifier predictions for a study's cases (reader-vs-model table)",
    )
    imp = sub.add_parser(
        "import",
        help="import a CSV/XLSX with header case,entity and/or one probability column per entity",
    )
    imp.add_argument("study", metavar="STUDY")
    imp.add_argument("file", metavar="FILE", type=Path, help=".csv or .xlsx")
    imp.add_argument("--model", required=True, metavar="NAME", help="name shown in the report")
    _common.add_json_option(imp)
    imp.set_defaults(handler=run_predictions_import)
    lst = sub.add_parser("list", help="models with predictions for a study")
    lst.add_argument("study", metavar="STUDY")
    _common.add_json_option(lst, "the list")
    lst.set_defaults(handler=run_predictions_list)


def parse_figure_width(text: str | None) -> float | None:
    """``single``/``double`` (journal columns) or millimetres; None for the default layout."""
    from dermstudy.reports.figures import JOURNAL_WIDTHS_MM

    if text is None:
        return None
    if text in JOURNAL_WIDTHS_MM:
        return JOURNAL_WIDTHS_MM[text]
    try:
        width = float(text)
    except ValueError:
        width = 0.0
    if not 60 <= width <= 400:
        raise UserError(
            f"--figure-width {text!r}: use single, double or a width in mm between 60 and 400"
        )
    return width


def parse_formats(text: str) -> tuple[str, ...]:
    from dermstudy.reports.figures import FIGURE_FORMATS

    formats = tuple(
        dict.fromkeys(f.strip().lower().lstrip(".") for f in text.split(",") if f.strip())
    )
    bad = [f for f in formats if f not in FIGURE_FORMATS]
    if bad or not formats:
        raise UserError(
            f"--format {text!r}: unknown format {bad[0] if bad else '(none)'}; "
            f"use a comma-separated list from {', '.join(FIGURE_FORMATS)}"
        )
    return formats


def run_report(args: argparse.Namespace) -> int:
    from dermstudy.analysis.data import load_study
    from dermstudy.jobs import TextProgressBar
    from dermstudy.reports.bundle import produce, report_json
    from dermstudy.reports.text import render_text
    from dermstudy.workspace.integrity import check_for_report

    formats = parse_formats(args.format)
    width_mm = parse_figure_width(args.figure_width)
    if args.resamples < 100:
        raise UserError(f"--resamples {args.resamples}: use at least 100")
    json_path = xlsx_path = figures_dir = None
    if args.out:
        json_path, xlsx_path, figures_dir = (
            args.out / "report.json",
            args.out / "report.xlsx",
            args.out / "figures",
        )
    xlsx_path = args.xlsx or xlsx_path
    figures_dir = args.figures or figures_dir
    if xlsx_path is not None and xlsx_path.suffix.lower() != ".xlsx":
        raise UserError(f"--xlsx {xlsx_path}: the file name must end in .xlsx")
    with open_workspace(args, create=False) as ws:
        data = load_study(ws, args.study, args.reader)
        integrity = check_for_report(ws, args.study, "cli")
    if not integrity.ok:
        print(f"dermstudy: warning: {integrity.message()}", file=sys.stderr)
    try:
        # The analysis, then JSON, workbook and figures; beside each other where that is safe.
        report, _timings = produce(
            data,
            figures_dir,
            analysis={
                "n_resamples": args.resamples,
                "seed": args.seed,
                "covariance": args.cov,
                "complete_readers_only": args.complete_readers_only,
                "by": args.by,
            },
            extra={"integrity": integrity.to_dict()},
            progress=TextProgressBar(label="report"),
            formats=formats,
            figure_width_mm=width_mm,
            json_path=json_path,
            xlsx_path=xlsx_path,
        )
    except OSError as exc:
        raise UserError(f"cannot write the report: {exc}") from None
    if args.json:
        sys.stdout.write(report_json(report) + "\n")
    else:
        if not integrity.ok:
            sys.stdout.write(f"WARNING: {integrity.message()}\n\n")
        sys.stdout.write(render_text(report))
    for label, path in (("json", json_path), ("workbook", xlsx_path), ("figures", figures_dir)):
        if path is not None:
            print(f"{label}: {path}", file=sys.stderr)
    return 0


def run_predictions_import(args: argparse.Namespace) -> int:
    from dermstudy.analysis.data import find_study
    from dermstudy.analysis.predictions import import_predictions

    with open_workspace(args, create=False) as ws:
        study = find_study(ws, args.study)
        summary = import_predictions(ws, study, args.model, args.file)
    return print_result(args, summary, _imported_text)


def _imported_text(summary: dict) -> str:
    return (
        f"{summary['imported']} prediction(s) of {summary['model']} imported for study "
        f"{summary['study']}; {summary['without_prediction']} scored case(s) without one"
    )


def run_predictions_list(args: argparse.Namespace) -> int:
    from dermstudy.analysis.data import find_study, load_predictions

    with open_workspace(args, create=False) as ws:
        study = find_study(ws, args.study)
        frame = load_predictions(ws, study["id"])
    counts = frame.groupby("model").size().to_dict() if not frame.empty else {}
    if args.json:
        print_json({"study": study["name"], "models": counts})
    elif not counts:
        print(f"no predictions for study {study['name']}")
    else:
        for model, n in counts.items():
            print(f"{model}: {n} case(s)")
    return 0
