"""The text → 64 px → 256 px pipeline: guidance shortcut, quantised hand-over, temperature, checks."""

from __future__ import annotations

import pytest
import torch

from dermstudy.glide import (
    Diffusion,
    RowNoise,
    Stage,
    Text2ImPipeline,
    create_model,
    quantize_low_res,
    randomize_parameters,
    sample_super_res,
    sample_text,
)
from tests.fixtures.tiny_glide import TINY_BASE, TINY_UP

PROMPTS = ["melanoma", "nevus"]


@pytest.fixture(scope="module")
def stages() -> tuple[Stage, Stage]:
    base = randomize_parameters(create_model(TINY_BASE), 1).eval()
    up = randomize_parameters(create_model(TINY_UP), 2).eval()
    return (
        Stage(base, base.options, Diffusion.from_options(base.options, "3"), "ddpm"),
        Stage(up, up.options, Diffusion.from_options(up.options, "2"), "ddim"),
    )


class _Recording(RowNoise):
    """Row noise that remembers the shape of every draw."""

    def __init__(self, seeds) -> None:
        super().__init__(seeds)
        self.shapes: list[tuple[int, ...]] = []

    def __call__(self, shape):
        self.shapes.append(tuple(shape))
        return super().__call__(shape)


def test_the_chain_is_the_base_then_the_upsampler_on_the_quantised_sample(stages) -> None:
    base, up = stages
    noise = _Recording([3, 4])
    chained = Text2ImPipeline(base, up, guidance=3.0, temperature=0.9)(PROMPTS, noise)
    assert chained.shape == (2, 3, 64, 64)
    # Base start + one draw per ancestral step (the last one drawn but unused, as the reference),
    # then the upsampler's start; DDIM with eta 0 draws nothing more.
    assert noise.shapes == [(2, 3, 16, 16)] * 4 + [(2, 3, 64, 64)]

    by_hand_noise = RowNoise([3, 4])
    low = sample_text(base, PROMPTS, by_hand_noise, guidance=3.0)
    by_hand = sample_super_res(up, PROMPTS, quantize_low_res(low), by_hand_noise, temperature=0.9)
    assert torch.equal(chained, by_hand)
    # The temperature reaches the upsampler: another one gives other pixels.
    other = Text2ImPipeline(base, up, guidance=3.0, temperature=1.0)(PROMPTS, RowNoise([3, 4]))
    assert not torch.equal(chained, other)


def test_guidance_one_runs_the_conditional_model_only(stages) -> None:
    base, _ = stages
    calls: list[int] = []
    hook = base.model.register_forward_hook(lambda m, a, out: calls.append(out.shape[0]))
    try:
        unguided = Text2ImPipeline(base, guidance=None)(PROMPTS, RowNoise([1, 2]))
        one = Text2ImPipeline(base, guidance=1.0)(PROMPTS, RowNoise([1, 2]))
        guided = Text2ImPipeline(base, guidance=3.0)(PROMPTS, RowNoise([1, 2]))
    finally:
        hook.remove()
    assert torch.equal(unguided, one)
    assert not torch.equal(unguided, guided)
    assert calls == [2] * 3 + [2] * 3 + [4] * 3  # guidance doubles the rows of each call


def test_a_failing_check_stops_the_chain_before_the_upsampler(stages) -> None:
    base, up = stages
    seen: list[str] = []

    def check(x: torch.Tensor, stage: str) -> None:
        seen.append(stage)
        raise RuntimeError(f"stop after {stage}")

    steps: list[str] = []
    with pytest.raises(RuntimeError, match="stop after base"):
        Text2ImPipeline(base, up)(PROMPTS, RowNoise([1, 2]), lambda s, e: steps.append(s), check)
    assert seen == ["base"] and steps == ["base"] * base.diffusion.num_timesteps
