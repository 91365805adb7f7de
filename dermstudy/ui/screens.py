"""Fitting top-level windows to the screen they open on (laptops: 1366×768, 1280×720).

A window asks for its preferred size; when that (plus a title bar) does not fit the screen's available
area it opens maximised instead, so nothing is cut off at the bottom of a small screen. Minimum sizes
are capped to the available area too, so a window manager never has to push a window off screen.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

# Room for a window manager's title bar and borders, which Qt only knows after the window is shown.
FRAME_ALLOWANCE = QSize(16, 48)


def available_geometry(widget: QWidget | None = None) -> QRect:
    """The usable desktop area (without panels/taskbars) of the widget's screen or the primary one."""
    screen = widget.screen() if widget is not None else None
    if screen is None:
        screen = QGuiApplication.primaryScreen()
    return screen.availableGeometry() if screen is not None else QRect(0, 0, 1280, 720)


def fits(preferred: QSize, available: QRect) -> bool:
    """Whether a window of ``preferred`` client size plus a frame fits in ``available``."""
    return (
        preferred.width() + FRAME_ALLOWANCE.width() <= available.width()
        and preferred.height() + FRAME_ALLOWANCE.height() <= available.height()
    )


def show_fitted(window: QWidget, preferred: QSize) -> None:
    """Show ``window`` at ``preferred`` size, centred, or maximised when that does not fit."""
    available = available_geometry(window)
    limit = available.size() - FRAME_ALLOWANCE
    minimum = window.minimumSize()
    if minimum.width() > limit.width() or minimum.height() > limit.height():
        window.setMinimumSize(minimum.boundedTo(limit))
    if fits(preferred, available):
        window.resize(preferred)
        frame = QRect(0, 0, preferred.width(), preferred.height())
        frame.moveCenter(available.center())
        window.move(frame.topLeft())
        window.show()
    else:
        window.resize(preferred.boundedTo(limit))
        window.showMaximized()
