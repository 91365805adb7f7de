"""GLIDE option dictionaries: the reference's names and defaults, validation and derived structure.

The option names are the reference implementation's (spec §1.1); they are what travels with every
checkpoint dermstudy writes. ``validate_options`` accepts and rejects the same dictionaries the
reference accepts and rejects (spec §1.2-§1.6) and explains a rejection in one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dermstudy.errors import DermstudyError

N_VOCAB = 50257
IN_CHANNELS = 3
OUT_CHANNELS = 6  # 3 for epsilon, 3 for the variance interpolation value v


class OptionsError(DermstudyError, ValueError):
    """An option dictionary that the reference would not accept."""


BASE_DEFAULTS: dict[str, Any] = {
    "image_size": 64,
    "num_channels": 192,
    "num_res_blocks": 3,
    "channel_mult": "",
    "num_heads": 1,
    "num_head_channels": 64,
    "num_heads_upsample": -1,
    "attention_resolutions": "32,16,8",
    "dropout": 0.1,
    "text_ctx": 128,
    "xf_width": 512,
    "xf_layers": 16,
    "xf_heads": 8,
    "xf_final_ln": True,
    "xf_padding": True,
    "diffusion_steps": 1000,
    "noise_schedule": "squaredcos_cap_v2",
    "timestep_respacing": "",
    "use_scale_shift_norm": True,
    "resblock_updown": True,
    "use_fp16": False,
    "cache_text_emb": False,
    "inpaint": False,
    "super_res": False,
}

UPSAMPLE_OVERRIDES: dict[str, Any] = {
    "image_size": 256,
    "num_res_blocks": 2,
    "noise_schedule": "linear",
    "super_res": True,
}

# Model-shape options: two checkpoints are interchangeable only if these agree.
ARCHITECTURE_KEYS = (
    "image_size",
    "num_channels",
    "num_res_blocks",
    "channel_mult",
    "num_heads",
    "num_head_channels",
    "num_heads_upsample",
    "attention_resolutions",
    "text_ctx",
    "xf_width",
    "xf_layers",
    "xf_heads",
    "xf_final_ln",
    "xf_padding",
    "use_scale_shift_norm",
    "resblock_updown",
    "inpaint",
    "super_res",
)


def default_options(kind: str = "base") -> dict[str, Any]:
    """Reference defaults for ``kind`` = ``base``, ``upsample``, ``base-inpaint`` or ``upsample-inpaint``."""
    options = dict(BASE_DEFAULTS)
    if kind not in ("base", "upsample", "base-inpaint", "upsample-inpaint"):
        raise OptionsError(f"unknown model kind {kind!r}; expected base or upsample")
    if kind.startswith("upsample"):
        options.update(UPSAMPLE_OVERRIDES)
    if kind.endswith("inpaint"):
        options["inpaint"] = True
    return options


def model_kind(options: dict[str, Any]) -> str:
    """``base`` or ``upsample`` (with ``-inpaint`` appended for inpainting models)."""
    kind = "upsample" if options.get("super_res") else "base"
    return kind + ("-inpaint" if options.get("inpaint") else "")


def in_channels(options: dict[str, Any]) -> int:
    """Input channels of the first convolution (spec §3: 3, +3 low-res, +4 inpainting)."""
    channels = IN_CHANNELS
    if options.get("super_res"):
        channels += 3
    if options.get("inpaint"):
        channels += 4
    return channels


def parse_int_list(text: str | list | tuple, name: str) -> tuple[int, ...]:
    if isinstance(text, (list, tuple)):
        return tuple(int(v) for v in text)
    try:
        return tuple(int(part) for part in str(text).split(",") if part.strip() != "")
    except ValueError:
        raise OptionsError(f"{name} must be comma-separated integers, got {text!r}") from None


def channel_multipliers(options: dict[str, Any]) -> tuple[int, ...]:
    """Per-level channel multipliers (spec §1.2)."""
    size = int(options["image_size"])
    raw = options["channel_mult"]
    if raw in ("", None, ()):
        automatic = {256: (1, 1, 2, 2, 4, 4), 128: (1, 1, 2, 3, 4), 64: (1, 2, 3, 4)}
        if size not in automatic:
            raise OptionsError(
                f"image_size {size} needs an explicit channel_mult (automatic only for 64, 128, 256)"
            )
        return automatic[size]
    mult = parse_int_list(raw, "channel_mult")
    if not mult or size != 2 ** (len(mult) + 2):
        raise OptionsError(
            f"channel_mult {raw!r} has {len(mult)} levels but image_size {size} needs "
            f"image_size = 2^(levels+2)"
        )
    return mult


def attention_downsample_rates(options: dict[str, Any]) -> set[int]:
    """Attention resolutions converted to downsample rates (spec §1.3)."""
    size = int(options["image_size"])
    return {
        size // r for r in parse_int_list(options["attention_resolutions"], "attention_resolutions")
    }


def heads_for(channels: int, options: dict[str, Any], *, decoder: bool = False) -> int:
    """Number of heads of an attention layer with ``channels`` channels (spec §1.4)."""
    head_channels = int(options["num_head_channels"])
    if head_channels != -1:
        if channels % head_channels:
            raise OptionsError(
                f"attention width {channels} is not divisible by num_head_channels {head_channels}"
            )
        return channels // head_channels
    heads = int(options["num_heads"])
    if decoder and int(options["num_heads_upsample"]) != -1:
        heads = int(options["num_heads_upsample"])
    if channels % heads:
        raise OptionsError(f"attention width {channels} is not divisible by {heads} heads")
    return heads


@dataclass(frozen=True)
class BlockPlan:
    """Channel plan of the UNet: the normalised widths, for validation and the model builder."""

    mult: tuple[int, ...]
    attention_ds: frozenset[int]
    normalised_widths: tuple[int, ...]
    attention_widths: tuple[tuple[int, bool], ...]  # (channels, is_decoder)


def plan_blocks(options: dict[str, Any]) -> BlockPlan:
    """Walk the encoder/decoder the way the model builder does and collect every width."""
    mc = int(options["num_channels"])
    n_res = int(options["num_res_blocks"])
    mult = channel_multipliers(options)
    attention_ds = attention_downsample_rates(options)
    widths: list[int] = []
    attn: list[tuple[int, bool]] = []
    ch = mult[0] * mc
    skips = [ch]
    ds = 1
    for level, m in enumerate(mult):
        for _ in range(n_res):
            widths += [ch, m * mc]
            ch = m * mc
            if ds in attention_ds:
                attn.append((ch, False))
            skips.append(ch)
        if level != len(mult) - 1:
            widths.append(ch)
            skips.append(ch)
            ds *= 2
    attn.append((ch, False))
    widths.append(ch)
    for level in reversed(range(len(mult))):
        for i in range(n_res + 1):
            widths += [ch + skips.pop(), mult[level] * mc]
            ch = mult[level] * mc
            if ds in attention_ds:
                attn.append((ch, True))
            if level and i == n_res:
                widths.append(ch)
                ds //= 2
    widths.append(ch)
    return BlockPlan(mult, frozenset(attention_ds), tuple(widths), tuple(attn))


def validate_options(options: dict[str, Any]) -> dict[str, Any]:
    """Complete ``options`` with the defaults of its kind and check them; returns a new dict.

    Raises ``OptionsError`` naming the first rule that is broken.
    """
    unknown = sorted(set(options) - set(BASE_DEFAULTS))
    if unknown:
        raise OptionsError(f"unknown GLIDE option(s): {', '.join(unknown)}")
    kind = "upsample" if options.get("super_res") else "base"
    full = default_options(kind)
    full.update(options)
    for key in ("image_size", "num_channels", "num_res_blocks", "text_ctx", "diffusion_steps"):
        if int(full[key]) <= 0:
            raise OptionsError(f"{key} must be positive, got {full[key]!r}")
    if int(full["xf_width"]) < 0 or int(full["xf_layers"]) < 0:
        raise OptionsError("xf_width and xf_layers must not be negative")
    plan = plan_blocks(full)
    for width in plan.normalised_widths:
        if width % 32:
            raise OptionsError(
                f"channel count {width} is not divisible by the 32 groups of GroupNorm "
                f"(num_channels should be a multiple of 32)"
            )
    for width, decoder in plan.attention_widths:
        heads_for(width, full, decoder=decoder)
    if int(full["xf_width"]) and int(full["xf_width"]) % int(full["xf_heads"]):
        raise OptionsError(
            f"xf_width {full['xf_width']} is not divisible by xf_heads {full['xf_heads']}"
        )
    if full["noise_schedule"] not in ("linear", "squaredcos_cap_v2"):
        raise OptionsError(f"unknown noise_schedule {full['noise_schedule']!r}")
    return full


def architecture_of(options: dict[str, Any]) -> dict[str, Any]:
    """The shape-determining subset of a (validated) option dict."""
    return {key: options[key] for key in ARCHITECTURE_KEYS}
