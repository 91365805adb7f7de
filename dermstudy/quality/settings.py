"""The quality job's command line over its settings object,
:class:`~dermstudy.quality.report.QualityOptions`: the ``dermstudy quality`` options
(:func:`add_arguments`), read back (:func:`options_from_args`) and written (:func:`to_argv`), the
checks (:func:`validate`) and the JSON form read back (:func:`options_from_json`).

The defaults are ``QualityOptions``'s and nowhere else: an option not given is left out of the parsed
arguments (``argparse.SUPPRESS``), so the options object fills it in. Torch-free at import (the CLI
builds its parser from this module at start); ``QualityOptions`` is imported when it is needed.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from dermstudy.arguments import dest_of, same_named_fields
from dermstudy.entities import parse_entity

if TYPE_CHECKING:
    from dermstudy.quality.report import QualityOptions

# (flag, field, help) of the image selections: repeatable KEY=PATTERN filters
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
# (flag, field, type, metavar, help) of the options that take one value
_VALUES: tuple[tuple[str, str, type | None, str | None, str | None], ...] = (
    ("--seed", "seed", int, None, "pairing and sampling seed"),
    ("--size", "pixel_size", int, None, "pixel-metric image size (px)"),
    (
        "--max-real",
        "max_real",
        int,
        "N",
        "real images per entity for FID/KID/pairing (seeded sample; 0 = all)",
    ),
    ("--is-splits", "is_splits", int, None, "Inception Score splits"),
    ("--kid-subsets", "kid_subsets", int, None, None),
    ("--kid-subset-size", "kid_subset_size", int, None, None),
    (
        "--classifier",
        "classifier",
        None,
        "CKPT",
        "classifier checkpoint for the domain distance (default: newest in the workspace; "
        "'none' turns it off)",
    ),
)
_DEVICE = ("--device", "device", None, None, "torch device for the networks")
# (option, field, smallest value) checked before a run
_MINIMUMS = (
    ("--size", "pixel_size", 7),
    ("--is-splits", "is_splits", 1),
    ("--kid-subsets", "kid_subsets", 1),
    ("--kid-subset-size", "kid_subset_size", 2),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``dermstudy quality`` options; each one's destination is its ``QualityOptions`` field."""
    unset = argparse.SUPPRESS
    for flag, field, help_text in _SELECTIONS:
        parser.add_argument(
            flag, dest=field, metavar="FILTER", action="append", default=unset, help=help_text
        )
    parser.add_argument(
        "--entity", dest="entities", metavar="CODE", nargs="+", default=unset, help="entities"
    )
    for row in _VALUES:
        _add_value(parser, *row)
    parser.add_argument(
        "--no-inception",
        dest="inception",
        action="store_false",
        default=unset,
        help="skip FID/KID/IS (Inception is slow on CPU)",
    )
    _add_value(parser, *_DEVICE)


def _add_value(
    parser: argparse.ArgumentParser,
    flag: str,
    field: str,
    kind: type | None,
    metavar: str | None,
    help_text: str | None,
) -> None:
    # The metavar argparse would derive from the flag, not from the field it stores into.
    name = metavar or dest_of(flag).upper()
    parser.add_argument(
        flag, dest=field, type=kind, metavar=name, default=argparse.SUPPRESS, help=help_text
    )


def options_from_args(args: argparse.Namespace) -> QualityOptions:
    """The options a parsed ``dermstudy quality`` command line asks for (defaults for the rest);
    an unknown entity, a malformed filter or a value below its minimum raises the error naming it."""
    from dermstudy.quality.report import QualityOptions

    return _options(same_named_fields(QualityOptions, args))


def options_from_json(data: dict[str, Any]) -> QualityOptions:
    """Options from ``QualityOptions.to_dict()``'s form (filters as ``KEY=PATTERN``)."""
    return _options(dict(data))


def _options(values: dict[str, Any]) -> QualityOptions:
    from dermstudy.quality.report import QualityOptions

    if "entities" in values:
        values["entities"] = tuple(parse_entity(e) for e in values["entities"])
    for flag, field, _help in _SELECTIONS:
        if field in values:
            values[field] = _filters(values[field], flag)
    if isinstance(values.get("classifier"), str) and values["classifier"].lower() == "none":
        values["classifier"] = None
    options = QualityOptions(**values)
    validate(options)
    return options


def validate(options: QualityOptions) -> None:
    """Raise :class:`~dermstudy.quality.report.QualityError` for a value below its minimum."""
    from dermstudy.quality.report import QualityError

    for flag, field, low in _MINIMUMS:
        value = getattr(options, field)
        if value < low:
            raise QualityError(f"{flag} must be at least {low}, got {value}")


def to_argv(options: QualityOptions) -> list[str]:
    """The ``dermstudy quality`` arguments that :func:`options_from_args` reads back as
    ``options`` (the fields without an option, such as ``batch_size``, keep their defaults)."""
    argv = ["quality"]
    for flag, field, _help in _SELECTIONS:
        for key, pattern in getattr(options, field):
            argv += [flag, f"{key}={pattern}"]
    if options.entities:
        argv += ["--entity", *options.entities]
    for flag, field, *_rest in (*_VALUES, _DEVICE):
        value = getattr(options, field)
        argv += [flag, "none" if value is None else str(value)]
    return argv if options.inception else [*argv, "--no-inception"]


def _filters(texts: list[str], flag: str) -> tuple[tuple[str, str], ...]:
    """``KEY=PATTERN`` texts -> (key, pattern) pairs; a malformed one names the option."""
    from dermstudy.study.pools import PoolError, parse_filter

    try:
        return tuple(parse_filter(t) for t in texts)
    except PoolError as exc:
        raise PoolError(f"{flag}: {exc}") from None
