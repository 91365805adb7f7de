"""How few sampler steps keep quality, measured where the right answer is known.

A random-weight GLIDE has no "quality" to keep, so the main measurement uses a denoiser that is
*exact* for a known image distribution: a mixture of 7 smooth template images (one per entity) with
Gaussian pixel noise (std 0.1), on 3×8×8 images. Its ε-prediction is computed in closed form, so any
difference between samplers is the sampler's own error. For each sampler and step count we draw
2,000 images and report the Fréchet distance (pixel space) to 2,000 fresh draws of the true
distribution, the share of samples in the right template's neighbourhood (within 3σ·√D), and the
noise floor (Fréchet distance between two independent sets of true draws). The 100-step DDPM result
(the notebook's base sampler) is the reference row.

A second block runs the real (small, random-weight) GLIDE network of the test vectors and reports how
far DPM-Solver++(2M) with N steps is from its own 200-step solution (convergence of the ODE solver on
the actual architecture, with classifier-free guidance 3.0).

    python bench/sampler_quality.py     # one JSON line per row; about a minute on 2 CPU cores
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
from scipy import linalg

from dermstudy.glide import Conditioning, Diffusion, RowNoise, create_model, sample
from dermstudy.glide.pipeline import DEFAULT_GUIDANCE, Stage

SHAPE = (3, 8, 8)
TEMPLATES = 7
STD = 0.1
N = 2000


def templates(seed: int = 0) -> torch.Tensor:
    """Smooth random images in [-0.6, 0.6] (blurred noise), one per entity."""
    gen = torch.Generator().manual_seed(seed)
    raw = torch.randn(TEMPLATES, *SHAPE, generator=gen)
    smooth = torch.nn.functional.avg_pool2d(raw, 3, stride=1, padding=1, count_include_pad=False)
    return (0.6 * smooth / smooth.abs().amax(dim=(1, 2, 3), keepdim=True)).double()


def exact_denoiser(diffusion: Diffusion, mus: torch.Tensor):
    """ε-prediction of the mixture ∑ N(μ_i, STD²) (equal weights), v = -1 (posterior variance)."""
    dims = math.prod(SHAPE)

    def denoise(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        a2 = diffusion.gather(diffusion.alphas_cumprod, k, x)
        a, var = a2.sqrt(), a2 * STD**2 + (1 - a2)
        diff = x[:, None] - a[:, None] * mus[None]  # [B, M, ...]
        logw = (
            -(diff**2).sum(dim=(2, 3, 4)) / (2 * var.reshape(-1, 1))
            - 0.5 * dims * var.reshape(-1, 1).log()
        )
        w = torch.softmax(logw, dim=1)[..., None, None, None]
        x0 = (w * (mus[None] + (a * STD**2 / var)[:, None] * diff)).sum(dim=1)
        eps = (x - a * x0) / (1 - a2).sqrt()
        return torch.cat([eps, -torch.ones_like(eps)], dim=1)

    return denoise


def true_draws(mus: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, TEMPLATES, (n,), generator=gen)
    return mus[idx] + STD * torch.randn(n, *SHAPE, generator=gen, dtype=torch.float64)


def frechet(a: torch.Tensor, b: torch.Tensor) -> float:
    x, y = a.reshape(len(a), -1).numpy(), b.reshape(len(b), -1).numpy()
    m1, m2 = x.mean(0), y.mean(0)
    c1, c2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = linalg.sqrtm(c1 @ c2).real
    return float(((m1 - m2) ** 2).sum() + np.trace(c1 + c2 - 2 * covmean))


def near_template(samples: torch.Tensor, mus: torch.Tensor) -> float:
    dist = (samples[:, None] - mus[None]).flatten(2).norm(dim=2).min(dim=1).values
    return float((dist < 3 * STD * math.sqrt(math.prod(SHAPE))).double().mean())


MIXTURE_ROWS = {
    # The base model's schedule: the notebook samples it with DDPM "100".
    "squaredcos_cap_v2": [("ddpm", "100")]
    + [
        (sampler, spec.format(n))
        for n in (5, 8, 10, 15, 20, 25, 50)
        for sampler, spec in (
            ("ddpm", "{}"),
            ("ddim", "{}"),
            ("dpm++2m", "logsnr{}"),
            ("dpm++2m", "{}"),
        )
    ],
    # The upsampler's schedule: the notebook samples it with DDIM "fast27".
    "linear": [("ddpm", "100"), ("ddim", "fast27")]
    + [("dpm++2m", f"logsnr{n}") for n in (5, 6, 8, 10, 15)],
}


def run_mixture() -> None:
    mus = templates()
    reference = true_draws(mus, N, seed=1)
    floor = frechet(true_draws(mus, N, seed=2), reference)
    print(
        json.dumps(
            {"block": "mixture", "row": "noise floor (true vs true)", "frechet": round(floor, 5)}
        )
    )
    for schedule, rows in MIXTURE_ROWS.items():
        for sampler, steps in rows:
            diffusion = Diffusion.create(schedule, 1000, steps)
            noise = RowNoise(range(N))
            x = noise((N, *SHAPE)).double()
            out = sample(sampler, exact_denoiser(diffusion, mus), diffusion, x,
                         lambda s, noise=noise: noise(s).double())  # fmt: skip
            print(json.dumps({
                "block": "mixture", "schedule": schedule, "sampler": sampler, "steps": steps,
                "model_calls": diffusion.num_timesteps,
                "frechet": round(frechet(out, reference), 5),
                "near_template": round(near_template(out, mus), 4),
            }), flush=True)  # fmt: skip


def run_small_glide() -> None:
    path = Path(__file__).resolve().parents[1] / "tests" / "data" / "glide" / "base_small.pt"
    vectors = torch.load(path, weights_only=True)
    model = create_model(vectors["options"])
    model.load_state_dict(vectors["state_dict"])
    model.eval()
    trace = vectors["trace"]

    def run(steps: str) -> torch.Tensor:
        stage = Stage(model, vectors["options"], Diffusion.from_options(vectors["options"], steps),
                      "dpm++2m")  # fmt: skip
        denoiser = stage.denoiser(
            Conditioning(trace["tokens"], trace["mask"]),
            Conditioning(trace["uncond_tokens"], trace["uncond_mask"]), DEFAULT_GUIDANCE,
        )  # fmt: skip
        noise = RowNoise([0, 1])
        return stage.run(denoiser, noise((2, 3, 32, 32)), noise)

    target = run("200")
    for steps in ("logsnr5", "logsnr8", "logsnr10", "logsnr15", "logsnr25", "logsnr50", "25", "50"):
        err = (run(steps) - target).abs()
        print(json.dumps({
            "block": "small-glide-ode", "sampler": "dpm++2m", "steps": steps,
            "mean_abs_vs_200_steps": round(err.mean().item(), 5),
            "gray_levels_mean": round(err.mean().item() * 127.5, 2),
        }), flush=True)  # fmt: skip


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    run_mixture()
    run_small_glide()
