"""Importing torchvision next to the CPU-only torch build.

The torchvision 0.28.0 wheel on PyPI is built against CUDA torch: its C++ ops (``_C.so``) need
``libc10_cuda.so`` and fail to load with ``torch==2.13.0+cpu``. torchvision then still works for
everything we use (``transforms.v2``, ``models.resnet18``: pure torch), except that its import
crashes while registering fake kernels for two ops it never defined (``torchvision::nms`` and
``qnms``: "operator torchvision::nms does not exist"). When the ops are missing we declare those two
schemas ourselves (the signatures of torchvision's own C++ registration), so the import goes through;
calling ``nms`` would still fail loudly, and nothing here calls it.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

import torch

_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
_library: torch.library.Library | None = None  # kept alive: dropping it unregisters the schemas


def _ops_load() -> bool:
    """Whether torchvision's compiled ops load in this process (tried before importing it)."""
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return True  # not installed: let the import raise its own ImportError
    from pathlib import Path

    folder = Path(next(iter(spec.submodule_search_locations)))
    candidates = sorted(folder.glob("_C*.so")) + sorted(folder.glob("_C*.pyd"))
    if not candidates:
        return False
    try:
        torch.ops.load_library(str(candidates[0]))
    except (OSError, RuntimeError):
        return False
    return True


def import_torchvision() -> ModuleType:
    """``import torchvision``, declaring the missing op schemas first when its ops cannot load."""
    global _library
    if "torchvision" in sys.modules:
        return sys.modules["torchvision"]
    if not _ops_load() and _library is None:
        _library = torch.library.Library("torchvision", "DEF")
        for schema in _SCHEMAS:
            _library.define(schema)
    import torchvision

    return torchvision
