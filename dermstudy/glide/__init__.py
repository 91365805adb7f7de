"""dermstudy's clean-room GLIDE engine: models, tokenizer, diffusion, samplers, losses, checkpoints.

Pure torch; no Qt and no workspace knowledge. Written from ``glide-spec.md`` and proven against the
reference test vectors (``dermstudy glide verify``).

Public API (stable, used by the training and generation jobs)::

    from dermstudy.glide import (
        default_options, validate_options, create_model,          # models
        Tokenizer, default_tokenizer,                              # text
        Diffusion, space_timesteps, hybrid_loss, mse_loss,         # process + training losses
        GuidedDenoiser, Conditioning, sample, RowNoise,            # sampling
        Stage, Text2ImPipeline, sample_text, sample_super_res,     # the text → 64 → 256 chain
        load_checkpoint, save_checkpoint, CheckpointError,         # files
    )
"""

# The names load lazily (PEP 562): the CLI parser and the settings objects read the notebook's
# defaults from ``dermstudy.glide.defaults`` without importing torch.
from __future__ import annotations

from dermstudy.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    globals(),
    {
        "checkpoints": (
            "CheckpointError",
            "LoadedModel",
            "find_default_model",
            "load_checkpoint",
            "save_checkpoint",
            "sha256_of",
        ),
        "defaults": ("DEFAULT_GUIDANCE", "RECIPES", "UPSAMPLE_TEMPERATURE"),
        "diffusion": (
            "Diffusion",
            "RespacingError",
            "beta_schedule",
            "hybrid_loss",
            "mse_loss",
            "space_timesteps",
            "vlb_terms",
        ),
        "model": ("Text2ImUNet", "create_model", "randomize_parameters"),
        "options": (
            "OptionsError",
            "architecture_of",
            "default_options",
            "model_kind",
            "validate_options",
        ),
        "pipeline": ("Stage", "Text2ImPipeline", "load_stage", "sample_super_res", "sample_text"),
        "sampling": (
            "Conditioning",
            "GeneratorNoise",
            "GuidedDenoiser",
            "ReplayNoise",
            "RowNoise",
            "SAMPLERS",
            "quantize_low_res",
            "sample",
            "sample_ddim",
            "sample_ddpm",
            "sample_dpmpp_2m",
            "to_uint8",
        ),
        "tokenizer": ("Tokenizer", "TokenizerError", "default_tokenizer"),
    },
)
