"""Starting the GUI: the ``QApplication`` with dermstudy's name, icon and style, and the main window."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from dermstudy.ui.style import apply_style

APP_NAME = "dermstudy"


def window_title(*parts: str) -> str:
    """``part — … — dermstudy``. Qt appends the display name to every window title unless the title
    already ends with it, so a title that starts with it would show the name twice."""
    return " — ".join([*parts, APP_NAME])


def create_application(argv: list[str] | None = None) -> QApplication:
    """The process's ``QApplication`` (created once), named and styled."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setOrganizationName("dermstudy")
    app.setDesktopFileName("dermstudy")
    apply_style(app)
    return app


def run_main_window(workspace: str | Path | None) -> int:
    """Open the main window on ``workspace`` (default workspace if None) and run until it closes.

    A workspace that cannot be opened raises ``WorkspaceError`` before any window appears, so the
    CLI reports it as one line.
    """
    from dermstudy.ui.main_window import MainWindow
    from dermstudy.ui.screens import show_fitted

    app = create_application()
    window = MainWindow(workspace)
    show_fitted(window, MainWindow.PREFERRED_SIZE)
    return int(app.exec())
