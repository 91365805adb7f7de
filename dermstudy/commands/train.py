"""``dermstudy train base|upsampler`` (fine-tune GLIDE) and ``dermstudy train runs`` (list runs).

Also runs under ``torchrun --nproc-per-node N -m dermstudy ... train base ...`` (DDP). SIGTERM or
Ctrl-C stops a run cleanly after the current step, writing a checkpoint to ``--resume`` from.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys

from dermstudy.commands._common import UserError, open_workspace, print_json
from dermstudy.jobs import CancelToken, JsonLinesProgress, TextProgressBar


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help="fine-tune the GLIDE base model or upsampler")
    sub = parser.add_subparsers(dest="train_command", metavar="MODEL", required=True)
    for name, kind in (("base", "base"), ("upsampler", "upsample")):
        p = sub.add_parser(name, help=f"fine-tune the {name} on the workspace's real images")
        _add_training_arguments(p)
        p.set_defaults(handler=run_train, kind=kind)
    listing = sub.add_parser("runs", help="list training runs")
    listing.add_argument("--json", action="store_true", help="print as JSON")
    listing.set_defaults(handler=run_list)
    plot = sub.add_parser("plot", help="draw a run's loss curve to a PNG file")
    plot.add_argument("run", help="run id (see `train runs`)")
    plot.add_argument("--out", help="PNG file (default: <run folder>/loss.png)")
    plot.set_defaults(handler=run_plot)


def _add_training_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--init",
        metavar="FILE",
        help="initial checkpoint; default models/<kind>.pt; 'scratch' = random weights",
    )
    p.add_argument(
        "--preset",
        choices=("paper", "fast"),
        default="paper",
        help="paper: the published fine-tune; fast: our recommendation (default paper)",
    )
    p.add_argument("--resume", metavar="RUN", help="continue this run exactly where it stopped")
    group = p.add_argument_group("hyper-parameters (override the preset)")
    group.add_argument("--epochs", type=int)
    group.add_argument("--steps", type=int, help="optimiser steps (instead of --epochs)")
    group.add_argument("--batch-size", type=int, help="images per process and micro-batch")
    group.add_argument("--lr", type=float)
    group.add_argument("--weight-decay", type=float)
    group.add_argument("--uncond-p", type=float, help="share of empty captions")
    group.add_argument("--precision", choices=("fp32", "bf16", "fp16"))
    group.add_argument("--grad-accum", type=int, help="micro-batches per optimiser step")
    group.add_argument("--ema", type=float, help="EMA rate, 0 = off")
    group.add_argument("--seed", type=int)
    group.add_argument("--device", help="auto (default), cpu, cuda, cuda:N")
    group.add_argument(
        "--freeze-text",
        action="store_true",
        default=None,
        help="do not train the text transformer and embeddings",
    )
    group.add_argument("--loss", choices=("hybrid", "mse"))
    group.add_argument("--grad-clip", type=float, help="clip the gradient norm (0 = off)")
    group.add_argument(
        "--timestep-range",
        choices=("trainer", "full"),
        help="trainer: t in 0..T-2 as glide-finetune; full: 0..T-1",
    )
    group.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None)
    group.add_argument("--fused-adamw", action=argparse.BooleanOptionalAction, default=None)
    data = p.add_argument_group("data")
    data.add_argument(
        "--entity",
        action="append",
        dest="entities",
        metavar="CODE",
        help="train only on this entity (repeatable; default all seven)",
    )
    data.add_argument("--split", help="leave out the test side of this split")
    data.add_argument(
        "--patch-size",
        type=int,
        metavar="PIXELS",
        help="upsampler: train on random crops of this size (multiple of 32; default whole images)",
    )
    model = p.add_argument_group("model size (only with --init scratch)")
    model.add_argument("--num-channels", type=int, help="UNet width (public models: 192)")
    model.add_argument("--model-options", metavar="JSON", help="GLIDE option overrides as JSON")
    run = p.add_argument_group("run")
    run.add_argument("--checkpoint-every", type=int, help="steps between checkpoints")
    run.add_argument("--preview-every", type=int, help="steps between preview grids (0 = none)")
    run.add_argument("--preview-steps", type=int, help="sampler steps of a preview")
    run.add_argument("--log-every", type=int, help="steps between log lines")
    run.add_argument(
        "--time-limit",
        type=float,
        dest="time_limit_min",
        metavar="MINUTES",
        help="stop after this many minutes with a checkpoint (resumable)",
    )
    run.add_argument(
        "--progress",
        choices=("text", "json"),
        default="text",
        help="json: one JSON object per line on stdout (for the GUI)",
    )


def _model_options(args: argparse.Namespace) -> dict | None:
    options: dict = {}
    if args.model_options:
        try:
            options = json.loads(args.model_options)
        except json.JSONDecodeError as exc:
            raise UserError(f"--model-options is not valid JSON ({exc})") from None
        if not isinstance(options, dict):
            raise UserError(
                "--model-options must be a JSON object such as '{\"num_channels\": 64}'"
            )
    if args.num_channels:
        options["num_channels"] = args.num_channels
    return options or None


def config_from_args(args: argparse.Namespace):
    """The run's ``TrainConfig``: the preset, then every option given on the command line.

    Every ``TrainConfig`` field with a same-named argument is taken over, so a new option only
    needs its ``add_argument`` (with ``dest`` = the field name).
    """
    from dataclasses import fields

    from dermstudy.training.config import TrainConfig, resolve_config

    skip = {"preset", "model_options"}
    overrides = {
        f.name: getattr(args, f.name)
        for f in fields(TrainConfig)
        if f.name not in skip and hasattr(args, f.name)
    }
    overrides["model_options"] = _model_options(args)
    return resolve_config(args.preset, overrides)


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

    with open_workspace(args, create=False) as ws:
        records = list_runs(ws)
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
