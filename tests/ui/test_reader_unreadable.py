"""Issue 12 item 4: a case whose image cannot be shown never accepts an answer."""

from __future__ import annotations

from PySide6.QtCore import Qt

from dermstudy.workspace import Workspace
from tests.ui.test_reader_window import ENTITY_KEY, SCALE_KEY, make_study, open_reader, press, votes

__all__ = ["open_reader"]  # the fixture, re-used


def test_damaged_case_image_mid_study_stores_nothing_for_the_unseen_case(
    qtbot, tmp_path, open_reader
):
    root = make_study(tmp_path / "ws")
    reader = open_reader(root)
    second = reader.session.case_code(1)
    with Workspace.open(root) as ws:
        sha = ws.conn.execute(
            "SELECT blinded_sha256 FROM cases WHERE code = ?", (second,)
        ).fetchone()
        path = ws.path_of(ws.relative_blob_path(sha[0], ".png", "cases"))
    reader._pending.clear()  # drop any preloaded copy so the damaged file is what gets read
    reader._pixmaps.pop(1, None)
    reader.session._cache.clear()
    path.chmod(0o644)
    path.write_bytes(b"damaged")
    press(qtbot, reader, ENTITY_KEY["mel"], SCALE_KEY[2], Qt.Key.Key_Return)
    assert "cannot be shown" in reader.hint_label.text()
    assert reader.image_view.pixmap().isNull()
    assert reader.entity_group.checkedId() < 1  # the previous case's choice is not on screen
    press(qtbot, reader, Qt.Key.Key_Return)
    press(qtbot, reader, ENTITY_KEY["nv"], SCALE_KEY[4], Qt.Key.Key_Return)
    stored = votes(root)
    assert second not in stored and len(stored) == 1
    with Workspace.open(root) as ws:
        logged = ws.conn.execute(
            "SELECT subject FROM audit_log WHERE action = 'case.unreadable'"
        ).fetchall()
    assert logged and logged[0][0] == second


def test_case_codes_are_shown_as_plain_text(qtbot, tmp_path, open_reader):
    """Issue 12 item 12: a code from an edited manifest is never rendered as rich text."""
    reader = open_reader(make_study(tmp_path / "ws"))
    assert reader.code_label.textFormat() == Qt.TextFormat.PlainText
    assert reader.position_label.textFormat() == Qt.TextFormat.PlainText
