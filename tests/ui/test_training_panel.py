"""The Training panel runs ``dermstudy train`` as a child process: start, live curve, stop, resume."""

from __future__ import annotations

import json

import pytest

from dermstudy.training.runs import get_run
from dermstudy.workspace import Workspace
from tests.training.conftest import add_real_images
from tests.training.test_train import TINY


@pytest.fixture
def train_ws(tmp_path):
    with Workspace.open(tmp_path / "ws") as ws:
        add_real_images(ws, per_entity=1)
    return tmp_path / "ws"


def _tiny_form(panel) -> None:
    panel.scratch_check.setChecked(True)
    panel.model_options_edit.setText(json.dumps(TINY))
    panel.steps_spin.setValue(500)
    panel.batch_spin.setValue(2)
    panel.precision_combo.setCurrentText("fp32")
    panel.device_combo.setCurrentText("cpu")
    panel.preview_spin.setValue(2)
    panel.checkpoint_spin.setValue(1000)


def test_presets_fill_the_form_and_bad_numbers_are_refused(qtbot, train_ws):
    from dermstudy.ui.panels.training import create_panel

    panel = create_panel(train_ws)
    qtbot.addWidget(panel)
    panel.preset_combo.setCurrentIndex(panel.preset_combo.findData("paper"))
    args = panel.arguments()
    assert args[args.index("--lr") + 1] == "1e-05"
    assert args[args.index("--uncond-p") + 1] == "0"
    assert args[args.index("--batch-size") + 1] == "4"
    panel.scratch_check.setChecked(True)
    panel.lr_edit.setText("fast please")
    assert panel.start() is None
    assert "“Learning rate” must be a number" in panel.status.text()


def test_panel_starts_shows_progress_stops_and_resumes_a_run(qtbot, train_ws, tmp_path):
    from dermstudy.ui.panels.training import create_panel

    panel = create_panel(train_ws)
    qtbot.addWidget(panel)
    panel.resize(1200, 820)
    _tiny_form(panel)
    runner = panel.start()
    assert runner is not None and not panel.start_button.isEnabled()
    qtbot.waitUntil(lambda: len(panel.records) >= 3, timeout=120_000)
    qtbot.waitUntil(
        lambda: (
            panel.preview_label.pixmap() is not None and not panel.preview_label.pixmap().isNull()
        ),
        timeout=60_000,
    )
    assert "images/s" in panel.speed_label.text()
    assert panel.figure.axes[0].lines  # the loss curve is drawn
    panel.grab().save(str(tmp_path / "training_panel.png"))
    with qtbot.waitSignal(runner.done, timeout=120_000):
        panel.stop()
    run_id = panel.run_id
    with Workspace.open(train_ws) as ws:
        run = get_run(ws, run_id)
    assert run.status == "stopped" and run.last_checkpoint and 0 < run.step < 500
    assert panel.runs_combo.currentData() == run_id and panel.resume_button.isEnabled()

    resumed = panel.start(resume=run_id)
    qtbot.waitUntil(lambda: any(r["step"] > run.step for r in panel.records), timeout=120_000)
    assert panel.records[0]["step"] == 1  # the earlier part of the curve is shown again
    with qtbot.waitSignal(resumed.done, timeout=120_000):
        panel.stop()
    with Workspace.open(train_ws) as ws:
        assert get_run(ws, run_id).step > run.step


def test_without_a_model_the_form_is_ready_to_fine_tune_the_demo_model(
    qtbot, train_ws, tmp_path, monkeypatch
):
    from dermstudy.paths import DEMO_DIR
    from dermstudy.ui.panels.training import DEMO_FINE_TUNE, create_panel

    monkeypatch.setenv("DERMSTUDY_MODELS", str(tmp_path / "no-models"))
    monkeypatch.setenv("DERMSTUDY_DEMO_MODELS", str(DEMO_DIR / "models"))
    panel = create_panel(train_ws)
    qtbot.addWidget(panel)
    assert panel.start_button.isEnabled() and "demo model" in panel.status.text()
    args = panel.arguments()
    assert "--init" not in args  # the default resolves to the demo model of the chosen kind
    assert args[args.index("--steps") + 1] == str(DEMO_FINE_TUNE["steps"])
    assert args[args.index("--batch-size") + 1] == str(DEMO_FINE_TUNE["batch_size"])


def test_start_needs_a_model_and_says_so_in_the_forms_words(qtbot, train_ws, tmp_path, monkeypatch):
    from dermstudy.ui.panels.training import create_panel, gui_terms

    monkeypatch.setenv("DERMSTUDY_MODELS", str(tmp_path / "no-models"))
    monkeypatch.setenv("DERMSTUDY_DEMO_MODELS", str(tmp_path / "no-demo"))
    panel = create_panel(train_ws)
    qtbot.addWidget(panel)
    assert not panel.start_button.isEnabled()
    assert "Random initial weights" in panel.status.text()
    assert "--init" not in panel.status.text()
    assert panel.start() is None and panel.runner is None
    assert panel.progress_bar.value() < panel.progress_bar.maximum()  # never a finished bar
    panel.init_edit.setText(str(tmp_path / "missing.pt"))
    assert not panel.start_button.isEnabled() and "no file" in panel.status.text()
    checkpoint = tmp_path / "base.pt"
    checkpoint.write_bytes(b"not checked here")
    panel.init_edit.setText(str(checkpoint))
    assert panel.start_button.isEnabled() and panel.status.text() == "Ready."
    panel.init_edit.clear()
    panel.scratch_check.setChecked(True)
    assert panel.start_button.isEnabled()
    message = gui_terms("no --init given; pass --init FILE or --init scratch; --lr too big")
    assert "--" not in message and "“Start from”" in message and "“Learning rate”" in message


def test_a_failed_run_does_not_show_a_full_bar(qtbot, train_ws):
    from dermstudy.ui.panels.training import create_panel

    panel = create_panel(train_ws)
    qtbot.addWidget(panel)
    panel.progress_bar.setRange(0, 0)
    panel.on_child_failed("boom")
    panel.on_child_done()
    assert panel.progress_bar.value() < panel.progress_bar.maximum()
    panel.on_child_finished(0)
    panel.on_child_done()
    assert panel.progress_bar.value() == panel.progress_bar.maximum()


def test_the_child_process_reads_back_the_forms_settings(qtbot, train_ws):
    from dermstudy.cli import build_parser
    from dermstudy.training.config import TrainConfig
    from dermstudy.ui.panels.training import create_panel

    panel = create_panel(train_ws)
    qtbot.addWidget(panel)
    panel.lr_edit.setText("2.5e-05")
    panel.entity_combo.setCurrentIndex(panel.entity_combo.findData("bcc"))
    settings = panel.settings()
    assert settings.lr == 2.5e-05 and settings.entities == ["bcc"]
    child = TrainConfig.from_args(build_parser().parse_args(panel.arguments()))
    assert child == settings
    panel.batch_spin.setValue(1)
    panel.uncond_edit.setText("2")  # a share above 1: refused before any process starts
    assert panel.start() is None
    assert "Empty-caption share" in panel.status.text() and "between 0 and 1" in panel.status.text()
