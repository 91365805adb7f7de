"""QualitySettings: the quality job's options, defaults, checks, argv and JSON forms."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from dermstudy.cli import build_parser
from dermstudy.errors import DermstudyError
from dermstudy.quality.report import QualityError, QualityOptions
from dermstudy.quality.settings import QualitySettings


def _parse(argv: list[str]) -> QualitySettings:
    return QualitySettings.from_args(build_parser().parse_args(argv))


def test_defaults_are_the_jobs_defaults():
    assert _parse(["quality"]) == QualitySettings()
    assert QualitySettings().options() == QualityOptions()


ODD = QualitySettings(
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


@pytest.mark.parametrize("settings", [QualitySettings(), ODD])
def test_argv_and_json_round_trip(settings):
    argv = settings.to_argv()
    assert argv[0] == "quality"
    assert _parse(argv) == settings
    assert QualitySettings.from_json(json.loads(json.dumps(settings.to_json()))) == settings


def test_options_carry_every_value():
    options = ODD.options()
    for field in dataclasses.fields(QualitySettings):
        assert getattr(options, field.name) == getattr(ODD, field.name), field.name


def test_entity_names_and_bad_filters():
    assert _parse(["quality", "--entity", "melanoma"]).entities == ("mel",)
    with pytest.raises(DermstudyError, match="--real: "):
        _parse(["quality", "--real", "nonsense"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pixel_size": 6}, "--size must be at least 7, got 6"),
        ({"is_splits": 0}, "--is-splits must be at least 1"),
        ({"kid_subsets": 0}, "--kid-subsets must be at least 1"),
        ({"kid_subset_size": 1}, "--kid-subset-size must be at least 2"),
    ],
)
def test_validation_names_the_option(change, message):
    QualitySettings().validate()
    with pytest.raises(QualityError, match=message):
        QualitySettings(**change).validate()


def test_the_settings_module_does_not_load_torch():
    code = "import sys, dermstudy.quality.settings\nassert 'torch' not in sys.modules\n"
    subprocess.run([sys.executable, "-c", code], check=True)
