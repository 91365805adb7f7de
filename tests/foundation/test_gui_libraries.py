"""A missing system library for Qt gives one line with the apt-get command and exit code 2, no Qt abort."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dermstudy.ui.system_libs import (
    CORE_LIBRARIES,
    XCB_LIBRARIES,
    MissingLibrariesError,
    missing_libraries,
    needed_libraries,
    require_gui_libraries,
)

ROOT = Path(__file__).resolve().parents[2]


def test_the_xcb_platform_needs_the_x_libraries_and_offscreen_does_not():
    assert needed_libraries({}) == CORE_LIBRARIES + XCB_LIBRARIES
    assert needed_libraries({"QT_QPA_PLATFORM": "xcb"}) == CORE_LIBRARIES + XCB_LIBRARIES
    assert needed_libraries({"QT_QPA_PLATFORM": "offscreen:size=1x1"}) == CORE_LIBRARIES
    assert needed_libraries({"WAYLAND_DISPLAY": "wayland-0"}) == CORE_LIBRARIES


def test_missing_libraries_are_named_with_the_install_command():
    gone = {"libxcb-cursor.so.0", "libxcb-icccm.so.4"}
    with pytest.raises(MissingLibrariesError) as caught:
        require_gui_libraries({"QT_QPA_PLATFORM": "xcb"}, loads=lambda so: so not in gone)
    message = str(caught.value)
    assert "\n" not in message
    assert "libxcb-cursor.so.0, libxcb-icccm.so.4" in message
    assert message.endswith("sudo apt-get install -y libxcb-cursor0 libxcb-icccm4")
    require_gui_libraries({"QT_QPA_PLATFORM": "xcb"}, loads=lambda so: True)  # all there: no error


def test_the_check_really_loads_libraries():
    # A name no system has is reported; the libraries the offscreen tests run with are present.
    fake = (("libdermstudy-nonexistent.so.9", "dermstudy-nonexistent"),)
    import dermstudy.ui.system_libs as system_libs

    assert missing_libraries({"QT_QPA_PLATFORM": "offscreen"}) == []
    original = system_libs.CORE_LIBRARIES
    try:
        system_libs.CORE_LIBRARIES = fake
        assert missing_libraries({"QT_QPA_PLATFORM": "offscreen"}) == list(fake)
    finally:
        system_libs.CORE_LIBRARIES = original


@pytest.mark.parametrize("command", [["demo"], ["gui"]])
def test_gui_commands_stop_with_one_line_before_qt_starts(tmp_path, command):
    # A child process whose loader finds no libxcb-cursor: the command must not import Qt at all.
    script = (
        "import sys, dermstudy.ui.system_libs as s\n"
        "s._loads = lambda so: so != 'libxcb-cursor.so.0'\n"
        "from dermstudy.cli import main\n"
        f"code = main(['--workspace', {str(tmp_path / 'ws')!r}, *{command!r}])\n"
        "assert 'PySide6.QtWidgets' not in sys.modules, 'Qt was imported'\n"
        "sys.exit(code)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "xcb", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "libxcb-cursor.so.0" in lines[0] and "sudo apt-get install -y libxcb-cursor0" in lines[0]
    assert not (tmp_path / "ws").exists()  # nothing was built before the check


def test_demo_uses_the_workspace_variable(tmp_path, monkeypatch, capsys):
    from dermstudy.cli import main

    monkeypatch.setenv("DERMSTUDY_WORKSPACE", str(tmp_path / "from-env"))
    assert main(["demo", "--no-gui"]) == 0
    assert f"demo workspace: {tmp_path / 'from-env'}" in capsys.readouterr().out
    assert (tmp_path / "from-env" / "dermstudy.db").exists()
