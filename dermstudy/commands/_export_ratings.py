"""``dermstudy study export-ratings STUDY --format imrmc|lrc|jafroc|mrmcaov-csv``: a study's
AI-vs-real ratings for the field's MRMC programs (iMRMC, Iowa OR-DBM MRMC / RJafroc, MRMCaov)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dermstudy.commands import _common
from dermstudy.commands._common import open_workspace, print_json

# The keys of analysis.rating_exports.FORMATS, which needs pandas and scikit-learn: too slow to load
# for building the parser at every start. A test keeps the two equal.
FORMAT_NAMES = ("mrmcaov-csv", "imrmc", "lrc", "jafroc")


def register_study_action(sub: argparse._SubParsersAction) -> None:
    exp = sub.add_parser(
        "export-ratings",
        help="the AI-vs-real ratings for iMRMC, the Iowa program/RJafroc, JAFROC or MRMCaov "
        "(coordinators only: contains the truth)",
    )
    exp.add_argument("name", metavar="STUDY")
    exp.add_argument("--format", required=True, choices=FORMAT_NAMES, dest="fmt")
    exp.add_argument(
        "--out", metavar="FILE", type=Path, help="file to write (default STUDY-ratings.EXT)"
    )
    _common.add_json_option(exp, "a summary")
    exp.set_defaults(handler=run_export_ratings)


def run_export_ratings(args: argparse.Namespace) -> int:
    from dermstudy.analysis.data import load_study
    from dermstudy.analysis.rating_exports import FORMATS, study_ratings, write

    with open_workspace(args, create=False) as ws:
        data = load_study(ws, args.name)
        exported = study_ratings(data.answers, modality=data.study["name"])
        out = args.out or Path(f"{data.study['name']}-ratings{FORMATS[args.fmt]}")
        write(exported.ratings, args.fmt, out, title=f"dermstudy study {data.study['name']}")
        with ws.transaction():
            ws.audit("study.export-ratings", data.study["name"], {"format": args.fmt})
    r = exported.ratings
    summary = {
        "file": str(out),
        "format": args.fmt,
        "readers": r.readers,
        "n_cases": len(r.cases),
        "left_out": exported.left_out,
        "rating": exported.note,
    }
    if args.json:
        print_json(summary)
        return 0
    print(f"wrote {out} ({len(r.readers)} readers x {len(r.cases)} cases; {exported.note})")
    if exported.left_out:
        print(
            f"left out (not every case answered): {'; '.join(exported.left_out)}", file=sys.stderr
        )
    return 0
