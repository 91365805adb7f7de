"""Generation: sample GLIDE images into the workspace library with full provenance."""

from dermstudy.generation.job import (
    GenerateResult,
    GenerateSettings,
    GenerationError,
    generate_images,
)

__all__ = ["GenerateResult", "GenerateSettings", "GenerationError", "generate_images"]
