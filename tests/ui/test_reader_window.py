"""The reader window driven by keystrokes through whole small studies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QWidget

from dermstudy.entities import CODES
from dermstudy.reading import open_reading
from dermstudy.study.builder import StudyDesign, create_study
from dermstudy.ui.reader_window import ReaderWidget, ReaderWindow
from dermstudy.workspace import Workspace
from tests.fixtures.sample_images import add_sample_images

ENTITY_KEY = {code: getattr(Qt.Key, f"Key_{i}") for i, code in enumerate(CODES, start=1)}
SCALE_KEY = dict(
    zip(
        range(1, 6),
        (Qt.Key.Key_A, Qt.Key.Key_S, Qt.Key.Key_D, Qt.Key.Key_F, Qt.Key.Key_G),
        strict=True,
    )
)


def make_study(
    root: Path, name: str = "pilot", real: int = 1, synthetic: int = 1, **options
) -> Path:
    options.setdefault("display_size", 32)
    options.setdefault("seed", 7)
    with Workspace.open(root) as ws:
        if not ws.conn.execute("SELECT 1 FROM images").fetchone():
            add_sample_images(ws, 2, 2, seed=3)
        create_study(
            ws, StudyDesign.with_counts(name, ["mel", "nv", "bcc"], real, synthetic, **options)
        )
    return root


def votes(root: Path, reader: str = "dr-a") -> dict[str, tuple]:
    with Workspace.open(root) as ws:
        rows = ws.conn.execute(
            "SELECT c.code, v.entity, v.ai_scale, v.ai_vote, v.entity_confidence, v.seconds "
            "FROM votes v JOIN cases c ON c.id = v.case_id JOIN sessions s ON s.id = v.session_id "
            "JOIN readers r ON r.id = s.reader_id WHERE r.name = ?",
            (reader,),
        ).fetchall()
    return {code: tuple(rest) for code, *rest in rows}


@pytest.fixture
def open_reader(qtbot, tmp_path):
    opened = []

    def _open(root: Path, study: str = "pilot", reader: str = "dr-a") -> ReaderWidget:
        session = open_reading(root, study, reader)
        widget = ReaderWidget(session)
        qtbot.addWidget(widget)
        widget.resize(1100, 800)
        widget.show()
        opened.append(widget)
        return widget

    yield _open
    for widget in opened:
        widget.shutdown()
        widget.session.close()


def press(qtbot, widget: QWidget, *keys: Qt.Key) -> None:
    for key in keys:
        qtbot.keyClick(widget, key)


def test_whole_study_by_keyboard(qtbot, tmp_path, open_reader):
    root = make_study(tmp_path / "ws")
    reader = open_reader(root)
    session = reader.session
    assert reader.position_label.text() == "Case 1 of 6"
    plan = {}
    for n in range(session.total):
        code = session.case_code(n)
        entity, scale = CODES[n % 7], n % 5 + 1
        plan[code] = (entity, scale)
        assert not reader.image_view.pixmap().isNull()
        assert reader.progress_bar.value() == n
        press(qtbot, reader, ENTITY_KEY[entity], SCALE_KEY[scale], Qt.Key.Key_Return)
    assert reader.pages.currentIndex() == 2  # finish screen
    assert "All cases answered" in reader.finish_title.text()
    stored = votes(root)
    assert {code: (e, s) for code, (e, s, *_rest) in stored.items()} == plan
    assert all(vote == ("ai" if s >= 4 else "real") for _e, s, vote, _c, _sec in stored.values())
    assert all(seconds is not None and seconds >= 0 for *_x, seconds in stored.values())
    with qtbot.waitSignal(reader.finished, timeout=2000):
        press(qtbot, reader, Qt.Key.Key_Return)
    assert session.finished and "finished" in reader.finish_title.text()
    assert len(reader.timings.commit_ms) == session.total


def test_enter_without_full_answer_saves_nothing(qtbot, tmp_path, open_reader):
    reader = open_reader(make_study(tmp_path / "ws"))
    press(qtbot, reader, Qt.Key.Key_Return)
    assert "diagnosis" in reader.hint_label.text()
    press(qtbot, reader, Qt.Key.Key_3, Qt.Key.Key_Return)
    assert "real or AI" in reader.hint_label.text()
    assert votes(tmp_path / "ws") == {}
    assert reader.position_label.text() == "Case 1 of 6"


def test_back_shows_and_changes_own_answer(qtbot, tmp_path, open_reader):
    root = make_study(tmp_path / "ws")
    reader = open_reader(root)
    first = reader.session.case_code(0)
    press(qtbot, reader, Qt.Key.Key_2, Qt.Key.Key_A, Qt.Key.Key_Return)
    assert reader.position_label.text() == "Case 2 of 6"
    press(qtbot, reader, Qt.Key.Key_Backspace)
    assert reader.position_label.text() == "Case 1 of 6"
    assert reader.entity_buttons[1].isChecked() and reader.scale_buttons[1].isChecked()
    press(qtbot, reader, Qt.Key.Key_5, Qt.Key.Key_G, Qt.Key.Key_Return)
    assert votes(root)[first][:2] == ("bcc", 5)
    with Workspace.open(root) as ws:
        changes = ws.conn.execute(
            "SELECT details FROM audit_log WHERE action = 'vote.change'"
        ).fetchall()
    assert len(changes) == 1 and "nv" in changes[0][0]
    press(qtbot, reader, Qt.Key.Key_Left)  # ← also goes back
    assert reader.position_label.text() == "Case 1 of 6"
    press(qtbot, reader, Qt.Key.Key_Right)
    assert reader.position_label.text() == "Case 2 of 6"
    press(qtbot, reader, Qt.Key.Key_Right)  # case 2 unanswered: cannot skip ahead
    assert (
        reader.position_label.text() == "Case 2 of 6"
        and "Answer this case" in reader.hint_label.text()
    )


def test_no_going_back_when_the_study_forbids_it(qtbot, tmp_path, open_reader):
    root = make_study(tmp_path / "ws", real=1, synthetic=0, allow_back=False)
    reader = open_reader(root)
    assert not reader.back_button.isEnabled()
    press(qtbot, reader, Qt.Key.Key_1, Qt.Key.Key_D, Qt.Key.Key_Return, Qt.Key.Key_Backspace)
    assert reader.position_label.text() == "Case 2 of 3"
    assert "not allowed" in reader.hint_label.text()
    press(qtbot, reader, Qt.Key.Key_1, Qt.Key.Key_D, Qt.Key.Key_Return)
    press(qtbot, reader, Qt.Key.Key_1, Qt.Key.Key_D, Qt.Key.Key_Return)
    assert reader.session.finished  # nothing left to review: finished at once
    assert reader.close_button.isVisible()


def test_binary_study_keys(qtbot, tmp_path, open_reader):
    root = make_study(tmp_path / "ws", real=1, synthetic=0, answer_scale="binary")
    reader = open_reader(root)
    assert sorted(reader.scale_buttons) == [1, 5]
    press(qtbot, reader, Qt.Key.Key_4, Qt.Key.Key_D)
    assert "A real" in reader.hint_label.text()
    press(qtbot, reader, Qt.Key.Key_G, Qt.Key.Key_Return)
    code = reader.session.case_code(0)
    assert votes(root)[code][:3] == ("bkl", None, "ai")


def test_entity_confidence_when_asked(qtbot, tmp_path, open_reader):
    root = make_study(tmp_path / "ws", real=1, synthetic=0, entity_confidence=True)
    reader = open_reader(root)
    press(qtbot, reader, Qt.Key.Key_1, Qt.Key.Key_S, Qt.Key.Key_Return)
    assert "confidence" in reader.hint_label.text()
    press(qtbot, reader, Qt.Key.Key_V, Qt.Key.Key_Return)
    assert votes(root)[reader.session.case_code(0)][3] == 4


def test_pause_hides_image_and_blocks_answers(qtbot, tmp_path, open_reader):
    reader = open_reader(make_study(tmp_path / "ws"))
    press(qtbot, reader, Qt.Key.Key_P)
    assert reader.paused and reader.session.paused
    assert not reader.image_view.isVisible()
    press(qtbot, reader, Qt.Key.Key_1, Qt.Key.Key_A, Qt.Key.Key_Return)
    assert reader.progress_bar.value() == 0 and not reader.entity_buttons[0].isChecked()
    press(qtbot, reader, Qt.Key.Key_P)
    assert not reader.paused and reader.image_view.isVisible() and not reader.session.paused


def test_reopening_resumes_at_first_unanswered(qtbot, tmp_path, open_reader):
    root = make_study(tmp_path / "ws")
    first = open_reader(root)
    for _ in range(3):
        press(qtbot, first, Qt.Key.Key_1, Qt.Key.Key_A, Qt.Key.Key_Return)
    first.shutdown()
    first.session.close()
    second = open_reader(root)
    assert second.position_label.text() == "Case 4 of 6"
    assert second.progress_bar.value() == 3


def test_screen_reveals_nothing_about_the_case(qtbot, tmp_path, open_reader):
    """Everything a reader can read is the same for every case except position and opaque code."""
    root = make_study(tmp_path / "ws")
    with Workspace.open(root) as ws:
        secrets = [
            value
            for row in ws.conn.execute(
                "SELECT file, sha256, source, source_id, provenance FROM images"
            )
            for value in (row[0], row[1], row[3], Path(row[0]).name, *json.loads(row[4]).values())
            if value and len(str(value)) > 3
        ] + ["synthetic", "HAM10000", "imported"]
    window = ReaderWindow(open_reading(root, "pilot", "dr-b"))
    qtbot.addWidget(window)
    window.show()
    reader = window.reader

    def visible_text() -> list[str]:
        texts = [window.windowTitle(), window.statusBar().currentMessage()]
        for widget in window.findChildren(QWidget):
            texts.append(widget.toolTip())
            texts.append(widget.statusTip())
            if isinstance(widget, QLabel | QPushButton) and widget not in (
                reader.position_label,
                reader.code_label,
            ):
                texts.append(widget.text())
        return texts

    screens = []
    for _ in range(reader.session.total):
        text = visible_text()
        assert not [s for s in secrets if any(str(s) in t for t in text)]
        screens.append(text)
        press(qtbot, reader, Qt.Key.Key_1, Qt.Key.Key_D, Qt.Key.Key_Return)
    assert all(screen == screens[0] for screen in screens)
    window.close()
    window.session.close()


def test_reader_window_from_a_package(qtbot, tmp_path):
    from dermstudy.study.package import export_package

    root = make_study(tmp_path / "ws")
    with Workspace.open(root) as ws:
        export_package(ws, "pilot", tmp_path / "pilot.zip")
    session = open_reading(tmp_path / "pilot.zip", None, "dr-c")
    window = ReaderWindow(session)
    qtbot.addWidget(window)
    window.show()
    press(qtbot, window.reader, Qt.Key.Key_6, Qt.Key.Key_F, Qt.Key.Key_Return)
    assert window.reader.progress_bar.value() == 1
    window.close()
    session.close()
    again = open_reading(tmp_path / "pilot.zip", None, "dr-c")
    assert again.answer(0).entity == "df" and again.answer(0).ai_scale == 4
    again.close()


def test_finished_session_reopens_on_the_thank_you_screen(qtbot, tmp_path, open_reader):
    root = make_study(tmp_path / "ws", real=1, synthetic=0)
    first = open_reader(root)
    for _ in range(first.session.total):
        press(qtbot, first, Qt.Key.Key_7, Qt.Key.Key_G, Qt.Key.Key_Return)
    press(qtbot, first, Qt.Key.Key_Return)  # finish
    assert first.session.finished
    first.shutdown()
    first.session.close()
    again = open_reader(root)
    assert again.pages.currentIndex() == 2 and "finished" in again.finish_title.text()
    press(qtbot, again, Qt.Key.Key_1, Qt.Key.Key_A, Qt.Key.Key_Return)
    assert all(v[0] == "vasc" for v in votes(root).values())  # nothing can change any more


def test_run_reader_window_returns_when_closed(qtbot, tmp_path):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from dermstudy.ui.reader_window import run_reader_window

    root = make_study(tmp_path / "ws", real=1, synthetic=0)
    session = open_reading(root, "pilot", "dr-r")
    shown = []

    def close_reader() -> None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, ReaderWindow) and widget.isVisible():
                shown.append(widget.windowTitle())
                widget.close()

    QTimer.singleShot(300, close_reader)
    assert run_reader_window(session) == 0
    session.close()
    assert shown == ["pilot — dr-r — dermstudy"]  # the app name once, at the end


def test_only_advancing_enters_are_timed(qtbot, tmp_path, open_reader):
    reader = open_reader(make_study(tmp_path / "ws"))
    press(qtbot, reader, Qt.Key.Key_Return)  # incomplete answer: no new image
    qtbot.wait(20)
    press(qtbot, reader, Qt.Key.Key_Plus)  # a repaint that is not an advance
    qtbot.wait(20)
    assert reader.timings.key_to_paint_ms == []
    press(qtbot, reader, Qt.Key.Key_1, Qt.Key.Key_A, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(reader.timings.key_to_paint_ms) == 1, timeout=2000)
    assert reader.timings.key_to_paint_ms[0] >= 0 and len(reader.timings.commit_ms) == 1


@pytest.mark.parametrize("key", [Qt.Key.Key_Return, Qt.Key.Key_Escape])
def test_the_thank_you_page_closes_from_the_keyboard(qtbot, tmp_path, open_reader, key):
    root = make_study(tmp_path / "ws", allow_back=False)
    reader = open_reader(root)
    for n in range(reader.session.total):
        press(qtbot, reader, ENTITY_KEY[CODES[n % 7]], SCALE_KEY[1], Qt.Key.Key_Return)
    assert reader.session.finished and reader.pages.currentIndex() == 2
    assert "Enter" in reader.close_button.text()
    with qtbot.waitSignal(reader.close_requested, timeout=2000):
        press(qtbot, reader, key)


def test_progress_text_is_readable_on_the_filled_bar():
    from dermstudy.ui.style import BASE, PROGRESS_CHUNK, STYLE_SHEET, TEXT

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    def contrast(a: str, b: str) -> float:
        high, low = sorted((luminance(a), luminance(b)), reverse=True)
        return (high + 0.05) / (low + 0.05)

    assert f"background: {PROGRESS_CHUNK}" in STYLE_SHEET
    # WCAG AA for normal text, on the filled and on the empty part of the bar.
    assert contrast(TEXT, PROGRESS_CHUNK) >= 4.5 and contrast(TEXT, BASE) >= 4.5


def test_progress_text_pixels_are_dark_on_a_light_fill(qtbot, tmp_path, open_reader):
    root = make_study(tmp_path / "ws", real=2, synthetic=2)
    reader = open_reader(root)
    reader.progress_bar.setRange(0, 2)
    reader.progress_bar.setValue(2)  # completely filled: all of the text is over the fill
    image = reader.progress_bar.grab().toImage()
    greys = [
        image.pixelColor(x, y).lightness()
        for x in range(image.width())
        for y in range(image.height() // 3, 2 * image.height() // 3)
    ]
    fill, text = max(greys), min(greys)
    assert fill > 150 and fill - text > 100  # light fill, dark text on it
