"""Command-line helpers the job settings objects share (``add_arguments`` / ``from_args`` /
``to_argv`` of the classifier ablation, the quality job and generation).

An option's destination is its settings field: ``--image-size`` is ``image_size``, so the field's
default is the option's default and its type the option's type. Standard library only: the CLI
imports the settings objects when it starts.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Iterable
from typing import Any

# (flag, metavar, help) of an option that takes one value
ValueOption = tuple[str, str | None, str | None]


def dest_of(flag: str) -> str:
    """``--image-size`` -> ``image_size`` (argparse's own rule)."""
    return flag.lstrip("-").replace("-", "_")


def add_value_options(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    defaults: object,
    options: Iterable[ValueOption],
) -> None:
    """One option per row, with the default (and, for numbers, the type) of ``defaults``' field of
    the same name."""
    for flag, metavar, help_text in options:
        default = getattr(defaults, dest_of(flag))
        kind = type(default) if type(default) in (int, float) else None
        parser.add_argument(flag, type=kind, default=default, metavar=metavar, help=help_text)


def value_argv(settings: object, options: Iterable[ValueOption]) -> list[str]:
    """The arguments that give each row's option the value ``settings`` holds (None: left out)."""
    argv: list[str] = []
    for flag, _metavar, _help in options:
        value = getattr(settings, dest_of(flag))
        if value is not None:
            argv += [flag, repr(value) if isinstance(value, float) else str(value)]
    return argv


def same_named_fields(cls: type, source: object, *, skip: Iterable[str] = ()) -> dict[str, Any]:
    """The values of dataclass ``cls``'s fields that ``source`` (parsed arguments, or another
    settings object) holds under the same name; those in ``skip`` and those it lacks are left out."""
    left_out = set(skip)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in left_out and hasattr(source, f.name):
            values[f.name] = getattr(source, f.name)
    return values
