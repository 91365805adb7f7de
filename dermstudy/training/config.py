"""Training options: the ``paper`` and ``fast`` presets and the resolved configuration of a run.

``TrainConfig`` is the training job's settings object: its defaults and presets, its checks
(:func:`validate_config`), the ``dermstudy train`` options (:meth:`TrainConfig.add_arguments`,
:meth:`TrainConfig.from_args`, :meth:`TrainConfig.to_argv`: the Training panel runs its child
process with these) and its JSON form. A run's configuration is plain data
(``TrainConfig.to_dict``) stored with the run and in every checkpoint, so a resumed run uses
exactly the options it started with. Torch-free: the CLI builds its parser from it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from dermstudy.errors import DermstudyError
from dermstudy.glide.defaults import DEFAULT_GUIDANCE

KINDS = ("base", "upsample")
PRECISIONS = ("fp32", "bf16", "fp16")
LOSSES = ("hybrid", "mse")

# The dermoscopy fine-tune as published (spec §8.5): glide-finetune's step at batch 4, fp32.
PAPER: dict[str, Any] = {
    "epochs": 60,
    "batch_size": 4,
    "lr": 1e-5,
    "weight_decay": 0.0,
    "uncond_p": 0.0,
    "precision": "fp32",
    "grad_accum": 1,
    "ema": 0.0,
    "loss": "mse",
    "grad_clip": 0.0,
    "timestep_range": "trainer",
    "channels_last": False,
    "fused_adamw": False,
}

# What we recommend (see the README): mixed precision with fp32 master weights, a batch that keeps
# a GPU busy, the lr scaled by √(batch ratio) for Adam, 20 % empty captions so classifier-free
# guidance keeps working, the hybrid loss so the learned variance follows the new domain, EMA.
FAST: dict[str, Any] = {
    "epochs": 60,
    "batch_size": 32,
    "lr": 3e-5,
    "weight_decay": 0.0,
    "uncond_p": 0.2,
    "precision": "bf16",
    "grad_accum": 1,
    "ema": 0.9999,
    "loss": "hybrid",
    "grad_clip": 1.0,
    "timestep_range": "full",
    "channels_last": True,
    "fused_adamw": True,
}

PRESETS: dict[str, dict[str, Any]] = {"paper": PAPER, "fast": FAST}

# Measured (bench/train.py, small base, batch 16, 2-core EPYC with AVX512-BF16): bf16 autocast with
# channels-last was 1.4x faster than fp32 on an idle machine but 2-4x slower with both cores contended,
# and CPUs without native bf16 only lose by it. So ``fast`` on a CPU keeps the safe fp32 and the default
# memory format; ``--precision bf16 --channels-last`` opts in.
FAST_ON_CPU: dict[str, Any] = {"precision": "fp32", "channels_last": False}


class ConfigError(DermstudyError, ValueError):
    """Options that cannot train; the message names the option."""


@dataclass
class TrainConfig:
    kind: str = "base"
    preset: str = "paper"
    init: str | None = None  # checkpoint path, or "scratch" for random initialisation
    model_options: dict[str, Any] = field(default_factory=dict)
    epochs: int | None = 60
    steps: int | None = None  # optimiser steps; overrides epochs when given
    batch_size: int = 4  # per process, per micro-batch
    lr: float = 1e-5
    weight_decay: float = 0.0
    uncond_p: float = 0.0
    precision: str = "fp32"
    grad_accum: int = 1
    ema: float = 0.0  # 0 = no EMA
    seed: int = 0
    device: str = "auto"
    freeze_text: bool = False
    loss: str = "mse"
    grad_clip: float = 0.0  # 0 = no clipping
    timestep_range: str = "trainer"  # "trainer": t in 0..T-2 as glide-finetune; "full": 0..T-1
    channels_last: bool = False
    fused_adamw: bool = False
    entities: list[str] = field(default_factory=list)  # empty = all seven
    split: str | None = None  # exclude this split's test side
    # Upsampler only: train on random aligned crops of this many target pixels (0 = whole image).
    # The upsampler is convolutional, so crops teach it the same local detail at a fraction of the
    # cost of whole 256-px images: what makes an upsampler trainable on a CPU.
    patch_size: int = 0
    checkpoint_every: int = 1000
    preview_every: int = 500
    preview_steps: int = 25
    preview_guidance: float = DEFAULT_GUIDANCE
    log_every: int = 1
    time_limit_min: float = 0.0  # stop (resumably) after this many minutes; 0 = none

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    # -- command line ------------------------------------------------------------------------
    @staticmethod
    def add_arguments(p: argparse.ArgumentParser) -> None:
        """The ``dermstudy train base|upsampler`` options; each ``dest`` is the field's name, so
        :meth:`from_args` takes every given one over the preset."""
        p.add_argument(
            "--init",
            metavar="FILE",
            help="initial checkpoint; default models/<kind>.pt; 'scratch' = random weights",
        )
        p.add_argument(
            "--preset",
            choices=tuple(PRESETS),
            default="paper",
            help="paper: the published fine-tune; fast: our recommendation (default paper)",
        )
        group = p.add_argument_group("hyper-parameters (override the preset)")
        group.add_argument("--epochs", type=int)
        group.add_argument("--steps", type=int, help="optimiser steps (instead of --epochs)")
        group.add_argument("--batch-size", type=int, help="images per process and micro-batch")
        group.add_argument("--lr", type=float)
        group.add_argument("--weight-decay", type=float)
        group.add_argument("--uncond-p", type=float, help="share of empty captions")
        group.add_argument("--precision", choices=PRECISIONS)
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
        group.add_argument("--loss", choices=LOSSES)
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
            help="upsampler: train on random crops of this size (multiple of 32; default whole "
            "images)",
        )
        model = p.add_argument_group("model size (only with --init scratch)")
        model.add_argument("--num-channels", type=int, help="UNet width (public models: 192)")
        model.add_argument("--model-options", metavar="JSON", help="GLIDE option overrides as JSON")
        run = p.add_argument_group("run")
        run.add_argument("--checkpoint-every", type=int, help="steps between checkpoints")
        run.add_argument("--preview-every", type=int, help="steps between preview grids (0 = none)")
        run.add_argument("--preview-steps", type=int, help="sampler steps of a preview")
        run.add_argument(
            "--preview-guidance",
            type=float,
            help=f"classifier-free guidance of the previews ({DEFAULT_GUIDANCE})",
        )
        run.add_argument("--log-every", type=int, help="steps between log lines")
        run.add_argument(
            "--time-limit",
            type=float,
            dest="time_limit_min",
            metavar="MINUTES",
            help="stop after this many minutes with a checkpoint (resumable)",
        )

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> TrainConfig:
        """The run's configuration: the preset, then every option given on the command line."""
        skip = {"preset", "model_options"}
        overrides = {
            f.name: getattr(args, f.name)
            for f in dataclasses.fields(cls)
            if f.name not in skip and hasattr(args, f.name)
        }
        overrides["model_options"] = _model_options(args)
        return resolve_config(args.preset, overrides)

    def to_argv(self) -> list[str]:
        """The ``dermstudy train`` arguments that :meth:`from_args` reads back as this
        configuration: every option spelled out, so the preset only names where it came from."""
        argv = ["train", "upsampler" if self.kind == "upsample" else "base"]
        argv += ["--preset", self.preset]
        if self.init:
            argv += ["--init", self.init]
        if self.model_options:
            argv += ["--model-options", json.dumps(self.model_options, sort_keys=True)]
        if self.epochs is not None:
            argv += ["--epochs", str(self.epochs)]
        if self.steps is not None:
            argv += ["--steps", str(self.steps)]
        for name in _VALUED:
            argv += ["--" + name.replace("_", "-"), _arg(getattr(self, name))]
        if self.freeze_text:
            argv.append("--freeze-text")
        argv.append("--channels-last" if self.channels_last else "--no-channels-last")
        argv.append("--fused-adamw" if self.fused_adamw else "--no-fused-adamw")
        for code in self.entities:
            argv += ["--entity", code]
        if self.split:
            argv += ["--split", self.split]
        return [*argv, "--time-limit", _arg(self.time_limit_min)]


# Options written as ``--name value`` by ``to_argv`` (the field name with dashes).
_VALUED = (
    "batch_size",
    "lr",
    "weight_decay",
    "uncond_p",
    "precision",
    "grad_accum",
    "ema",
    "seed",
    "device",
    "loss",
    "grad_clip",
    "timestep_range",
    "patch_size",
    "checkpoint_every",
    "preview_every",
    "preview_steps",
    "preview_guidance",
    "log_every",
)


def _arg(value: Any) -> str:
    """A value as the command line writes it: short where that reads back exactly."""
    if isinstance(value, float):
        short = f"{value:g}"
        return short if float(short) == value else repr(value)
    return str(value)


def _model_options(args: argparse.Namespace) -> dict[str, Any] | None:
    options: dict[str, Any] = {}
    if getattr(args, "model_options", None):
        try:
            options = json.loads(args.model_options)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--model-options is not valid JSON ({exc})") from None
        if not isinstance(options, dict):
            raise ConfigError(
                "--model-options must be a JSON object such as '{\"num_channels\": 64}'"
            )
    if getattr(args, "num_channels", None):
        options["num_channels"] = args.num_channels
    return options or None


def resolve_config(
    preset: str, overrides: dict[str, Any], cuda_available: bool | None = None
) -> TrainConfig:
    """The preset's values (``fast`` adapted to a CPU), then every override that is not None."""
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; expected one of {', '.join(PRESETS)}")
    values = {"preset": preset, **PRESETS[preset]}
    if preset == "fast" and not _will_use_cuda(overrides.get("device"), cuda_available):
        values.update(FAST_ON_CPU)
    values.update({k: v for k, v in overrides.items() if v is not None})
    config = TrainConfig.from_dict(values)
    validate_config(config)
    return config


def _will_use_cuda(device: str | None, cuda_available: bool | None) -> bool:
    if cuda_available is None:
        import torch

        cuda_available = torch.cuda.is_available()
    device = device or "auto"
    return device.startswith("cuda") or (device == "auto" and cuda_available)


def validate_config(config: TrainConfig) -> None:
    checks = [
        (config.kind in KINDS, f"kind must be base or upsampler, got {config.kind!r}"),
        (config.precision in PRECISIONS, f"--precision must be one of {', '.join(PRECISIONS)}"),
        (config.loss in LOSSES, f"--loss must be one of {', '.join(LOSSES)}"),
        (config.batch_size >= 1, "--batch-size must be at least 1"),
        (config.grad_accum >= 1, "--grad-accum must be at least 1"),
        (config.lr > 0, "--lr must be positive"),
        (config.weight_decay >= 0, "--weight-decay must not be negative"),
        (0.0 <= config.uncond_p <= 1.0, "--uncond-p must be between 0 and 1"),
        (0.0 <= config.ema < 1.0, "--ema must be in [0, 1) (0 = off)"),
        (config.steps is None or config.steps >= 1, "--steps must be at least 1"),
        (config.epochs is None or config.epochs >= 1, "--epochs must be at least 1"),
        (config.steps is not None or config.epochs is not None, "give --steps or --epochs"),
        (config.timestep_range in ("trainer", "full"), "timestep_range must be trainer or full"),
        (config.checkpoint_every >= 1, "--checkpoint-every must be at least 1"),
        (config.preview_every >= 0, "--preview-every must not be negative"),
        (config.grad_clip >= 0, "--grad-clip must not be negative"),
        (
            config.patch_size == 0 or (config.kind == "upsample" and config.patch_size % 32 == 0),
            "--patch-size is for the upsampler and must be a multiple of 32 (0 = whole images)",
        ),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(message)
