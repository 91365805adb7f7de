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

_EXPORTS = {
    "CheckpointError": "dermstudy.glide.checkpoints",
    "Conditioning": "dermstudy.glide.sampling",
    "DEFAULT_GUIDANCE": "dermstudy.glide.defaults",
    "Diffusion": "dermstudy.glide.diffusion",
    "GeneratorNoise": "dermstudy.glide.sampling",
    "GuidedDenoiser": "dermstudy.glide.sampling",
    "LoadedModel": "dermstudy.glide.checkpoints",
    "OptionsError": "dermstudy.glide.options",
    "RECIPES": "dermstudy.glide.defaults",
    "ReplayNoise": "dermstudy.glide.sampling",
    "RespacingError": "dermstudy.glide.diffusion",
    "RowNoise": "dermstudy.glide.sampling",
    "SAMPLERS": "dermstudy.glide.sampling",
    "Stage": "dermstudy.glide.pipeline",
    "Text2ImPipeline": "dermstudy.glide.pipeline",
    "Text2ImUNet": "dermstudy.glide.model",
    "Tokenizer": "dermstudy.glide.tokenizer",
    "TokenizerError": "dermstudy.glide.tokenizer",
    "UPSAMPLE_TEMPERATURE": "dermstudy.glide.defaults",
    "architecture_of": "dermstudy.glide.options",
    "beta_schedule": "dermstudy.glide.diffusion",
    "create_model": "dermstudy.glide.model",
    "default_options": "dermstudy.glide.options",
    "default_tokenizer": "dermstudy.glide.tokenizer",
    "find_default_model": "dermstudy.glide.checkpoints",
    "hybrid_loss": "dermstudy.glide.diffusion",
    "load_checkpoint": "dermstudy.glide.checkpoints",
    "load_stage": "dermstudy.glide.pipeline",
    "model_kind": "dermstudy.glide.options",
    "mse_loss": "dermstudy.glide.diffusion",
    "quantize_low_res": "dermstudy.glide.sampling",
    "randomize_parameters": "dermstudy.glide.model",
    "sample": "dermstudy.glide.sampling",
    "sample_ddim": "dermstudy.glide.sampling",
    "sample_ddpm": "dermstudy.glide.sampling",
    "sample_dpmpp_2m": "dermstudy.glide.sampling",
    "sample_super_res": "dermstudy.glide.pipeline",
    "sample_text": "dermstudy.glide.pipeline",
    "save_checkpoint": "dermstudy.glide.checkpoints",
    "sha256_of": "dermstudy.glide.checkpoints",
    "space_timesteps": "dermstudy.glide.diffusion",
    "to_uint8": "dermstudy.glide.sampling",
    "validate_options": "dermstudy.glide.options",
    "vlb_terms": "dermstudy.glide.diffusion",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
