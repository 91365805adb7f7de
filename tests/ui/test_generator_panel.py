"""Generator panel: model discovery, the no-models state, and a tiny run end to end."""

from __future__ import annotations

import pytest

from dermstudy.generation.catalog import GenerateForm, generate_arguments, model_choices
from dermstudy.glide import create_model, randomize_parameters, save_checkpoint
from dermstudy.ui.panels.generator import GeneratorPanel
from dermstudy.workspace import Workspace
from tests.fixtures.tiny_glide import TINY_BASE


@pytest.fixture
def models_folder(tmp_path, monkeypatch):
    folder = tmp_path / "models"
    folder.mkdir()
    monkeypatch.setenv("DERMSTUDY_MODELS", str(folder))
    monkeypatch.setenv("DERMSTUDY_DEMO_MODELS", str(tmp_path / "no-demo"))
    return folder


@pytest.fixture
def ws_dir(tmp_path):
    Workspace.open(tmp_path / "ws").close()
    return tmp_path / "ws"


def test_without_models_the_panel_says_what_to_do(qtbot, ws_dir, models_folder):
    panel = GeneratorPanel(ws_dir)
    qtbot.addWidget(panel)
    assert not panel.start_button.isEnabled()
    assert "No base.pt or upsample.pt found" in panel.no_models.text()
    assert str(models_folder) in panel.no_models.text()


def test_the_demo_model_stands_in_only_when_the_folder_has_none(
    qtbot, ws_dir, models_folder, monkeypatch, tmp_path
):
    demo = tmp_path / "demo"
    demo.mkdir()
    for kind in ("base", "upsample"):
        save_checkpoint(demo / f"{kind}.pt", create_model(TINY_BASE))
    (demo / "training.json").write_text('{"base": {"images": 10013, "steps": 1234}}')
    monkeypatch.setenv("DERMSTUDY_DEMO_MODELS", str(demo))
    panel = GeneratorPanel(ws_dir)
    qtbot.addWidget(panel)
    assert panel.base_picker.path() == demo / "base.pt"
    assert panel.start_button.isEnabled() and panel.no_models.isHidden()
    assert not panel.demo_note.isHidden()
    assert "trained on 10,013 images for 1,234 steps" in panel.demo_note.text()
    (models_folder / "base.pt").write_bytes(b"x")  # a real model in the folder wins
    panel.refresh()
    assert panel.base_picker.path() == models_folder / "base.pt" and panel.demo_note.isHidden()
    assert model_choices(ws_dir, "upsample")[0].origin == "demo model"


def test_model_files_are_sorted_by_kind(models_folder, ws_dir):
    for name in ("base.pt", "upsample.pt", "derm-finetune.pt"):
        (models_folder / name).write_bytes(b"x")
    assert [c.path.name for c in model_choices(ws_dir, "base")] == ["base.pt", "derm-finetune.pt"]
    assert [c.path.name for c in model_choices(ws_dir, "upsample")] == ["upsample.pt"]


def test_form_becomes_the_generate_command_line():
    args = generate_arguments(
        GenerateForm(entity="df", count=3, seed=7, upsample=False, upsample_steps="fast27")
    )
    assert args[:5] == ["generate", "--entity", "df", "--count", "3"]
    assert "--no-upsample" in args and "--upsample-steps" not in args
    assert args[args.index("--seed") + 1] == "7"
    assert args[args.index("--progress") + 1] == "json"


def test_a_tiny_run_fills_the_gallery_and_the_library(qtbot, ws_dir, models_folder):
    save_checkpoint(models_folder / "base.pt", randomize_parameters(create_model(TINY_BASE), 1))
    panel = GeneratorPanel(ws_dir)
    qtbot.addWidget(panel)
    assert not panel.start_button.isEnabled()  # no upsampler yet
    panel.upsample_check.setChecked(False)
    assert panel.start_button.isEnabled() and panel.no_models.isHidden()
    panel.count_spin.setValue(2)
    panel.seed_edit.setText("11")
    panel.base_steps.setText("3")
    panel.entity_combo.setCurrentIndex(panel.entity_combo.findData("vasc"))
    runner = panel.start()
    with qtbot.waitSignal(runner.done, timeout=120_000):
        pass
    assert panel.gallery.count() == 2, panel.status.text()
    assert "2 images stored" in panel.status.text()
    with Workspace.open(ws_dir) as ws:
        rows = ws.conn.execute("SELECT kind, entity FROM images").fetchall()
    assert rows == [("synthetic", "vasc"), ("synthetic", "vasc")]
