"""``dermstudy votes import``: answers recorded elsewhere (CSV/XLSX) into a study."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dermstudy.commands import _common
from dermstudy.commands._common import UserError, open_workspace, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    sub = _common.add_actions(subparsers, "votes", "answers recorded outside the reader window")
    imp = sub.add_parser(
        "import",
        help="import a CSV/XLSX with header case,entity,ai_or_real[,entity_confidence,seconds]",
    )
    imp.add_argument("study", metavar="STUDY")
    imp.add_argument("file", metavar="FILE", help=".csv or .xlsx")
    imp.add_argument("--reader", required=True, metavar="NAME")
    imp.add_argument(
        "--skip-invalid", action="store_true", help="import the valid rows and list the bad ones"
    )
    _common.add_json_option(imp)
    imp.set_defaults(handler=run_import)


def run_import(args: argparse.Namespace) -> int:
    from dermstudy.reading.session import check_reader_name
    from dermstudy.reading.votes_import import import_votes
    from dermstudy.study.queries import find_study

    with open_workspace(args, create=False) as ws:
        reader = check_reader_name(args.reader)
        study = find_study(ws, args.study)
        result = import_votes(ws, study, reader, Path(args.file), skip_invalid=args.skip_invalid)
    if args.json:
        print_json(result.to_dict())
    for line in result.error_lines():
        print(line, file=sys.stderr)
    if not result.imported:
        raise UserError(
            f"{len(result.errors)} bad row(s) in {args.file}; nothing imported "
            "(fix them, or use --skip-invalid)"
        )
    skipped = f", {len(result.errors)} bad row(s) skipped" if result.errors else ""
    if not args.json:
        print(
            f"{result.inserted} answer(s) imported for {reader}, {result.unchanged} already "
            f"present{skipped}"
        )
    return 0
