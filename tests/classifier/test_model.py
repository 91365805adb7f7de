"""The classifier backbones, the features API, the checkpoint format and the augmentation."""

from __future__ import annotations

import pytest
import torch

from dermstudy.classifier.model import (
    CheckpointError,
    PaperCNN,
    augment_batch,
    augmentation,
    build_model,
    features,
    load_checkpoint,
    predict_proba,
    save_checkpoint,
    to_input,
)


def _images(n: int, size: int) -> torch.Tensor:
    return torch.randint(
        0, 256, (n, 3, size, size), dtype=torch.uint8, generator=torch.Generator().manual_seed(n)
    )


def test_paper_cnn_layers_and_shapes():
    model = PaperCNN(64)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    pools = [m for m in model.modules() if isinstance(m, torch.nn.MaxPool2d)]
    dense = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert len(convs) == 3 and len(pools) == 3
    assert [d.out_features for d in dense] == [64, 7]
    assert dense[0].in_features == 128 * 8 * 8  # 64 px after three 2×2 poolings
    assert any(isinstance(m, torch.nn.Dropout) and m.p == 0.5 for m in model.modules())
    x = to_input(_images(5, 64))
    assert model(x).shape == (5, 7)
    assert features(model, _images(5, 64)).shape == (5, 64)


@pytest.mark.parametrize(("name", "size", "dim"), [("paper-cnn", 32, 64), ("resnet18", 32, 512)])
def test_both_models_give_logits_features_and_probabilities(name, size, dim):
    model = build_model(name, size)
    images = _images(3, size)
    assert model(to_input(images)).shape == (3, 7)
    assert features(model, images).shape == (3, dim)
    proba = predict_proba(model, images)
    assert proba.shape == (3, 7)
    assert torch.allclose(proba.sum(1), torch.ones(3), atol=1e-5)


def test_inputs_are_scaled_to_unit_range():
    x = to_input(torch.tensor([0, 255], dtype=torch.uint8))
    assert x.tolist() == [0.0, 1.0]


def test_unknown_model_and_too_small_image_are_refused():
    with pytest.raises(ValueError, match="unknown classifier model"):
        build_model("vgg")
    with pytest.raises(ValueError, match="too small"):
        PaperCNN(4)


def test_checkpoint_round_trip_gives_the_same_features(tmp_path):
    model = build_model("paper-cnn", 16).eval()
    path = tmp_path / "c.pt"
    save_checkpoint(path, model, "paper-cnn", {"image_size": 16, "arm": "original"})
    loaded, options = load_checkpoint(path)
    assert options["model"] == "paper-cnn" and options["arm"] == "original"
    assert options["classes"] == ["mel", "nv", "akiec", "bkl", "bcc", "df", "vasc"]
    images = _images(4, 16)
    assert torch.equal(features(model, images), features(loaded, images))
    assert not loaded.training
    raw = torch.load(path, weights_only=True)  # the documented format, plain types only
    assert raw["format"] == "dermstudy-classifier/1" and "state_dict" in raw


def test_a_file_that_is_not_a_checkpoint_is_refused(tmp_path):
    bad = tmp_path / "x.pt"
    torch.save({"something": 1}, bad)
    with pytest.raises(CheckpointError, match="not a dermstudy classifier checkpoint"):
        load_checkpoint(bad)
    with pytest.raises(CheckpointError, match="no such file"):
        load_checkpoint(tmp_path / "missing.pt")


def test_augmentation_keeps_shape_and_dtype_and_moves_pixels():
    torch.manual_seed(0)
    batch = _images(8, 32)
    out = augment_batch(batch, augmentation())
    assert out.shape == batch.shape and out.dtype == torch.uint8
    assert not torch.equal(out, batch)
    identity = augmentation(rotation=0, shift=0, zoom=0, flip=False)
    assert torch.equal(augment_batch(batch, identity), batch)


def test_augmentation_draws_per_image_parameters():
    torch.manual_seed(1)
    one = _images(1, 32)
    out = augment_batch(one.repeat(6, 1, 1, 1), augmentation())
    # the same image six times comes out in (almost surely) six different poses
    assert len({tuple(img.flatten()[:200].tolist()) for img in out}) > 1
