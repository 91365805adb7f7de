"""Samplers, written k-diffusion style: each is one short function over a denoiser callable.

A *denoiser* is ``denoiser(x, k) -> output`` returning the 6-channel GLIDE output for the state ``x`` at
respaced indices ``k`` (a LongTensor of batch size). ``GuidedDenoiser`` builds one from a model,
its conditioning and (optionally) classifier-free guidance exactly as the reference applies it
(spec §7). Randomness comes from a *noise source* ``noise(shape) -> Tensor`` so that reference
traces can be replayed (``ReplayNoise``) and every image can own its generator (``RowNoise``).

Samplers: ``sample_ddpm`` (ancestral, learned-range variance, spec §6.6), ``sample_ddim`` (spec §6.7)
and ``sample_dpmpp_2m`` (DPM-Solver++(2M), our addition; deterministic, few steps).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from dermstudy.glide.diffusion import Diffusion

Denoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
NoiseSource = Callable[[tuple[int, ...]], torch.Tensor]
StepCallback = Callable[[dict[str, Any]], None]

SAMPLERS = ("ddpm", "ddim", "dpm++2m")


# -- noise sources ---------------------------------------------------------------------------------


class GeneratorNoise:
    """Standard normal draws from one ``torch.Generator``."""

    def __init__(self, generator: torch.Generator, device: torch.device | str = "cpu") -> None:
        self.generator = generator
        self.device = torch.device(device)

    def __call__(self, shape: tuple[int, ...]) -> torch.Tensor:
        return torch.randn(shape, generator=self.generator, device=self.generator.device).to(
            self.device
        )


class RowNoise:
    """One generator per batch row, so each image's seed alone reproduces it in any batch."""

    def __init__(self, seeds: Sequence[int], device: torch.device | str = "cpu") -> None:
        self.generators = [torch.Generator("cpu").manual_seed(int(s)) for s in seeds]
        self.device = torch.device(device)

    def __call__(self, shape: tuple[int, ...]) -> torch.Tensor:
        if shape[0] != len(self.generators):
            raise ValueError(f"noise for {shape[0]} rows requested, {len(self.generators)} seeds")
        rows = [torch.randn(tuple(shape[1:]), generator=g) for g in self.generators]
        return torch.stack(rows).to(self.device)


class ReplayNoise:
    """Replays recorded draws in order (reference traces); zeros once exhausted (η = 0 DDIM)."""

    def __init__(self, draws: Sequence[torch.Tensor]) -> None:
        self.draws = list(draws)
        self.index = 0

    def __call__(self, shape: tuple[int, ...]) -> torch.Tensor:
        if self.index >= len(self.draws):
            return torch.zeros(shape)
        draw = self.draws[self.index]
        self.index += 1
        if tuple(draw.shape) != tuple(shape):
            raise ValueError(f"recorded noise has shape {tuple(draw.shape)}, sampler wants {shape}")
        return draw


# -- the conditioned / guided model ----------------------------------------------------------------


@dataclass
class Conditioning:
    """What the network needs besides x and t: tokens/mask and, for the upsampler, low_res."""

    tokens: torch.Tensor | None = None
    mask: torch.Tensor | None = None
    low_res: torch.Tensor | None = None


class GuidedDenoiser:
    """The model with its conditioning; with ``guidance_scale`` classifier-free guidance (spec §7).

    Guidance is the compact formulation: the model runs on [x; x] with [cond; uncond] text, ε is
    mixed as ``uncond + s·(cond − uncond)`` and v comes from the **conditional** half. The text branch
    runs once per sampling run (it depends on neither x nor t).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        diffusion: Diffusion,
        cond: Conditioning,
        uncond: Conditioning | None = None,
        guidance_scale: float | None = None,
        autocast_dtype: torch.dtype | None = None,
    ) -> None:
        self.model = model
        self.diffusion = diffusion
        self.guidance_scale = guidance_scale
        self.autocast_dtype = autocast_dtype
        self.calls = 0
        guided = guidance_scale is not None
        if guided and uncond is None:
            raise ValueError("classifier-free guidance needs the unconditional conditioning")
        tokens, mask, low_res = cond.tokens, cond.mask, cond.low_res
        if guided:
            assert uncond is not None
            tokens = torch.cat([cond.tokens, uncond.tokens]) if cond.tokens is not None else None
            mask = torch.cat([cond.mask, uncond.mask]) if cond.mask is not None else None
            if low_res is not None:
                low_res = torch.cat([low_res, low_res])
        self.low_res = low_res
        with torch.no_grad(), self._autocast():
            self.text_emb = model.get_text_emb(tokens, mask)

    def _autocast(self):
        device = next(self.model.parameters()).device.type
        return torch.autocast(
            device, dtype=self.autocast_dtype, enabled=self.autocast_dtype is not None
        )

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        t = self.diffusion.model_timesteps(k)
        guided = self.guidance_scale is not None
        x_in = torch.cat([x, x]) if guided else x
        t_in = torch.cat([t, t]) if guided else t
        with self._autocast():
            out = self.model(x_in, t_in, low_res=self.low_res, text_emb=self.text_emb)
        out = out.float()
        if not guided:
            return out
        cond, uncond = out.chunk(2)
        eps = uncond[:, :3] + self.guidance_scale * (cond[:, :3] - uncond[:, :3])
        return torch.cat([eps, cond[:, 3:]], dim=1)


# -- samplers --------------------------------------------------------------------------------------


def _indices(k: int, batch: int, device: torch.device) -> torch.Tensor:
    return torch.full((batch,), k, dtype=torch.long, device=device)


def _steps(diffusion: Diffusion) -> Iterator[tuple[int, int]]:
    """(step, respaced index k) from the noisiest index down to 0."""
    return enumerate(reversed(range(diffusion.num_timesteps)))


def _predict(
    denoiser: Denoiser, diffusion: Diffusion, x: torch.Tensor, k: int, clip_denoised: bool
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The batch's indices and the model's mean, variance and x̂0 at index ``k``."""
    kk = _indices(k, x.shape[0], x.device)
    return kk, diffusion.p_mean_variance(denoiser(x, kk), x, kk, clip_denoised)


def _report(callback: StepCallback | None, step: int, total: int, k: int, x, x0) -> None:
    if callback is not None:
        callback({"step": step, "total": total, "k": k, "x": x, "pred_xstart": x0})


def sample_ddpm(
    denoiser: Denoiser,
    diffusion: Diffusion,
    x: torch.Tensor,
    noise: NoiseSource,
    clip_denoised: bool = True,
    callback: StepCallback | None = None,
) -> torch.Tensor:
    """Ancestral sampling with learned-range variance; ``x`` is the initial noise (spec §6.6)."""
    for step, k in _steps(diffusion):
        _, out = _predict(denoiser, diffusion, x, k, clip_denoised)
        z = noise(tuple(x.shape)).to(x)  # drawn after the network call, as the reference
        x = out["mean"] + (k != 0) * torch.exp(0.5 * out["log_variance"]) * z
        _report(callback, step, diffusion.num_timesteps, k, x, out["pred_xstart"])
    return x


def sample_ddim(
    denoiser: Denoiser,
    diffusion: Diffusion,
    x: torch.Tensor,
    noise: NoiseSource,
    eta: float = 0.0,
    clip_denoised: bool = True,
    callback: StepCallback | None = None,
) -> torch.Tensor:
    """DDIM with η (spec §6.7); ε re-derived from the clipped x̂0. Draws noise only when η > 0."""
    for step, k in _steps(diffusion):
        kk, out = _predict(denoiser, diffusion, x, k, clip_denoised)
        x0 = out["pred_xstart"]
        eps = diffusion.eps_from_xstart(x, kk, x0)
        a_bar = diffusion.gather(diffusion.alphas_cumprod, kk, x)
        a_prev = diffusion.gather(diffusion.alphas_cumprod_prev, kk, x)
        sigma = eta * ((1 - a_prev) / (1 - a_bar)).sqrt() * (1 - a_bar / a_prev).sqrt()
        x = x0 * a_prev.sqrt() + (1 - a_prev - sigma**2).sqrt() * eps
        if eta > 0 and k != 0:
            x = x + sigma * noise(tuple(x.shape)).to(x)
        _report(callback, step, diffusion.num_timesteps, k, x, x0)
    return x


def sample_dpmpp_2m(
    denoiser: Denoiser,
    diffusion: Diffusion,
    x: torch.Tensor,
    noise: NoiseSource | None = None,
    clip_denoised: bool = True,
    callback: StepCallback | None = None,
) -> torch.Tensor:
    """DPM-Solver++(2M) in the variance-preserving x-space over the respaced timesteps.

    With α_t = √ᾱ_t, σ_t = √(1-ᾱ_t) and λ_t = log(α_t/σ_t), each step is
    x ← (σ_next/σ)·x − α_next·(e^{−h} − 1)·D with h = λ_next − λ and D the (clipped) x̂0, extrapolated
    with the previous x̂0 (second order) when available. The last step goes to the clean image
    (σ = 0), where the update is simply x = D. ``noise`` is unused (the sampler is deterministic).
    """
    a_bar = diffusion.alphas_cumprod
    lambdas = 0.5 * (a_bar.log() - (1 - a_bar).log())
    old_x0, old_h = None, None
    for step, k in _steps(diffusion):
        x0 = _predict(denoiser, diffusion, x, k, clip_denoised)[1]["pred_xstart"]
        if k == 0:
            x = x0
        else:
            h = float(lambdas[k - 1] - lambdas[k])
            alpha_next = float(a_bar[k - 1].sqrt())
            sigma_ratio = float(((1 - a_bar[k - 1]) / (1 - a_bar[k])).sqrt())
            d = x0
            if old_x0 is not None:
                r = old_h / h
                d = (1 + 1 / (2 * r)) * x0 - (1 / (2 * r)) * old_x0
            x = sigma_ratio * x - alpha_next * torch.expm1(torch.tensor(-h)).item() * d
            old_x0, old_h = x0, h
        _report(callback, step, diffusion.num_timesteps, k, x, x0)
    return x


def sample(
    name: str,
    denoiser: Denoiser,
    diffusion: Diffusion,
    x: torch.Tensor,
    noise: NoiseSource,
    clip_denoised: bool = True,
    eta: float = 0.0,
    callback: StepCallback | None = None,
) -> torch.Tensor:
    """Dispatch by sampler name: ``ddpm``, ``ddim`` or ``dpm++2m``."""
    if name == "ddpm":
        return sample_ddpm(denoiser, diffusion, x, noise, clip_denoised, callback)
    if name == "ddim":
        return sample_ddim(denoiser, diffusion, x, noise, eta, clip_denoised, callback)
    if name in ("dpm++2m", "dpmpp_2m", "dpm++"):
        return sample_dpmpp_2m(denoiser, diffusion, x, noise, clip_denoised, callback)
    raise ValueError(f"unknown sampler {name!r}; expected one of {', '.join(SAMPLERS)}")


def quantize_low_res(x: torch.Tensor) -> torch.Tensor:
    """8-bit quantisation of a base sample before it conditions the upsampler (spec §3.3)."""
    return torch.round((x + 1) * 127.5) / 127.5 - 1


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] images → uint8 NHWC, as the notebook saves them."""
    return ((x + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
