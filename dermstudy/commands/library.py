"""``dermstudy library import-synthetic``: record synthetic images generated elsewhere."""

from __future__ import annotations

import argparse
from pathlib import Path

from dermstudy.commands import _common
from dermstudy.commands._common import UserError, open_workspace, print_result
from dermstudy.jobs import CancelToken, TextProgressBar


def register(subparsers: argparse._SubParsersAction) -> None:
    sub = _common.add_actions(subparsers, "library", "the workspace's synthetic image library")
    imp = sub.add_parser(
        "import-synthetic",
        help="import externally generated images (a folder of one entity, or a file,entity CSV)",
    )
    imp.add_argument("path", help="folder of images, or a CSV with columns file,entity")
    imp.add_argument("--entity", help="entity of every image in the folder (code or name)")
    imp.add_argument("--source", default="external", help="label of where the images came from")
    _common.add_json_option(imp, "the summary")
    imp.set_defaults(handler=run_import_synthetic)


def run_import_synthetic(args: argparse.Namespace) -> int:
    from dermstudy.datasets.synthetic import (
        files_from_csv,
        files_from_folder,
        import_synthetic,
    )

    path = Path(args.path)
    skipped: list[dict] = []
    if path.is_file() and path.suffix.lower() == ".csv":
        files, skipped = files_from_csv(path)
    else:
        if not args.entity:
            raise UserError("give --entity CODE for a folder (or pass a file,entity CSV)")
        files = files_from_folder(path, args.entity)
    if not files and not skipped:
        raise UserError(f"{path}: no image files found")
    with open_workspace(args) as ws:
        summary = import_synthetic(
            ws, files, args.source, TextProgressBar(label="import"), CancelToken(), skipped=skipped
        )
    return print_result(args, summary)
