"""Model structure: full-size models on the meta device against the manifests; option rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from dermstudy.glide import OptionsError, create_model, default_options, validate_options

VECTORS = Path(__file__).resolve().parents[1] / "data" / "glide"


def _meta_model(options):
    with torch.device("meta"):
        return create_model(options)


@pytest.mark.parametrize("name", ["manifest_base.json", "manifest_upsample.json"])
def test_full_size_model_matches_manifest_exactly(name) -> None:
    manifest = json.loads((VECTORS / name).read_text())
    model = _meta_model(manifest["options"])
    ours = [(k, list(v.shape)) for k, v in model.state_dict().items()]
    assert ours == [(e["key"], e["shape"]) for e in manifest["state_dict"]]
    assert sum(v.numel() for v in model.state_dict().values()) == manifest["parameters"]


@pytest.mark.parametrize(
    ("kind", "params", "keys"),
    [
        ("base", 385_030_726, 783),
        ("upsample", 398_361_286, 797),
        ("base-inpaint", 385_037_638, 783),
        ("upsample-inpaint", 398_368_198, 797),
    ],
)
def test_default_options_give_reference_parameter_counts(kind, params, keys) -> None:
    state = _meta_model(default_options(kind)).state_dict()
    assert len(state) == keys
    assert sum(v.numel() for v in state.values()) == params


def test_text_branch_options_remove_keys() -> None:
    small = {
        "image_size": 32,
        "channel_mult": "1,1,2",
        "num_channels": 32,
        "num_res_blocks": 1,
        "num_head_channels": 16,
        "attention_resolutions": "16,8",
        "text_ctx": 8,
        "xf_width": 16,
        "xf_layers": 1,
        "xf_heads": 2,
    }
    keys = set(_meta_model(small).state_dict())
    assert "final_ln.weight" in keys and "padding_embedding" in keys
    keys = set(_meta_model({**small, "xf_final_ln": False, "xf_padding": False}).state_dict())
    assert "final_ln.weight" not in keys and "padding_embedding" not in keys
    keys = set(_meta_model({**small, "xf_width": 0}).state_dict())
    assert not any(
        k.startswith(("transformer", "token_embedding")) or "encoder_kv" in k for k in keys
    )


def test_plain_resampling_layers_when_resblock_updown_is_off() -> None:
    small = {
        "image_size": 32,
        "channel_mult": "1,1,2",
        "num_channels": 32,
        "num_res_blocks": 1,
        "num_head_channels": 16,
        "attention_resolutions": "8",
        "text_ctx": 8,
        "xf_width": 16,
        "xf_layers": 1,
        "xf_heads": 2,
        "resblock_updown": False,
    }
    keys = set(_meta_model(small).state_dict())
    assert "input_blocks.2.0.op.weight" in keys
    assert any(k.endswith(".conv.weight") for k in keys)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"image_size": 48}, "explicit channel_mult"),
        ({"image_size": 64, "channel_mult": "1,2,3"}, "image_size = 2^(levels+2)"),
        ({"num_channels": 48}, "divisible by the 32 groups"),
        ({"num_head_channels": 100}, "num_head_channels"),
        ({"xf_heads": 7}, "xf_heads"),
        ({"noise_schedule": "quad"}, "noise_schedule"),
        ({"bogus": 1}, "unknown GLIDE option"),
    ],
)
def test_invalid_options_are_rejected_with_a_reason(change, message) -> None:
    with pytest.raises(
        OptionsError,
        match=message.replace("(", r"\(")
        .replace(")", r"\)")
        .replace("^", r"\^")
        .replace("+", r"\+"),
    ):
        validate_options({**default_options("base"), **change})


def test_upsampler_defaults_are_base_with_four_overrides() -> None:
    base, up = default_options("base"), default_options("upsample")
    changed = {k for k in base if base[k] != up[k]}
    assert changed == {"image_size", "num_res_blocks", "noise_schedule", "super_res"}


def test_a_new_model_starts_with_the_reference_zero_layers() -> None:
    options = {
        **default_options("base"),
        "num_channels": 32,
        "num_res_blocks": 1,
        "attention_resolutions": "8",
        "num_head_channels": 32,
        "xf_width": 32,
        "xf_layers": 1,
        "xf_heads": 2,
        "text_ctx": 8,
    }
    model = create_model(options)
    zero = [k for k, v in model.state_dict().items() if v.ndim and not v.abs().sum()]
    residual_out = [k for k in zero if ".out_layers.3." in k]
    attention_out = [k for k in zero if ".proj_out." in k]
    assert residual_out and attention_out and "out.2.weight" in zero and "out.2.bias" in zero
    # Everything else but the norms' shifts is drawn at random: only the last layers start at zero.
    norms = {
        k
        for k, m in model.named_modules()
        if isinstance(m, (torch.nn.GroupNorm, torch.nn.LayerNorm))
    }
    others = [
        k for k in zero if k not in residual_out + attention_out + ["out.2.weight", "out.2.bias"]
    ]
    assert others and all(k.rsplit(".", 1)[0] in norms and k.endswith(".bias") for k in others)
    tokens = torch.zeros(2, 8, dtype=torch.long)
    out = model(torch.randn(2, 3, 64, 64), torch.tensor([5, 900]), tokens, tokens.bool())
    assert out.shape == (2, 6, 64, 64) and not out.abs().sum()
