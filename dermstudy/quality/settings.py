"""The quality job's settings: the ``dermstudy quality`` options, read back and written, its checks
and JSON form, over the fields of :class:`~dermstudy.quality.report.QualityOptions` (same names).

Torch-free (the CLI builds its parser from it at start); :meth:`QualitySettings.options` builds the
``QualityOptions`` :func:`~dermstudy.quality.report.compute_quality` runs with.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dermstudy.arguments import (
    ValueOption,
    add_value_options,
    dest_of,
    same_named_fields,
    value_argv,
)
from dermstudy.entities import parse_entity

if TYPE_CHECKING:
    from dermstudy.quality.report import QualityOptions

# (flag, field, help) of the image selections (repeatable), in the pools' filter language
_SELECTIONS = (
    (
        "--synthetic",
        "synthetic_filters",
        "synthetic images to evaluate, e.g. model=<checkpoint SHA or file> (repeatable)",
    ),
    (
        "--real",
        "real_filters",
        "real images to compare with, e.g. split=NAME:train (repeatable; default all)",
    ),
)
_SAMPLING: tuple[ValueOption, ...] = (
    ("--max-real", "N", "real images per entity for FID/KID/pairing (seeded sample; 0 = all)"),
    ("--is-splits", None, "Inception Score splits"),
    ("--kid-subsets", None, None),
    ("--kid-subset-size", None, None),
    (
        "--classifier",
        "CKPT",
        "classifier checkpoint for the domain distance (default: newest in the workspace; "
        "'none' turns it off)",
    ),
)
_DEVICE: tuple[ValueOption, ...] = (("--device", None, "torch device for the networks"),)
# (option, field, smallest value) checked before a run
_MINIMUMS = (
    ("--size", "pixel_size", 7),
    ("--is-splits", "is_splits", 1),
    ("--kid-subsets", "kid_subsets", 1),
    ("--kid-subset-size", "kid_subset_size", 2),
)


@dataclass(frozen=True)
class QualitySettings:
    """One ``dermstudy quality`` run; the defaults are ``QualityOptions``'s (a test keeps them so)."""

    synthetic_filters: tuple[tuple[str, str], ...] = ()
    real_filters: tuple[tuple[str, str], ...] = ()
    entities: tuple[str, ...] = ()
    seed: int = 0
    pixel_size: int = 256
    max_real: int = 200
    inception: bool = True
    is_splits: int = 10
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    classifier: str | None = "auto"  # a checkpoint path, "auto" (newest in the workspace) or None
    device: str = "cpu"

    # -- command line ------------------------------------------------------------------------
    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        """The ``dermstudy quality`` options, with this class's defaults."""
        d = QualitySettings()
        for flag, _field, help_text in _SELECTIONS:
            parser.add_argument(flag, metavar="FILTER", action="append", default=[], help=help_text)
        parser.add_argument("--entity", metavar="CODE", nargs="+", default=[], help="entities")
        parser.add_argument("--seed", type=int, default=d.seed, help="pairing and sampling seed")
        parser.add_argument(
            "--size", type=int, default=d.pixel_size, help="pixel-metric image size (px)"
        )
        add_value_options(parser, d, _SAMPLING)
        parser.add_argument(
            "--no-inception", action="store_true", help="skip FID/KID/IS (Inception is slow on CPU)"
        )
        add_value_options(parser, d, _DEVICE)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> QualitySettings:
        """The settings a parsed ``dermstudy quality`` command line asks for; an unknown entity or
        a malformed filter raises the error that names it."""
        entities = tuple(parse_entity(e) for e in args.entity)
        filters = {
            field: _filters(getattr(args, dest_of(flag)), flag) for flag, field, _ in _SELECTIONS
        }
        return cls(
            **same_named_fields(cls, args, skip=("classifier",)),
            **filters,
            entities=entities,
            pixel_size=args.size,
            inception=not args.no_inception,
            classifier=None if args.classifier.lower() == "none" else args.classifier,
        )

    def to_argv(self) -> list[str]:
        """The ``dermstudy quality`` arguments that :meth:`from_args` reads back."""
        argv = ["quality"]
        for flag, field, _help in _SELECTIONS:
            for key, pattern in getattr(self, field):
                argv += [flag, f"{key}={pattern}"]
        if self.entities:
            argv += ["--entity", *self.entities]
        argv += ["--seed", str(self.seed), "--size", str(self.pixel_size)]
        argv += value_argv(
            dataclasses.replace(self, classifier=self.classifier or "none"), _SAMPLING
        )
        if not self.inception:
            argv.append("--no-inception")
        return argv + value_argv(self, _DEVICE)

    # -- checks, JSON and the job's options ------------------------------------------------------
    def validate(self) -> None:
        """Raise :class:`~dermstudy.quality.report.QualityError` for a value below its minimum."""
        from dermstudy.quality.report import QualityError

        for flag, field, low in _MINIMUMS:
            value = getattr(self, field)
            if value < low:
                raise QualityError(f"{flag} must be at least {low}, got {value}")

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for _flag, field, _help in _SELECTIONS:
            data[field] = [f"{key}={pattern}" for key, pattern in getattr(self, field)]
        data["entities"] = list(self.entities)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> QualitySettings:
        values = dict(data)
        for flag, field, _help in _SELECTIONS:
            values[field] = _filters(values.get(field, []), flag)
        values["entities"] = tuple(parse_entity(e) for e in values.get("entities", ()))
        return cls(**values)

    def options(self) -> QualityOptions:
        """The job's options (imports the metrics' libraries)."""
        from dermstudy.quality.report import QualityOptions

        return QualityOptions(**same_named_fields(QualityOptions, self))


def _filters(texts: list[str], flag: str) -> tuple[tuple[str, str], ...]:
    """``KEY=PATTERN`` texts -> (key, pattern) pairs; a malformed one names the option."""
    from dermstudy.study.pools import PoolError, parse_filter

    try:
        return tuple(parse_filter(t) for t in texts)
    except PoolError as exc:
        raise PoolError(f"{flag}: {exc}") from None
