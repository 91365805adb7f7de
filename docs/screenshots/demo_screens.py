"""Screenshots of every panel and the reader window on the demo workspace, on a 1366x768 screen.

Usage (offscreen, no display needed):
    QT_QPA_PLATFORM=offscreen:configfile=docs/screenshots/laptop.json \
        python docs/screenshots/demo_screens.py docs/screenshots

Builds the demo workspace in a temporary folder (``dermstudy demo``'s content) and grabs each panel of
the main window as ``demo-<panel>.png`` and the reader window as ``demo-reader.png``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtWidgets import QApplication


def settle(app: QApplication, seconds: float = 1.0) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def main(out: Path) -> None:
    from dermstudy.demo import DEMO_STUDY, build_demo
    from dermstudy.ui.app import create_application
    from dermstudy.ui.main_window import PANEL_SPECS, MainWindow
    from dermstudy.ui.screens import show_fitted

    app = create_application()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = build_demo(Path(tmp) / "demo").root
        window = MainWindow(root)
        show_fitted(window, MainWindow.PREFERRED_SIZE)
        settle(app)
        for spec in PANEL_SPECS:
            if not window.is_available(spec.name):
                continue
            window.select_panel(spec.name)
            settle(app, 3.0)
            window.grab().save(str(out / f"demo-{spec.name}.png"))
        reading = window.select_panel("reading")
        reading.ask_unlock_code = lambda: "screenshots"  # no modal dialog in a script
        reader = reading._start(root, DEMO_STUDY, "Screenshot reader")
        settle(app, 2.0)
        reader.grab().save(str(out / "demo-reader.png"))
        reader.close()
        window.close()
        settle(app)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
