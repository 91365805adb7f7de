"""Everyday conveniences: dialogs start in the last folder, one app name in titles, saved choices."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QApplication, QFileDialog

from dermstudy.ui.settings import SETTINGS_ENV, app_settings


def test_settings_are_private_to_each_test():
    import os

    assert app_settings().fileName() == os.environ[SETTINGS_ENV]  # the conftest's temporary file
    assert app_settings().allKeys() == []


def test_file_dialogs_start_in_the_folder_used_last(qtbot, monkeypatch, tmp_path):
    from dermstudy.ui import file_dialogs

    started_in: list[str] = []
    first = tmp_path / "exports"
    first.mkdir()

    def fake_open(_parent, _caption, directory, _filters):
        started_in.append(directory)
        return str(first / "answers.sqlite"), ""

    def fake_save(_parent, _caption, proposed, _filters):
        started_in.append(proposed)
        return proposed, ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(fake_open))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(fake_save))
    assert file_dialogs.open_file(None, "Answers") == str(first / "answers.sqlite")
    assert started_in[0] == str(Path.home())  # nothing used yet
    # Another panel's dialog now starts where the last file came from.
    assert file_dialogs.save_file(None, "Workbook", "pilot.xlsx") == str(first / "pilot.xlsx")
    assert started_in[1] == str(first / "pilot.xlsx")
    # A folder that has gone away falls back to the given default.
    file_dialogs.remember_folder(tmp_path / "gone" / "x.zip")
    assert file_dialogs.last_folder(tmp_path) == str(tmp_path)


def test_window_titles_name_the_app_once(qtbot, tmp_path):
    from dermstudy.reading import open_reading
    from dermstudy.ui.app import create_application
    from dermstudy.ui.main_window import MainWindow
    from dermstudy.ui.reader_window import ReaderWindow
    from tests.ui.test_reader_window import make_study

    app = create_application()
    root = make_study(tmp_path / "ws")
    window = MainWindow(root)
    qtbot.addWidget(window)
    reader = ReaderWindow(open_reading(root, "pilot", "dr-a"))
    qtbot.addWidget(reader)
    name = QApplication.applicationDisplayName()
    assert app.applicationDisplayName() == "dermstudy"
    for title in (window.windowTitle(), reader.windowTitle()):
        # Qt adds " — dermstudy" to a title that does not end with it: end with it, once.
        assert title.endswith(f" — {name}") and title.count(name) == 1, title
    assert window.windowTitle() == "ws — dermstudy"
    reader.reader.shutdown()
    reader.session.close()
