"""StudyDesign owns the ``study create`` options: its parser, read back and written out, and the
light module the CLI imports it from."""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys

import pytest

from dermstudy.study import builder
from dermstudy.study.design import StudyDesign
from dermstudy.study.pools import PoolOptions


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="create")
    StudyDesign.add_arguments(parser)
    return parser


def _design(argv: list[str]) -> StudyDesign:
    return StudyDesign.from_args(_parser().parse_args(argv))


def test_the_parsers_defaults_are_the_dataclass_defaults():
    args = _parser().parse_args(["pilot"])
    defaults = StudyDesign(name="pilot")
    options = set(vars(args))
    fields = {f.name for f in dataclasses.fields(StudyDesign)}
    # every field but the counts and the pools is the option of its name
    assert fields - options == {"counts", "pools"}
    for name in fields & options:
        assert getattr(args, name) == getattr(defaults, name), name
    design = _design(["pilot"])
    assert design == StudyDesign.with_counts("pilot")
    assert design.pools == PoolOptions()


def test_choices_come_from_the_checks():
    """A value the parser offers passes validate(); one it refuses would fail it too."""
    actions = {a.dest: a for a in _parser()._actions}
    for dest, field_name in (
        ("harmonise", "harmonise"),
        ("order", "order"),
        ("answer_scale", "answer_scale"),
    ):
        for choice in actions[dest].choices:
            StudyDesign.with_counts("x", **{field_name: choice}).validate()
    with pytest.raises(SystemExit):
        _parser().parse_args(["x", "--order", "random"])


def test_parser_from_args_to_argv_round_trip():
    argv = [
        "pilot 2",
        "--entities",
        "mel,df",
        "--count",
        "df=2,3",
        "--real-per-entity",
        "4",
        "--exclude-set",
        "seen",
        "--exclude-split",
        "s1:test",
        "--synthetic-source",
        "glide*",
        "--synthetic-model",
        "ab12",
        "--synthetic-filter",
        "sampler=ddim",
        "--all-images-per-lesion",
        "--size",
        "128",
        "--harmonise",
        "none",
        "--seed",
        "5",
        "--order",
        "per-reader",
        "--no-allow-back",
        "--scale",
        "binary",
        "--entity-confidence",
        "--practice",
        "3",
    ]
    design = _design(argv)
    assert design.counts == {"mel": (4, 10), "df": (2, 3)}
    assert design.pools.synthetic_filters == (
        ("sampler", "ddim"),
        ("source", "glide*"),
        ("model", "ab12"),
    )
    assert (design.display_size, design.harmonise, design.seed) == (128, "none", 5)
    assert not design.allow_back and not design.pools.one_per_lesion
    written = design.to_argv()
    assert written[:2] == ["study", "create"]
    again = _design(written[2:])
    assert again == design
    assert dataclasses.asdict(again) == dataclasses.asdict(design)


def test_builder_re_exports_the_same_classes():
    from dermstudy.study import design

    assert builder.StudyDesign is design.StudyDesign
    assert builder.StudyError is design.StudyError


def test_the_design_module_does_not_load_the_workspace():
    code = (
        "import sys, dermstudy.study.design as d, argparse\n"
        "d.StudyDesign.add_arguments(argparse.ArgumentParser())\n"
        "loaded = [m for m in ('sqlite_utils', 'dermstudy.workspace', 'dermstudy.study.pools')"
        " if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
