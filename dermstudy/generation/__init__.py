"""Generation: sample GLIDE images into the workspace library with full provenance.

``settings`` (torch-free) owns a run's options; ``job`` runs it. The job's names load lazily so that
the CLI can build its parser from the settings without importing torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "GenerateResult": "dermstudy.generation.job",
    "generate_images": "dermstudy.generation.job",
    "GenerateSettings": "dermstudy.generation.settings",
    "GenerationError": "dermstudy.generation.settings",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
