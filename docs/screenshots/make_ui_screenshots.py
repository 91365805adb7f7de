"""Re-create the README screenshots of the main window, Studies and Reading panels, reader window.

Builds a throw-away workspace from the embedded demo images (``resources/demo``), adds stand-in
"synthetic" images so the study has both kinds (blurred, recoloured copies of demo images, imported
with the source label ``stand-in`` — no GLIDE weights ship with the repository), creates a
7 x (10 + 10) study and drives the real widgets. Run under Xvfb or offscreen::

    Xvfb :99 & DISPLAY=:99 QT_QPA_PLATFORM=xcb python docs/screenshots/make_ui_screenshots.py
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageEnhance, ImageFilter

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from dermstudy.datasets.ham10000 import import_ham10000
from dermstudy.datasets.synthetic import import_synthetic
from dermstudy.paths import DEMO_DIR
from dermstudy.reading import open_reading
from dermstudy.study.builder import StudyDesign, create_study
from dermstudy.ui.app import create_application
from dermstudy.ui.main_window import MainWindow
from dermstudy.ui.reader_window import ReaderWindow
from dermstudy.workspace import Workspace

OUT = Path(__file__).resolve().parent
MAX_BYTES = 300_000


def stand_in_images(ws: Workspace, folder: Path, per_entity: int = 12) -> list[tuple[Path, str]]:
    """Blurred, recoloured copies of demo images, one folder, (file, entity) pairs."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for entity, relative in ws.conn.execute(
        "SELECT entity, file FROM images WHERE kind = 'real' ORDER BY entity, id"
    ):
        if sum(1 for _, e in files if e == entity) >= per_entity:
            continue
        with Image.open(ws.path_of(relative)) as image:
            square = image.convert("RGB").resize((256, 256), Image.Resampling.LANCZOS)
        soft = square.filter(ImageFilter.GaussianBlur(2.2))
        soft = ImageEnhance.Color(soft).enhance(1.25)
        target = folder / f"standin_{entity}_{len(files)}.png"
        soft.save(target)
        files.append((target, entity))
    return files


def build_workspace(root: Path) -> None:
    with Workspace.open(root) as ws:
        import_ham10000(ws, DEMO_DIR)
        files = stand_in_images(ws, root.parent / "standins")
        import_synthetic(ws, files, "stand-in")
        create_study(ws, StudyDesign.with_counts("demo-140", None, 10, 10, seed=2026))


def pump(app: QApplication, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def wait_for(app: QApplication, worker) -> None:
    while worker.is_running():
        pump(app, 0.05)
    pump(app, 0.2)


def save(widget: QWidget, name: str) -> Path:
    """Grab the widget to docs/screenshots/<name>.png, quantised if needed to stay < 300 KB."""
    image = widget.grab().toImage()
    buffer = io.BytesIO()
    from PySide6.QtCore import QBuffer, QIODevice

    qbuffer = QBuffer()
    qbuffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(qbuffer, "PNG")
    buffer.write(bytes(qbuffer.data()))
    picture = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    target = OUT / f"{name}.png"
    picture.save(target, optimize=True)
    if target.stat().st_size > MAX_BYTES:
        picture.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)
    print(f"{target} {target.stat().st_size // 1024} KB")
    return target


def real_case_codes(root: Path) -> set[str]:
    with Workspace.open(root) as ws:
        rows = ws.conn.execute(
            "SELECT cases.code FROM cases JOIN images ON images.id = cases.image_id "
            "WHERE images.kind = 'real'"
        )
        return {code for (code,) in rows}


def main() -> int:
    app = create_application()
    with tempfile.TemporaryDirectory(prefix="dermstudy-shots-") as tmp:
        root = Path(tmp) / "studies" / "demo"
        build_workspace(root)

        window = MainWindow(root)
        window.resize(1280, 820)
        window.show()
        pump(app, 2.5)  # thumbnails load in the background
        save(window, "main_window_dataset")
        window.select_panel("studies")
        pump(app, 0.5)

        session = open_reading(root, "demo-140", "dr-demo")
        reader = ReaderWindow(session)
        reader.resize(1280, 860)
        reader.show()
        pump(app, 0.5)
        real_codes = real_case_codes(root)
        n = 0
        # Mid-study, stopping on a real case: the stand-ins are only there to fill the study.
        while n < 37 or session.case_code(session.current) not in real_codes:
            QTest.keyClick(reader.reader, getattr(Qt.Key, f"Key_{n % 7 + 1}"))
            QTest.keyClick(reader.reader, (Qt.Key.Key_S, Qt.Key.Key_F, Qt.Key.Key_D)[n % 3])
            QTest.keyClick(reader.reader, Qt.Key.Key_Return)
            n += 1
        QTest.keyClick(reader.reader, Qt.Key.Key_2)
        QTest.keyClick(reader.reader, Qt.Key.Key_S)
        pump(app, 0.5)
        save(reader, "reader_window")
        reader.close()
        session.close()

        # The offline round trip: package -> reading elsewhere -> results merged back.
        package = Path(tmp) / "demo-140.zip"
        studies = window.select_panel("studies")
        wait_for(app, studies.export_package(package))
        remote = open_reading(package, None, "dr-remote")
        remote_window = ReaderWindow(remote)
        remote_window.resize(1280, 860)
        remote_window.show()
        for n in range(12):
            QTest.keyClick(remote_window.reader, getattr(Qt.Key, f"Key_{(n * 3) % 7 + 1}"))
            QTest.keyClick(remote_window.reader, (Qt.Key.Key_A, Qt.Key.Key_G)[n % 2])
            QTest.keyClick(remote_window.reader, Qt.Key.Key_Return)
        pump(app, 0.5)
        save(remote_window, "reader_from_package")
        remote_window.close()
        remote.close()
        wait_for(app, studies.import_results(package))
        pump(app, 0.5)
        save(window, "studies_panel")
        window.select_panel("reading")
        panel = window.panel("reading")
        panel.reader_edit.setText("dr-demo")
        pump(app, 0.5)
        save(window, "reading_panel")
        window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
