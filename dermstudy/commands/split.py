"""``dermstudy split create|list|show``: held-out splits of the real images by lesion."""

from __future__ import annotations

import argparse

from dermstudy.commands import _common
from dermstudy.commands._common import open_workspace, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("split", help="held-out train/test splits by lesion")
    sub = parser.add_subparsers(dest="split_command", metavar="ACTION", required=True)

    create = sub.add_parser("create", help="split the real images by lesion, stratified by entity")
    create.add_argument("name", help="name of the new split (splits never change)")
    create.add_argument(
        "--test-fraction", type=float, default=0.2, help="share of lesions held out"
    )
    create.add_argument("--seed", type=int, default=0, help="seed of the shuffle (stored)")
    _common.add_json_option(create, "the new split")
    create.set_defaults(handler=run_create)

    listing = sub.add_parser("list", help="the workspace's splits")
    _common.add_json_option(listing, "the list")
    listing.set_defaults(handler=run_list)

    show = sub.add_parser("show", help="counts per side and entity of one split")
    show.add_argument("name")
    _common.add_json_option(show, "the split")
    show.set_defaults(handler=run_show)


def _text(split) -> str:
    lines = [f"split {split.name!r} (seed {split.seed}, test fraction {split.test_fraction})"]
    for side in ("train", "test"):
        counts = split.counts[side]
        detail = ", ".join(f"{code} {n}" for code, n in counts.items())
        lines.append(f"  {side:<5} {sum(counts.values()):>6} images: {detail}")
    return "\n".join(lines)


def run_create(args: argparse.Namespace) -> int:
    from dermstudy.datasets.splits import create_split

    with open_workspace(args) as ws:
        split = create_split(ws, args.name, args.test_fraction, args.seed)
    if args.json:
        print_json(split.to_dict())
    else:
        print(_text(split))
    return 0


def run_list(args: argparse.Namespace) -> int:
    from dermstudy.datasets.splits import list_splits

    with open_workspace(args) as ws:
        splits = list_splits(ws)
    if args.json:
        print_json([s.to_dict() for s in splits])
    else:
        print("\n".join(_text(s) for s in splits) if splits else "no splits yet")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from dermstudy.datasets.splits import get_split

    with open_workspace(args) as ws:
        split = get_split(ws, args.name)
    if args.json:
        print_json(split.to_dict())
    else:
        print(_text(split))
    return 0
