"""The shipped demo: the model pair loads strictly and samples reproducibly; ``dermstudy demo``
builds real and generated images, a ready blinded study and a demo reader's answers."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from dermstudy.demo import (
    DEMO_ANSWERS,
    DEMO_READER,
    DEMO_STUDY,
    SYNTHETIC_DIR,
    build_demo,
    reference_sample,
)
from dermstudy.entities import CODES
from dermstudy.glide import load_checkpoint
from dermstudy.paths import DEMO_DIR
from dermstudy.workspace import Workspace

MODELS = DEMO_DIR / "models"
REFERENCE = MODELS / "reference_sample.pt"


@pytest.mark.parametrize("kind", ["base", "upsample"])
def test_demo_models_load_strictly_as_glide_checkpoints(kind) -> None:
    loaded = load_checkpoint(MODELS / f"{kind}.pt", kind=kind)
    assert loaded.kind == kind and loaded.options["image_size"] == (64 if kind == "base" else 256)
    assert all(p.dtype == torch.float32 and not p.is_sparse for p in loaded.model.parameters())
    sizes = sum((MODELS / f"{k}.pt").stat().st_size for k in ("base", "upsample"))
    assert sizes < 40 * 2**20  # the cap for both files


def test_demo_base_samples_the_recorded_reference_on_cpu() -> None:
    stored = torch.load(REFERENCE, weights_only=True)
    first = reference_sample(MODELS / "base.pt", **stored["settings"])
    again = reference_sample(MODELS / "base.pt", **stored["settings"])
    assert np.array_equal(first, again)  # same seed, same image
    # Stable across machines up to float rounding (another CPU's kernels round differently).
    diff = np.abs(first.astype(int) - stored["pixels"].numpy().astype(int))
    assert diff.max() <= 3 and diff.mean() < 0.5
    other = reference_sample(MODELS / "base.pt", **{**stored["settings"], "entity": "vasc"})
    assert np.abs(other.astype(int) - first.astype(int)).mean() > 1  # the prompt reaches the image


def test_shipped_synthetic_images_carry_their_provenance() -> None:
    entries = json.loads((SYNTHETIC_DIR / "manifest.json").read_text())
    assert sorted({e["entity"] for e in entries}) == sorted(CODES)
    assert all(sum(e["entity"] == c for e in entries) >= 10 for c in CODES)
    for entry in entries:
        prov = entry["provenance"]
        assert prov["generator"] == "dermstudy-glide" and prov["entity"] == entry["entity"]
        assert prov["base"]["path"] == "resources/demo/models/base.pt"
        assert "--base-sha256" in prov["reproduce"]


@pytest.fixture(scope="module")
def demo_workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo") / "ws"
    first = build_demo(root)
    second = build_demo(root)
    return root, first, second


def test_demo_builds_the_whole_loop_once(demo_workspace) -> None:
    from dermstudy.study.queries import answer_key, find_study, reader_progress

    root, first, second = demo_workspace
    assert first.real_imported == 140 and first.synthetic_imported == 70
    assert first.study_created and first.answers_added == DEMO_ANSWERS
    assert (second.real_imported, second.synthetic_imported) == (0, 0)
    assert not second.study_created and second.answers_added == 0
    with Workspace.open(root) as ws:
        key = answer_key(ws, DEMO_STUDY)
        progress = reader_progress(ws, find_study(ws, DEMO_STUDY)["id"])
    assert len(key) == 140
    for code in CODES:
        cases = [k for k in key if k["entity"] == code]
        assert sorted(k["source"] for k in cases) == ["real"] * 10 + ["synthetic"] * 10
    assert [p["reader"] for p in progress] == [DEMO_READER]
    assert progress[0]["answered"] == DEMO_ANSWERS


def test_demo_report_works_at_once(demo_workspace, capsys) -> None:
    from dermstudy.cli import main

    root, _, _ = demo_workspace
    assert main(["--workspace", str(root), "report", DEMO_STUDY, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["study"]["n_cases"] == 140 and report["study"]["n_real"] == 70
    assert [r["name"] for r in report["readers"]] == [DEMO_READER]
