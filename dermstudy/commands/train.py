"""``dermstudy train base|upsampler`` (fine-tune GLIDE) and ``dermstudy train runs`` (list runs).

Also runs under ``torchrun --nproc-per-node N -m dermstudy ... train base ...`` (DDP). SIGTERM or
Ctrl-C stops a run cleanly after the current step, writing a checkpoint to ``--resume`` from.
"""

from __future__ import annotations

import argparse
import signal
import sys

from dermstudy.commands import _common
from dermstudy.commands._common import UserError, in_workspace, open_workspace, print_json
from dermstudy.jobs import CancelToken, JsonLinesProgress, TextProgressBar


def register(subparsers: argparse._SubParsersAction) -> None:
    sub = _common.add_actions(
        subparsers, "train", "fine-tune the GLIDE base model or upsampler", metavar="MODEL"
    )
    for name, kind in (("base", "base"), ("upsampler", "upsample")):
        p = sub.add_parser(name, help=f"fine-tune the {name} on the workspace's real images")
        _add_training_arguments(p)
        p.set_defaults(handler=run_train, kind=kind)
    listing = sub.add_parser("runs", help="list training runs")
    _common.add_json_option(listing, "the list")
    listing.set_defaults(handler=run_list)
    plot = sub.add_parser("plot", help="draw a run's loss curve to a PNG file")
    plot.add_argument("run", help="run id (see `train runs`)")
    plot.add_argument("--out", help="PNG file (default: <run folder>/loss.png)")
    plot.set_defaults(handler=run_plot)


def _add_training_arguments(p: argparse.ArgumentParser) -> None:
    from dermstudy.training.config import TrainConfig

    TrainConfig.add_arguments(p)
    p.add_argument("--resume", metavar="RUN", help="continue this run exactly where it stopped")
    _common.add_progress_option(p)


def config_from_args(args: argparse.Namespace):
    """The run's ``TrainConfig`` (:meth:`TrainConfig.from_args`)."""
    from dermstudy.training.config import TrainConfig

    return TrainConfig.from_args(args)


def run_train(args: argparse.Namespace) -> int:
    from dermstudy.training.loop import train

    config = config_from_args(args)
    if args.resume and (args.epochs is not None):
        raise UserError("--resume continues with the run's own options; use --steps to extend it")

    cancel = CancelToken()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: cancel.cancel())
    progress = JsonLinesProgress(sys.stdout) if args.progress == "json" else _text_progress()
    with open_workspace(args, create=False) as ws:
        workspace = ws.root
    result = train(
        workspace,
        config,
        resume=args.resume,
        progress=progress,
        cancel=cancel,
        extend_steps=args.steps if args.resume else None,
    )
    if result.status == "failed":
        print(f"dermstudy: error: {result.message}", file=sys.stderr)
        return 3
    if args.progress == "text":
        print(
            f"{result.status}: run {result.run_id}, step {result.step}/{result.total_steps} "
            f"— {result.message}\nfolder: {result.folder}"
        )
    return 0


def _text_progress():
    bar = TextProgressBar(label="train")

    def show(event):
        if event.data.get("event") in ("step", "data"):
            bar(event)
        elif event.data.get("event") in ("checkpoint", "preview", "start"):
            print(event.message, file=sys.stderr)

    return show


def run_list(args: argparse.Namespace) -> int:
    from dermstudy.training.runs import list_runs

    records = in_workspace(args, list_runs)
    if args.json:
        print_json([r.to_dict() for r in records])
    elif not records:
        print("no training runs yet")
    else:
        for r in records:
            print(
                f"{r.id}  {r.kind:<8} {r.status:<8} step {r.step}/{r.total_steps}  "
                f"{r.image_count} images  {r.message}"
            )
    return 0


def run_plot(args: argparse.Namespace) -> int:
    from pathlib import Path

    from dermstudy.training.plots import loss_curve_png
    from dermstudy.training.runs import get_run, read_log

    with open_workspace(args, create=False) as ws:
        record = get_run(ws, args.run)
        folder = ws.root / record.folder
    records = read_log(folder / "log.jsonl")
    if not any(r.get("event") == "step" for r in records):
        raise UserError(f"{folder / 'log.jsonl'}: the run has no logged steps yet")
    out = Path(args.out) if args.out else folder / "loss.png"
    loss_curve_png(records, out, title=f"{record.id} ({record.kind})")
    print(out)
    return 0
