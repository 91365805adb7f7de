"""What the GUI remembers between starts: last folders, panel choices (``QSettings``, an INI file).

The file is ``~/.config/dermstudy/dermstudy.ini`` on Linux (Qt's per-user location);
``DERMSTUDY_SETTINGS=FILE`` uses another file (the tests point it into a temporary folder so they never
read or change a person's settings). Only GUI conveniences live here; nothing a study depends on.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from PySide6.QtCore import QSettings

SETTINGS_ENV = "DERMSTUDY_SETTINGS"
LAST_FOLDER_KEY = "dialogs/last_folder"


def app_settings() -> QSettings:
    """The settings store (a new handle each time; QSettings writes through on its own)."""
    path = os.environ.get(SETTINGS_ENV)
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, "dermstudy", "dermstudy"
    )


def load_value(key: str, default: object = None) -> object:
    return app_settings().value(key, default)


def save_value(key: str, value: object) -> None:
    settings = app_settings()
    settings.setValue(key, value)
    settings.sync()


def load_json(key: str, default: object = None) -> object:
    """A value saved with :func:`save_json` (``default`` if absent or unreadable)."""
    raw = load_value(key)
    if not isinstance(raw, str):
        return default
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return default


def save_json(key: str, value: object) -> None:
    """Save ``value`` as JSON text (QSettings' INI lists lose their type with one element)."""
    save_value(key, json.dumps(value))


def last_folder(default: str | Path | None = None) -> str:
    """The folder a file dialog should start in: the last one used, else ``default``, else HOME."""
    folder = load_value(LAST_FOLDER_KEY)
    if folder and Path(str(folder)).is_dir():
        return str(folder)
    return str(default) if default else str(Path.home())


def remember_folder(chosen: str | Path) -> None:
    """Remember the folder of a chosen file (or the chosen folder itself) for the next dialog."""
    path = Path(chosen)
    folder = path if path.is_dir() else path.parent
    save_value(LAST_FOLDER_KEY, str(folder))
