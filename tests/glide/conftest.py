"""Fixtures for the GLIDE engine tests: the copied reference vectors and small models."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

VECTORS = Path(__file__).resolve().parents[1] / "data" / "glide"


@pytest.fixture(scope="session")
def base_vectors() -> dict:
    return torch.load(VECTORS / "base_small.pt", weights_only=True)


@pytest.fixture(scope="session")
def upsample_vectors() -> dict:
    return torch.load(VECTORS / "upsample_small.pt", weights_only=True)


@pytest.fixture(scope="session")
def base_model(base_vectors):
    from dermstudy.glide import create_model

    model = create_model(base_vectors["options"])
    model.load_state_dict(base_vectors["state_dict"])
    return model.eval()


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Small models run far faster on one thread (no OpenMP barriers on a busy 2-core machine)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
