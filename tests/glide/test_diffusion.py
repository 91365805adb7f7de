"""Schedules, respacing rules and training losses (spec §6, §8)."""

from __future__ import annotations

import math

import pytest
import torch

from dermstudy.glide import Diffusion, RespacingError, hybrid_loss, mse_loss, space_timesteps
from dermstudy.glide.diffusion import beta_schedule


def test_reference_schedule_values() -> None:
    cos = beta_schedule("squaredcos_cap_v2", 1000)
    assert cos[:3].tolist() == pytest.approx(
        [4.1284224822e-05, 4.6141752737e-05, 5.0999481199e-05], rel=1e-9
    )
    assert cos[999].item() == 0.999
    lin = Diffusion.create("linear", 1000)
    assert lin.alphas_cumprod[-1].item() == pytest.approx(4.0358297654e-05, rel=1e-9)
    assert lin.posterior_log_variance_clipped[:2].tolist() == pytest.approx(
        [-9.8167251353] * 2, rel=1e-9
    )


def test_respacing_tables() -> None:
    assert space_timesteps(1000, "fast27") == [
        0,
        22,
        44,
        66,
        88,
        111,
        133,
        155,
        177,
        199,
        200,
        222,
        244,
        266,
        288,
        311,
        333,
        355,
        377,
        399,
        400,
        500,
        599,
        600,
        799,
        800,
        997,
    ]
    assert space_timesteps(1000, "10") == [0, 111, 222, 333, 444, 555, 666, 777, 888, 999]
    assert space_timesteps(1000, "ddim25") == list(range(0, 1000, 40))
    assert len(space_timesteps(1000, "100")) == 100
    assert space_timesteps(1000, "") == list(range(1000))


@pytest.mark.parametrize("spec", ["ddim999", "fast30", "abc", "2000"])
def test_bad_respacing_is_rejected(spec) -> None:
    with pytest.raises(RespacingError):
        space_timesteps(1000, spec)


def test_respaced_process_keeps_alphas_cumprod() -> None:
    full = Diffusion.create("squaredcos_cap_v2", 1000)
    spaced = Diffusion.create("squaredcos_cap_v2", 1000, "100")
    assert torch.allclose(
        spaced.alphas_cumprod, full.alphas_cumprod[spaced.timestep_map], rtol=1e-12
    )
    assert spaced.betas[-1].item() == pytest.approx(0.99999, abs=1e-5)


def _perfect_output(diffusion, x0, xt, k, noise):
    """ε̂ = true noise, v = -1 (log-variance = clipped log β̃): the true posterior."""
    return torch.cat([noise, -torch.ones_like(noise)], dim=1)


def test_hybrid_loss_is_zero_kl_for_the_true_posterior() -> None:
    diffusion = Diffusion.create("squaredcos_cap_v2", 1000)
    gen = torch.Generator().manual_seed(0)
    x0 = torch.rand(3, 3, 8, 8, generator=gen) * 2 - 1
    noise = torch.randn(x0.shape, generator=gen)
    k = torch.tensor([5, 500, 999])
    xt = diffusion.q_sample(x0, k, noise)
    losses = hybrid_loss(diffusion, _perfect_output(diffusion, x0, xt, k, noise), x0, xt, k, noise)
    assert losses["mse"].abs().max() < 1e-10
    assert losses["vlb"].abs().max() < 1e-4
    wrong = torch.cat([noise + 0.3, torch.zeros_like(noise)], dim=1)
    worse = hybrid_loss(diffusion, wrong, x0, xt, k, noise)
    assert (worse["mse"] > 0.05).all() and (worse["vlb"] > losses["vlb"]).all()


def test_t0_term_is_a_decoder_nll_in_bits() -> None:
    diffusion = Diffusion.create("linear", 1000)
    x0 = torch.zeros(1, 3, 4, 4)
    noise = torch.zeros_like(x0)
    k = torch.tensor([0])
    xt = diffusion.q_sample(x0, k, noise)
    out = torch.cat([noise, -torch.ones_like(noise)], dim=1)
    # Perfect mean: the bin of width 2/255 around x0 under N(0, β̃_1) (tanh CDF approximation).
    inv_std = math.exp(-0.5 * diffusion.posterior_log_variance_clipped[0].item())

    def cdf(z: float) -> float:
        return 0.5 * (1 + math.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z**3)))

    expected_bits = -math.log2(cdf(inv_std / 255) - cdf(-inv_std / 255))
    got = hybrid_loss(diffusion, out, x0, xt, k, noise)["vlb"].item()
    assert got == pytest.approx(expected_bits, rel=1e-4)
    off = torch.cat([noise + 1.0, -torch.ones_like(noise)], dim=1)
    assert hybrid_loss(diffusion, off, x0, xt, k, noise)["vlb"].item() > expected_bits + 1


def test_vlb_trains_only_the_variance_channels() -> None:
    diffusion = Diffusion.create("squaredcos_cap_v2", 1000)
    x0 = torch.rand(2, 3, 4, 4) * 2 - 1
    noise = torch.randn_like(x0)
    k = torch.tensor([10, 700])
    xt = diffusion.q_sample(x0, k, noise)
    out = torch.randn(2, 6, 4, 4, requires_grad=True)
    hybrid_loss(diffusion, out, x0, xt, k, noise)["vlb"].sum().backward()
    assert out.grad[:, :3].abs().max() == 0 and out.grad[:, 3:].abs().max() > 0


def test_mse_loss_matches_definition() -> None:
    out = torch.randn(2, 6, 4, 4)
    noise = torch.randn(2, 3, 4, 4)
    assert mse_loss(out, noise).item() == pytest.approx(((out[:, :3] - noise) ** 2).mean().item())
    assert math.isfinite(mse_loss(out, noise).item())
