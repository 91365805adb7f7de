"""The README's screenshots, all taken on the demo workspace on a 1366x768 laptop screen.

Usage (offscreen, no display needed; LibreOffice and poppler-utils for the workbook page):
    QT_QPA_PLATFORM=offscreen:configfile=docs/screenshots/laptop.json \
        python docs/screenshots/demo_screens.py docs/screenshots

Builds the demo workspace (``dermstudy demo``'s content: shipped real images, images from the demo
GLIDE model, study ``demo``) in a temporary folder, then grabs:
- ``demo-<panel>.png``: every panel of the main window (Results after "Analyse");
- ``demo-reader.png``: the reader window mid-study, answered with the keyboard;
- ``demo-reader-package.png`` and ``demo-studies-merged.png``: a reader package read as ``dr-remote``
  and its answers merged back in the Studies panel;
- ``demo-locked.png``: the main window locked after a reader session started from the Reading panel;
- ``demo-workbook.png``: a printed page of the study's workbook (the PDF LibreOffice makes).
The kill-and-resume screenshot needs a real X server: ``kill_and_resume.sh``.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QBuffer, QIODevice, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

MAX_BYTES = 300_000  # keep the repository light: quantise larger grabs to 256 colours


def settle(app: QApplication, seconds: float = 1.0) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def wait_for(app: QApplication, worker) -> None:
    while worker.is_running():
        settle(app, 0.05)
    settle(app, 0.3)


def save(widget: QWidget, target: Path) -> None:
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    widget.grab().toImage().save(buffer, "PNG")
    save_png(Image.open(io.BytesIO(bytes(buffer.data()))).convert("RGB"), target)


def save_png(picture: Image.Image, target: Path) -> None:
    picture.save(target, optimize=True)
    if target.stat().st_size > MAX_BYTES:
        picture.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)
    print(f"{target} {target.stat().st_size // 1024} KB")


def answer_cases(reader_widget: QWidget, count: int, choices: str = "sfd") -> None:
    """Answer like a reader: entity digit, AI/real key, Enter."""
    for n in range(count):
        QTest.keyClick(reader_widget, getattr(Qt.Key, f"Key_{n * 3 % 7 + 1}"))
        QTest.keyClick(reader_widget, getattr(Qt.Key, f"Key_{choices[n % len(choices)].upper()}"))
        QTest.keyClick(reader_widget, Qt.Key.Key_Return)


def grab_panels(app: QApplication, window, out: Path) -> None:
    from dermstudy.ui.main_window import PANEL_SPECS

    for spec in PANEL_SPECS:
        if not window.is_available(spec.name):
            continue
        panel = window.select_panel(spec.name)
        settle(app, 3.0)
        if spec.name == "results":
            panel.start_analysis()
            wait_for(app, panel.worker)
        save(window, out / f"demo-{spec.name}.png")


def grab_reader(app: QApplication, root: Path, study: str, out: Path) -> None:
    from dermstudy.reading import open_reading
    from dermstudy.ui.reader_window import ReaderWindow
    from dermstudy.ui.screens import show_fitted

    session = open_reading(root, study, "dr-screenshot")
    reader = ReaderWindow(session)
    show_fitted(reader, ReaderWindow.PREFERRED_SIZE)
    settle(app, 1.0)
    answer_cases(reader.reader, 37)
    settle(app, 1.0)
    save(reader, out / "demo-reader.png")
    reader.close()
    session.close()


def grab_package_round_trip(app: QApplication, window, tmp: Path, out: Path) -> None:
    from dermstudy.reading import open_reading
    from dermstudy.ui.reader_window import ReaderWindow
    from dermstudy.ui.screens import show_fitted

    package = tmp / "demo-package.zip"
    studies = window.select_panel("studies")
    wait_for(app, studies.export_package(package))
    remote = open_reading(package, None, "dr-remote")
    remote_window = ReaderWindow(remote)
    show_fitted(remote_window, ReaderWindow.PREFERRED_SIZE)
    settle(app, 1.0)
    answer_cases(remote_window.reader, 12, choices="ag")
    settle(app, 1.0)
    save(remote_window, out / "demo-reader-package.png")
    remote_window.close()
    remote.close()
    wait_for(app, studies.import_results(package))
    save(window, out / "demo-studies-merged.png")


def grab_lock_screen(app: QApplication, window, root: Path, study: str, out: Path) -> None:
    """A session started from the Reading panel: after the reader window closes, the lock screen."""
    reading = window.select_panel("reading")
    reading.ask_unlock_code = lambda: "screenshots"  # the coordinator's code, without the dialog
    reader = reading._start(root, study, "dr-lock")
    settle(app, 2.0)
    reader.close()
    settle(app, 1.0)
    save(window, out / "demo-locked.png")


def grab_workbook_page(root: Path, study: str, tmp: Path, out: Path) -> None:
    """Render the workbook's per-reader page as LibreOffice prints it (skipped without the tools)."""
    if not (shutil.which("soffice") and shutil.which("pdftoppm")):
        print("workbook page skipped: needs soffice (LibreOffice) and pdftoppm (poppler-utils)")
        return
    from pypdf import PdfReader

    from dermstudy.analysis.data import load_study
    from dermstudy.analysis.report import build_report
    from dermstudy.reports.bundle import write_outputs
    from dermstudy.workspace import Workspace

    with Workspace.open(root) as ws:
        data = load_study(ws, study)
    workbook = tmp / "report.xlsx"
    write_outputs(build_report(data), data, None, xlsx_path=workbook)
    subprocess.run(
        ["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp), str(workbook)],
        check=True,
        capture_output=True,
    )
    pages = [page.extract_text() for page in PdfReader(tmp / "report.pdf").pages]
    number = next(n for n, text in enumerate(pages, 1) if text.startswith("Entity classification"))
    page_range = ["-f", str(number), "-l", str(number)]
    pdftoppm = ["pdftoppm", "-r", "90", "-png", "-singlefile", *page_range]
    subprocess.run([*pdftoppm, str(tmp / "report.pdf"), str(tmp / "page")], check=True)
    save_png(Image.open(tmp / "page.png").convert("RGB"), out / "demo-workbook.png")


def main(out: Path) -> None:
    from dermstudy.demo import DEMO_STUDY, build_demo
    from dermstudy.ui.app import create_application
    from dermstudy.ui.main_window import MainWindow
    from dermstudy.ui.screens import show_fitted
    from dermstudy.ui.settings import SETTINGS_ENV

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        # A first start: no choices remembered from this machine's earlier sessions.
        os.environ[SETTINGS_ENV] = str(tmp / "settings.ini")
        app = create_application()
        root = build_demo(tmp / "demo").root
        grab_reader(app, root, DEMO_STUDY, out)
        window = MainWindow(root)
        show_fitted(window, MainWindow.PREFERRED_SIZE)
        settle(app)
        grab_panels(app, window, out)
        grab_package_round_trip(app, window, tmp, out)
        grab_lock_screen(app, window, root, DEMO_STUDY, out)
        window.close()
        settle(app)
        grab_workbook_page(root, DEMO_STUDY, tmp, out)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
