"""GenerateSettings: its defaults, its checks, and the command line and JSON forms it reads back."""

from __future__ import annotations

from pathlib import Path

import pytest

from dermstudy.cli import build_parser
from dermstudy.generation.settings import GenerateSettings, GenerationError
from dermstudy.glide.pipeline import DEFAULT_GUIDANCE, UPSAMPLE_TEMPERATURE


def _parse(argv: list[str]) -> GenerateSettings:
    return GenerateSettings.from_args(build_parser().parse_args(argv))


def test_defaults_are_the_pipelines_and_the_parsers():
    settings = GenerateSettings()
    assert settings.guidance == DEFAULT_GUIDANCE
    assert settings.temperature == UPSAMPLE_TEMPERATURE
    # A bare command line means the same run as the bare object.
    assert _parse(["generate"]) == settings


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"count": 0}, "--count"),
        ({"batch_size": 0}, "--batch-size"),
        ({"sampler": "euler"}, "unknown sampler"),
        ({"dtype": "fp8"}, "unknown dtype"),
        ({"guidance": -1.0}, "--guidance"),
        ({"guidance": 30.5}, "--guidance must be between 0 and 30"),
        ({"temperature": 0.0}, "--temperature"),
        ({"temperature": 2.5}, "--temperature must be between 0.001 and 2"),
    ],
)
def test_validation_names_the_bad_option(change, message):
    GenerateSettings().validate()
    with pytest.raises(GenerationError, match=message):
        GenerateSettings(**change).validate()


ODD = GenerateSettings(
    entity="df",
    prompt="a dermoscopic image of a dermatofibroma, close up",
    count=5,
    guidance=4.25,
    base_steps="10,10,5",
    upsample_steps="fast27",
    sampler="dpm++2m",
    seed=-3,
    batch_size=2,
    device="cpu",
    dtype="bf16",
    base=Path("models/b.pt"),
    upsampler=Path("/abs/up.pt"),
    temperature=0.5,
    base_sha256="ab" * 32,
    upsampler_sha256="cd" * 32,
)


@pytest.mark.parametrize(
    "settings",
    [
        GenerateSettings(),
        ODD,
        GenerateSettings(entity="nv", upsample=False, guidance=1.0, seed=0),
    ],
)
def test_argv_and_json_round_trip(settings):
    argv = settings.to_argv()
    assert argv[0] == "generate"
    assert _parse(argv) == settings
    assert GenerateSettings.from_json(settings.to_json()) == settings


def test_argv_leaves_out_the_upsampler_when_not_upsampling():
    argv = GenerateSettings(upsample=False, temperature=0.5, upsample_steps="3").to_argv()
    assert "--no-upsample" in argv
    assert "--temperature" not in argv and "--upsample-steps" not in argv


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"colour": 1}, "unknown generation setting"),
        ({"count": "4"}, "whole number"),
        ({"count": True}, "whole number"),
        ({"guidance": "high"}, "number"),
        ({"upsample": 1}, "true or false"),
        ({"sampler": 3}, "text"),
        ([1, 2], "JSON object"),
    ],
)
def test_json_refuses_what_it_does_not_know(data, message):
    with pytest.raises(GenerationError, match=message):
        GenerateSettings.from_json(data)


def test_the_limits_are_inclusive_and_no_setting_of_their_own():
    for guidance in GenerateSettings.GUIDANCE_LIMITS:
        for temperature in GenerateSettings.TEMPERATURE_LIMITS:
            GenerateSettings(guidance=guidance, temperature=temperature).validate()
    assert "GUIDANCE_LIMITS" not in GenerateSettings().to_json()
