"""Generation: sample GLIDE images into the workspace library with full provenance.

``settings`` (torch-free) owns a run's options; ``job`` runs it. The job's names load lazily so that
the CLI can build its parser from the settings without importing torch.
"""

from __future__ import annotations

from dermstudy.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    globals(),
    {
        "job": ("GenerateResult", "generate_images"),
        "settings": ("GenerateSettings", "GenerationError"),
    },
)
