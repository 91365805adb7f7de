"""The classifier distance end to end: train a tiny classifier in a workspace, then the quality
table's Fréchet/kernel distance on its features (tiny blob images made on the fly)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from dermstudy.classifier.ablation import AblationOptions, run_ablation
from dermstudy.classifier.model import features, load_checkpoint, save_checkpoint
from dermstudy.classifier.train import TrainOptions
from dermstudy.cli import main
from dermstudy.quality import metrics
from dermstudy.quality.features import ClassifierFeatures, find_classifier_checkpoint
from dermstudy.quality.report import QualityOptions, compute_quality
from dermstudy.training.data import prepare_pixels
from dermstudy.workspace import Workspace
from dermstudy.workspace.quality_images import QualityImages
from tests.classifier.conftest import add_images

TINY = TrainOptions(image_size=16, epochs=2, patience=5, threads=1)


@pytest.fixture(scope="module")
def trained_ws(tmp_path_factory):
    """8 real (2 per lesion) and 4 synthetic blob images per entity, and a trained `original` and
    `combined` classifier (one seed, two epochs, 16 px; `combined` is the newer file). Trained once
    for the module; the tests only add feature caches and their own checkpoint copies."""
    ws = Workspace.open(tmp_path_factory.mktemp("trained") / "ws")
    add_images(ws, "real", 8, images_per_lesion=2)
    add_images(ws, "synthetic", 4)
    options = AblationOptions(arms=("original", "combined"), seeds=1, train=TINY, name="tiny")
    run_ablation(ws.root, options)
    yield ws
    ws.close()


def _independent_features(ws: Workspace, checkpoint, images) -> np.ndarray:
    """The checkpoint's penultimate features of images prepared as the classifier's training
    prepares them (the training data cache's decode), computed without the quality module."""
    model, options = load_checkpoint(checkpoint)
    size = options["image_size"]
    pixels = np.stack([prepare_pixels(im.path.read_bytes(), size)[0] for im in images])
    return features(model, torch.from_numpy(pixels).permute(0, 3, 1, 2)).double().numpy()


def test_quality_uses_the_trained_real_image_classifier_and_its_own_preprocessing(trained_ws):
    ws = trained_ws
    checkpoint = find_classifier_checkpoint(ws.root)
    # The real-image arm is preferred although the combined arm exists as well.
    assert checkpoint == ws.root / "classifier" / "tiny" / "checkpoints" / "original-seed0.pt"

    report = compute_quality(ws, QualityOptions(inception=False, classifier="auto", max_real=0))
    assert "classifier" not in report.skipped
    assert str(checkpoint) in report.extractors["classifier"]
    library = QualityImages(ws.conn, ws.root)
    pooled_syn, pooled_real = [], []
    assert len(report.rows) == 7
    for row in report.rows:
        f_syn = _independent_features(ws, checkpoint, library.select("synthetic", row.entity))
        f_real = _independent_features(ws, checkpoint, library.select("real", row.entity))
        assert f_syn.shape == (4, 64) and f_real.shape == (8, 64)
        pooled_syn.append(f_syn)
        pooled_real.append(f_real)
        assert row.cls_fd == pytest.approx(metrics.frechet_distance(f_syn, f_real), rel=1e-4)
        kid = metrics.kernel_inception_distance(f_syn, f_real, 100, 1000, seed=0)
        assert row.cls_kid_mean == pytest.approx(kid.mean, rel=1e-3, abs=1e-9)
        assert any("classifier FD/KID on 4 < 50" in note for note in row.notes)
    f_syn, f_real = np.concatenate(pooled_syn), np.concatenate(pooled_real)
    assert report.overall.cls_fd == pytest.approx(metrics.frechet_distance(f_syn, f_real), rel=1e-4)


def test_a_retrained_checkpoint_under_the_same_name_does_not_reuse_cached_features(
    trained_ws, tmp_path
):
    ws = trained_ws
    checkpoint = tmp_path / "original-seed0.pt"
    shutil.copy(find_classifier_checkpoint(ws.root), checkpoint)
    options = QualityOptions(inception=False, classifier=str(checkpoint), max_real=0)
    before = compute_quality(ws, options)
    model, saved = load_checkpoint(checkpoint)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_(0.5)
    save_checkpoint(checkpoint, model, saved["model"], {"image_size": saved["image_size"]})
    after = compute_quality(ws, options)
    assert before.extractors["classifier"] != after.extractors["classifier"]
    assert before.overall.cls_fd != pytest.approx(after.overall.cls_fd, rel=1e-3)
    assert ClassifierFeatures(checkpoint).name in after.extractors["classifier"]


def test_cli_prints_the_classifier_distance_columns(trained_ws, capsys):
    checkpoint = find_classifier_checkpoint(trained_ws.root)
    args = ["--workspace", str(trained_ws.root), "quality", "--no-inception",
            "--classifier", str(checkpoint), "--entity", "mel", "vasc"]  # fmt: skip
    assert main(args) in (0, None)
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("Entity"))
    assert "Cls FD" in header and "Cls KID ± sd" in header
    assert "skipped [classifier]" not in out
    assert f"features [classifier]: {ClassifierFeatures(checkpoint).name} ({checkpoint})" in out
    assert main([*args, "--json"]) in (0, None)
    data = json.loads(capsys.readouterr().out)
    assert [r["entity"] for r in data["rows"]] == ["mel", "vasc"]
    assert all(r["cls_fd"] > 0 and r["cls_kid_mean"] is not None for r in data["rows"])
