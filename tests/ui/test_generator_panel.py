"""Generator panel: model discovery, the no-models state, and a tiny run end to end."""

from __future__ import annotations

import pytest

from dermstudy.generation.catalog import generate_arguments, model_choices
from dermstudy.generation.settings import GenerateSettings
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


def test_the_demo_model_starts_with_the_settings_its_images_were_made_with(
    qtbot, ws_dir, tmp_path, monkeypatch
):
    """Sampler and guidance come from the shipped images' provenance; a user's choice wins."""
    import json

    from dermstudy.demo import SYNTHETIC_DIR, SYNTHETIC_MANIFEST
    from dermstudy.ui.settings import save_json

    monkeypatch.setenv("DERMSTUDY_MODELS", str(tmp_path / "empty"))
    monkeypatch.delenv("DERMSTUDY_DEMO_MODELS", raising=False)  # the shipped demo pair
    made_with = json.loads((SYNTHETIC_DIR / SYNTHETIC_MANIFEST).read_text())[0]["provenance"]
    panel = GeneratorPanel(ws_dir)
    qtbot.addWidget(panel)
    form = panel.form()
    assert (form.sampler, form.guidance) == (made_with["sampler"], made_with["guidance"])
    assert (form.sampler, form.guidance) != (
        GenerateSettings().sampler,
        GenerateSettings().guidance,
    )
    save_json(GeneratorPanel.SETTINGS_KEY, {"guidance": 2.5})
    again = GeneratorPanel(ws_dir)
    qtbot.addWidget(again)
    assert again.form().guidance == 2.5 and again.form().sampler == made_with["sampler"]


def test_model_files_are_sorted_by_kind(models_folder, ws_dir):
    for name in ("base.pt", "upsample.pt", "derm-finetune.pt"):
        (models_folder / name).write_bytes(b"x")
    assert [c.path.name for c in model_choices(ws_dir, "base")] == ["base.pt", "derm-finetune.pt"]
    assert [c.path.name for c in model_choices(ws_dir, "upsample")] == ["upsample.pt"]


def test_form_becomes_the_generate_command_line():
    args = generate_arguments(
        GenerateSettings(entity="df", count=3, seed=7, upsample=False, upsample_steps="fast27")
    )
    assert args[:5] == ["generate", "--entity", "df", "--count", "3"]
    assert "--no-upsample" in args and "--upsample-steps" not in args
    assert args[args.index("--seed") + 1] == "7"
    assert args[args.index("--progress") + 1] == "json"


def test_the_sampling_controls_offer_exactly_what_the_settings_accept(qtbot, ws_dir, models_folder):
    panel = GeneratorPanel(ws_dir)
    qtbot.addWidget(panel)
    for spin, limits in (
        (panel.guidance_spin, GenerateSettings.GUIDANCE_LIMITS),
        (panel.temperature_spin, GenerateSettings.TEMPERATURE_LIMITS),
    ):
        assert (spin.minimum(), spin.maximum()) == limits
        for end in (spin.minimum(), spin.maximum()):
            spin.setValue(end)
            panel.form().validate()  # both ends of each control make a run
    panel.shutdown()


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


def test_the_upsampler_temperature_reaches_the_child_and_is_remembered(
    qtbot, ws_dir, models_folder
):
    from dermstudy.cli import build_parser

    panel = GeneratorPanel(ws_dir)
    qtbot.addWidget(panel)
    assert panel.temperature_spin.value() == GenerateSettings().temperature
    panel.temperature_spin.setValue(0.85)
    panel.guidance_spin.setValue(5.5)
    panel.seed_edit.setText("3")
    # What the child process parses is what the form shows.
    argv = generate_arguments(panel.form())
    child = GenerateSettings.from_args(build_parser().parse_args(argv))
    assert child == panel.form() and child.temperature == 0.85
    # Without upsampling there is no temperature to set.
    panel.upsample_check.setChecked(False)
    assert not panel.temperature_spin.isEnabled()
    assert "--temperature" not in generate_arguments(panel.form())
    panel.upsample_check.setChecked(True)
    panel.save_choices()
    again = GeneratorPanel(ws_dir)
    qtbot.addWidget(again)
    assert again.temperature_spin.value() == 0.85 and again.guidance_spin.value() == 5.5
    assert again.seed_edit.text() == ""  # a new run does not repeat the last one's images


def test_choices_saved_by_the_older_form_are_restored(qtbot, ws_dir, models_folder):
    from dermstudy.ui.settings import save_json

    save_json(GeneratorPanel.SETTINGS_KEY, {"images": 9, "batch": 3, "precision": "bf16",
                                            "guidance": 2.0, "sampler": "nonsense"})  # fmt: skip
    panel = GeneratorPanel(ws_dir)
    qtbot.addWidget(panel)
    form = panel.form()
    assert (form.count, form.batch_size, form.dtype, form.guidance) == (9, 3, "bf16", 2.0)
    assert form.sampler == "ddpm"  # a remembered value that no longer fits is dropped
