"""The Results panel: pick study and readers, analyse off the UI thread, show tables, export."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableWidget

from dermstudy.ui.panels.results import ResultsPanel, create_panel
from dermstudy.workspace import Workspace
from tests.analysis.tiny import make_tiny_study


@pytest.fixture
def panel(qtbot, tmp_path: Path):
    root = tmp_path / "ws"
    with Workspace.open(root) as ws:
        make_tiny_study(ws, readers="AB")
    widget = create_panel(root)
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    yield widget
    widget.shutdown()


def _analyse(qtbot, panel: ResultsPanel) -> None:
    panel.start_analysis()
    assert not panel.analyse_button.isEnabled()  # busy while the worker runs
    with qtbot.waitSignal(panel.worker.done, timeout=60_000):
        pass


def _tab(panel: ResultsPanel, title: str) -> int:
    titles = [panel.tabs.tabText(i) for i in range(panel.tabs.count())]
    return titles.index(title)


def test_lists_study_and_readers(panel):
    assert panel.study_combo.count() == 1
    assert panel.study_combo.currentData() == "tiny"
    assert panel.selected_readers() == ["A", "B"]


def test_analysis_fills_tables_and_figures(qtbot, panel, tmp_path):
    _analyse(qtbot, panel)
    assert panel.analysis is not None
    assert "8 scored cases" in panel.summary_label.text()
    assert "1 missing" in panel.summary_label.text()
    entity_tab = panel.tabs.widget(_tab(panel, "Entity"))
    first = entity_tab.widget().findChildren(QTableWidget)[0]
    assert first.item(0, 0).text() == "mel"
    accuracy_row = next(r for r in range(first.rowCount()) if first.item(r, 0).text() == "accuracy")
    assert first.item(accuracy_row, 3).text() == f"{12 / 15:.2f}"
    assert first.item(accuracy_row, 3).toolTip() == repr(12 / 15)
    assert panel.figures.names.count() >= 5
    assert not panel.figures.image.pixmap().isNull()
    assert all(button.isEnabled() for button in panel.export_buttons)
    image = panel.grab()
    assert image.width() > 0 and not image.isNull()


def test_reader_choice_and_export(qtbot, panel, tmp_path):
    panel.reader_list.item(0).setCheckState(Qt.CheckState.Unchecked)  # only reader B
    _analyse(qtbot, panel)
    assert [r["name"] for r in panel.analysis.report["readers"]] == ["B"]
    path = tmp_path / "out.xlsx"
    panel.save_workbook(path)
    with qtbot.waitSignal(panel.worker.done, timeout=60_000):
        pass
    assert "Entity" in load_workbook(path, read_only=True).sheetnames
    assert str(path) in panel.status_label.text()


def test_cancel_leaves_panel_usable(qtbot, panel):
    panel.start_analysis()
    panel.cancel()
    with qtbot.waitSignal(panel.worker.done, timeout=60_000):
        pass
    assert panel.analyse_button.isEnabled()
    assert panel.status_label.text() in ("Cancelled.", "Analysis ready.")


def test_empty_workspace_says_what_to_do(qtbot, tmp_path):
    widget = ResultsPanel(tmp_path / "empty")
    qtbot.addWidget(widget)
    assert "No studies" in widget.summary_label.text()
    assert not widget.analyse_button.isEnabled()


def test_model_tab_and_main_window(qtbot, tmp_path):
    from dermstudy.analysis.data import find_study
    from dermstudy.analysis.predictions import import_predictions
    from dermstudy.ui.main_window import MainWindow

    root = tmp_path / "ws"
    with Workspace.open(root) as ws:
        make_tiny_study(ws)
        preds = tmp_path / "p.csv"
        preds.write_text(
            "case,entity\nc1,mel\nc2,nv\nc3,nv\nc4,nv\nc5,bcc\nc6,bcc\nc7,df\nc8,vasc\n"
        )
        import_predictions(ws, find_study(ws, "tiny"), "cnn", preds)
    window = MainWindow(root)
    qtbot.addWidget(window)
    panel = window.select_panel("results")
    assert isinstance(panel, ResultsPanel)
    _analyse(qtbot, panel)
    model_tab = panel.tabs.widget(_tab(panel, "Model vs readers"))
    table = model_tab.widget().findChildren(QTableWidget)[0]
    accuracy = next(r for r in range(table.rowCount()) if table.item(r, 0).text() == "accuracy")
    assert table.item(accuracy, 3).text() == f"{7 / 8:.2f}"  # model: only c2 wrong
    window.close()
