"""Issue 12 item 3: a reader session started from the Reading panel leaves the main window locked
behind the coordinator's unlock code; `dermstudy read` shows the reader window alone."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication

from dermstudy.study.builder import StudyDesign, create_study
from dermstudy.study.package import export_package
from dermstudy.ui.main_window import MainWindow
from dermstudy.workspace import Workspace
from tests.fixtures.sample_images import add_sample_images


@pytest.fixture
def study_ws(tmp_path):
    root = tmp_path / "ws"
    with Workspace.open(root) as ws:
        add_sample_images(ws, 1, 0, seed=2)
        create_study(ws, StudyDesign.with_counts("s", ["mel"], 1, 0, display_size=32, seed=1))
    return root


def _audit(root):
    with Workspace.open(root) as ws:
        return [row[0] for row in ws.conn.execute("SELECT action FROM audit_log ORDER BY id")]


def _start(qtbot, window, code="open-sesame"):
    panel = window.select_panel("reading")
    panel.reader_edit.setText("dr-l")
    panel.ask_unlock_code = lambda: code
    reader = panel.start_workspace_reading()
    if reader is not None:
        qtbot.addWidget(reader)
    return panel, reader


def test_closing_the_reader_window_leaves_the_main_window_locked(qtbot, study_ws):
    window = MainWindow(study_ws)
    qtbot.addWidget(window)
    window.show()
    _panel, reader = _start(qtbot, window)
    assert reader.isVisible() and not window.isVisible() and window.is_locked
    with qtbot.waitSignal(reader.closed, timeout=5000):
        reader.close()
    assert window.isVisible()
    # Only the lock screen: no panel, no menu, no shortcut reaches the studies or the answer key.
    assert window.pages.currentWidget() is window.lock_screen
    assert not window.menuBar().isEnabled()
    assert window.select_panel("studies") is None
    guarded = [a for a in window.findChildren(QAction) if a.text() in ("Studies", "Results")]
    assert len(guarded) == 2 and not any(a.isEnabled() for a in guarded)
    assert not window.lock_screen.text_label.text().count("<")  # plain text

    assert window.unlock("wrong") is False and window.is_locked
    assert "not the unlock code" in window.lock_screen.message_label.text()
    window.lock_screen.code_edit.setText("open-sesame")
    window.lock_screen.unlock_button.click()
    assert not window.is_locked and window.pages.currentIndex() == 0
    assert window.select_panel("studies") is not None
    actions = _audit(study_ws)
    assert actions[-3:] == ["reading.lock", "reading.unlock-refused", "reading.unlock"]
    window.close()


def test_reading_does_not_start_without_a_code(qtbot, study_ws):
    window = MainWindow(study_ws)
    qtbot.addWidget(window)
    window.show()
    panel, reader = _start(qtbot, window, code=None)
    assert reader is None and panel.reader_window is None
    assert window.isVisible() and not window.is_locked
    assert "needs an unlock code" in panel.status_label.text()
    window.close()


def test_a_package_read_from_the_panel_locks_too(qtbot, study_ws, tmp_path):
    with Workspace.open(study_ws) as ws:
        export_package(ws, "s", tmp_path / "p.zip")
    window = MainWindow(study_ws)
    qtbot.addWidget(window)
    window.show()
    panel = window.select_panel("reading")
    panel.package_edit.setText(str(tmp_path / "p.zip"))
    panel.package_reader_edit.setText("dr-p")
    panel.ask_unlock_code = lambda: "code-1234"
    reader = panel.start_package_reading()
    qtbot.addWidget(reader)
    with qtbot.waitSignal(reader.closed, timeout=5000):
        reader.close()
    assert window.isVisible() and window.is_locked
    assert window.unlock("code-1234")
    window.close()


def test_dermstudy_read_shows_the_reader_window_alone(qtbot, study_ws, monkeypatch):
    from dermstudy.reading import open_reading
    from dermstudy.ui import reader_window

    seen = {}

    def fake_exec(self):
        seen["windows"] = [
            type(w).__name__ for w in QApplication.topLevelWidgets() if w.isVisible()
        ]
        for w in QApplication.topLevelWidgets():
            w.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", fake_exec)
    with open_reading(study_ws, "s", "dr-cli") as session:
        assert reader_window.run_reader_window(session) == 0
    assert seen["windows"] == ["ReaderWindow"]  # no main window, no dialog
