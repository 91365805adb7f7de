"""Test helpers: the stored comparison data and pytorch-fid loaded with the shipped weights."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

DATA = Path(__file__).resolve().parents[1] / "data" / "quality"
REAL = DATA / "real"
SYNTHETIC = DATA / "synthetic"

_TV_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
_tv_library = None


def import_pytorch_fid():
    """``pytorch_fid.fid_score`` and ``.inception``, or skip saying why.

    The torchvision 0.28.0 wheel on PyPI is a CUDA build whose compiled ops do not load next to the
    CPU torch; its import then fails on two missing op schemas that nothing here uses. As the
    classifier module does, declare them so that the pure-Python model code imports.
    """
    global _tv_library
    if "torchvision" not in sys.modules:
        try:
            import torchvision  # noqa: F401
        except RuntimeError as exc:
            if "torchvision::nms" not in str(exc):
                pytest.skip(f"torchvision does not import: {exc}")
            for name in [m for m in sys.modules if m.startswith("torchvision")]:
                del sys.modules[name]
            _tv_library = torch.library.Library("torchvision", "DEF")
            for schema in _TV_SCHEMAS:
                _tv_library.define(schema)
        except ImportError as exc:
            pytest.skip(f"torchvision is not installed: {exc}")
    try:
        from pytorch_fid import fid_score, inception
    except ImportError as exc:
        pytest.skip(f"pytorch-fid (test extra) is not installed: {exc}")
    return fid_score, inception


def pytorch_fid_state_dict(torchscript: torch.jit.ScriptModule, template: dict) -> dict:
    """The TorchScript FID Inception's weights under pytorch-fid's names.

    Both are the same TensorFlow graph: 94 convolutions with a scale-free batch norm, in the same
    order. The shapes are checked one by one; the features test then checks the outputs agree.
    """
    groups: list[dict] = []
    for key, tensor in torchscript.state_dict().items():
        _, _, leaf = key.rpartition(".")
        if leaf == "weight":
            groups.append({})
        groups[-1][leaf] = tensor
    convs = [k[: -len(".conv.weight")] for k in template if k.endswith(".conv.weight")]
    assert len(convs) == len(groups) == 94
    out = {}
    for name, group in zip(convs, groups, strict=True):
        assert template[f"{name}.conv.weight"].shape == group["weight"].shape, name
        out[f"{name}.conv.weight"] = group["weight"]
        out[f"{name}.bn.weight"] = torch.ones_like(group["beta"])
        out[f"{name}.bn.bias"] = group["beta"]
        out[f"{name}.bn.running_mean"] = group["mean"]
        out[f"{name}.bn.running_var"] = group["var"]
    for key, tensor in template.items():
        out.setdefault(key, torch.zeros_like(tensor))  # fc and counters: unused by pool features
    return out
