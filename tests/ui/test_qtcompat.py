"""The None reference-count guard for PySide6 6.12 on Python 3.11."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtWidgets import QLabel

import dermstudy.ui  # noqa: F401  (installs the guard)
from dermstudy.ui.qtcompat import none_refcount_is_fragile, protect_none_refcount


@pytest.mark.skipif(not none_refcount_is_fragile(), reason="None is immortal on this Python")
def test_none_survives_many_void_qt_calls(qtbot):
    label = QLabel()
    qtbot.addWidget(label)
    for _ in range(20_000):  # far more than None's natural reference count (~5,000)
        label.setText("x")
    assert sys.getrefcount(None) > 1 << 40
    assert protect_none_refcount()  # idempotent: stays raised, no overflow from repeated calls
    assert sys.getrefcount(None) < 1 << 50
