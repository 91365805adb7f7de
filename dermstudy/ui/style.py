"""The look of the app: Fusion style, one palette, one readable font size, one style sheet, icons.

Every window (main window, reader window, dialogs) calls :func:`apply_style` once on the
``QApplication``; panels only use the object names and properties defined here (``role="title"``,
``role="hint"``, ``role="primary"``...) instead of styling themselves, so the app stays consistent.
The small builders the panels and dialogs share live here too: a page's and a dialog's layout, a
job's Start and Cancel buttons, a path field with "Browse…", a dialog's OK and Cancel.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TypeVar

from PySide6 import QtWidgets
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPalette

from dermstudy.paths import RESOURCES_DIR

ICONS_DIR = RESOURCES_DIR / "icons"
LayoutT = TypeVar("LayoutT", bound=QtWidgets.QLayout)

ACCENT = "#2c5d8f"
ACCENT_LIGHT = "#dce8f4"
TEXT = "#1f2328"
MUTED = "#5f6b76"
WINDOW = "#f5f6f8"
BASE = "#ffffff"
BORDER = "#d0d5db"
DANGER = "#b42318"
# The progress text is drawn across the bar: the filled part must be light enough for TEXT on it.
PROGRESS_CHUNK = "#9fc0e3"

BASE_POINT_SIZE = 10.5
SPACING = 10  # default layout spacing and margin unit, in pixels

STYLE_SHEET = f"""
QWidget {{ color: {TEXT}; }}
QMainWindow, QDialog {{ background: {WINDOW}; }}
QLabel[role="title"] {{ font-size: 16pt; font-weight: 600; }}
QLabel[role="subtitle"] {{ font-size: 12pt; font-weight: 600; }}
QLabel[role="hint"] {{ color: {MUTED}; }}
QLabel[role="error"] {{ color: {DANGER}; }}
QListWidget#navigation {{
    background: {BASE}; border: none; border-right: 1px solid {BORDER}; padding: 6px 0;
    outline: 0;
}}
QListWidget#navigation::item {{ padding: 8px 10px; margin: 1px 6px; border-radius: 6px; }}
QListWidget#navigation::item:selected {{ background: {ACCENT_LIGHT}; color: {TEXT}; }}
QListWidget#navigation::item:hover:!selected {{ background: #eef1f4; }}
QListWidget#navigation::item:disabled {{ color: #9aa3ab; }}
QGroupBox {{
    border: 1px solid {BORDER}; border-radius: 6px; margin-top: 14px; padding: 10px 8px 8px 8px;
    background: {BASE};
}}
QGroupBox::title {{ subcontrol-origin: margin; left: 10px; padding: 0 4px; font-weight: 600; }}
QPushButton {{
    padding: 5px 14px; border: 1px solid {BORDER}; border-radius: 5px; background: {BASE};
}}
QPushButton:hover {{ background: #eef1f4; }}
QPushButton:pressed {{ background: #e1e6eb; }}
QPushButton:disabled {{ color: #9aa3ab; }}
QPushButton[role="primary"] {{ background: {ACCENT}; color: white; border-color: {ACCENT}; }}
QPushButton[role="primary"]:hover {{ background: #244d77; }}
QPushButton[role="primary"]:disabled {{ background: #9db3c9; border-color: #9db3c9; }}
QPushButton:checked {{ background: {ACCENT}; color: white; border-color: {ACCENT}; }}
QTableView, QTableWidget, QListView {{
    background: {BASE}; border: 1px solid {BORDER}; border-radius: 4px;
    gridline-color: #e6e9ed; selection-background-color: {ACCENT_LIGHT}; selection-color: {TEXT};
}}
QHeaderView::section {{
    background: #eef1f4; border: none; border-bottom: 1px solid {BORDER}; padding: 4px 6px;
    font-weight: 600;
}}
QProgressBar {{
    border: 1px solid {BORDER}; border-radius: 4px; background: {BASE}; text-align: center;
    color: {TEXT};
    min-height: 18px;
}}
QProgressBar::chunk {{ background: {PROGRESS_CHUNK}; border-radius: 3px; }}
QStatusBar {{ background: {BASE}; border-top: 1px solid {BORDER}; }}
QStatusBar QLabel {{ color: {MUTED}; padding: 0 6px; }}
"""


@cache
def icon(name: str) -> QIcon:
    """An icon from ``resources/icons/<name>.svg`` (or ``.png``); an empty icon if there is none."""
    for suffix in (".svg", ".png"):
        path = ICONS_DIR / f"{name}{suffix}"
        if path.exists():
            return QIcon(str(path))
    return QIcon()


def set_role(widget: QtWidgets.QWidget, role: str) -> None:
    """Give ``widget`` a style-sheet role (``hint``, ``error``...) and re-apply the style at once."""
    widget.setProperty("role", role)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def hint_label(text: str = "") -> QtWidgets.QLabel:
    """A wrapped, muted line of explanation under a title or beside a control."""
    label = QtWidgets.QLabel(text)
    label.setProperty("role", "hint")
    label.setWordWrap(True)
    return label


def page_layout(
    panel: QtWidgets.QWidget, title: str, intro: QtWidgets.QLabel | None = None
) -> QtWidgets.QVBoxLayout:
    """A panel's page: the standard margins and spacing, its title, and an optional intro line."""
    layout = QtWidgets.QVBoxLayout(panel)
    layout.setContentsMargins(SPACING * 2, SPACING * 2, SPACING * 2, SPACING)
    layout.setSpacing(SPACING)
    heading = QtWidgets.QLabel(title)
    heading.setProperty("role", "title")
    layout.addWidget(heading)
    if intro is not None:
        layout.addWidget(intro)
    return layout


def scrolling_form(layout: QtWidgets.QVBoxLayout) -> QtWidgets.QScrollArea:
    """A panel's form column that scrolls vertically instead of squeezing or clipping its rows
    when the form is taller than a laptop screen; as wide as the form needs."""
    content = QtWidgets.QWidget()
    content.setLayout(layout)
    area = QtWidgets.QScrollArea()
    area.setWidget(content)
    area.setWidgetResizable(True)
    area.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setMinimumWidth(content.sizeHint().width() + 20)
    return area


def job_buttons(
    start_text: str, start: Callable[[], object], cancel: Callable[[], None]
) -> tuple[QtWidgets.QPushButton, QtWidgets.QPushButton]:
    """A background job's primary button and its Cancel button (disabled until the job runs)."""
    start_button = QtWidgets.QPushButton(start_text)
    start_button.setProperty("role", "primary")
    start_button.clicked.connect(start)
    cancel_button = QtWidgets.QPushButton("Cancel")
    cancel_button.setEnabled(False)
    cancel_button.clicked.connect(cancel)
    return start_button, cancel_button


def browse_row(edit: QtWidgets.QLineEdit, browse: Callable[[], None]) -> QtWidgets.QHBoxLayout:
    """A path field taking the row's width, with its "Browse…" button (calling ``browse``)."""
    button = QtWidgets.QPushButton("Browse…")
    button.clicked.connect(browse)
    row = QtWidgets.QHBoxLayout()
    row.addWidget(edit, 1)
    row.addWidget(button)
    return row


def dialog_layout(
    dialog: QtWidgets.QDialog,
    title: str,
    min_width: int,
    kind: type[LayoutT] = QtWidgets.QVBoxLayout,
) -> LayoutT:
    """A dialog's window title, a minimum width that keeps its explanations on few lines, and
    its top layout (a ``kind``), as :func:`page_layout` is a panel's."""
    dialog.setWindowTitle(title)
    dialog.setMinimumWidth(min_width)
    return kind(dialog)


def ok_cancel_buttons(
    dialog: QtWidgets.QDialog, accept: Callable[[], None]
) -> QtWidgets.QDialogButtonBox:
    """A dialog's OK and Cancel: OK calls ``accept`` (which checks the input and then accepts
    the dialog, or says what is wrong), Cancel rejects the dialog."""
    buttons = QtWidgets.QDialogButtonBox(
        QtWidgets.QDialogButtonBox.StandardButton.Ok
        | QtWidgets.QDialogButtonBox.StandardButton.Cancel
    )
    buttons.accepted.connect(accept)
    buttons.rejected.connect(dialog.reject)
    return buttons


def app_icon() -> QIcon:
    return icon("app")


def _palette() -> QPalette:
    palette = QPalette()
    colors = {
        QPalette.ColorRole.Window: WINDOW,
        QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: BASE,
        QPalette.ColorRole.AlternateBase: "#f7f8fa",
        QPalette.ColorRole.Text: TEXT,
        QPalette.ColorRole.Button: BASE,
        QPalette.ColorRole.ButtonText: TEXT,
        QPalette.ColorRole.Highlight: ACCENT,
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: "#ffffe8",
        QPalette.ColorRole.ToolTipText: TEXT,
        QPalette.ColorRole.PlaceholderText: MUTED,
    }
    for role, color in colors.items():
        palette.setColor(role, QColor(color))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#9aa3ab"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor("#9aa3ab"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#9aa3ab"))
    return palette


def apply_style(app: QtWidgets.QApplication) -> None:
    """Give the whole application the dermstudy look (idempotent)."""
    app.setStyle("Fusion")
    app.setPalette(_palette())
    font = QFont(app.font())
    font.setPointSizeF(BASE_POINT_SIZE)
    app.setFont(font)
    app.setStyleSheet(STYLE_SHEET)
    app.setWindowIcon(app_icon())
