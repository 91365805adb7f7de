"""Where the app finds its shipped resources, the user's model files and the default workspace."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESOURCES_DIR = PROJECT_ROOT / "resources"
DEMO_DIR = RESOURCES_DIR / "demo"


def models_dir() -> Path:
    """Folder that holds user-supplied model files (``DERMSTUDY_MODELS`` overrides ``models/``)."""
    return Path(os.environ.get("DERMSTUDY_MODELS", PROJECT_ROOT / "models"))


def demo_models_dir() -> Path:
    """The small demo GLIDE pair shipped with dermstudy (``DERMSTUDY_DEMO_MODELS`` overrides).

    Used only for a kind of model of which the models folder holds none.
    """
    return Path(os.environ.get("DERMSTUDY_DEMO_MODELS", DEMO_DIR / "models"))


def default_workspace() -> Path:
    """The workspace used when neither ``--workspace`` nor ``DERMSTUDY_WORKSPACE`` is given."""
    env = os.environ.get("DERMSTUDY_WORKSPACE")
    return Path(env) if env else PROJECT_ROOT / "studies" / "default"


def demo_workspace() -> Path:
    return PROJECT_ROOT / "studies" / "demo"
