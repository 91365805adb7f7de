"""The classifier ablation job's settings: one object that owns the defaults, the
``dermstudy classifier ablation`` options, the command line read back and written, and the JSON form.

Torch-free (the CLI builds its parser from it at start); :meth:`AblationSettings.options` turns it
into the :class:`~dermstudy.classifier.ablation.AblationOptions` the job runs with.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dermstudy.arguments import ValueOption, add_value_options, same_named_fields, value_argv
from dermstudy.errors import DermstudyError

if TYPE_CHECKING:
    from dermstudy.classifier.ablation import AblationOptions

# The arms, protocols and models, named here where the CLI's parser can read them without torch;
# classifier.ablation and classifier.model take them from here.
ARMS = ("original", "synthetic", "combined", "combined-matched")
PROTOCOLS = ("held-out", "paper")
MODEL_NAMES = ("paper-cnn", "resnet18")
RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


class AblationSettingsError(DermstudyError, ValueError):
    """Settings no ablation can run with; the message names the option (one line)."""


_REPEATS: tuple[ValueOption, ...] = (
    ("--seeds", None, "repetitions, seeds 0..N-1"),
    ("--epochs", None, "most epochs (early stopping)"),
    ("--device", None, "auto (default), cpu, cuda, cuda:N"),
)
_TRAINING: tuple[ValueOption, ...] = (
    ("--image-size", None, "side in pixels (default 64)"),
    ("--batch-size", None, None),
    ("--lr", None, None),
    ("--patience", None, None),
)
_DATA_AND_RUN: tuple[ValueOption, ...] = (
    ("--split", None, "held-out: the workspace split whose test side is the test set"),
    ("--val-fraction", None, None),
    ("--test-fraction", None, None),
    ("--threads", None, "torch CPU threads (0 = default)"),
    (
        "--time-limit",
        "MIN",
        "per arm × seed: stop after the epoch that passes MIN minutes, keep the best",
    ),
    ("--name", None, "run name (default: ablation-<date>-<time>)"),
)


@dataclass
class AblationSettings:
    """One ``dermstudy classifier ablation`` run; ``arms`` empty means all four."""

    protocol: str = "held-out"
    arms: tuple[str, ...] = ()
    seeds: int = 3
    epochs: int = 100
    device: str = "auto"
    model: str = "paper-cnn"
    image_size: int = 64
    batch_size: int = 32
    lr: float = 1e-3
    patience: int = 5
    augment: bool = True
    split: str | None = None
    val_fraction: float = 0.1
    test_fraction: float = 0.2
    threads: int = 0
    time_limit: float = 0.0  # minutes per arm × seed; 0 = no limit
    name: str | None = None

    # -- checks ------------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise :class:`AblationSettingsError` for values no run can use, before any process
        starts (the device and the split are checked by the run, where they are known)."""
        unknown = [arm for arm in self.arms if arm not in ARMS]
        if unknown:
            raise AblationSettingsError(
                f"unknown arm(s) {', '.join(unknown)}; choose from {', '.join(ARMS)}"
            )
        for flag, value in (("--seeds", self.seeds), ("--epochs", self.epochs)):
            if value < 1:
                raise AblationSettingsError(f"{flag} must be at least 1")
        if self.image_size < 8 or self.image_size % 8:
            raise AblationSettingsError(
                "--image-size must be a multiple of 8 (three 2×2 poolings), e.g. 64"
            )
        if self.name is not None and not RUN_NAME.fullmatch(self.name):
            raise AblationSettingsError(
                f"run name {self.name!r}: use letters, digits, '.', '_' and '-'"
            )

    # -- command line ------------------------------------------------------------------------
    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        """The ``dermstudy classifier ablation`` options, with this class's defaults."""
        d = AblationSettings()
        parser.add_argument("--protocol", choices=PROTOCOLS, default=d.protocol)
        parser.add_argument(
            "--arms",
            nargs="+",
            metavar="ARM",
            default=None,
            help=f"{' '.join(ARMS)} (default: all four)",
        )
        add_value_options(parser, d, _REPEATS)
        parser.add_argument("--model", choices=MODEL_NAMES, default=d.model)
        add_value_options(parser, d, _TRAINING)
        parser.add_argument("--no-augment", action="store_true", help="train without augmentation")
        add_value_options(parser, d, _DATA_AND_RUN)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> AblationSettings:
        """The settings a parsed ``dermstudy classifier ablation`` command line asks for."""
        values = same_named_fields(cls, args, skip=("arms",))
        return cls(**values, arms=tuple(args.arms or ()), augment=not args.no_augment)

    def to_argv(self) -> list[str]:
        """The ``dermstudy classifier ablation`` arguments that :meth:`from_args` reads back."""
        argv = ["classifier", "ablation", "--protocol", self.protocol, "--model", self.model]
        if self.arms:
            argv += ["--arms", *self.arms]
        argv += value_argv(self, _REPEATS + _TRAINING + _DATA_AND_RUN)
        return argv if self.augment else [*argv, "--no-augment"]

    # -- JSON and the job's options ----------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["arms"] = list(self.arms)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AblationSettings:
        values = dict(data)
        values["arms"] = tuple(values.get("arms", ()))
        return cls(**values)

    def options(self) -> AblationOptions:
        """The ablation's options (imports torch)."""
        from dermstudy.classifier.ablation import AblationOptions
        from dermstudy.classifier.train import TrainOptions

        train = TrainOptions(
            **same_named_fields(TrainOptions, self), time_limit_s=self.time_limit * 60
        )
        return AblationOptions(
            **same_named_fields(AblationOptions, self, skip=("arms",)),
            arms=self.arms or ARMS,
            train=train,
        )
