"""Open every window on an offscreen screen of a given size and report what does not fit.

Run in its own process (the screen size is fixed when the QApplication starts)::

    QT_QPA_PLATFORM=offscreen:configfile=screen.json python -m tests.ui.screen_probe OUT_DIR

It builds a small workspace with a study, opens the main window the way ``dermstudy gui`` does, shows
every panel, then opens the reader window the way the Reading panel does. It writes ``report.json``
(problems found, one line each) and a PNG of every screen to OUT_DIR, so a person can look at them.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QScrollArea,
    QWidget,
)

CONTROLS = (QAbstractButton, QAbstractSpinBox, QComboBox)


def _settle(app: QApplication) -> None:
    for _ in range(5):
        app.processEvents()


def _inside_scroll_area(widget: QWidget, top: QWidget, kind: type) -> bool:
    parent = widget.parentWidget()
    while parent is not None and parent is not top:
        if isinstance(parent, kind):
            return True
        parent = parent.parentWidget()
    return False


def _visible_rect(widget: QWidget, top: QWidget) -> QRect:
    """The part of ``widget`` (in ``top``'s coordinates) that its ancestors do not clip away."""
    rect = QRect(widget.mapTo(top, QPoint(0, 0)), widget.size())
    parent = widget.parentWidget()
    while parent is not None:
        origin = parent.mapTo(top, QPoint(0, 0)) if parent is not top else QPoint(0, 0)
        rect = rect.intersected(QRect(origin, parent.size()))
        if parent is top:
            break
        parent = parent.parentWidget()
    return rect


def control_problems(top: QWidget, where: str) -> list[str]:
    """Controls that are cut off by the window or an ancestor, or narrower than their text needs."""
    problems = []
    for widget in top.findChildren(QWidget):
        if not isinstance(widget, CONTROLS) or not widget.isVisibleTo(top):
            continue
        if widget.width() <= 0 or widget.height() <= 0:
            continue
        name = widget.objectName() or getattr(widget, "text", lambda: "")() or type(widget).__name__
        if isinstance(widget, QAbstractButton) and not widget.text() and widget.icon().isNull():
            continue  # Qt's own glyph buttons (scroll arrows, spin box arrows)
        if widget.parentWidget() is not None and type(widget.parentWidget()).__name__ in (
            "QTabBar",
            "QScrollBar",
        ):
            continue
        full = QRect(widget.mapTo(top, QPoint(0, 0)), widget.size())
        visible = _visible_rect(widget, top)
        if _inside_scroll_area(widget, top, QAbstractItemView):
            pass  # rows of a list or table scroll: out of view there is not a fault
        elif _inside_scroll_area(widget, top, QScrollArea):
            # Forms scroll vertically only: a control may be below the fold, never cut sideways.
            if visible.width() != full.width() and visible.height() > 0:
                problems.append(f"{where}: {name!r} is cut off at the side ({full})")
        elif visible != full:
            problems.append(f"{where}: {name!r} is cut off ({full} in {top.size()})")
        needed = widget.minimumSizeHint()
        if isinstance(widget, QAbstractSpinBox):
            needed = widget.sizeHint()  # the largest value must fit
        if widget.width() < needed.width() - 1 or widget.height() < needed.height() - 1:
            problems.append(
                f"{where}: {name!r} is clipped ({widget.width()}x{widget.height()} px,"
                f" needs {needed.width()}x{needed.height()})"
            )
    return problems


def window_problems(window: QWidget, where: str) -> list[str]:
    available = window.screen().availableGeometry()
    frame = window.frameGeometry()
    if not available.contains(frame):
        return [f"{where}: window {frame} does not fit the screen {available}"]
    return []


def _make_workspace(root: Path) -> Path:
    from dermstudy.study.builder import StudyDesign, create_study
    from dermstudy.workspace import Workspace
    from tests.fixtures.sample_images import add_sample_images

    with Workspace.open(root) as ws:
        add_sample_images(ws, 3, 3, seed=3, real_size=(600, 450), synthetic_size=(256, 256))
        create_study(
            ws,
            StudyDesign.with_counts(
                "pilot", ["mel", "nv", "bcc"], 2, 2, seed=7, entity_confidence=True
            ),
        )
    return root


def probe(out: Path) -> dict:
    from dermstudy.ui.app import create_application
    from dermstudy.ui.main_window import PANEL_SPECS, MainWindow
    from dermstudy.ui.screens import show_fitted

    app = create_application()
    out.mkdir(parents=True, exist_ok=True)
    report: dict = {"screen": [], "problems": [], "image": None}
    geometry = app.primaryScreen().availableGeometry()
    report["screen"] = [geometry.width(), geometry.height()]
    with tempfile.TemporaryDirectory() as tmp:
        root = _make_workspace(Path(tmp) / "ws")
        window = MainWindow(root)
        show_fitted(window, MainWindow.PREFERRED_SIZE)
        _settle(app)
        report["problems"] += window_problems(window, "main window")
        for spec in PANEL_SPECS:
            if not window.is_available(spec.name):
                continue
            window.select_panel(spec.name)
            _settle(app)
            report["problems"] += control_problems(window, f"{spec.name} panel")
            window.grab().save(str(out / f"panel-{spec.name}.png"))
        reading = window.select_panel("reading")
        reading.ask_unlock_code = lambda: "probe-code"  # the coordinator's code, without the dialog
        reader = reading._start(root, "pilot", "dr-a")
        _settle(app)
        report["problems"] += window_problems(reader, "reader window")
        report["problems"] += control_problems(reader, "reader window")
        view = reader.reader.image_view
        target = view.target_rect().toAlignedRect()
        report["image"] = {
            "view": [view.width(), view.height()],
            "target": [target.x(), target.y(), target.width(), target.height()],
            "whole": QRect(0, 0, view.width(), view.height()).contains(target),
            "visible": _visible_rect(view, reader)
            == QRect(view.mapTo(reader, QPoint()), view.size()),
        }
        reader.grab().save(str(out / "reader.png"))
        reader.close()
        _settle(app)
        # The main window comes back locked: the lock screen must fit the screen too.
        report["problems"] += window_problems(window, "locked main window")
        report["problems"] += control_problems(window, "locked main window")
        window.grab().save(str(out / "locked.png"))
        window.close()
        _settle(app)
    (out / "report.json").write_text(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    result = probe(Path(sys.argv[1]))
    print(json.dumps(result, indent=1))
