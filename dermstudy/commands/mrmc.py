"""``dermstudy mrmc FILE.csv`` (multi-reader multi-case ROC analysis of a long ratings table) and
``dermstudy mrmc size PILOT.csv`` (readers and cases for the next study, or its power)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dermstudy.commands import _common
from dermstudy.commands._common import UserError, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "mrmc",
        help="MRMC ROC analysis (OR/DBM) of a ratings CSV; 'mrmc size' sizes the next study",
        description="Multi-reader multi-case ROC analysis of a long ratings table with columns "
        "reader, case, modality, truth (0/1), rating (higher = more likely abnormal), as the "
        "Iowa OR-DBM MRMC program, RJafroc and MRMCaov do it. "
        "'dermstudy mrmc size PILOT.csv' gives the cases needed (or the power) for a next "
        "study from the pilot's OR variance components (Hillis, Obuchowski & Berbaum 2011).",
    )
    parser.add_argument(
        "file", metavar="FILE.csv", help="the ratings table, or the word 'size' (then PILOT.csv)"
    )
    parser.add_argument("pilot", nargs="?", metavar="PILOT.csv", help=argparse.SUPPRESS)
    parser.add_argument("--method", choices=("or", "dbm"), default="or", help="default or")
    parser.add_argument(
        "--cov",
        choices=("jackknife", "delong", "bootstrap"),
        default="jackknife",
        help="AUC covariance for OR (default jackknife, as the Iowa program)",
    )
    parser.add_argument("--alpha", type=float, default=0.05, help="significance level (0.05)")
    parser.add_argument("--n-boot", type=int, default=2000, metavar="N", help="--cov bootstrap")
    parser.add_argument("--seed", type=int, default=20240, help="bootstrap seed (20240)")
    _common.add_json_option(parser)
    parser.add_argument("--xlsx", metavar="FILE", type=Path, help="also write a workbook")
    size = parser.add_argument_group("mrmc size PILOT.csv")
    size.add_argument("--readers", type=int, metavar="J", help="readers of the next study")
    size.add_argument("--cases", type=int, metavar="K", help="cases: give J and K for power")
    size.add_argument(
        "--effect", type=float, metavar="D", help="AUC difference to detect (default: pilot's)"
    )
    size.add_argument(
        "--power", type=float, default=0.8, metavar="P", help="target power (default 0.8)"
    )
    size.add_argument(
        "--analysis",
        choices=("rrrc", "frrc", "rrfc"),
        default="rrrc",
        help="generalise to readers and cases (rrrc, default), cases only or readers only",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from dermstudy.analysis import mrmc

    if args.file == "size":
        return _run_size(args)
    if args.pilot:
        raise UserError(f"unexpected argument {args.pilot!r} (one ratings file at a time)")
    ratings = _read(args.file)
    result = mrmc.analyse(ratings, args.method, args.cov, args.alpha, args.n_boot, args.seed)
    from dermstudy.reports import mrmc as views

    if args.xlsx:
        views.write_xlsx(args.xlsx, result)
    if args.json:
        print_json(mrmc.jsonable(result))
    else:
        sys.stdout.write(views.format_text(result))
        if args.xlsx:
            print(f"workbook: {args.xlsx}")
    return 0


def _read(path: str):
    from dermstudy.analysis import mrmc

    if not Path(path).is_file():
        raise UserError(f"{path}: no such file")
    return mrmc.read_ratings_csv(path)


def _run_size(args: argparse.Namespace) -> int:
    from dermstudy.analysis import mrmc
    from dermstudy.reports.mrmc import format_size_text

    if not args.pilot:
        raise UserError("mrmc size needs the pilot study's ratings: dermstudy mrmc size PILOT.csv")
    comp = mrmc.pilot_components(_read(args.pilot))
    effect = comp["effect"] if args.effect is None else args.effect
    if effect == 0:
        raise UserError("--effect must not be 0 (the pilot's modalities have equal mean AUC)")
    if args.cases is not None and args.readers is None:
        raise UserError("--cases needs --readers (power of J readers x K cases)")
    if args.readers is not None and args.cases is not None:
        rows = [mrmc.power(args.readers, args.cases, effect, comp, args.alpha, args.analysis)]
        unreachable: list[int] = []
    else:
        rows, unreachable = [], []
        for j in [args.readers] if args.readers is not None else range(3, 21):
            try:
                rows.append(
                    mrmc.cases_for_power(j, effect, comp, args.power, args.alpha, args.analysis)
                )
            except mrmc.MrmcInputError:
                if args.readers is not None:
                    raise
                unreachable.append(j)
    if args.json:
        designs = {"pilot": comp, "designs": rows, "unreachable_readers": unreachable}
        print_json(mrmc.jsonable(designs))
    else:
        sys.stdout.write(format_size_text(rows, comp, unreachable))
    return 0
