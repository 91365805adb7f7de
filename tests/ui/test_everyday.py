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


def test_generator_panel_remembers_its_form(qtbot, tmp_path):
    from dermstudy.ui.panels.generator import GeneratorPanel

    first = GeneratorPanel(tmp_path / "ws")
    qtbot.addWidget(first)
    first.entity_combo.setCurrentIndex(first.entity_combo.findData("bcc"))
    first.sampler_combo.setCurrentIndex(first.sampler_combo.findData("ddim"))
    first.guidance_spin.setValue(5.5)
    first.batch_spin.setValue(7)
    first.count_spin.setValue(12)
    first.dtype_combo.setCurrentText("bf16")
    first.upsample_check.setChecked(False)
    first.base_steps.setText("40")
    first.shutdown()  # closing the window saves the form

    again = GeneratorPanel(tmp_path / "ws")
    qtbot.addWidget(again)
    assert again.entity_combo.currentData() == "bcc"
    assert again.sampler_combo.currentData() == "ddim"
    assert again.guidance_spin.value() == 5.5 and again.batch_spin.value() == 7
    assert again.count_spin.value() == 12 and again.dtype_combo.currentText() == "bf16"
    assert not again.upsample_check.isChecked() and again.base_steps.text() == "40"
    again.shutdown()


def test_results_panel_remembers_study_and_readers(qtbot, tmp_path, monkeypatch):
    from dermstudy.ui.panels import results
    from dermstudy.workspace import Workspace
    from tests.analysis.tiny import make_tiny_study

    root = tmp_path / "ws"
    with Workspace.open(root) as ws:
        make_tiny_study(ws, readers="AB")
    monkeypatch.setattr(results.ResultsPanel, "_run", lambda self, fn, done, message: None)
    first = results.create_panel(root)
    qtbot.addWidget(first)
    assert first.selected_readers() == ["A", "B"]
    first.reader_list.item(0).setCheckState(results.Qt.CheckState.Unchecked)
    first.start_analysis()  # what is analysed is remembered (the analysis itself is stubbed)
    first.shutdown()

    again = results.create_panel(root)
    qtbot.addWidget(again)
    assert again.study_combo.currentData() == "tiny"
    assert again.selected_readers() == ["B"]
    again.shutdown()


def test_reading_panel_remembers_study_and_reader(qtbot, tmp_path):
    from dermstudy.ui.panels.reading import ReadingPanel
    from tests.ui.test_reader_window import make_study

    root = make_study(tmp_path / "ws", name="first")
    make_study(root, name="second")
    panel = ReadingPanel(root)
    qtbot.addWidget(panel)
    assert panel.study_combo.currentText() == "second"  # the newest, when nothing is remembered
    panel.study_combo.setCurrentText("first")
    panel.reader_edit.setText("dr-r")
    panel.lock_main_check.setChecked(False)
    window = panel.start_workspace_reading()
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.closed, timeout=5000):
        window.close()
    panel.shutdown()

    again = ReadingPanel(root)
    qtbot.addWidget(again)
    assert again.study_combo.currentText() == "first" and again.reader_edit.text() == "dr-r"
    again.shutdown()


def test_panel_errors_name_the_panels_fields_not_flags():
    from dermstudy.ui.messages import GENERATOR_LABELS, READING_LABELS, in_gui_terms

    message = in_gui_terms(
        "--device cuda: no CUDA device is available; try --dtype fp32 or --batch-size 1",
        GENERATOR_LABELS,
    )
    assert "--" not in message
    assert "“Device” cuda" in message and "“Precision”" in message and "“Batch size”" in message
    assert in_gui_terms("give --entity CODE or --prompt TEXT", GENERATOR_LABELS) == (
        "give “Entity” or “Custom prompt”"
    )
    assert in_gui_terms("a reader name is required (--reader NAME)", READING_LABELS) == (
        "a reader name is required (“Reader name”)"
    )


def test_generator_failure_does_not_fill_the_bar(qtbot, tmp_path):
    from dermstudy.ui.panels.generator import GeneratorPanel

    panel = GeneratorPanel(tmp_path / "ws")
    qtbot.addWidget(panel)
    panel.count_spin.setValue(4)
    panel._succeeded = False  # what a failed or stopped run leaves
    panel.on_child_done()
    assert panel.progress_bar.value() < panel.progress_bar.maximum()
    panel._finish(True)
    panel.on_child_done()
    assert panel.progress_bar.value() == panel.progress_bar.maximum()
    panel.shutdown()
