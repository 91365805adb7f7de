"""AblationSettings: the classifier ablation's options, defaults, argv and JSON forms."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys

import pytest

from dermstudy.classifier import ablation
from dermstudy.classifier.settings import (
    AblationSettings,
    AblationSettingsError,
)
from dermstudy.classifier.train import TrainOptions
from dermstudy.cli import build_parser


def _parse(argv: list[str]) -> AblationSettings:
    return AblationSettings.from_args(build_parser().parse_args(argv))


def test_the_bare_command_line_is_the_defaults_and_the_jobs_defaults():
    settings = _parse(["classifier", "ablation"])
    assert settings == AblationSettings()
    options = settings.options()
    assert options == ablation.AblationOptions(train=TrainOptions(device="auto"))


ODD = AblationSettings(
    protocol="paper",
    arms=("synthetic", "combined"),
    seeds=2,
    epochs=7,
    device="cpu",
    model="resnet18",
    image_size=32,
    batch_size=8,
    lr=0.0025,
    patience=2,
    augment=False,
    split="s1",
    val_fraction=0.15,
    test_fraction=0.25,
    threads=1,
    time_limit=1.5,
    name="run-x",
)


@pytest.mark.parametrize("settings", [AblationSettings(), ODD])
def test_argv_and_json_round_trip(settings):
    assert _parse(settings.to_argv()) == settings
    assert AblationSettings.from_json(json.loads(json.dumps(settings.to_json()))) == settings


def test_options_carry_every_value():
    options = ODD.options()
    assert options.arms == ("synthetic", "combined") and options.protocol == "paper"
    assert options.split == "s1" and options.name == "run-x" and options.seeds == 2
    assert options.train == TrainOptions(
        model="resnet18",
        image_size=32,
        epochs=7,
        batch_size=8,
        lr=0.0025,
        patience=2,
        augment=False,
        device="cpu",
        threads=1,
        time_limit_s=90.0,
    )


def test_parser_defaults_come_from_the_dataclass():
    parser = argparse.ArgumentParser()
    AblationSettings.add_arguments(parser)
    defaults = AblationSettings()
    for action in parser._actions:
        if action.dest in ("help", "arms", "no_augment"):
            continue
        assert action.default == getattr(defaults, action.dest), action.dest


def test_the_settings_module_does_not_load_torch():
    code = "import sys, dermstudy.classifier.settings\nassert 'torch' not in sys.modules\n"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"arms": ("original", "mixed")}, "unknown arm(s) mixed"),
        ({"seeds": 0}, "--seeds must be at least 1"),
        ({"epochs": 0}, "--epochs must be at least 1"),
        ({"image_size": 60}, "--image-size must be a multiple of 8"),
        ({"image_size": 0}, "--image-size must be a multiple of 8"),
        ({"name": "my run"}, "run name 'my run'"),
    ],
)
def test_validate_refuses_what_no_run_can_use(changes, words):
    with pytest.raises(AblationSettingsError, match=re.escape(words)):
        AblationSettings(**changes).validate()
    ODD.validate()  # every odd value above is one a run can use
    AblationSettings().validate()


def test_validate_words_its_errors_as_the_run_does():
    """The settings' checks and the run's own (``ablation.check_options``) say the same."""
    for changes in ({"image_size": 60}, {"seeds": 0}, {"name": "my run"}):
        settings = AblationSettings(**changes)
        with pytest.raises(AblationSettingsError) as ours:
            settings.validate()
        with pytest.raises(ablation.AblationError) as theirs:
            ablation.check_options(settings.options())
        assert str(ours.value) == str(theirs.value)
