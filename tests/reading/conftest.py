"""Fixtures for reading tests: the study tests' small made-up library and study factory."""

from tests.study.conftest import library, make_study, new_study

__all__ = ["library", "make_study", "new_study"]
