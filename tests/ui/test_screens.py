"""Laptop screens: every window fits 1366×768 and 1280×720, the case image is whole, no control is cut.

Each size runs :mod:`tests.ui.screen_probe` in its own process, because Qt's offscreen screen size is
fixed when the application starts (``offscreen:configfile=`` with a JSON list of screens).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_probe(tmp_path: Path, width: int, height: int) -> dict:
    config = tmp_path / "screen.json"
    screen = {"name": "laptop", "x": 0, "y": 0, "width": width, "height": height}
    config.write_text(json.dumps({"screens": [{**screen, "logicalDpi": 96}]}))
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}"}
    env["DERMSTUDY_SETTINGS"] = str(tmp_path / "settings.ini")
    out = tmp_path / "shots"
    subprocess.run(
        [sys.executable, "-m", "tests.ui.screen_probe", str(out)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return json.loads((out / "report.json").read_text())


@pytest.mark.parametrize("size", [(1366, 768), (1280, 720)], ids=["1366x768", "1280x720"])
def test_every_window_fits_a_laptop_screen(tmp_path, size):
    report = run_probe(tmp_path, *size)
    assert report["screen"] == list(size)  # the probe really ran on a screen of that size
    assert report["problems"] == []
    image = report["image"]
    assert image["whole"] and image["visible"]
    # The case image is drawn as large as the view allows (not a thumbnail in a corner).
    view_w, view_h = image["view"]
    assert image["target"][3] >= 0.9 * (view_h - 24) or image["target"][2] >= 0.9 * (view_w - 24)
    assert (tmp_path / "shots" / "reader.png").stat().st_size > 0


def test_show_fitted_keeps_a_window_that_fits_at_its_size(qtbot):
    from PySide6.QtCore import QRect, QSize
    from PySide6.QtWidgets import QWidget

    from dermstudy.ui.screens import available_geometry, fits, show_fitted

    assert fits(QSize(1280, 820), QRect(0, 0, 1920, 1080))
    assert not fits(QSize(1280, 820), QRect(0, 0, 1366, 768))
    assert not fits(QSize(1280, 700), QRect(0, 0, 1280, 720))  # no room for a title bar
    small = QWidget()
    qtbot.addWidget(small)
    show_fitted(small, QSize(400, 300))
    assert small.size() == QSize(400, 300) and not small.isMaximized()
    big = QWidget()
    qtbot.addWidget(big)
    big.setMinimumSize(5000, 5000)
    show_fitted(big, QSize(6000, 6000))
    available = available_geometry(big)
    assert big.isMaximized()
    assert big.minimumWidth() <= available.width() and big.minimumHeight() <= available.height()
