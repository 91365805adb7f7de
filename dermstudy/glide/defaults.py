"""The reference notebook's sampling values, torch-free so the CLI parser and the settings objects can
read them without loading the engine; ``glide.pipeline`` uses and re-exports them."""

from __future__ import annotations

# The notebook's upsampler temperature: the upsampler starts from noise scaled by this (spec §3.3).
UPSAMPLE_TEMPERATURE = 0.997
# The classifier-free guidance scale of the notebook.
DEFAULT_GUIDANCE = 3.0
# Per base sampler: (base steps, upsampler steps, upsampler sampler). "ddpm" is the notebook recipe.
RECIPES: dict[str, tuple[str, str, str]] = {
    "ddpm": ("100", "fast27", "ddim"),
    "ddim": ("100", "fast27", "ddim"),
    "dpm++2m": ("logsnr15", "logsnr8", "dpm++2m"),
}
