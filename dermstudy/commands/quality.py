"""``dermstudy quality``: SSIM/PSNR/MSE, FID, IS, KID, a classifier distance and memorisation."""

from __future__ import annotations

import argparse
from pathlib import Path

from dermstudy.commands import _common
from dermstudy.commands._common import UserError, open_workspace, print_json
from dermstudy.jobs import Cancelled, CancelToken, TextProgressBar
from dermstudy.quality import settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = _common.add_settings_command(
        subparsers,
        "quality",
        settings,
        run_quality,
        help="image-quality metrics of synthetic images against real ones, per entity",
        description=(
            "Per entity: paired SSIM/PSNR/MSE, FID, IS, KID, a Fréchet/kernel distance on a "
            "workspace-trained classifier, and a memorisation check (nearest real image). "
            "Filters use the study pools' language: KEY=PATTERN (source=, model=, split=NAME[:side], "
            "set=NAME, or a provenance field)."
        ),
    )
    _common.add_json_option(parser, "the report")
    parser.add_argument("--xlsx", metavar="FILE", help="also write the report to an xlsx file")


def run_quality(args: argparse.Namespace) -> int:
    from dermstudy.quality.report import compute_quality
    from dermstudy.quality.tables import to_text, write_xlsx

    options = settings.options_from_args(args)
    if args.xlsx and not Path(args.xlsx).parent.is_dir():
        raise UserError(f"--xlsx {args.xlsx}: folder does not exist")
    bar = TextProgressBar(label="quality")
    with open_workspace(args, create=False) as ws:
        try:
            report = compute_quality(ws, options, bar, CancelToken())
        except Cancelled:
            raise UserError("cancelled") from None
    if args.xlsx:
        write_xlsx(report, Path(args.xlsx))
    if args.json:
        print_json(report.to_dict())
    else:
        print(to_text(report))
    return 0
