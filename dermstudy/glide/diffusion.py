"""Gaussian diffusion for GLIDE: beta schedules, respacing, the derived arrays, and training losses.

Spec §6 and §8. Arrays are float64 tensors; when a coefficient meets an image tensor it is gathered
per batch element, converted to float32 (or the tensor's dtype) and broadcast, as the reference does.
Samplers live in ``sampling.py``; this module owns the mathematics shared by sampling and training:
``q_sample``, the learned-range variance, x̂0 prediction, the posterior, and the improved-DDPM hybrid
loss (``hybrid_loss``) and plain epsilon MSE (``mse_loss``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from dermstudy.errors import DermstudyError


class RespacingError(DermstudyError, ValueError):
    """A timestep-respacing string that cannot be applied."""


# -- schedules ------------------------------------------------------------------------------------


def beta_schedule(name: str, steps: int) -> torch.Tensor:
    """The reference's beta schedules, float64 (spec §6.1)."""
    if name == "linear":
        scale = 1000 / steps
        return torch.linspace(scale * 1e-4, scale * 0.02, steps, dtype=torch.float64)
    if name == "squaredcos_cap_v2":

        def alpha_bar(u: float) -> float:
            return math.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2

        betas = [
            min(1 - alpha_bar((t + 1) / steps) / alpha_bar(t / steps), 0.999) for t in range(steps)
        ]
        return torch.tensor(betas, dtype=torch.float64)
    raise ValueError(f"unknown noise schedule {name!r}; expected 'linear' or 'squaredcos_cap_v2'")


def space_timesteps(num_timesteps: int, spec: str | list[int]) -> list[int]:
    """Kept original timesteps, ascending, for a respacing string (spec §6.5)."""
    if spec in ("", None):
        return list(range(num_timesteps))
    if isinstance(spec, str):
        text = spec.strip()
        if text.startswith("ddim"):
            return _ddim_steps(num_timesteps, text)
        if text.startswith("fast"):
            if text != "fast27":
                raise RespacingError(f"unknown respacing {spec!r} (only 'fast27' is defined)")
            steps = set(space_timesteps(num_timesteps, "10,10,3,2,2"))
            steps.discard(num_timesteps - 1)
            steps.add(num_timesteps - 3)
            return sorted(steps)
        try:
            counts = [int(part) for part in text.split(",")]
        except ValueError:
            raise RespacingError(
                f"respacing {spec!r} is not 'ddimN', 'fast27' or comma-separated step counts"
            ) from None
    else:
        counts = [int(c) for c in spec]
    if any(c < 0 for c in counts) or not counts:
        raise RespacingError(f"respacing {spec!r}: step counts must be positive")
    size_per, extra = divmod(num_timesteps, len(counts))
    start = 0
    kept: set[int] = set()
    for i, count in enumerate(counts):
        size = size_per + (1 if i < extra else 0)
        if size < count:
            raise RespacingError(
                f"respacing {spec!r}: cannot take {count} steps from a section of {size}"
            )
        stride = 1.0 if count <= 1 else (size - 1) / (count - 1)
        position = 0.0
        for _ in range(count):
            kept.add(start + round(position))  # Python round: half to even, as the reference
            position += stride
        start += size
    return sorted(kept)


def _ddim_steps(num_timesteps: int, text: str) -> list[int]:
    try:
        wanted = int(text[len("ddim") :])
    except ValueError:
        raise RespacingError(f"respacing {text!r}: expected 'ddim' followed by a number") from None
    for stride in range(1, num_timesteps):
        if len(range(0, num_timesteps, stride)) == wanted:
            return list(range(0, num_timesteps, stride))
    if wanted == num_timesteps:
        return list(range(num_timesteps))
    raise RespacingError(
        f"respacing {text!r}: no integer stride gives exactly {wanted} of {num_timesteps} steps"
    )


_LOGSNR_FLOOR = -5.0


def logsnr_timesteps(noise_schedule: str, steps: int, spec: str) -> list[int]:
    """``"logsnrN"``: N distinct timesteps spaced evenly in log-SNR λ = log(√ᾱ/√(1-ᾱ)).

    Our addition for the few-step DPM-Solver++ sampler (not a reference respacing): uniform-in-t
    spacing leaves one huge λ jump at the low-noise end, which second-order steps handle badly.
    Always keeps 0 and T-1; nearest-timestep collisions are moved to the next free timestep.
    """
    try:
        count = int(spec[len("logsnr") :])
    except ValueError:
        raise RespacingError(
            f"respacing {spec!r}: expected 'logsnr' followed by a number"
        ) from None
    if not 2 <= count <= steps:
        raise RespacingError(f"respacing {spec!r}: need between 2 and {steps} steps")
    alphas_cumprod = torch.cumprod(1.0 - beta_schedule(noise_schedule, steps), 0)
    lam = 0.5 * (alphas_cumprod.log() - (1 - alphas_cumprod).log())  # decreasing in t
    # Below λ ≈ -5 (SNR < 5e-5: pure noise at 8-bit precision) steps buy nothing; the cosine
    # schedule's capped last beta would otherwise put a third of them at t = 990…999.
    lowest = max(float(lam[-1]), _LOGSNR_FLOOR)
    targets = torch.linspace(lowest, float(lam[0]), count, dtype=torch.float64)
    targets[0] = lam[-1]
    chosen: list[int] = []
    for target in targets:  # from the noisiest to the cleanest
        t = int((lam - target).abs().argmin())
        limit = chosen[-1] - 1 if chosen else steps - 1
        t = min(t, limit)
        remaining = count - len(chosen) - 1  # keep room for the steps still to place
        chosen.append(max(t, remaining))
    return sorted(chosen)


# -- the (respaced) process -----------------------------------------------------------------------


@dataclass
class Diffusion:
    """A diffusion process with its derived float64 arrays (spec §6.2).

    ``timestep_map[k]`` is the original timestep the network sees at (respaced) index k.
    """

    betas: torch.Tensor
    timestep_map: torch.Tensor
    original_num_steps: int

    def __post_init__(self) -> None:
        b = self.betas.to(torch.float64)
        self.betas = b
        self.num_timesteps = len(b)
        alphas = 1.0 - b
        self.alphas_cumprod = torch.cumprod(alphas, 0)
        one = torch.ones(1, dtype=torch.float64)
        self.alphas_cumprod_prev = torch.cat([one, self.alphas_cumprod[:-1]])
        self.alphas_cumprod_next = torch.cat(
            [self.alphas_cumprod[1:], torch.zeros(1, dtype=torch.float64)]
        )
        self.sqrt_alphas_cumprod = self.alphas_cumprod.sqrt()
        self.sqrt_one_minus_alphas_cumprod = (1.0 - self.alphas_cumprod).sqrt()
        self.sqrt_recip_alphas_cumprod = (1.0 / self.alphas_cumprod).sqrt()
        self.sqrt_recipm1_alphas_cumprod = (1.0 / self.alphas_cumprod - 1).sqrt()
        self.posterior_variance = b * (1.0 - self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod)
        # log of [β̃_1, β̃_1, β̃_2, ...]: β̃_0 = 0 would give -inf.
        if self.num_timesteps > 1:
            clipped = torch.cat([self.posterior_variance[1:2], self.posterior_variance[1:]])
        else:
            clipped = self.posterior_variance.clone()
        self.posterior_log_variance_clipped = clipped.log()
        self.posterior_mean_coef1 = (
            b * self.alphas_cumprod_prev.sqrt() / (1.0 - self.alphas_cumprod)
        )
        self.posterior_mean_coef2 = (
            (1.0 - self.alphas_cumprod_prev) * alphas.sqrt() / (1.0 - self.alphas_cumprod)
        )
        self.log_betas = b.log()

    # -- construction -------------------------------------------------------------------------------
    @classmethod
    def create(
        cls, noise_schedule: str, steps: int = 1000, respacing: str | list[int] = ""
    ) -> Diffusion:
        """The process of ``noise_schedule`` with ``steps`` steps, respaced by ``respacing``."""
        if isinstance(respacing, str) and respacing.strip().startswith("logsnr"):
            use = logsnr_timesteps(noise_schedule, steps, respacing.strip())
        else:
            use = space_timesteps(steps, respacing)
        return cls.from_timesteps(noise_schedule, steps, use)

    @classmethod
    def from_timesteps(cls, noise_schedule: str, steps: int, use: list[int]) -> Diffusion:
        """The process restricted to the original timesteps ``use`` (spec §6.5 "respaced process")."""
        use = sorted(set(int(t) for t in use))
        if not use or use[0] < 0 or use[-1] >= steps:
            raise RespacingError(f"timesteps must lie in 0…{steps - 1}")
        base_betas = beta_schedule(noise_schedule, steps)
        alphas_cumprod = torch.cumprod(1.0 - base_betas, 0)
        new_betas = []
        last = 1.0
        for t in use:
            new_betas.append(1.0 - float(alphas_cumprod[t]) / last)
            last = float(alphas_cumprod[t])
        return cls(
            torch.tensor(new_betas, dtype=torch.float64),
            torch.tensor(use, dtype=torch.int64),
            steps,
        )

    @classmethod
    def from_options(cls, options: dict, respacing: str | None = None) -> Diffusion:
        """The process a model's options describe (``respacing`` overrides ``timestep_respacing``)."""
        return cls.create(
            options["noise_schedule"],
            int(options["diffusion_steps"]),
            options.get("timestep_respacing", "") if respacing is None else respacing,
        )

    # -- helpers ------------------------------------------------------------------------------------
    def gather(self, array: torch.Tensor, k: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """array[k] per batch element as float32 (or ``like``'s float dtype), shaped to broadcast."""
        dtype = like.dtype if like.dtype in (torch.float32, torch.float64) else torch.float32
        values = array.to(k.device)[k].to(dtype)
        return values.reshape(-1, *([1] * (like.ndim - 1)))

    def model_timesteps(self, k: torch.Tensor) -> torch.Tensor:
        """Original timesteps the network sees at respaced indices ``k``."""
        return self.timestep_map.to(k.device)[k]

    # -- forward process ------------------------------------------------------------------------
    def q_sample(self, x0: torch.Tensor, k: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """x_t = √ᾱ_t x0 + √(1-ᾱ_t) ε (spec §6.3)."""
        return (
            self.gather(self.sqrt_alphas_cumprod, k, x0) * x0
            + self.gather(self.sqrt_one_minus_alphas_cumprod, k, x0) * noise
        )

    def q_posterior(
        self, x0: torch.Tensor, xt: torch.Tensor, k: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and clipped log-variance of q(x_{t-1} | x_t, x0)."""
        mean = (
            self.gather(self.posterior_mean_coef1, k, xt) * x0
            + self.gather(self.posterior_mean_coef2, k, xt) * xt
        )
        return mean, self.gather(self.posterior_log_variance_clipped, k, xt).expand_as(xt)

    # -- model parametrisation ---------------------------------------------------------------------
    def predict_xstart(self, xt: torch.Tensor, k: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        return (
            self.gather(self.sqrt_recip_alphas_cumprod, k, xt) * xt
            - self.gather(self.sqrt_recipm1_alphas_cumprod, k, xt) * eps
        )

    def eps_from_xstart(self, xt: torch.Tensor, k: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
        return (self.gather(self.sqrt_recip_alphas_cumprod, k, xt) * xt - x0) / self.gather(
            self.sqrt_recipm1_alphas_cumprod, k, xt
        )

    def learned_log_variance(self, v: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """Learned-range variance: interpolate log β̃ and log β with frac = (v+1)/2 (spec §6.4)."""
        min_log = self.gather(self.posterior_log_variance_clipped, k, v)
        max_log = self.gather(self.log_betas, k, v)
        frac = (v + 1) / 2
        return frac * max_log + (1 - frac) * min_log

    def p_mean_variance(
        self,
        output: torch.Tensor,
        xt: torch.Tensor,
        k: torch.Tensor,
        clip_denoised: bool = True,
        denoised_fn=None,
    ) -> dict[str, torch.Tensor]:
        """From a 6-channel model output: x̂0 (processed, clipped), posterior mean, log-variance."""
        eps, v = output[:, :3], output[:, 3:]
        log_variance = self.learned_log_variance(v, k)
        x0 = self.predict_xstart(xt, k, eps)
        if denoised_fn is not None:
            x0 = denoised_fn(x0)
        if clip_denoised:
            x0 = x0.clamp(-1, 1)
        mean, _ = self.q_posterior(x0, xt, k)
        return {"mean": mean, "log_variance": log_variance, "pred_xstart": x0, "eps": eps}


# -- training losses (spec §8) ---------------------------------------------------------------------


def normal_kl(
    mean1: torch.Tensor, logvar1: torch.Tensor, mean2: torch.Tensor, logvar2: torch.Tensor
) -> torch.Tensor:
    """KL(N(mean1, e^logvar1) ‖ N(mean2, e^logvar2)), elementwise, in nats."""
    return 0.5 * (
        -1.0
        + logvar2
        - logvar1
        + torch.exp(logvar1 - logvar2)
        + (mean1 - mean2) ** 2 * torch.exp(-logvar2)
    )


def _approx_std_normal_cdf(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


def discretized_gaussian_log_likelihood(
    x: torch.Tensor, means: torch.Tensor, log_scales: torch.Tensor
) -> torch.Tensor:
    """log P(x) under a Gaussian discretised to 8-bit bins on [-1, 1] (``log_scales`` = ½ log σ²)."""
    centred = x - means
    inv_std = torch.exp(-log_scales)
    cdf_plus = _approx_std_normal_cdf(inv_std * (centred + 1.0 / 255.0))
    cdf_minus = _approx_std_normal_cdf(inv_std * (centred - 1.0 / 255.0))
    log_cdf_plus = cdf_plus.clamp(min=1e-12).log()
    log_one_minus_cdf_minus = (1.0 - cdf_minus).clamp(min=1e-12).log()
    log_delta = (cdf_plus - cdf_minus).clamp(min=1e-12).log()
    return torch.where(
        x < -0.999, log_cdf_plus, torch.where(x > 0.999, log_one_minus_cdf_minus, log_delta)
    )


def _mean_flat(x: torch.Tensor) -> torch.Tensor:
    return x.mean(dim=tuple(range(1, x.ndim)))


def vlb_terms(
    diffusion: Diffusion, output: torch.Tensor, x0: torch.Tensor, xt: torch.Tensor, k: torch.Tensor
) -> torch.Tensor:
    """Per-example L_t in bits, with a stop-gradient on ε̂ (trains only v; spec §8.1)."""
    frozen = torch.cat([output[:, :3].detach(), output[:, 3:]], dim=1)
    pred = diffusion.p_mean_variance(frozen, xt, k, clip_denoised=False)
    true_mean, true_logvar = diffusion.q_posterior(x0, xt, k)
    kl = _mean_flat(
        normal_kl(true_mean, true_logvar, pred["mean"], pred["log_variance"])
    ) / math.log(2.0)
    nll = -_mean_flat(
        discretized_gaussian_log_likelihood(x0, pred["mean"], 0.5 * pred["log_variance"])
    ) / math.log(2.0)
    return torch.where(k == 0, nll, kl)


def hybrid_loss(
    diffusion: Diffusion,
    output: torch.Tensor,
    x0: torch.Tensor,
    xt: torch.Tensor,
    k: torch.Tensor,
    noise: torch.Tensor,
) -> dict[str, torch.Tensor]:
    """Improved-DDPM hybrid objective per example: ``mse`` + (T/1000)·``vlb`` = ``loss``.

    ``output`` is the network output for ``xt`` (= ``q_sample(x0, k, noise)``) at indices ``k``.
    """
    mse = _mean_flat((noise - output[:, :3]) ** 2)
    vlb = vlb_terms(diffusion, output, x0, xt, k) * (diffusion.num_timesteps / 1000.0)
    return {"mse": mse, "vlb": vlb, "loss": mse + vlb}


def mse_loss(output: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Plain epsilon MSE over every element of the batch (what glide-finetune trains, spec §8.2)."""
    return torch.mean((output[:, :3].float() - noise.float()) ** 2)
