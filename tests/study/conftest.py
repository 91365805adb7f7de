"""Fixtures for study and reading tests: a workspace with a small made-up image library."""

from __future__ import annotations

import pytest

from dermstudy.study.builder import StudyDesign, create_study
from tests.fixtures.sample_images import add_sample_images


@pytest.fixture
def library(workspace):
    """4 real images (4 lesions) and 4 synthetic images for each of the seven entities."""
    add_sample_images(workspace, 4, 4, seed=1)
    return workspace


def make_study(ws, name="s1", **options):
    options.setdefault("display_size", 32)
    options.setdefault("real_per_entity", 2)
    options.setdefault("synthetic_per_entity", 2)
    entities = options.pop("entities", None)
    real = options.pop("real_per_entity")
    synthetic = options.pop("synthetic_per_entity")
    overrides = options.pop("overrides", None)
    design = StudyDesign.with_counts(name, entities, real, synthetic, overrides, **options)
    return create_study(ws, design)


@pytest.fixture
def new_study(library):
    """Create a study in ``library``: ``new_study(name, **StudyDesign options)`` -> study id."""
    return lambda name="s1", **options: make_study(library, name, **options)
