"""The GLIDE networks: text transformer, text-conditional UNet and its super-resolution variant.

Written from the project's specification (``glide-spec.md`` §2-§4). Module names and registration
order reproduce the reference's ``state_dict`` keys and shapes exactly, so released and fine-tuned
checkpoints load with strict key checking. Attention uses ``F.scaled_dot_product_attention``.

Precision: the model computes in float32 by default. ``convert_to_fp16`` casts the parameters the
reference keeps in half precision (spec §4.1) for CUDA fp16 inference; for bf16, keep float32
parameters and run under ``torch.autocast`` - normalisations, the time embedding, the embedding
projections and the output head then stay float32 (spec §4.3).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from dermstudy.glide.options import (
    N_VOCAB,
    OUT_CHANNELS,
    attention_downsample_rates,
    channel_multipliers,
    heads_for,
    in_channels,
    validate_options,
)


def _no_autocast(tensor: torch.Tensor) -> torch.autocast:
    """A context that switches autocast off on ``tensor``'s device (for float32 islands)."""
    return torch.autocast(device_type=tensor.device.type, enabled=False)


class GroupNorm32(nn.GroupNorm):
    """32-group GroupNorm computed in float32, optionally followed by SiLU in the input dtype."""

    def __init__(self, channels: int, swish: bool = False) -> None:
        super().__init__(32, channels, eps=1e-5)
        self.swish = swish

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with _no_autocast(x):
            y = F.group_norm(
                x.float(), self.num_groups, self.weight.float(), self.bias.float(), self.eps
            ).to(x.dtype)
        return F.silu(y) if self.swish else y


class LayerNorm32(nn.LayerNorm):
    """LayerNorm computed in float32 and cast back to the input dtype."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with _no_autocast(x):
            return F.layer_norm(
                x.float(), self.normalized_shape, self.weight.float(), self.bias.float(), self.eps
            ).to(x.dtype)


def timestep_embedding(
    timesteps: torch.Tensor, dim: int, max_period: float = 10000.0
) -> torch.Tensor:
    """Sinusoidal features, cosines first then sines, no scaling of t (spec §2.3)."""
    half = dim // 2
    freqs = torch.exp(
        -math.log(max_period)
        * torch.arange(half, dtype=torch.float32, device=timesteps.device)
        / half
    )
    args = timesteps.float()[:, None] * freqs[None]
    embedding = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        embedding = torch.cat([embedding, torch.zeros_like(embedding[:, :1])], dim=-1)
    return embedding


# -- UNet building blocks --------------------------------------------------------------------------


def _zero(module: nn.Module) -> nn.Module:
    """Zero a layer's parameters, as the reference does for the last layer of every residual branch
    (spec §2.5, §2.6, §2.10): each block starts as the identity, which is where training from scratch
    must begin."""
    for parameter in module.parameters():
        nn.init.zeros_(parameter)
    return module


class ResBlock(nn.Module):
    """Residual block with FiLM (scale-shift) conditioning on the embedding (spec §2.5)."""

    def __init__(
        self,
        channels: int,
        emb_channels: int,
        dropout: float,
        out_channels: int,
        use_scale_shift_norm: bool = True,
        up: bool = False,
        down: bool = False,
    ) -> None:
        super().__init__()
        self.use_scale_shift_norm = use_scale_shift_norm
        self.up, self.down = up, down
        self.in_layers = nn.Sequential(
            GroupNorm32(channels, swish=True),
            nn.Identity(),
            nn.Conv2d(channels, out_channels, 3, padding=1),
        )
        self.emb_layers = nn.Sequential(
            nn.SiLU(),
            nn.Linear(emb_channels, 2 * out_channels if use_scale_shift_norm else out_channels),
        )
        self.out_layers = nn.Sequential(
            GroupNorm32(out_channels, swish=not use_scale_shift_norm),
            nn.SiLU() if use_scale_shift_norm else nn.Identity(),
            nn.Dropout(dropout),
            _zero(nn.Conv2d(out_channels, out_channels, 3, padding=1)),
        )
        if out_channels == channels:
            self.skip_connection: nn.Module = nn.Identity()
        else:
            self.skip_connection = nn.Conv2d(channels, out_channels, 1)

    def _resample(self, x: torch.Tensor) -> torch.Tensor:
        if self.up:
            return F.interpolate(x, scale_factor=2, mode="nearest")
        if self.down:
            return F.avg_pool2d(x, kernel_size=2, stride=2)
        return x

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        norm_act, _, conv = self.in_layers
        h = norm_act(x)
        # The activations are resampled after norm+SiLU; the skip path resamples the raw input.
        h = conv(self._resample(h))
        x = self._resample(x)
        with _no_autocast(emb):
            emb_out = self.emb_layers(emb.float())
        emb_out = emb_out.to(h.dtype)[..., None, None]
        norm, act, drop, conv_out = self.out_layers
        if self.use_scale_shift_norm:
            scale, shift = emb_out.chunk(2, dim=1)
            h = norm(h) * (1 + scale) + shift
            h = conv_out(drop(act(h)))
        else:
            h = conv_out(drop(act(norm(h + emb_out))))
        return self.skip_connection(x) + h


class AttentionBlock(nn.Module):
    """Self-attention over image tokens with the text tokens prepended to keys/values (spec §2.6)."""

    def __init__(self, channels: int, num_heads: int, encoder_channels: int | None) -> None:
        super().__init__()
        self.channels = channels
        self.num_heads = num_heads
        self.norm = GroupNorm32(channels)
        self.qkv = nn.Conv1d(channels, 3 * channels, 1)
        if encoder_channels:
            self.encoder_kv = nn.Conv1d(encoder_channels, 2 * channels, 1)
        self.proj_out = _zero(nn.Conv1d(channels, channels, 1))

    def forward(self, x: torch.Tensor, encoder_out: torch.Tensor | None = None) -> torch.Tensor:
        b, c, *spatial = x.shape
        n, d = self.num_heads, c // self.num_heads
        qkv = self.qkv(self.norm(x).reshape(b, c, -1))
        # "Legacy" head-major layout: per head [q | k | v], each d channels.
        q, k, v = qkv.reshape(b, n, 3 * d, -1).split(d, dim=2)
        if encoder_out is not None and hasattr(self, "encoder_kv"):
            ek, ev = (
                self.encoder_kv(encoder_out).to(q.dtype).reshape(b, n, 2 * d, -1).split(d, dim=2)
            )
            k = torch.cat([ek, k], dim=-1)
            v = torch.cat([ev, v], dim=-1)
        a = _attention(q.transpose(-1, -2), k.transpose(-1, -2), v.transpose(-1, -2))
        a = a.transpose(-1, -2).reshape(b, c, -1)
        return x + self.proj_out(a).reshape(b, c, *spatial)


def _attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """SDPA (scale 1/√d, no mask) on [B, heads, L, d] inputs.

    Contiguous inputs let PyTorch pick its fused (flash) kernel; the strided views from the head
    split fall back to the slower math path (3× slower on CPU).
    """
    return F.scaled_dot_product_attention(q.contiguous(), k.contiguous(), v.contiguous())


class Downsample(nn.Module):
    """Plain strided-conv downsampling (only when ``resblock_updown`` is false)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.op = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Upsample(nn.Module):
    """Nearest ×2 then conv (only when ``resblock_updown`` is false)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class TimestepBlock(nn.Sequential):
    """A block container: ResBlocks get the embedding, attention gets the text features."""

    def forward(  # type: ignore[override]
        self, x: torch.Tensor, emb: torch.Tensor, encoder_out: torch.Tensor | None = None
    ) -> torch.Tensor:
        for layer in self:
            if isinstance(layer, ResBlock):
                x = layer(x, emb)
            elif isinstance(layer, AttentionBlock):
                x = layer(x, encoder_out)
            else:
                x = layer(x)
        return x


# -- text transformer ------------------------------------------------------------------------------


class MultiheadAttention(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.c_qkv = nn.Linear(width, 3 * width)
        self.c_proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, s, w = x.shape
        d = w // self.heads
        # Per head contiguous [q | k | v]; bidirectional, no mask at all (spec §2.9).
        q, k, v = self.c_qkv(x).reshape(b, s, self.heads, 3 * d).split(d, dim=-1)
        a = _attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        return self.c_proj(a.transpose(1, 2).reshape(b, s, w))


class MLP(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.c_fc = nn.Linear(width, 4 * width)
        self.c_proj = nn.Linear(4 * width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c_proj(F.gelu(self.c_fc(x)))


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.attn = MultiheadAttention(width, heads)
        self.ln_1 = LayerNorm32(width)
        self.mlp = MLP(width)
        self.ln_2 = LayerNorm32(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width: int, layers: int, heads: int) -> None:
        super().__init__()
        self.resblocks = nn.ModuleList(ResidualAttentionBlock(width, heads) for _ in range(layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.resblocks:
            x = block(x)
        return x


# -- the full model --------------------------------------------------------------------------------


class Text2ImUNet(nn.Module):
    """Text-conditional UNet; with ``super_res`` the 64→256 upsampler (spec §2, §3).

    ``forward(x, timesteps, tokens, mask, low_res=None, inpaint_image=None, inpaint_mask=None)``
    returns [B, 6, H, W]: epsilon in channels 0-2 and the variance value v in 3-5. ``timesteps``
    are original diffusion steps (0…T-1).
    """

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__()
        opts = validate_options(options)
        self.options = opts
        self.super_res = bool(opts["super_res"])
        self.inpaint = bool(opts["inpaint"])
        self.dtype = torch.float32  # torso dtype (float16 after convert_to_fp16)
        mc = int(opts["num_channels"])
        emb_ch = 4 * mc
        xf_width = int(opts["xf_width"])
        text_ctx = int(opts["text_ctx"])
        self.model_channels = mc
        self.text_ctx = text_ctx
        self.xf_width = xf_width
        self.xf_padding = bool(opts["xf_padding"]) and xf_width > 0

        # Own parameters come first in state_dict order.
        if xf_width:
            self.positional_embedding = nn.Parameter(torch.empty(text_ctx, xf_width))
            if self.xf_padding:
                self.padding_embedding = nn.Parameter(torch.empty(text_ctx, xf_width))

        self.time_embed = nn.Sequential(nn.Linear(mc, emb_ch), nn.SiLU(), nn.Linear(emb_ch, emb_ch))
        self._build_unet(opts, emb_ch, xf_width or None)
        if xf_width:
            self.transformer = Transformer(xf_width, int(opts["xf_layers"]), int(opts["xf_heads"]))
            self.final_ln = LayerNorm32(xf_width) if opts["xf_final_ln"] else None
            self.token_embedding = nn.Embedding(N_VOCAB, xf_width)
            self.transformer_proj = nn.Linear(xf_width, emb_ch)
        self._init_embeddings()

    def _build_unet(self, opts: dict[str, Any], emb_ch: int, xf_width: int | None) -> None:
        mc = int(opts["num_channels"])
        n_res = int(opts["num_res_blocks"])
        dropout = float(opts["dropout"])
        scale_shift = bool(opts["use_scale_shift_norm"])
        updown = bool(opts["resblock_updown"])
        mult = channel_multipliers(opts)
        attention_ds = attention_downsample_rates(opts)

        def res(cin: int, cout: int, up: bool = False, down: bool = False) -> ResBlock:
            return ResBlock(cin, emb_ch, dropout, cout, scale_shift, up=up, down=down)

        def attn(ch: int, decoder: bool) -> AttentionBlock:
            return AttentionBlock(ch, heads_for(ch, opts, decoder=decoder), xf_width)

        ch = mult[0] * mc
        self.input_blocks = nn.ModuleList(
            [TimestepBlock(nn.Conv2d(in_channels(opts), ch, 3, padding=1))]
        )
        skips = [ch]
        ds = 1
        for level, m in enumerate(mult):
            for _ in range(n_res):
                layers: list[nn.Module] = [res(ch, m * mc)]
                ch = m * mc
                if ds in attention_ds:
                    layers.append(attn(ch, decoder=False))
                self.input_blocks.append(TimestepBlock(*layers))
                skips.append(ch)
            if level != len(mult) - 1:
                down = res(ch, ch, down=True) if updown else Downsample(ch)
                self.input_blocks.append(TimestepBlock(down))
                skips.append(ch)
                ds *= 2
        self.middle_block = TimestepBlock(res(ch, ch), attn(ch, decoder=False), res(ch, ch))
        self.output_blocks = nn.ModuleList()
        for level in reversed(range(len(mult))):
            for i in range(n_res + 1):
                layers = [res(ch + skips.pop(), mult[level] * mc)]
                ch = mult[level] * mc
                if ds in attention_ds:
                    layers.append(attn(ch, decoder=True))
                if level and i == n_res:
                    layers.append(res(ch, ch, up=True) if updown else Upsample(ch))
                    ds //= 2
                self.output_blocks.append(TimestepBlock(*layers))
        self.out = nn.Sequential(
            GroupNorm32(ch, swish=True),
            nn.Identity(),
            _zero(nn.Conv2d(ch, OUT_CHANNELS, 3, padding=1)),
        )

    def _init_embeddings(self) -> None:
        # The reference leaves these uninitialised (spec §2.10); give them sane values.
        if self.xf_width:
            nn.init.normal_(self.positional_embedding, std=0.01)
            if self.xf_padding:
                nn.init.normal_(self.padding_embedding, std=0.01)

    # -- precision ---------------------------------------------------------------------------------
    def convert_torso(self, dtype: torch.dtype = torch.float16) -> None:
        """Cast the parameters the reference keeps in half precision (spec §4.1 table) to ``dtype``.

        float16 reproduces the reference's fp16 mode; bfloat16 is the same split with bf16 (spec
        §4.3): norms, time embedding, embedding projections and the output head stay float32, and
        no per-call weight casts are needed (unlike autocast, which re-casts every weight per call).
        """
        for part in (self.input_blocks, self.middle_block, self.output_blocks):
            for module in part.modules():
                if isinstance(module, (nn.Conv1d, nn.Conv2d)):
                    module.to(dtype)
        if self.xf_width:
            for module in self.transformer.modules():
                if isinstance(module, nn.Linear):
                    module.to(dtype)
            self.token_embedding.to(dtype)
            self.transformer_proj.to(dtype)
        self.dtype = dtype

    def convert_to_fp16(self) -> None:
        """The reference's fp16 conversion (``convert_torso(torch.float16)``)."""
        self.convert_torso(torch.float16)

    # -- text branch -------------------------------------------------------------------------------
    def get_text_emb(
        self, tokens: torch.Tensor | None, mask: torch.Tensor | None
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """(xf_proj [B, 4·mc], xf_out [B, W, S]) for the tokens, or (None, None) without text."""
        if not self.xf_width or tokens is None:
            return None, None
        with _no_autocast(self.positional_embedding):
            x = self.token_embedding(tokens).float() + self.positional_embedding.float()[None]
            if self.xf_padding:
                if mask is None:
                    raise ValueError("a token mask is required when xf_padding is on")
                x = torch.where(mask[..., None], x, self.padding_embedding.float()[None])
        x = x.to(self.dtype)
        x = self.transformer(x)
        if self.final_ln is not None:
            x = self.final_ln(x)
        xf_proj = self.transformer_proj(x[:, -1])
        return xf_proj, x.permute(0, 2, 1)

    # -- forward -----------------------------------------------------------------------------------
    def forward(
        self,
        x: torch.Tensor,
        timesteps: torch.Tensor,
        tokens: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        low_res: torch.Tensor | None = None,
        inpaint_image: torch.Tensor | None = None,
        inpaint_mask: torch.Tensor | None = None,
        text_emb: tuple[torch.Tensor | None, torch.Tensor | None] | None = None,
    ) -> torch.Tensor:
        xf_proj, xf_out = text_emb if text_emb is not None else self.get_text_emb(tokens, mask)
        with _no_autocast(x):
            emb = self.time_embed(timestep_embedding(timesteps, self.model_channels))
            if xf_proj is not None:
                emb = emb + xf_proj.float()
        h = self._assemble_input(x, low_res, inpaint_image, inpaint_mask).to(self.dtype)
        stack = []
        for block in self.input_blocks:
            h = block(h, emb, xf_out)
            stack.append(h)
        h = self.middle_block(h, emb, xf_out)
        for block in self.output_blocks:
            h = block(torch.cat([h, stack.pop()], dim=1), emb, xf_out)
        with _no_autocast(x):
            return self.out(h.to(x.dtype))

    def _assemble_input(
        self,
        x: torch.Tensor,
        low_res: torch.Tensor | None,
        inpaint_image: torch.Tensor | None,
        inpaint_mask: torch.Tensor | None,
    ) -> torch.Tensor:
        parts = [x]
        if self.inpaint:
            image = inpaint_image if inpaint_image is not None else torch.zeros_like(x)
            mask = inpaint_mask if inpaint_mask is not None else torch.zeros_like(x[:, :1])
            parts += [image * mask, mask]
        if self.super_res:
            if low_res is None:
                raise ValueError("the upsampler needs a low_res image")
            parts.append(
                F.interpolate(
                    low_res.to(x.dtype), x.shape[-2:], mode="bilinear", align_corners=False
                )
            )
        return torch.cat(parts, dim=1) if len(parts) > 1 else x


def create_model(options: dict[str, Any]) -> Text2ImUNet:
    """Build a model from a (possibly partial) option dict; missing options take the kind's defaults."""
    return Text2ImUNet(options)


@torch.no_grad()
def randomize_parameters(model: nn.Module, seed: int = 0, std: float = 0.05) -> nn.Module:
    """Draw every parameter from N(0, std²) (norm weights around 1), so no branch is trivially zero.

    For tests and benchmarks: a freshly initialised GLIDE outputs exactly zero (spec §2.10, §9).
    """
    generator = torch.Generator("cpu").manual_seed(seed)
    for name, param in model.named_parameters():
        values = torch.randn(param.shape, generator=generator) * std
        if name.endswith(".weight") and param.ndim == 1:  # GroupNorm / LayerNorm scales
            values += 1.0
        param.copy_(values.to(param.dtype))
    return model
