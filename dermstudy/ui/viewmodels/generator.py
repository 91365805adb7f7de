"""The Generator panel's data: the choices its combos offer, the form it restores (with the demo
model's defaults read from the shipped images' provenance), which models are missing and what is
enabled, and what a run shows (each image's caption, the closing line, the bar after it ends).

Plain data and functions over :class:`~dermstudy.generation.settings.GenerateSettings` and the
child process's JSON events; the panel copies the results into its widgets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dermstudy.entities import ENTITIES
from dermstudy.generation.catalog import demo_sampling, is_demo_model
from dermstudy.generation.settings import DTYPE_NAMES, GenerateSettings, GenerationError
from dermstudy.paths import models_dir
from dermstudy.ui.messages import GENERATOR_LABELS, in_gui_terms

ENTITY_CHOICES = tuple((f"{e.code} — {e.name}", e.code) for e in ENTITIES)
SAMPLER_CHOICES = (
    ("DDPM 100 + DDIM fast27 (notebook recipe)", "ddpm"),
    ("DDIM", "ddim"),
    ("DPM-Solver++ 2M (fast)", "dpm++2m"),
)
DEVICE_NAMES = ("auto", "cpu", "cuda")
DTYPE_CHOICES = DTYPE_NAMES
SEED_PROBLEM = "The seed must be a whole number (or empty for a random seed)."

# Keys an older version saved the form under, and the settings they are now.
OLD_KEYS = {"images": "count", "batch": "batch_size", "precision": "dtype"}
# Not remembered between starts: a new run should not repeat the last one's images (seed, prompt),
# and the model pickers find the model files again.
NOT_REMEMBERED = ("seed", "prompt", "base", "upsampler", "base_sha256", "upsampler_sha256")


# -- the form between starts ---------------------------------------------------------------------
def remembered(settings: GenerateSettings) -> dict[str, Any]:
    """The settings' JSON form without what a new start must not repeat."""
    data = settings.to_json()
    for name in NOT_REMEMBERED:
        data.pop(name, None)
    return data


@dataclass(frozen=True)
class RestoredForm:
    """What the form shows at start: the settings, and which of its fields were chosen (the
    others keep the form's own defaults)."""

    settings: GenerateSettings
    fields: frozenset[str]


def restored_form(
    saved: object,
    base: Path | None,
    demo_defaults: Callable[[], dict[str, object]] = demo_sampling,
) -> RestoredForm | None:
    """The form to restore from what was saved (None: nothing usable was saved).

    With the demo model as base, the sampler and guidance its shipped images were made with (read
    from their provenance) come first, unless the user chose; a remembered value that no longer
    fits is dropped on its own, not the whole form.
    """
    if not isinstance(saved, dict):
        return None
    values = {OLD_KEYS.get(key, key): value for key, value in saved.items()}
    if is_demo_model(base):
        values = {**demo_defaults(), **values}
    kept = {}
    for key, value in values.items():
        try:
            GenerateSettings.from_json({key: value})
        except GenerationError:
            continue
        kept[key] = value
    return RestoredForm(GenerateSettings.from_json(kept), frozenset(kept))


def seed_from_text(text: str) -> int | None:
    """The first seed typed in the form; None for an empty or unreadable one."""
    text = text.strip()
    return int(text) if text.lstrip("-").isdigit() else None


def seed_problem(text: str) -> str | None:
    """Why the typed seed cannot start a run (None: it can, an empty one means random)."""
    return SEED_PROBLEM if text.strip() and seed_from_text(text) is None else None


# -- which models, what is enabled ---------------------------------------------------------------
@dataclass(frozen=True)
class FormState:
    """Which models are missing and which controls are enabled, for one state of the form."""

    missing: tuple[str, ...]  # model file names to find
    demo_note: bool  # the demo model is the base: say what it is
    prompt_enabled: bool
    upsampler_enabled: bool
    upsampler_options_enabled: bool  # the upsampler's steps and temperature
    start_enabled: bool
    stop_enabled: bool

    def missing_text(self, folder: Path | None = None) -> str:
        """The error line over the form (shown only while ``missing`` is not empty)."""
        return (
            f"No {' or '.join(self.missing)} found in {folder or models_dir()} or in this "
            "workspace. Put the GLIDE model files there (see models/README.md), choose a file "
            "with Browse…, or fine-tune one in the Training panel."
        )


def form_state(
    base: Path | None,
    upsampler: Path | None,
    upsample: bool,
    custom_prompt: bool,
    running: bool,
) -> FormState:
    missing = []
    if base is None:
        missing.append("base.pt")
    if upsample and upsampler is None:
        missing.append("upsample.pt")
    return FormState(
        missing=tuple(missing),
        demo_note=is_demo_model(base),
        prompt_enabled=custom_prompt and not running,
        upsampler_enabled=upsample and not running,
        upsampler_options_enabled=upsample,
        start_enabled=not missing and not running,
        stop_enabled=running,
    )


# -- what a run shows ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ImageCaption:
    """A finished image in the gallery: the line under its thumbnail and its tool tip."""

    file: str
    text: str
    tooltip: str


def image_caption(event: dict[str, Any]) -> ImageCaption | None:
    """The gallery entry for a child's ``image`` event (None for any other event)."""
    if event.get("event") != "image" or not event.get("file"):
        return None
    seed = event.get("seed")
    return ImageCaption(
        event["file"], f"seed {seed}", f"image {event.get('image_id')} · seed {seed}"
    )


def finished_text(count: int) -> str:
    return f"{count} image{'s' if count != 1 else ''} stored in the library."


def failed_text(message: str) -> str:
    """A child's error in the form's words."""
    return f"Failed: {in_gui_terms(message, GENERATOR_LABELS)}"


def done_bar(succeeded: bool, wanted: int, made: int) -> tuple[int, int]:
    """The progress bar's (maximum, value) once the run has ended: full only for a run that
    finished; a failed or stopped one shows what it made."""
    if succeeded:
        return 1, 1
    return max(1, wanted), min(made, wanted)
