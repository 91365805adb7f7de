"""Which GLIDE model files a user can pick, and the ``dermstudy generate`` arguments for a choice.

Qt-free so that the Generator panel stays a thin view: the panel lists :func:`model_choices`, fills a
:class:`~dermstudy.generation.settings.GenerateSettings` and runs the command line that
:func:`generate_arguments` builds from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from dermstudy.generation.settings import GenerateSettings
from dermstudy.paths import demo_models_dir, models_dir
from dermstudy.workspace import Workspace
from dermstudy.workspace.models import list_models


@dataclass(frozen=True)
class ModelChoice:
    label: str
    path: Path
    origin: str  # "models folder" or the registering run / file


def _looks_like(kind: str, path: Path) -> bool:
    is_upsampler = "upsampl" in path.stem.lower()
    return is_upsampler if kind == "upsample" else not is_upsampler


def model_choices(
    workspace: Path | None, kind: str, folder: Path | None = None
) -> list[ModelChoice]:
    """Files in the models folder whose name fits ``kind``, then the workspace's registered ones."""
    folder = folder or models_dir()
    choices: list[ModelChoice] = []
    seen: set[Path] = set()
    if folder.is_dir():
        for path in sorted(folder.glob("*.pt")):
            if _looks_like(kind, path):
                choices.append(ModelChoice(f"{path.name}  (models folder)", path, "models folder"))
                seen.add(path.resolve())
    demo = demo_models_dir() / f"{kind}.pt"
    if not choices and demo.is_file():
        choices.append(ModelChoice(f"demo model  ({demo.name}, shipped)", demo, "demo model"))
        seen.add(demo.resolve())
    if workspace is not None and (Path(workspace) / "dermstudy.db").exists():
        with Workspace.open(workspace) as ws:
            for record in list_models(ws, kind):
                if record.exists and record.path.resolve() not in seen:
                    seen.add(record.path.resolve())
                    choices.append(
                        ModelChoice(f"{record.name}  ({record.origin})", record.path, record.origin)
                    )
    return choices


def is_demo_model(path: Path | None) -> bool:
    return path is not None and Path(path).resolve().parent == demo_models_dir().resolve()


def demo_sampling() -> dict[str, object]:
    """The sampler and guidance the shipped demo images were made with (chosen by measurement in
    ``docs/demo/make_demo_images.py``), read from their provenance; empty if that is missing."""
    from dermstudy.demo import SYNTHETIC_DIR, SYNTHETIC_MANIFEST

    try:
        entries = json.loads((SYNTHETIC_DIR / SYNTHETIC_MANIFEST).read_text(encoding="utf-8"))
        provenance = entries[0]["provenance"]
        return {"sampler": provenance["sampler"], "guidance": float(provenance["guidance"])}
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return {}


def demo_model_note() -> str:
    """One line on what the shipped demo model is (from its training record)."""
    try:
        record = json.loads((demo_models_dir() / "training.json").read_text())
        trained = (
            f"trained on {record['base']['images']:,} images for {record['base']['steps']:,} steps"
        )
    except (OSError, ValueError, KeyError, TypeError):
        trained = "a small model trained by dermstudy"
    return f"Demo model — {trained}; for research use the public GLIDE weights or your fine-tune."


def generate_arguments(settings: GenerateSettings) -> list[str]:
    """The ``dermstudy generate`` argument list (JSON-lines progress) for the panel's settings."""
    return [*settings.to_argv(), "--progress", "json"]
