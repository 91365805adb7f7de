"""The Quality panel: runs off the UI thread, fills the tables, shows a pair, exports, cancels."""

from __future__ import annotations

import json
import time

import pytest

from dermstudy.jobs import ProgressEvent
from dermstudy.quality.tables import COLUMNS
from dermstudy.ui.panels import quality as panel_mod


@pytest.fixture
def panel(qtbot, quality_ws):
    widget = panel_mod.create_panel(quality_ws.root)
    qtbot.addWidget(widget)
    widget.inception_check.setChecked(False)
    widget.classifier_check.setChecked(False)
    yield widget
    widget.shutdown()


def test_the_main_window_lists_the_quality_panel_as_available() -> None:
    from dermstudy.ui.main_window import PANEL_SPECS, panel_available

    spec = next(s for s in PANEL_SPECS if s.name == "quality")
    assert panel_available(spec)


def test_compute_fills_sortable_tables_and_shows_the_nearest_pair(qtbot, panel, tmp_path) -> None:
    worker = panel.start()
    with qtbot.waitSignal(worker.done, timeout=120_000):
        pass
    assert panel.report is not None
    assert panel.table.rowCount() == 1 and panel.table.item(0, 0).text().startswith("df")
    assert panel.overall.item(0, 0).text() == "overall"
    assert panel.table.isSortingEnabled()
    assert panel.memo_table.rowCount() == 3
    # Sorted by pixel distance: the nearest pair first, a near-copy, shown side by side.
    first = panel.selected_pair()
    assert first.near_copy
    assert first.pixel_rmse == min(m.pixel_rmse for m in panel.report.memorisation)
    assert not panel.synthetic_image.pixmap().isNull()
    assert not panel.real_image.pixmap().isNull()
    assert "near-copies" in panel.status_label.text()
    # Sorting the entity table by a numeric column keeps numbers, not text, in order.
    panel.memo_table.sortItems(3, panel_mod.Qt.SortOrder.DescendingOrder)
    values = [float(panel.memo_table.item(r, 3).text()) for r in range(3)]
    assert values == sorted(values, reverse=True)
    panel.export_workbook(str(tmp_path / "q.xlsx"))
    panel.export_json(str(tmp_path / "q.json"))
    assert (tmp_path / "q.xlsx").stat().st_size > 0
    assert json.loads((tmp_path / "q.json").read_text())["overall"]["near_copies"] == 2


def test_cancel_stops_the_job(qtbot, panel, monkeypatch) -> None:
    def slow(path, options, progress, cancel):
        for i in range(1000):
            cancel.raise_if_cancelled()
            progress(ProgressEvent(i, 1000, "working"))
            time.sleep(0.01)
        raise AssertionError("never cancelled")

    monkeypatch.setattr(panel_mod, "compute_quality", slow)
    worker = panel.start()
    qtbot.waitUntil(lambda: panel.progress_bar.value() > 0, timeout=10_000)
    with qtbot.waitSignal(worker.cancelled, timeout=10_000):
        panel.cancel()
    qtbot.waitUntil(lambda: panel.run_button.isEnabled(), timeout=10_000)
    assert panel.status_label.text() == "Cancelled."


def test_bad_filter_is_a_message_not_a_crash(panel, monkeypatch) -> None:
    shown = []
    monkeypatch.setattr(panel_mod.QtWidgets.QMessageBox, "warning", lambda *args: shown.append(args[2]))
    panel.synthetic_edit.setText("no-equals-sign")
    assert panel.start() is None
    assert "KEY=PATTERN" in shown[0]


def test_entities_are_listed_in_the_research_order_with_two_line_headers(qtbot, tmp_path) -> None:
    from dermstudy.entities import CODES
    from dermstudy.workspace import Workspace
    from tests.classifier.conftest import add_images

    ws = Workspace.open(tmp_path / "ws")
    add_images(ws, "real", 3)
    add_images(ws, "synthetic", 2)
    widget = panel_mod.create_panel(ws.root)
    qtbot.addWidget(widget)
    widget.inception_check.setChecked(False)
    widget.classifier_check.setChecked(False)
    try:
        worker = widget.start()
        with qtbot.waitSignal(worker.done, timeout=120_000):
            pass
        # Not alphabetical (akiec, bcc, ...): the research's order, as in the CLI table.
        entities = [widget.table.item(r, 0).text() for r in range(widget.table.rowCount())]
        assert entities == list(CODES)
        headers = [widget.table.horizontalHeaderItem(c).text() for c in range(len(COLUMNS))]
        assert "n\nsyn" in headers and "Near-\ncopies" in headers and "Min\nRMSE" in headers
        # A column is as wide as its widest cell, never narrower.
        for c in range(len(COLUMNS)):
            assert widget.table.columnWidth(c) >= widget.table.sizeHintForColumn(c)
            assert widget.overall.columnWidth(c) == widget.table.columnWidth(c)
    finally:
        widget.shutdown()
        ws.close()
