"""Generation: sample GLIDE images into the workspace library with full provenance.

``settings`` (torch-free) owns a run's options; ``job`` runs it. The job's names load lazily so that
the CLI can build its parser from the settings without importing torch.
"""

from __future__ import annotations

from dermstudy.lazy import lazy_exports

_EXPORTS = {
    "GenerateResult": "dermstudy.generation.job",
    "generate_images": "dermstudy.generation.job",
    "GenerateSettings": "dermstudy.generation.settings",
    "GenerationError": "dermstudy.generation.settings",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
