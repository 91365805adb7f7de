"""``dermstudy dataset import DIR`` and ``dermstudy dataset summary``."""

from __future__ import annotations

import argparse
import sys

from dermstudy.commands import _common
from dermstudy.commands._common import open_workspace, print_json
from dermstudy.jobs import CancelToken, TextProgressBar


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("dataset", help="import and summarise real images (HAM10000)")
    sub = parser.add_subparsers(dest="dataset_command", metavar="ACTION", required=True)

    imp = sub.add_parser("import", help="import a HAM10000-layout folder (metadata CSV + images)")
    imp.add_argument("folder", help="folder with HAM10000_metadata.csv and the images below it")
    imp.add_argument("--metadata", help="metadata CSV if it is not HAM10000_metadata.csv in DIR")
    _common.add_json_option(imp, "the summary")
    imp.set_defaults(handler=run_import)

    summary = sub.add_parser("summary", help="counts per entity and source")
    _common.add_json_option(summary, "the summary")
    summary.set_defaults(handler=run_summary)


def run_import(args: argparse.Namespace) -> int:
    from dermstudy.datasets.ham10000 import import_ham10000

    with open_workspace(args) as ws:
        bar = TextProgressBar(label="import")
        summary = import_ham10000(ws, args.folder, bar, CancelToken(), metadata=args.metadata)
    if args.json:
        print_json(summary.to_dict())
    else:
        print(summary.to_text())
    return (
        1 if summary.skipped and not summary.imported_total and not summary.already_present else 0
    )


def run_summary(args: argparse.Namespace) -> int:
    from dermstudy.datasets.summary import dataset_summary, summary_text

    with open_workspace(args) as ws:
        summary = dataset_summary(ws)
    if args.json:
        print_json(summary)
    else:
        sys.stdout.write(summary_text(summary) + "\n")
    return 0
