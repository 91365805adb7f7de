"""The Studies panel (create, inspect, export, import results, key) and the Reading panel."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from dermstudy.reading import Answer, open_reading
from dermstudy.ui.panels.reading import ReadingPanel
from dermstudy.ui.panels.studies import NewStudyDialog, StudiesPanel
from dermstudy.workspace import Workspace
from tests.fixtures.sample_images import add_sample_images


@pytest.fixture
def sample_ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    with Workspace.open(root) as ws:
        add_sample_images(ws, 3, 3, seed=5)
    return root


@pytest.fixture
def studies(qtbot, sample_ws):
    panel = StudiesPanel(sample_ws)
    qtbot.addWidget(panel)
    panel.show()
    yield panel
    panel.shutdown()


def fill_dialog(panel: StudiesPanel, name: str, real: int, synthetic: int) -> NewStudyDialog:
    dialog = NewStudyDialog(panel.ws, panel)
    dialog.name_edit.setText(name)
    dialog.real_spin.setValue(real)
    dialog.synthetic_spin.setValue(synthetic)
    dialog.size_spin.setValue(32)
    dialog.seed_edit.setText("11")
    for code in ("akiec", "bkl", "df", "vasc"):
        dialog.entity_checks[code].setChecked(False)
    return dialog


def run_job(qtbot, panel: StudiesPanel, start) -> None:
    """Start a panel job and wait for it (connected first: a fast job may end at once)."""
    with qtbot.waitSignal(panel.workspace_changed, timeout=30_000):
        start()


def create(qtbot, panel: StudiesPanel, dialog: NewStudyDialog) -> None:
    design = dialog.design()
    run_job(qtbot, panel, lambda: panel.create_study(design))


def test_create_study_from_the_dialog(qtbot, studies):
    dialog = fill_dialog(studies, "pilot", 2, 1)
    assert "3 entities × 3 = 9 scored cases" in dialog.total_label.text()
    create(qtbot, studies, dialog)
    assert studies.study_names() == ["pilot"]
    assert studies.selected_study() == "pilot"
    assert "9 scored cases" in studies.details_title.text()
    assert "Seed 11" in studies.design_label.text()
    counts = {
        studies.counts_table.item(r, 0).text(): studies.counts_table.item(r, 1).text()
        for r in range(studies.counts_table.rowCount())
    }
    assert counts == {"Melanoma": "2", "Nevus": "2", "BCC": "2"}


def test_shortfall_is_reported_in_one_line(qtbot, studies):
    dialog = fill_dialog(studies, "too-big", 5, 0)
    assert (
        "Too few images (have/need): mel real 3/5, nv real 3/5, bcc real 3/5."
        in dialog.total_label.text()
    )
    create(qtbot, studies, dialog)
    text = studies.status_label.text()
    assert "mel" in text and "\n" not in text
    assert studies.study_names() == []


def test_dialog_rejects_bad_input(studies):
    dialog = fill_dialog(studies, "", 1, 1)
    dialog._accept_if_valid()
    assert "name" in dialog.error_label.text()
    dialog.name_edit.setText("ok")
    dialog.filters_edit.setText("nonsense")
    dialog._accept_if_valid()
    assert "KEY=PATTERN" in dialog.error_label.text()
    assert dialog.result() == 0


def test_export_package_and_import_results(qtbot, studies, tmp_path):
    create(qtbot, studies, fill_dialog(studies, "pilot", 1, 1))
    package = tmp_path / "out" / "pilot.zip"
    run_job(qtbot, studies, lambda: studies.export_package(package))
    assert package.is_file() and "Wrote 6 cases" in studies.status_label.text()
    with open_reading(package, None, "remote-reader") as session:
        session.submit(0, Answer("mel", ai_scale=2))
    run_job(qtbot, studies, lambda: studies.import_results(package))
    assert "Merged 1 new answer(s) from pilot.zip" in studies.status_label.text()
    assert "0 conflict(s)" in studies.status_label.text()
    assert "remote-reader" in [
        studies.readers_table.item(r, 0).text() for r in range(studies.readers_table.rowCount())
    ]


def test_answer_key_only_on_request(qtbot, studies):
    create(qtbot, studies, fill_dialog(studies, "pilot", 1, 1))
    dialog = studies.show_answer_key()
    qtbot.addWidget(dialog)
    sources = {dialog.table.item(r, 3).text() for r in range(dialog.table.rowCount())}
    assert dialog.table.rowCount() == 6 and sources == {"real", "synthetic"}


def test_reading_panel_starts_and_resumes(qtbot, studies, sample_ws):
    create(qtbot, studies, fill_dialog(studies, "pilot", 1, 1))
    panel = ReadingPanel(sample_ws)
    qtbot.addWidget(panel)
    panel.show()
    assert panel.study_combo.currentText() == "pilot"
    panel.reader_edit.setText("")
    assert panel.start_workspace_reading() is None
    assert "reader name" in panel.status_label.text()
    panel.lock_main_check.setChecked(False)
    panel.reader_edit.setText("dr-q")
    window = panel.start_workspace_reading()
    qtbot.addWidget(window)
    for key in (Qt.Key.Key_1, Qt.Key.Key_A, Qt.Key.Key_Return):
        qtbot.keyClick(window.reader, key)
    assert panel.start_workspace_reading() is None  # one reader window at a time
    with qtbot.waitSignal(window.closed, timeout=5000):
        window.close()
    assert panel.reader_window is None
    progress = {
        panel.readers_table.item(r, 0).text(): panel.readers_table.item(r, 1).text()
        for r in range(panel.readers_table.rowCount())
    }
    assert progress == {"dr-q": "1 / 6"}
    again = panel.start_workspace_reading()
    qtbot.addWidget(again)
    assert again.reader.position_label.text() == "Case 2 of 6"
    again.close()
    panel.shutdown()


def test_reading_panel_missing_package(qtbot, sample_ws, tmp_path):
    panel = ReadingPanel(sample_ws)
    qtbot.addWidget(panel)
    panel.package_edit.setText(str(tmp_path / "nope.zip"))
    panel.package_reader_edit.setText("x")
    assert panel.start_package_reading() is None
    assert "no such package" in panel.status_label.text()
    panel.shutdown()


def test_reading_panel_forgets_no_study_once_one_exists(qtbot, sample_ws):
    from dermstudy.study.builder import StudyDesign, create_study

    panel = ReadingPanel(sample_ws)
    qtbot.addWidget(panel)
    assert "No study" in panel.status_label.text() and not panel.start_button.isEnabled()
    with Workspace.open(sample_ws) as ws:
        create_study(ws, StudyDesign.with_counts("later", ["mel"], 1, 1, display_size=32, seed=1))
    panel.refresh()  # what the main window does when the panel is shown again
    assert "No study" not in panel.status_label.text()
    assert panel.study_combo.currentText() == "later" and panel.start_button.isEnabled()
    panel.shutdown()


def test_the_new_study_form_starts_from_the_designs_defaults(studies):
    from dermstudy.study.builder import StudyDesign

    dialog = NewStudyDialog(studies.ws, studies)
    dialog.name_edit.setText("defaults")
    assert dialog.design() == StudyDesign.with_counts("defaults")


def test_the_new_study_dialog_shows_a_form_and_reads_it_back(studies):
    from dataclasses import replace

    from dermstudy.ui.viewmodels.studies import NewStudyForm

    dialog = NewStudyDialog(studies.ws, studies)
    assert dialog.form() == NewStudyForm.defaults()
    form = replace(
        NewStudyForm.defaults(),
        name="pilot",
        entities=("nv", "bcc"),
        real_per_entity=3,
        synthetic_per_entity=0,
        seed="7",
        display_size=64,
        order="per-reader",
        allow_back=False,
        answer_scale="binary",
        entity_confidence=True,
        practice=1,
        exclude_sets="old",
        exclude_splits="s1, s2:test",
        synthetic_filters="source=glide*",
        one_per_lesion=False,
        harmonise="none",
    )
    dialog.set_form(form)
    assert dialog.form() == form
    assert dialog.design() == form.design()
    assert "2 entities × 3 = 6 scored cases" in dialog.total_label.text()
