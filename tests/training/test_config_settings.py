"""TrainConfig as the training job's settings object: defaults, checks, argv and JSON forms."""

from __future__ import annotations

import json

import pytest

from dermstudy.cli import build_parser
from dermstudy.glide.pipeline import DEFAULT_GUIDANCE
from dermstudy.training.config import PAPER, ConfigError, TrainConfig, resolve_config


def _parse(argv: list[str]) -> TrainConfig:
    return TrainConfig.from_args(build_parser().parse_args(argv))


def test_defaults_are_the_paper_preset_and_the_pipelines_guidance():
    config = TrainConfig()
    assert {k: getattr(config, k) for k in PAPER} == PAPER
    assert config.preview_guidance == DEFAULT_GUIDANCE
    assert _parse(["train", "base"]) == resolve_config("paper", {})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"lr": 0.0}, "--lr"),
        ({"batch_size": 0}, "--batch-size"),
        ({"uncond_p": 1.5}, "--uncond-p"),
        ({"precision": "fp8"}, "--precision"),
        ({"ema": 1.0}, "--ema"),
        ({"patch_size": 64}, "--patch-size"),  # base model: no patches
    ],
)
def test_validation_names_the_bad_option(overrides, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config("paper", overrides, cuda_available=False)


def test_bad_model_options_are_one_clear_error():
    with pytest.raises(ConfigError, match="--model-options is not valid JSON"):
        _parse(["train", "base", "--init", "scratch", "--model-options", "{nope"])


ODD = {
    "kind": "upsample",
    "init": "scratch",
    "model_options": {"num_channels": 64, "attention_resolutions": "16"},
    "epochs": 3,
    "steps": 7,
    "batch_size": 5,
    "lr": 3.3333333e-05,
    "weight_decay": 0.01,
    "uncond_p": 0.1,
    "precision": "bf16",
    "grad_accum": 3,
    "ema": 0.9999,
    "seed": 9,
    "device": "cpu",
    "freeze_text": True,
    "loss": "hybrid",
    "grad_clip": 2.0,
    "timestep_range": "full",
    "channels_last": True,
    "fused_adamw": False,
    "entities": ["mel", "df"],
    "split": "held",
    "patch_size": 64,
    "checkpoint_every": 11,
    "preview_every": 12,
    "preview_steps": 13,
    "preview_guidance": 4.5,
    "log_every": 14,
    "time_limit_min": 1.5,
}


@pytest.mark.parametrize(
    "config",
    [
        resolve_config("paper", {}, cuda_available=False),
        resolve_config("fast", {"device": "cpu"}, cuda_available=False),
        resolve_config("fast", ODD, cuda_available=False),
    ],
)
def test_argv_and_json_round_trip(config):
    argv = config.to_argv()
    assert argv[:2] == ["train", "upsampler" if config.kind == "upsample" else "base"]
    assert _parse(argv) == config
    assert TrainConfig.from_dict(json.loads(config.to_json())) == config


def test_argv_writes_short_numbers_only_where_they_read_back_exactly():
    argv = resolve_config("paper", {"lr": 1e-5, "uncond_p": 0.0, "ema": 1 / 3}).to_argv()
    assert argv[argv.index("--lr") + 1] == "1e-05"
    assert argv[argv.index("--uncond-p") + 1] == "0"
    assert float(argv[argv.index("--ema") + 1]) == 1 / 3
