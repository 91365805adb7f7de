"""The system libraries Qt needs, checked before Qt is imported (Qt-free, no PySide6 import here).

A fresh Debian/Ubuntu lacks some X libraries that Qt's xcb platform plugin loads; Qt then aborts with
"Could not load the Qt platform plugin xcb" and a core dump. :func:`require_gui_libraries` tries to
load each library first and, if any is missing, raises one line that names them and the exact
``apt-get`` command, which the CLI prints before exiting with code 2.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable

from dermstudy.errors import DermstudyError

# (shared object, Debian/Ubuntu package). Qt's own libraries load these; the xcb plugin the rest.
CORE_LIBRARIES: tuple[tuple[str, str], ...] = (
    ("libEGL.so.1", "libegl1"),
    ("libGL.so.1", "libgl1"),
    ("libxkbcommon.so.0", "libxkbcommon0"),
    ("libfontconfig.so.1", "libfontconfig1"),
    ("libdbus-1.so.3", "libdbus-1-3"),
    ("libglib-2.0.so.0", "libglib2.0-0"),
)
XCB_LIBRARIES: tuple[tuple[str, str], ...] = (  # what ``ldd libqxcb.so`` lists (Qt 6.11)
    ("libxcb.so.1", "libxcb1"),
    ("libX11-xcb.so.1", "libx11-xcb1"),
    ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
    ("libxcb-cursor.so.0", "libxcb-cursor0"),
    ("libxcb-icccm.so.4", "libxcb-icccm4"),
    ("libxcb-image.so.0", "libxcb-image0"),
    ("libxcb-keysyms.so.1", "libxcb-keysyms1"),
    ("libxcb-randr.so.0", "libxcb-randr0"),
    ("libxcb-render.so.0", "libxcb-render0"),
    ("libxcb-render-util.so.0", "libxcb-render-util0"),
    ("libxcb-shape.so.0", "libxcb-shape0"),
    ("libxcb-shm.so.0", "libxcb-shm0"),
    ("libxcb-sync.so.1", "libxcb-sync1"),
    ("libxcb-util.so.1", "libxcb-util1"),
    ("libxcb-xfixes.so.0", "libxcb-xfixes0"),
    ("libxcb-xkb.so.1", "libxcb-xkb1"),
)


class MissingLibrariesError(DermstudyError, RuntimeError):
    """Qt could not start because system libraries are missing (the message says which)."""


def _loads(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def needed_libraries(environ: dict[str, str] | None = None) -> tuple[tuple[str, str], ...]:
    """The libraries the platform plugin Qt will use needs (xcb unless another one is chosen)."""
    env = os.environ if environ is None else environ
    platform = env.get("QT_QPA_PLATFORM", "").split(":", 1)[0].split(";", 1)[0]
    if platform in ("", "xcb") and not (platform == "" and env.get("WAYLAND_DISPLAY")):
        return CORE_LIBRARIES + XCB_LIBRARIES
    return CORE_LIBRARIES


def missing_libraries(
    environ: dict[str, str] | None = None, loads: Callable[[str], bool] | None = None
) -> list[tuple[str, str]]:
    """(shared object, package) of every needed library that cannot be loaded (Linux only)."""
    if not sys.platform.startswith("linux"):
        return []
    loads = loads or _loads
    return [(so, deb) for so, deb in needed_libraries(environ) if not loads(so)]


def install_command(packages: list[str]) -> str:
    return "sudo apt-get install -y " + " ".join(packages)


def require_gui_libraries(
    environ: dict[str, str] | None = None, loads: Callable[[str], bool] | None = None
) -> None:
    """Raise :class:`MissingLibrariesError` (one line) if Qt would fail to start for lack of them."""
    missing = missing_libraries(environ, loads)
    if missing:
        names = ", ".join(so for so, _ in missing)
        packages = sorted({deb for _, deb in missing})
        raise MissingLibrariesError(
            f"the window cannot open: missing system libraries {names}; "
            f"install them with: {install_command(packages)}"
        )
