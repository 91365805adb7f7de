"""The Training and Generator panels' Qt-free view models (and the Studies dialog's choices), fed
plain values, small files and the core's own settings objects: no Qt, no database."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from dermstudy.entities import ENTITIES
from dermstudy.generation.settings import GenerateSettings
from dermstudy.training.config import resolve_config
from dermstudy.ui.viewmodels import generator as gen
from dermstudy.ui.viewmodels import training as train


def test_job_view_models_import_no_qt() -> None:
    code = (
        "import sys\n"
        "import dermstudy.ui.viewmodels.training, dermstudy.ui.viewmodels.generator\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- Training ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("preset", "cuda"), [("paper", None), ("fast", False), ("fast", True)], ids=str
)
def test_a_presets_fields_read_back_as_the_preset(preset, cuda) -> None:
    fields = train.preset_fields(preset, cuda_available=cuda)
    config = resolve_config(preset, {}, cuda)
    # The texts the form shows parse back to exactly the preset's numbers.
    assert (float(fields.lr), float(fields.uncond_p), float(fields.ema)) == (
        config.lr,
        config.uncond_p,
        config.ema,
    )
    assert (fields.epochs, fields.batch_size) == (config.epochs, config.batch_size)
    assert (fields.precision, fields.loss) == (config.precision, config.loss)


def test_fast_on_a_cpu_is_not_fast_on_a_gpu() -> None:
    assert train.preset_fields("fast", False) != train.preset_fields("fast", True)


def test_preset_and_demo_fields_are_fields_of_the_form() -> None:
    names = {f.name for f in dataclasses.fields(train.TrainingForm)}
    assert {f.name for f in dataclasses.fields(train.PresetFields)} <= names
    demo = train.demo_fine_tune_fields()
    assert set(demo) <= names
    assert float(demo["lr"]) == train.DEMO_FINE_TUNE["lr"]
    assert float(demo["ema"]) == train.DEMO_FINE_TUNE["ema"]


def test_the_demo_fine_tune_is_offered_only_without_a_model_of_ones_own(tmp_path) -> None:
    own, demo = tmp_path / "base.pt", tmp_path / "demo" / "base.pt"
    assert train.offers_demo_fine_tune(None, demo)
    assert not train.offers_demo_fine_tune(own, own)  # a model of one's own
    assert not train.offers_demo_fine_tune(None, None)  # no demo model either


def test_split_and_entity_choices() -> None:
    assert train.split_choices(["a", "b"]) == [
        ("nothing (train on all)", ""),
        ("test side of split 'a'", "a"),
        ("test side of split 'b'", "b"),
    ]
    assert [data for _label, data in train.ENTITY_CHOICES] == ["", *(e.code for e in ENTITIES)]


def test_missing_model_names_what_to_do_in_the_forms_words(tmp_path) -> None:
    asked = []

    def nothing(kind: str) -> Path | None:
        asked.append(kind)
        return None

    assert train.missing_model(True, "", "base", nothing) is None  # random weights need none
    message = train.missing_model(False, "", "upsample", nothing)
    assert (
        asked == ["upsample"] and "upsample.pt" in message and "Random initial weights" in message
    )
    assert train.missing_model(False, "  ", "base", lambda kind: tmp_path / f"{kind}.pt") is None
    missing = tmp_path / "missing.pt"
    assert train.missing_model(False, str(missing), "base", nothing) == (
        f"“Start from”: there is no file {missing}."
    )
    missing.write_bytes(b"x")
    assert train.missing_model(False, f" {missing} ", "base", nothing) is None


def test_the_status_line_drops_only_a_fixed_missing_model_message() -> None:
    missing = train.missing_model(False, "", "base", lambda kind: None)
    assert train.status_after_check("Ready.", missing) == missing
    assert train.status_after_check(missing, None) == "Ready."
    assert train.status_after_check("“Start from”: there is no file x.", None) == "Ready."
    assert train.status_after_check(train.DEMO_OFFER, None) == train.DEMO_OFFER


def _form(**changes) -> train.TrainingForm:
    values = {"preset": "paper", "lr": "2.5e-05", "uncond_p": "0.1", "ema": "0", "device": "cpu"}
    return train.TrainingForm(**{**values, **changes})


def test_the_form_becomes_the_preset_plus_its_fields() -> None:
    config = _form(steps=0, epochs=3, entity="bcc", split="s1", batch_size=2).to_config()
    assert (config.preset, config.lr, config.uncond_p, config.epochs) == ("paper", 2.5e-05, 0.1, 3)
    assert (config.entities, config.split, config.batch_size) == (["bcc"], "s1", 2)
    assert config.init is None and config.steps is None
    stepped = _form(steps=40, scratch=True, model_options='{"num_channels": 32}').to_config()
    assert (stepped.steps, stepped.init, stepped.model_options) == (
        40,
        "scratch",
        {"num_channels": 32},
    )
    # Model options count only with random weights; a typed file counts only without them.
    assert _form(model_options='{"num_channels": 32}', init=" a.pt ").to_config().init == "a.pt"
    assert _form(scratch=True, init="a.pt").to_config().init == "scratch"


def test_the_child_process_reads_back_the_forms_configuration() -> None:
    from dermstudy.cli import build_parser
    from dermstudy.training.config import TrainConfig

    for _label, kind in train.KIND_CHOICES:  # every kind the form offers can train
        form = _form(steps=7, entity="df", kind=kind)
        args = form.arguments()
        assert args[-2:] == ["--progress", "json"]
        assert TrainConfig.from_args(build_parser().parse_args(args)) == form.to_config()
        assert form.to_config().kind == kind


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"lr": "fast please"}, "“Learning rate” must be a number, got 'fast please'"),
        ({"ema": ""}, "“EMA rate” must be a number"),
        ({"scratch": True, "model_options": "{oops"}, "Model options are not valid JSON"),
        ({"scratch": True, "model_options": "[64]"}, "Model options must be a JSON object"),
    ],
)
def test_bad_fields_are_refused_naming_the_field(changes, words) -> None:
    with pytest.raises(ValueError, match=words):
        _form(**changes).to_config()


def test_flags_in_a_childs_error_become_the_forms_labels() -> None:
    message = train.gui_terms("--uncond-p must be between 0 and 1; pass --init scratch")
    assert message == "“Empty-caption share” must be between 0 and 1; pass “Random initial weights”"


def test_runs_are_listed_and_resumed_under_the_commands_kind() -> None:
    from dermstudy.workspace.training_runs import RunSummary

    runs = train.run_choices(
        [RunSummary("r2", "upsample", "stopped", 5, 60), RunSummary("r1", "base", "done", 60, 60)]
    )
    assert [r.label for r in runs] == [
        "r2 · upsample · stopped · 5/60",
        "r1 · base · done · 60/60",
    ]
    assert runs[0].resume_arguments() == [
        "train",
        "upsampler",
        "--resume",
        "r2",
        "--progress",
        "json",
    ]
    assert runs[1].resume_arguments()[1] == "base"


def test_speed_line_and_eta() -> None:
    assert [train.fmt_eta(s) for s in (None, float("nan"), 59.9, 61, 3725)] == [
        "--",
        "--",
        "0:59",
        "1:01",
        "1:02:05",
    ]
    event = {"step": 1234, "total": 5000, "images_per_s": 3.14159, "eta_s": 90}
    assert train.speed_text(event) == "step 1,234/5,000 · 3.1 images/s · ETA 1:30"
    assert train.speed_text({"step": 1}) == "step 1/0 · 0.0 images/s · ETA --"


def test_run_progress_redraws_less_often_and_ends_with_an_honest_bar() -> None:
    run = train.RunProgress()
    assert run.bar() == (1, 0)  # nothing ran: an empty bar
    redraws = [run.add_step({"step": n, "total": 200}) for n in range(1, 101)]
    assert all(redraws[:49]) and redraws[49]  # every step early on
    assert [n + 1 for n, redraw in enumerate(redraws) if redraw][49:] == [50, 60, 70, 80, 90, 100]
    assert run.bar() == (200, 100)  # stopped or failed: how far it got
    run.completed = True
    assert run.bar() == (1, 1)
    run.restart("r7")
    assert (run.run_id, run.records, run.completed) == ("r7", [], False)
    run.earlier_steps([{"event": "start"}, {"event": "step", "step": 1}, {"event": "preview"}])
    assert run.records == [{"event": "step", "step": 1}]


# -- Generator -----------------------------------------------------------------------------------
def test_what_is_remembered_leaves_out_the_seed_prompt_and_model_files(tmp_path) -> None:
    settings = GenerateSettings(
        entity="df", prompt="x", seed=3, guidance=4.5, base=tmp_path / "b.pt", base_sha256="ab"
    )
    data = gen.remembered(settings)
    assert not set(gen.NOT_REMEMBERED) & set(data)
    assert data["guidance"] == 4.5 and data["entity"] == "df"
    restored = gen.restored_form(data, None)
    assert restored.settings.guidance == 4.5 and restored.settings.seed is None


def test_restored_form_maps_old_keys_and_drops_only_what_no_longer_fits() -> None:
    saved = {"images": 9, "batch": 3, "precision": "bf16", "guidance": "loud", "colour": "red"}
    restored = gen.restored_form(saved, None)
    form = restored.settings
    assert (form.count, form.batch_size, form.dtype) == (9, 3, "bf16")
    assert form.guidance == GenerateSettings().guidance  # a value of the wrong type is dropped
    assert restored.fields == {"count", "batch_size", "dtype"}  # and so is an unknown setting
    assert gen.restored_form(["not", "a", "form"], None) is None


def test_the_demo_model_starts_with_its_images_settings_unless_the_user_chose(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("DERMSTUDY_DEMO_MODELS", str(tmp_path / "demo"))
    demo_base, own_base = tmp_path / "demo" / "base.pt", tmp_path / "models" / "base.pt"
    made_with = {"sampler": "dpm++2m", "guidance": 5.0}
    first = gen.restored_form({}, demo_base, lambda: made_with)
    assert (first.settings.sampler, first.settings.guidance) == ("dpm++2m", 5.0)
    assert first.fields == {"sampler", "guidance"}
    chosen = gen.restored_form({"guidance": 2.5}, demo_base, lambda: made_with)
    assert (chosen.settings.sampler, chosen.settings.guidance) == ("dpm++2m", 2.5)
    own = gen.restored_form({}, own_base, lambda: made_with)
    assert own.fields == frozenset() and own.settings == GenerateSettings()


def test_the_shipped_demo_images_provenance_gives_usable_defaults() -> None:
    defaults = gen.demo_sampling()
    assert set(defaults) == {"sampler", "guidance"}
    GenerateSettings.from_json(defaults).validate()


def test_seed_text() -> None:
    assert [gen.seed_from_text(t) for t in ("", " 12 ", "-3", "1.5", "abc")] == [
        None,
        12,
        -3,
        None,
        None,
    ]
    assert gen.seed_problem("") is None and gen.seed_problem(" 7 ") is None
    assert gen.seed_problem("seven") == gen.SEED_PROBLEM


def test_form_state_says_which_models_are_missing_and_what_can_run(tmp_path) -> None:
    base, up = tmp_path / "base.pt", tmp_path / "upsample.pt"
    none = gen.form_state(None, None, True, False, False)
    assert none.missing == ("base.pt", "upsample.pt") and not none.start_enabled
    text = none.missing_text(tmp_path / "models")
    assert text.startswith(f"No base.pt or upsample.pt found in {tmp_path / 'models'}")
    assert gen.form_state(base, None, True, False, False).missing == ("upsample.pt",)
    no_upsampling = gen.form_state(base, None, False, True, False)
    assert no_upsampling.missing == () and no_upsampling.start_enabled
    assert not no_upsampling.upsampler_enabled and not no_upsampling.upsampler_options_enabled
    assert no_upsampling.prompt_enabled and not no_upsampling.stop_enabled
    running = gen.form_state(base, up, True, True, True)
    assert not running.start_enabled and running.stop_enabled
    assert not running.prompt_enabled and not running.upsampler_enabled
    assert running.upsampler_options_enabled and not running.demo_note


def test_what_a_run_shows() -> None:
    assert gen.image_caption({"event": "progress", "file": "a.png"}) is None
    assert gen.image_caption({"event": "image"}) is None
    caption = gen.image_caption({"event": "image", "file": "a.png", "seed": 11, "image_id": 5})
    assert (caption.file, caption.text, caption.tooltip) == (
        "a.png",
        "seed 11",
        "image 5 · seed 11",
    )
    assert [gen.finished_text(n) for n in (0, 1, 2)] == [
        "0 images stored in the library.",
        "1 image stored in the library.",
        "2 images stored in the library.",
    ]
    assert gen.done_bar(True, 4, 0) == (1, 1)
    assert gen.done_bar(False, 4, 2) == (4, 2)  # stopped half way: not a full bar
    assert gen.done_bar(False, 0, 0) == (1, 0)
    assert gen.failed_text("--count must be at least 1") == "Failed: “Images” must be at least 1"


def test_generator_choices_are_what_the_settings_accept() -> None:
    for _label, sampler in gen.SAMPLER_CHOICES:
        GenerateSettings(sampler=sampler).validate()
    for dtype in gen.DTYPE_CHOICES:
        GenerateSettings(dtype=dtype).validate()
    assert [code for _label, code in gen.ENTITY_CHOICES] == [e.code for e in ENTITIES]


# -- Studies (New study dialog) ------------------------------------------------------------------
def test_the_new_study_dialogs_choices_are_what_a_design_accepts() -> None:
    from dermstudy.study.builder import StudyDesign
    from dermstudy.ui.viewmodels.studies import ORDER_CHOICES, SCALE_CHOICES

    for (_o, order), (_s, scale) in zip(ORDER_CHOICES, SCALE_CHOICES, strict=True):
        StudyDesign.with_counts("s", order=order, answer_scale=scale).validate()


def test_the_new_study_form_and_its_design_round_trip() -> None:
    from dermstudy.study.builder import StudyDesign
    from dermstudy.study.pools import PoolOptions
    from dermstudy.ui.viewmodels.studies import NewStudyForm

    assert NewStudyForm.defaults().name == ""
    design = StudyDesign.with_counts(
        "pilot",
        ["df", "mel"],
        4,
        2,
        seed=-3,
        display_size=128,
        order="per-reader",
        allow_back=False,
        answer_scale="binary",
        entity_confidence=True,
        practice=2,
        harmonise="jpeg",
        pools=PoolOptions(
            exclude_sets=("a", "b"),
            exclude_splits=("s1:test",),
            synthetic_filters=(("source", "glide*"), ("model", "ab12")),
            one_per_lesion=False,
        ),
    )
    form = NewStudyForm.from_design(design)
    assert form.entities == ("mel", "df") and form.seed == "-3"
    assert form.synthetic_filters == "source=glide*, model=ab12" and form.harmonise == "jpeg"
    assert form.design() == design
    assert NewStudyForm.from_design(form.design()) == form


def test_the_new_study_form_offers_every_harmonisation_and_starts_at_the_default() -> None:
    from dermstudy.study.design import DEFAULT_HARMONISE, HARMONISATIONS
    from dermstudy.ui.viewmodels.studies import HARMONISE_CHOICES, NewStudyForm

    assert sorted(value for _label, value in HARMONISE_CHOICES) == sorted(HARMONISATIONS)
    assert NewStudyForm.defaults().harmonise == DEFAULT_HARMONISE


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"name": "  "}, "give the study a name"),
        ({"seed": "1.5"}, "seed must be a whole number"),
        ({"entities": ()}, "choose at least one entity"),
        ({"synthetic_filters": "nonsense"}, "KEY=PATTERN"),
    ],
)
def test_the_new_study_form_refuses_what_it_cannot_read(changes, words) -> None:
    from dataclasses import replace

    from dermstudy.ui.viewmodels.studies import NewStudyForm

    form = replace(NewStudyForm.defaults(), **{"name": "ok", **changes})
    with pytest.raises(ValueError, match=words):
        form.design()


# -- Classifier ------------------------------------------------------------------------------------
def test_the_classifier_form_becomes_its_settings_or_a_message_in_its_words() -> None:
    from dermstudy.classifier.settings import AblationSettings
    from dermstudy.ui.viewmodels.classifier import ablation_settings, child_arguments

    settings = ablation_settings(["synthetic"], split="", name=" ", seeds=2, device="cpu")
    assert settings == AblationSettings(arms=("synthetic",), seeds=2, device="cpu")
    assert child_arguments(settings)[-2:] == ["--progress", "json"]
    assert ablation_settings(["original"], split="s1", name="r1").split == "s1"
    with pytest.raises(ValueError, match="Choose at least one arm"):
        ablation_settings([])  # the settings would read no arms as all four
    with pytest.raises(ValueError, match=r"^“Image size” must be a multiple of 8"):
        ablation_settings(["original"], image_size=60)
    with pytest.raises(ValueError, match=r"^“Most epochs” must be at least 1"):
        ablation_settings(["original"], epochs=0)
