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

from dermstudy.glide.checkpoints import (
    CheckpointError,
    LoadedModel,
    find_default_model,
    load_checkpoint,
    save_checkpoint,
    sha256_of,
)
from dermstudy.glide.diffusion import (
    Diffusion,
    RespacingError,
    beta_schedule,
    hybrid_loss,
    mse_loss,
    space_timesteps,
    vlb_terms,
)
from dermstudy.glide.model import Text2ImUNet, create_model, randomize_parameters
from dermstudy.glide.options import (
    OptionsError,
    architecture_of,
    default_options,
    model_kind,
    validate_options,
)
from dermstudy.glide.pipeline import (
    DEFAULT_GUIDANCE,
    RECIPES,
    UPSAMPLE_TEMPERATURE,
    Stage,
    Text2ImPipeline,
    load_stage,
    sample_super_res,
    sample_text,
)
from dermstudy.glide.sampling import (
    SAMPLERS,
    Conditioning,
    GeneratorNoise,
    GuidedDenoiser,
    ReplayNoise,
    RowNoise,
    quantize_low_res,
    sample,
    sample_ddim,
    sample_ddpm,
    sample_dpmpp_2m,
    to_uint8,
)
from dermstudy.glide.tokenizer import Tokenizer, TokenizerError, default_tokenizer

__all__ = [
    "DEFAULT_GUIDANCE",
    "RECIPES",
    "SAMPLERS",
    "UPSAMPLE_TEMPERATURE",
    "CheckpointError",
    "Conditioning",
    "Diffusion",
    "GeneratorNoise",
    "GuidedDenoiser",
    "LoadedModel",
    "OptionsError",
    "ReplayNoise",
    "RespacingError",
    "RowNoise",
    "Stage",
    "Text2ImPipeline",
    "Text2ImUNet",
    "Tokenizer",
    "TokenizerError",
    "architecture_of",
    "beta_schedule",
    "create_model",
    "default_options",
    "default_tokenizer",
    "find_default_model",
    "hybrid_loss",
    "load_checkpoint",
    "load_stage",
    "model_kind",
    "mse_loss",
    "quantize_low_res",
    "randomize_parameters",
    "sample",
    "sample_ddim",
    "sample_ddpm",
    "sample_dpmpp_2m",
    "sample_super_res",
    "sample_text",
    "save_checkpoint",
    "sha256_of",
    "space_timesteps",
    "to_uint8",
    "validate_options",
    "vlb_terms",
]
