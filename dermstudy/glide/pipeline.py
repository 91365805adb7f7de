"""The one text → 64 px → 256 px chain: models, samplers, guidance and the upsampler temperature.

Everything that samples images from GLIDE models goes through here: the generation job, the
training previews, ``glide verify`` and the benches. A :class:`Stage` is one model with its
respaced process and sampler; :func:`sample_text` runs a base stage from prompts (with optional
classifier-free guidance), :func:`sample_super_res` runs an upsampler stage on a low-res batch,
and :class:`Text2ImPipeline` chains the two the way the reference notebook does (base sample →
8-bit quantisation → upsampler started from noise scaled by the temperature, spec §3.3).

Noise comes only from the caller's noise source, and it is drawn in the same order as the
reference (base start, base steps, upsampler start, upsampler steps), so the same seeds give the
same pixels whichever caller assembles the chain.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from dermstudy.glide.checkpoints import LoadedModel, load_checkpoint
from dermstudy.glide.defaults import (  # re-exported: the pipeline owns these values
    DEFAULT_GUIDANCE,
    RECIPES,  # noqa: F401
    UPSAMPLE_TEMPERATURE,
)
from dermstudy.glide.diffusion import Diffusion
from dermstudy.glide.sampling import (
    Conditioning,
    GuidedDenoiser,
    NoiseSource,
    StepCallback,
    quantize_low_res,
    sample,
)
from dermstudy.glide.tokenizer import Tokenizer, default_tokenizer

# ``callback(stage, event)``: stage is "base" or "upsample", event the sampler's step event.
StageCallback = Callable[[str, dict[str, Any]], None]
# ``check(x, stage)`` after each stage (e.g. refuse NaN); raise to stop the chain.
StageCheck = Callable[[torch.Tensor, str], None]


@dataclass
class Stage:
    """One model of the chain with its options, respaced process and sampler."""

    model: torch.nn.Module
    options: dict[str, Any]
    diffusion: Diffusion
    sampler: str = "ddpm"
    autocast_dtype: torch.dtype | None = None

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def image_size(self) -> int:
        return int(self.options["image_size"])

    @property
    def text_ctx(self) -> int:
        return int(self.options["text_ctx"])

    def denoiser(
        self,
        cond: Conditioning,
        uncond: Conditioning | None = None,
        guidance: float | None = None,
    ) -> GuidedDenoiser:
        """The model with its conditioning; guided (``uncond`` needed) when ``guidance`` is set."""
        return GuidedDenoiser(
            self.model,
            self.diffusion,
            cond,
            uncond if guidance is not None else None,
            guidance,
            self.autocast_dtype,
        )

    def run(
        self,
        denoiser: GuidedDenoiser,
        x: torch.Tensor,
        noise: NoiseSource,
        *,
        temperature: float = 1.0,
        clip_denoised: bool = True,
        eta: float = 0.0,
        callback: StepCallback | None = None,
    ) -> torch.Tensor:
        """Sample from the initial noise ``x`` (scaled by ``temperature``) with this stage's sampler."""
        return sample(
            self.sampler,
            denoiser,
            self.diffusion,
            x * temperature,
            noise,
            clip_denoised=clip_denoised,
            eta=eta,
            callback=callback,
        )


def load_stage(
    path: str | os.PathLike,
    kind: str,
    steps: str,
    sampler: str,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> tuple[LoadedModel, Stage]:
    """A checkpoint loaded for sampling with ``steps`` respacing (raises ``CheckpointError`` or
    ``RespacingError``)."""
    loaded = load_checkpoint(path, kind=kind, device=device, dtype=dtype)
    diffusion = Diffusion.from_options(loaded.options, steps)
    prepare_for_sampling(loaded.model)
    return loaded, Stage(loaded.model, loaded.options, diffusion, sampler)


def prepare_for_sampling(model: torch.nn.Module) -> torch.nn.Module:
    """Eval mode, NHWC memory format: ~8% faster on CPU (oneDNN) and what tensor cores want."""
    return model.eval().to(memory_format=torch.channels_last)


def text_conditioning(
    prompts: Sequence[str],
    text_ctx: int,
    device: torch.device | str,
    low_res: torch.Tensor | None = None,
    tokenizer: Tokenizer | None = None,
) -> Conditioning:
    """Tokens and mask of ``prompts`` (and the upsampler's ``low_res``) on ``device``."""
    tokens, mask = (tokenizer or default_tokenizer()).batch(list(prompts), text_ctx)
    return Conditioning(tokens.to(device), mask.to(device), low_res)


def uncond_conditioning(
    rows: int, text_ctx: int, device: torch.device | str, tokenizer: Tokenizer | None = None
) -> Conditioning:
    """The empty prompt, ``rows`` times: the unconditional half of classifier-free guidance."""
    tokens, mask = (tokenizer or default_tokenizer()).uncond(rows, text_ctx)
    return Conditioning(tokens.to(device), mask.to(device))


def text_denoiser(
    stage: Stage, prompts: Sequence[str], guidance: float | None = None
) -> GuidedDenoiser:
    """A base stage's denoiser for ``prompts``; guided when ``guidance`` is not None."""
    device = stage.device
    cond = text_conditioning(prompts, stage.text_ctx, device)
    uncond = None
    if guidance is not None:
        uncond = uncond_conditioning(len(prompts), stage.text_ctx, device)
    return stage.denoiser(cond, uncond, guidance)


def super_res_denoiser(
    stage: Stage, prompts: Sequence[str], low_res: torch.Tensor
) -> GuidedDenoiser:
    """An upsampler stage's denoiser for ``prompts`` and the low-res batch (used as given)."""
    return stage.denoiser(text_conditioning(prompts, stage.text_ctx, stage.device, low_res))


def sample_text(
    stage: Stage,
    prompts: Sequence[str],
    noise: NoiseSource,
    guidance: float | None = None,
    callback: StepCallback | None = None,
) -> torch.Tensor:
    """Base images ([-1, 1], one row per prompt) from a base stage; ``guidance`` None: unguided."""
    denoiser = text_denoiser(stage, prompts, guidance)
    x = noise((len(prompts), 3, stage.image_size, stage.image_size))
    return stage.run(denoiser, x, noise, callback=callback)


def sample_super_res(
    stage: Stage,
    prompts: Sequence[str],
    low_res: torch.Tensor,
    noise: NoiseSource,
    temperature: float = UPSAMPLE_TEMPERATURE,
    callback: StepCallback | None = None,
) -> torch.Tensor:
    """Upsampled images ([-1, 1]) of ``low_res`` (used as given: quantise a base sample first)."""
    denoiser = super_res_denoiser(stage, prompts, low_res)
    x = noise((len(prompts), 3, stage.image_size, stage.image_size))
    return stage.run(denoiser, x, noise, temperature=temperature, callback=callback)


@dataclass
class Text2ImPipeline:
    """Prompts → base sample (guided) → 8-bit quantised → upsampler (temperature), spec §3.3.

    Without an ``upsampler`` the chain ends at the base sample. ``guidance`` None (or 1.0, which is
    exactly the conditional model) skips the unconditional half.
    """

    base: Stage
    upsampler: Stage | None = None
    guidance: float | None = DEFAULT_GUIDANCE
    temperature: float = UPSAMPLE_TEMPERATURE

    @property
    def effective_guidance(self) -> float | None:
        # Scale 1 is exactly the conditional model: the unconditional half would be wasted work.
        return None if self.guidance is None or self.guidance == 1.0 else self.guidance

    def __call__(
        self,
        prompts: Sequence[str],
        noise: NoiseSource,
        callback: StageCallback | None = None,
        check: StageCheck | None = None,
    ) -> torch.Tensor:
        """Images in [-1, 1] (the upsampler's size if there is one), one row per prompt."""

        def step(stage: str) -> StepCallback | None:
            return None if callback is None else (lambda event: callback(stage, event))

        x = sample_text(self.base, prompts, noise, self.effective_guidance, step("base"))
        if check is not None:
            check(x, "base")
        if self.upsampler is None:
            return x
        x = sample_super_res(
            self.upsampler,
            prompts,
            quantize_low_res(x),
            noise,
            self.temperature,
            step("upsample"),
        )
        if check is not None:
            check(x, "upsampler")
        return x
