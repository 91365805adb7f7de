"""Issue 16: the Results panel's fooling-cases gallery shows thumbnails, and its "Group by" control
re-runs the analysis with detection per generation setting (``dermstudy report --by``)."""

from __future__ import annotations

from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableWidget

from dermstudy.study.blinding import BLINDED_SUFFIX
from dermstudy.ui.panels.results import GALLERY_TAB, GROUPS_TAB, ResultsPanel
from dermstudy.workspace import Workspace
from tests.analysis.test_inside import insert_settings_study


def _settings_study(root) -> None:
    """The two-setting study of tests/analysis/test_inside.py (guidance 3 vs 7), with a small
    blinded image per case, each of its own shade."""
    with Workspace.open(root) as ws:
        insert_settings_study(ws, base={"sampler": "ddim"})
        for k, (_code, sha) in enumerate(ws.conn.execute("SELECT code, blinded_sha256 FROM cases")):
            path = ws.path_of(ws.relative_blob_path(sha, BLINDED_SUFFIX, "cases"))
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (160, 120), (40 + 12 * k, 90, 160)).save(path)


def _analyse(qtbot, panel) -> None:
    with qtbot.waitSignal(panel.worker.done, timeout=240_000):  # slow when the CPU is shared
        pass


def _first_headers(panel) -> list[str]:
    """The first column title of every table on the settings tab (none when it is absent)."""
    titles = [panel.tabs.tabText(i) for i in range(panel.tabs.count())]
    if GROUPS_TAB not in titles:
        return []
    tab = panel.tabs.widget(titles.index(GROUPS_TAB))
    return [t.horizontalHeaderItem(0).text() for t in tab.widget().findChildren(QTableWidget)]


def test_gallery_thumbnails_and_group_by_rerun(qtbot, tmp_path):
    root = tmp_path / "ws"
    _settings_study(root)
    panel = ResultsPanel(root)
    qtbot.addWidget(panel)
    panel.resize(1366, 768)
    panel.show()
    # the common keys first, then the study's own provenance keys; no grouping by default
    items = [panel.by_combo.itemText(i) for i in range(panel.by_combo.count())]
    assert items == ["", "model", "base.sampler", "guidance"]
    assert panel.group_key() is None

    panel.start_analysis()
    _analyse(qtbot, panel)
    assert "detection_by_setting" not in panel.analysis.report
    assert "guidance" not in _first_headers(panel)

    # the gallery: every listed case with a picture in its image column, the right one per row
    panel.show_tab(GALLERY_TAB)
    table = panel.tabs.currentWidget().widget().findChildren(QTableWidget)[0]
    header = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    case_col, image_col = header.index("case"), header.index("image")
    listed = [table.item(r, case_col).text() for r in range(table.rowCount())]
    fool = panel.analysis.report["fooling_cases"]
    expected = [e["case"] for e in fool["synthetic_called_real"] + fool["real_called_ai"]]
    assert listed == expected and listed
    thumbs = panel.analysis.thumbnails
    for r, case in enumerate(listed):
        pixmap = table.item(r, image_col).data(Qt.ItemDataRole.DecorationRole)
        assert pixmap is not None and not pixmap.isNull()
        assert max(pixmap.width(), pixmap.height()) == 96
        assert pixmap.toImage() == _decoded(thumbs[case])
        assert table.rowHeight(r) >= pixmap.height()
    panel.grab().save(str(tmp_path / "gallery.png"))

    # typing a key and pressing Enter re-runs the analysis and opens the per-group table
    panel.by_combo.setEditText("guidance")
    panel.by_combo.lineEdit().returnPressed.emit()
    assert panel.worker.is_running()
    _analyse(qtbot, panel)
    det = panel.analysis.report["detection_by_setting"]
    assert det["key"] == "guidance"
    assert panel.tabs.tabText(panel.tabs.currentIndex()) == GROUPS_TAB
    groups = panel.tabs.currentWidget().widget().findChildren(QTableWidget)[0]
    assert groups.horizontalHeaderItem(0).text() == "guidance"
    assert [groups.item(r, 0).text() for r in range(groups.rowCount())] == ["3.0", "7.0"]
    panel.grab().save(str(tmp_path / "groups.png"))

    # the same key again does not re-run; another study key does, and "no grouping" removes it
    panel.by_combo.lineEdit().returnPressed.emit()
    assert panel.worker is None or not panel.worker.is_running()
    panel.by_combo.setCurrentIndex(0)
    panel.by_combo.activated.emit(0)
    _analyse(qtbot, panel)
    assert "detection_by_setting" not in panel.analysis.report
    assert "guidance" not in _first_headers(panel)
    panel.shutdown()


def _decoded(png: bytes):
    from PySide6.QtGui import QImage

    image = QImage()
    assert image.loadFromData(png)
    return image
