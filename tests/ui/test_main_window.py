"""The main window shell: navigation, lazy panels, missing panels, workspace switching."""

from __future__ import annotations

import sys
import types

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from dermstudy.ui import main_window as mw
from dermstudy.ui.main_window import PANEL_SPECS, MainWindow


@pytest.fixture
def fake_panels(monkeypatch):
    """Pretend only 'dataset' and 'studies' panels exist, with tiny fake modules."""
    built = []

    def make_module(name):
        module = types.ModuleType(f"dermstudy.ui.panels.{name}")
        module.TITLE = name.title()

        class Panel(QWidget):
            refreshed = 0

            def refresh(self):
                self.refreshed += 1

        def create_panel(workspace_path, parent=None):
            widget = Panel(parent)
            widget.workspace_path = workspace_path
            built.append((name, workspace_path))
            return widget

        module.create_panel = create_panel
        return module

    fakes = {"dataset": make_module("dataset"), "studies": make_module("studies")}
    monkeypatch.setattr(mw, "panel_available", lambda spec: spec.name in fakes)
    monkeypatch.setattr(mw, "load_panel_module", lambda spec: fakes.get(spec.name))
    return built


def test_navigation_order_and_disabled_missing_panels(qtbot, tmp_path, fake_panels):
    window = MainWindow(tmp_path / "ws")
    qtbot.addWidget(window)
    titles = [window.nav.item(i).text() for i in range(window.nav.count())]
    assert titles == [
        "Dataset",
        "Generator",
        "Training",
        "Studies",
        "Reading",
        "Results",
        "Quality",
        "Classifier",
    ]
    for row, spec in enumerate(PANEL_SPECS):
        enabled = bool(window.nav.item(row).flags() & Qt.ItemFlag.ItemIsEnabled)
        assert enabled == (spec.name in ("dataset", "studies"))
        if not enabled:
            assert spec.purpose in window.nav.item(row).toolTip()
    assert window.current_panel_name() == "dataset"
    assert [name for name, _ in fake_panels] == ["dataset"]  # studies not built until shown


def test_panels_switch_and_refresh(qtbot, tmp_path, fake_panels):
    window = MainWindow(tmp_path / "ws")
    qtbot.addWidget(window)
    studies = window.select_panel("studies")
    assert window.stack.currentWidget() is studies
    assert studies.refreshed == 1
    window.select_panel("dataset")
    window.select_panel("studies")
    assert studies.refreshed == 2 and window.panel("studies") is studies
    assert window.select_panel("quality") is None  # missing panel cannot be selected


def test_status_bar_shows_workspace_and_counts(qtbot, tmp_path, fake_panels):
    window = MainWindow(tmp_path / "ws")
    qtbot.addWidget(window)
    assert str(tmp_path / "ws") in window.workspace_label.text()
    assert "0 images" in window.status_label.text()


def test_switching_workspace_rebuilds_panels(qtbot, tmp_path, fake_panels):
    window = MainWindow(tmp_path / "a")
    qtbot.addWidget(window)
    assert window.set_workspace(tmp_path / "b")
    assert window.panel("dataset").workspace_path == (tmp_path / "b").resolve()
    assert "b" in window.windowTitle()


def test_broken_panel_shows_error_not_crash(qtbot, tmp_path, monkeypatch):
    def broken(spec):
        raise RuntimeError("boom in panel")

    monkeypatch.setattr(mw, "panel_available", lambda spec: spec.name == "dataset")
    monkeypatch.setattr(mw, "load_panel_module", broken)
    window = MainWindow(tmp_path / "ws")
    qtbot.addWidget(window)
    texts = [label.text() for label in window.stack.currentWidget().findChildren(QLabel)]
    assert any("boom in panel" in t for t in texts)


def test_real_missing_module_detection():
    spec = mw.PanelSpec("no_such_panel_xyz", "X", "does x")
    assert not mw.panel_available(spec)
    assert mw.load_panel_module(spec) is None
    assert "dermstudy.ui.panels.no_such_panel_xyz" not in sys.modules


def test_real_window_opens_on_dataset_with_thumbnails(qtbot, library):
    from dermstudy.ui.panels.dataset import DatasetPanel

    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()
    panel = window.panel("dataset")
    assert isinstance(panel, DatasetPanel)
    assert "15 images" in window.status_label.text()
    first = panel.model.row_at(0)
    qtbot.waitUntil(lambda: panel.model.has_thumbnail(first.sha256), timeout=10_000)
    window.close()  # shuts the panel's loader threads down
    assert panel._closed


def test_status_bar_follows_an_import(qtbot, library, tmp_path):
    from .conftest import write_ham_folder

    window = MainWindow(library)
    qtbot.addWidget(window)
    panel = window.panel("dataset")
    folder = write_ham_folder(tmp_path / "ham", ["df", "df"], start=900)
    with qtbot.waitSignal(panel.workspace_changed, timeout=30_000):
        panel.import_ham10000_folder(folder)
    assert "17 images (11 real" in window.status_label.text()
    window.close()


def test_reading_hides_the_main_window_until_the_reader_closes(qtbot, tmp_path):
    from dermstudy.study.builder import StudyDesign, create_study
    from dermstudy.workspace import Workspace
    from tests.fixtures.sample_images import add_sample_images

    root = tmp_path / "ws"
    with Workspace.open(root) as ws:
        add_sample_images(ws, 1, 0, seed=2)
        create_study(ws, StudyDesign.with_counts("s", ["mel"], 1, 0, display_size=32, seed=1))
    window = MainWindow(root)
    qtbot.addWidget(window)
    window.show()
    panel = window.select_panel("reading")
    panel.reader_edit.setText("dr-h")
    panel.ask_unlock_code = lambda: "1234"  # the coordinator's code (tests/ui/test_reading_lock.py)
    reader = panel.start_workspace_reading()
    qtbot.addWidget(reader)
    assert reader.isVisible() and not window.isVisible()
    with qtbot.waitSignal(reader.closed, timeout=5000):
        reader.close()
    assert window.isVisible() and window.is_locked
    window.close()
