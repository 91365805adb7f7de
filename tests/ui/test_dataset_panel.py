"""The Dataset panel: counts, lazy thumbnails with a disk cache, filters, details, imports."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from dermstudy.ui.panels import dataset as dataset_panel
from dermstudy.ui.panels.dataset import DatasetPanel
from dermstudy.ui.thumbnails import THUMB_SIZE, ensure_thumbnail, thumbnail_path
from dermstudy.workspace import Workspace

from .conftest import add_images, write_ham_folder


@pytest.fixture
def panel(qtbot, library):
    widget = DatasetPanel(library)
    qtbot.addWidget(widget)
    widget.resize(1000, 700)
    widget.show()
    yield widget
    widget.shutdown()


def count_cell(panel: DatasetPanel, row: int, column: int) -> str:
    return panel.counts_table.item(row, column).text()


def test_counts_table(panel):
    # rows follow report order: mel, nv, akiec, bkl, bcc, df, vasc, total
    assert [count_cell(panel, 0, c) for c in (0, 2, 3, 4)] == ["mel", "3", "2", "5"]
    assert [count_cell(panel, 5, c) for c in (0, 2, 3)] == ["df", "3", "2"]
    assert count_cell(panel, 2, 4) == "0"  # akiec
    assert [count_cell(panel, 7, c) for c in (1, 2, 3, 4)] == ["Total", "9", "6", "15"]


def test_thumbnails_appear_and_are_cached_on_disk(qtbot, panel, library):
    assert panel.model.rowCount() == 15
    first = panel.model.row_at(0)
    qtbot.waitUntil(lambda: panel.model.has_thumbnail(first.sha256), timeout=10_000)
    cached = thumbnail_path(library, first.sha256)
    assert cached.exists()
    with Image.open(cached) as thumb:
        assert max(thumb.size) <= THUMB_SIZE


def test_entity_and_source_filters(qtbot, panel):
    panel.entity_filter.setCurrentIndex(panel.entity_filter.findData("df"))
    rows = [panel.model.row_at(i) for i in range(panel.model.rowCount())]
    assert len(rows) == 5 and {r.entity for r in rows} == {"df"}
    panel.source_filter.setCurrentIndex(panel.source_filter.findData("kind:synthetic"))
    rows = [panel.model.row_at(i) for i in range(panel.model.rowCount())]
    assert len(rows) == 2 and {(r.entity, r.kind) for r in rows} == {("df", "synthetic")}
    panel.entity_filter.setCurrentIndex(0)
    panel.source_filter.setCurrentIndex(panel.source_filter.findData("source:HAM10000"))
    assert panel.model.rowCount() == 9
    assert "9 images" in panel.shown_label.text()


def test_double_click_opens_details_with_metadata(qtbot, panel):
    row = panel.model.row_at(0)
    dialog = panel.open_details(0)
    qtbot.addWidget(dialog)
    texts = [label.text() for label in dialog.findChildren(QLabel)]
    assert row.source_id in texts
    assert any("melanoma" in t for t in texts)
    assert dialog.image_label.pixmap() is not None and not dialog.image_label.pixmap().isNull()


def test_ensure_thumbnail_reuses_cache(tmp_path):
    source = tmp_path / "big.png"
    Image.new("RGB", (400, 300), "red").save(source)
    first = ensure_thumbnail(tmp_path, "ab" * 32, source)
    stamp = first.stat().st_mtime_ns
    source.unlink()  # a cached thumbnail must not need the source again
    again = ensure_thumbnail(tmp_path, "ab" * 32, source)
    assert again == first and again.stat().st_mtime_ns == stamp
    with Image.open(first) as thumb:
        assert thumb.size == (THUMB_SIZE, THUMB_SIZE * 3 // 4)


def test_ham10000_import_from_the_panel(qtbot, panel, tmp_path):
    folder = write_ham_folder(tmp_path / "ham", ["mel", "bcc", "bcc", "vasc"], start=500)
    # Connect before starting: a fast job can end before a later connect (the signal is lost).
    with qtbot.waitSignal(panel.workspace_changed, timeout=30_000):
        panel.import_ham10000_folder(folder)
    assert not panel.progress_bar.isVisible()
    assert "Imported 4 images" in panel.import_status.text(), panel.import_status.text()
    assert count_cell(panel, 4, 2) == "2"  # bcc real
    assert count_cell(panel, 7, 4) == "19"
    assert "Imported 4 images" in panel.import_status.text()
    assert panel.ham_button.isEnabled()


def test_import_failure_is_one_clear_line(qtbot, panel, tmp_path):
    (tmp_path / "empty").mkdir()
    with qtbot.waitSignal(panel.workspace_changed, timeout=30_000):
        panel.import_ham10000_folder(tmp_path / "empty")
    text = panel.import_status.text()
    assert text.startswith("Import failed:") and "HAM10000_metadata.csv" in text, text
    assert "\n" not in text


def test_cancel_button_stops_import_and_keeps_workspace(qtbot, panel, tmp_path, monkeypatch):
    started = threading.Event()

    def slow_import(ws, folder, progress, cancel):
        started.set()
        while True:  # like the real import: check the token between units of work
            cancel.raise_if_cancelled()
            threading.Event().wait(0.01)

    import dermstudy.datasets.ham10000 as ham

    monkeypatch.setattr(ham, "import_ham10000", slow_import)
    worker = panel.import_ham10000_folder(tmp_path)
    assert started.wait(10)
    assert panel.cancel_button.isVisible() and not panel.ham_button.isEnabled()
    with qtbot.waitSignal(worker.done, timeout=10_000):
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    assert "cancelled" in panel.import_status.text()
    assert count_cell(panel, 7, 4) == "15"


def test_synthetic_import_from_a_folder(qtbot, panel, tmp_path):
    folder = tmp_path / "gen"
    folder.mkdir()
    for i in range(3):
        Image.new("RGB", (32, 32), (i * 40, 10, 10)).save(folder / f"s{i}.png")
    with qtbot.waitSignal(panel.workspace_changed, timeout=30_000):
        panel.import_synthetic_path("folder", folder, "vasc", "other-lab")
    assert count_cell(panel, 6, 3) == "3"  # vasc synthetic
    assert panel.source_filter.findData("source:imported") >= 0


def test_query_rows_report_order(tmp_path):
    with Workspace.open(tmp_path / "ws") as ws:
        add_images(ws, {("vasc", "real"): 1, ("mel", "real"): 1, ("nv", "synthetic"): 1})
        rows = dataset_panel.query_rows(ws)
    assert [r.entity for r in rows] == ["mel", "nv", "vasc"]


def test_panel_protocol():
    assert dataset_panel.TITLE == "Dataset"
    assert callable(dataset_panel.create_panel)
    assert Path(dataset_panel.__file__).name == "dataset.py"


def test_double_clicking_a_thumbnail_opens_one_window(qtbot, panel):
    from PySide6.QtCore import Qt

    from dermstudy.ui.panels.dataset import ImageDetailsDialog

    def open_windows() -> list:
        return [w for w in panel.findChildren(ImageDetailsDialog) if w.isVisible()]

    panel.resize(1100, 700)
    panel.show()
    qtbot.waitExposed(panel)
    centre = panel.view.visualRect(panel.model.index(0, 0)).center()
    # What a real double-click delivers: press and release, then the double-click event.
    qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseDClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    qtbot.waitUntil(lambda: len(open_windows()) >= 1, timeout=5000)
    qtbot.wait(100)
    assert len(open_windows()) == 1
    qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseDClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    qtbot.wait(100)
    assert len(open_windows()) == 1  # the same image again: the open window comes forward
    open_windows()[0].close()
