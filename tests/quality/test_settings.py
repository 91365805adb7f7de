"""The quality command line over QualityOptions: its defaults, checks, argv and JSON forms."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from dermstudy.cli import build_parser
from dermstudy.errors import DermstudyError
from dermstudy.quality import settings
from dermstudy.quality.report import QualityError, QualityOptions


def _parse(argv: list[str]) -> QualityOptions:
    return settings.options_from_args(build_parser().parse_args(argv))


def test_the_bare_command_line_is_the_options_defaults():
    assert _parse(["quality"]) == QualityOptions()


def test_every_option_lands_in_its_field():
    options = _parse(
        [
            "quality",
            "--synthetic",
            "model=ab12*",
            "--synthetic",
            "source=glide",
            "--real",
            "split=s1:train",
            "--entity",
            "melanoma",
            "df",
            "--seed",
            "4",
            "--size",
            "64",
            "--max-real",
            "0",
            "--is-splits",
            "3",
            "--kid-subsets",
            "5",
            "--kid-subset-size",
            "20",
            "--classifier",
            "None",
            "--no-inception",
            "--device",
            "cuda:1",
        ]
    )
    assert options == QualityOptions(
        synthetic_filters=(("model", "ab12*"), ("source", "glide")),
        real_filters=(("split", "s1:train"),),
        entities=("mel", "df"),
        seed=4,
        pixel_size=64,
        max_real=0,
        inception=False,
        is_splits=3,
        kid_subsets=5,
        kid_subset_size=20,
        classifier=None,
        device="cuda:1",
    )


ODD = QualityOptions(
    synthetic_filters=(("model", "ab12*"),),
    entities=("vasc",),
    seed=9,
    pixel_size=32,
    inception=False,
    classifier="models/c.pt",
)


@pytest.mark.parametrize("options", [QualityOptions(), ODD])
def test_argv_and_json_round_trip(options):
    argv = settings.to_argv(options)
    assert argv[0] == "quality"
    assert _parse(argv) == options
    assert settings.options_from_json(json.loads(json.dumps(options.to_dict()))) == options


def test_bad_filters_name_the_option():
    with pytest.raises(DermstudyError, match="--real: "):
        _parse(["quality", "--real", "nonsense"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--size", "6"], "--size must be at least 7, got 6"),
        (["--is-splits", "0"], "--is-splits must be at least 1"),
        (["--kid-subsets", "0"], "--kid-subsets must be at least 1"),
        (["--kid-subset-size", "1"], "--kid-subset-size must be at least 2"),
    ],
)
def test_validation_names_the_option(argv, message):
    with pytest.raises(QualityError, match=message):
        _parse(["quality", *argv])


def test_metavars_follow_the_flags_not_the_fields():
    parser = argparse.ArgumentParser()
    settings.add_arguments(parser)
    text = parser.format_help()
    assert "--size SIZE" in text and "--is-splits IS_SPLITS" in text
    assert "PIXEL_SIZE" not in text


def test_the_settings_module_does_not_load_torch():
    code = "import sys, dermstudy.quality.settings\nassert 'torch' not in sys.modules\n"
    subprocess.run([sys.executable, "-c", code], check=True)
