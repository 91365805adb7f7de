"""File dialogs that open in the folder used last (any panel), and remember the new choice."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

from dermstudy.ui.settings import last_folder, remember_folder


def open_file(
    parent: QWidget | None, caption: str, filters: str = "", default: str | Path | None = None
) -> str:
    """A file to open ("" if cancelled)."""
    name, _ = QFileDialog.getOpenFileName(parent, caption, last_folder(default), filters)
    if name:
        remember_folder(name)
    return name


def save_file(
    parent: QWidget | None,
    caption: str,
    file_name: str,
    filters: str = "",
    default: str | Path | None = None,
) -> str:
    """A file to write ("" if cancelled); ``file_name`` is proposed in the last folder."""
    start = str(Path(last_folder(default)) / file_name)
    name, _ = QFileDialog.getSaveFileName(parent, caption, start, filters)
    if name:
        remember_folder(name)
    return name


def existing_folder(parent: QWidget | None, caption: str, default: str | Path | None = None) -> str:
    """A folder ("" if cancelled)."""
    folder = QFileDialog.getExistingDirectory(parent, caption, last_folder(default))
    if folder:
        remember_folder(folder)
    return folder
