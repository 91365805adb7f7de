"""The Classifier panel runs ``dermstudy classifier ablation`` as a child process: curves, tables, stop."""

from __future__ import annotations

import json

import pytest

from dermstudy.ui import main_window as mw
from dermstudy.workspace import Workspace
from tests.classifier.conftest import add_images


@pytest.fixture
def clf_ws(tmp_path):
    with Workspace.open(tmp_path / "ws") as ws:
        add_images(ws, "real", 8, images_per_lesion=2)
        add_images(ws, "synthetic", 4)
    return tmp_path / "ws"


def _tiny_form(panel, epochs: int) -> None:
    for arm, check in panel.arm_checks.items():
        check.setChecked(arm in ("original", "combined"))
    panel.seeds_spin.setValue(1)
    panel.epochs_spin.setValue(epochs)
    panel.size_spin.setValue(16)
    panel.device_combo.setCurrentText("cpu")
    panel.threads_spin.setValue(1)


def test_the_panel_is_listed_and_enabled_in_the_main_window():
    spec = next(s for s in mw.PANEL_SPECS if s.name == "classifier")
    assert mw.panel_available(spec)


def test_form_becomes_arguments_and_bad_choices_are_refused(qtbot, clf_ws):
    from dermstudy.ui.panels.classifier import create_panel

    panel = create_panel(clf_ws)
    qtbot.addWidget(panel)
    _tiny_form(panel, 3)
    panel.protocol_combo.setCurrentIndex(panel.protocol_combo.findData("paper"))
    args = panel.arguments()
    assert args[args.index("--arms") + 1 : args.index("--seeds")] == ["original", "combined"]
    assert args[args.index("--protocol") + 1] == "paper"
    assert args[args.index("--epochs") + 1] == "3"
    for check in panel.arm_checks.values():
        check.setChecked(False)
    assert panel.start() is None
    assert "at least one arm" in panel.status.text()


def test_the_child_runs_the_settings_command_line_of_the_form(qtbot, clf_ws):
    from dermstudy.classifier.settings import AblationSettings
    from dermstudy.cli import build_parser
    from dermstudy.ui.panels.classifier import create_panel

    panel = create_panel(clf_ws)
    qtbot.addWidget(panel)
    _tiny_form(panel, 7)
    panel.model_combo.setCurrentIndex(panel.model_combo.findData("resnet18"))
    panel.patience_spin.setValue(2)
    panel.name_edit.setText("  run-x ")
    expected = AblationSettings(
        arms=("original", "combined"),
        seeds=1,
        epochs=7,
        image_size=16,
        device="cpu",
        threads=1,
        model="resnet18",
        patience=2,
        name="run-x",
    )
    assert panel.settings() == expected
    argv = panel.arguments()
    assert argv == [*expected.to_argv(), "--progress", "json"]
    assert AblationSettings.from_args(build_parser().parse_args(argv)) == expected


def test_the_settings_checks_reach_the_status_line_in_the_forms_words(qtbot, clf_ws):
    from dermstudy.ui.panels.classifier import create_panel

    panel = create_panel(clf_ws)
    qtbot.addWidget(panel)
    panel.size_spin.setValue(60)  # typed, not stepped: not a multiple of 8
    assert panel.start() is None and not panel.is_running()
    assert panel.status.text().startswith("“Image size” must be a multiple of 8")
    panel.size_spin.setValue(64)
    panel.name_edit.setText("my run")
    assert panel.start() is None
    assert "run name 'my run'" in panel.status.text()


def test_panel_runs_shows_curves_and_table3_then_stops_a_second_run(qtbot, clf_ws, tmp_path):
    from dermstudy.ui.panels.classifier import create_panel

    panel = create_panel(clf_ws)
    qtbot.addWidget(panel)
    panel.resize(1366, 768)
    _tiny_form(panel, 2)
    panel.name_edit.setText("p1")
    runner = panel.start()
    assert runner is not None and not panel.start_button.isEnabled()
    qtbot.waitUntil(lambda: not runner.is_running(), timeout=180_000)
    qtbot.waitUntil(lambda: panel.start_button.isEnabled(), timeout=10_000)
    assert panel.status.text() == "Finished.", panel.status.text()
    assert {arm: len(seeds[0]) for arm, seeds in panel.curves.items()} == {
        "original": 2,
        "combined": 2,
    }
    assert panel.table.rowCount() == 10
    headers = [panel.table.horizontalHeaderItem(c).text() for c in range(panel.table.columnCount())]
    assert "combined\nf1-score" in headers
    assert panel.seeds_table.rowCount() == 2
    panel.grab().save(str(tmp_path / "classifier_panel.png"))

    # A long second run, stopped after its first epoch: the run ends and says it was stopped.
    _tiny_form(panel, 500)
    panel.name_edit.setText("p2")
    runner = panel.start()
    qtbot.waitUntil(lambda: bool(panel.curves), timeout=180_000)
    panel.stop()
    qtbot.waitUntil(lambda: not runner.is_running(), timeout=60_000)
    qtbot.waitUntil(lambda: panel.start_button.isEnabled(), timeout=10_000)
    assert panel.status.text().startswith("Stopped"), panel.status.text()
    stored = json.loads((clf_ws / "classifier" / "p2" / "result.json").read_text())
    assert stored["status"] == "cancelled"
    panel.refresh()
    assert {panel.runs_combo.itemData(i) for i in range(panel.runs_combo.count())} == {"p1", "p2"}
