"""``dermstudy quality``: SSIM/PSNR/MSE, FID, IS, KID, a classifier distance and memorisation."""

from __future__ import annotations

import argparse
from pathlib import Path

from dermstudy.commands._common import UserError, open_workspace, print_json
from dermstudy.jobs import Cancelled, CancelToken, TextProgressBar


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "quality",
        help="image-quality metrics of synthetic images against real ones, per entity",
        description=(
            "Per entity: paired SSIM/PSNR/MSE, FID, IS, KID, a Fréchet/kernel distance on a "
            "workspace-trained classifier, and a memorisation check (nearest real image). "
            "Filters use the study pools' language: KEY=PATTERN (source=, model=, split=NAME[:side], "
            "set=NAME, or a provenance field)."
        ),
    )
    parser.add_argument(
        "--synthetic", metavar="FILTER", action="append", default=[],
        help="synthetic images to evaluate, e.g. model=<checkpoint SHA or file> (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--real", metavar="FILTER", action="append", default=[],
        help="real images to compare with, e.g. split=NAME:train (repeatable; default all)",
    )  # fmt: skip
    parser.add_argument("--entity", metavar="CODE", nargs="+", default=[], help="entities")
    parser.add_argument("--seed", type=int, default=0, help="pairing and sampling seed")
    parser.add_argument("--size", type=int, default=256, help="pixel-metric image size (px)")
    parser.add_argument(
        "--max-real", type=int, default=200, metavar="N",
        help="real images per entity for FID/KID/pairing (seeded sample; 0 = all)",
    )  # fmt: skip
    parser.add_argument("--is-splits", type=int, default=10, help="Inception Score splits")
    parser.add_argument("--kid-subsets", type=int, default=100)
    parser.add_argument("--kid-subset-size", type=int, default=1000)
    parser.add_argument(
        "--classifier", metavar="CKPT", default="auto",
        help="classifier checkpoint for the domain distance (default: newest in the workspace; "
        "'none' turns it off)",
    )  # fmt: skip
    parser.add_argument(
        "--no-inception", action="store_true", help="skip FID/KID/IS (Inception is slow on CPU)"
    )
    parser.add_argument("--device", default="cpu", help="torch device for the networks")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--xlsx", metavar="FILE", help="also write the report to an xlsx file")
    parser.set_defaults(handler=run_quality)


def _filters(texts: list[str], flag: str) -> tuple[tuple[str, str], ...]:
    from dermstudy.study.pools import PoolError, parse_filter

    try:
        return tuple(parse_filter(t) for t in texts)
    except PoolError as exc:
        raise UserError(f"{flag}: {exc}") from None


def run_quality(args: argparse.Namespace) -> int:
    from dermstudy.entities import parse_entity
    from dermstudy.quality.report import QualityOptions, compute_quality
    from dermstudy.quality.tables import to_text, write_xlsx

    entities = tuple(parse_entity(e) for e in args.entity)
    for name, val, low in (("--size", args.size, 7), ("--is-splits", args.is_splits, 1),
                           ("--kid-subsets", args.kid_subsets, 1),
                           ("--kid-subset-size", args.kid_subset_size, 2)):  # fmt: skip
        if val < low:
            raise UserError(f"{name} must be at least {low}, got {val}")
    if args.xlsx and not Path(args.xlsx).parent.is_dir():
        raise UserError(f"--xlsx {args.xlsx}: folder does not exist")
    options = QualityOptions(
        synthetic_filters=_filters(args.synthetic, "--synthetic"),
        real_filters=_filters(args.real, "--real"),
        entities=entities,
        seed=args.seed,
        pixel_size=args.size,
        max_real=args.max_real,
        inception=not args.no_inception,
        is_splits=args.is_splits,
        kid_subsets=args.kid_subsets,
        kid_subset_size=args.kid_subset_size,
        classifier=None if args.classifier.lower() == "none" else args.classifier,
        device=args.device,
    )
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
