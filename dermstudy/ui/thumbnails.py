"""Thumbnails for the image grids: a disk cache in the workspace and a background loader.

* :func:`ensure_thumbnail` (Qt-free, Pillow) writes ``<workspace>/cache/thumbs/<sha256>.png`` once per
  image; the cache is disposable (deleting the folder only costs time) and is named by content hash,
  so it can never show a stale picture.
* :class:`ThumbnailLoader` decodes thumbnails on background ``QThread``\\ s, most recent request first
  (what the user scrolled to is what they look at), and hands ``QImage``\\ s to the UI thread.
* :class:`ThumbnailListModel` is a ``QAbstractListModel`` over plain image rows: it asks for a thumbnail
  only when the view paints a row, so a grid of 10,015 images costs 10,015 tuples, not widgets.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from pathlib import Path

from PIL import Image
from PySide6 import QtCore
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap

from dermstudy.datasets.images import to_rgb
from dermstudy.entities import BY_CODE
from dermstudy.workspace.core import atomic_write_bytes
from dermstudy.workspace.images import ImageListing

THUMB_SIZE = 120
_MAX_PENDING = 600  # older requests than this were scrolled past long ago; drop them
_PIXMAP_CACHE = 4000  # decoded thumbnails kept in memory (~60 KB each at most)


def thumbnail_dir(workspace_root: Path) -> Path:
    return Path(workspace_root) / "cache" / "thumbs"


def thumbnail_path(workspace_root: Path, sha256: str) -> Path:
    return thumbnail_dir(workspace_root) / f"{sha256}.png"


def ensure_thumbnail(
    workspace_root: Path, sha256: str, source: Path, size: int = THUMB_SIZE
) -> Path:
    """The cached thumbnail of ``source``, made first if needed (at most ``size`` px per side)."""
    target = thumbnail_path(workspace_root, sha256)
    if target.exists():
        return target
    with Image.open(source) as image:
        image.draft("RGB", (size, size))  # JPEG: decode at reduced scale, several times faster
        small = to_rgb(image)
        small.thumbnail((size, size), Image.Resampling.LANCZOS, reducing_gap=2.0)
    buffer = io.BytesIO()
    small.save(buffer, "PNG", compress_level=1)
    # Two loader threads may make the same thumbnail; the rename means neither sees half a file.
    atomic_write_bytes(target, buffer.getvalue(), fsync=False)  # a disposable cache: no fsync
    return target


class _LoaderThread(QtCore.QThread):
    def __init__(self, loader: ThumbnailLoader) -> None:
        super().__init__()
        self._loader = loader

    def run(self) -> None:
        self._loader._work()


class ThumbnailLoader(QtCore.QObject):
    """Makes and decodes thumbnails on background threads; ``loaded(sha256, QImage)`` on the UI thread."""

    loaded = QtCore.Signal(str, QImage)
    failed = QtCore.Signal(str, str)  # sha256, one-line reason

    def __init__(
        self, workspace_root: Path, threads: int = 2, parent: QtCore.QObject | None = None
    ):
        super().__init__(parent)
        self.workspace_root = Path(workspace_root)
        self._stack: OrderedDict[str, Path] = OrderedDict()  # sha → source file, newest last
        self._in_flight: set[str] = set()
        self._condition = threading.Condition()
        self._stopping = False
        self._threads = [_LoaderThread(self) for _ in range(max(1, threads))]
        for thread in self._threads:
            thread.start()
        app = QtCore.QCoreApplication.instance()
        if app is not None:  # a panel nobody shut down must not leave running threads at exit
            app.aboutToQuit.connect(self.shutdown)

    def request(self, sha256: str, source: Path) -> None:
        """Queue a thumbnail (again: moves it to the front). Cheap; call it from ``data()``."""
        with self._condition:
            if sha256 in self._in_flight:
                return
            self._stack[sha256] = source
            self._stack.move_to_end(sha256)
            while len(self._stack) > _MAX_PENDING:
                self._stack.popitem(last=False)
            self._condition.notify()

    def clear(self) -> None:
        """Forget queued requests (after a filter change, they are for rows no longer shown)."""
        with self._condition:
            self._stack.clear()

    def pending(self) -> int:
        with self._condition:
            return len(self._stack) + len(self._in_flight)

    def shutdown(self) -> None:
        with self._condition:
            self._stopping = True
            self._stack.clear()
            self._condition.notify_all()
        for thread in self._threads:
            thread.wait(5000)

    def _work(self) -> None:  # runs on a loader thread
        while True:
            with self._condition:
                while not self._stack and not self._stopping:
                    self._condition.wait()
                if self._stopping:
                    return
                sha, source = self._stack.popitem(last=True)
                self._in_flight.add(sha)
            try:
                image = self._load(sha, source)
            except Exception as exc:  # a bad file must not stop the loader
                self.failed.emit(sha, f"{source.name}: {exc}")
            else:
                self.loaded.emit(sha, image)
            finally:
                with self._condition:
                    self._in_flight.discard(sha)

    def _load(self, sha: str, source: Path) -> QImage:
        path = ensure_thumbnail(self.workspace_root, sha, source)
        image = QImage(str(path))
        if image.isNull():  # a damaged cache file: make it again
            path.unlink(missing_ok=True)
            image = QImage(str(ensure_thumbnail(self.workspace_root, sha, source)))
        if image.isNull():
            raise OSError("cannot decode thumbnail")
        return image


# What the grid needs to know about one workspace image: the store's listing row.
ImageRow = ImageListing


def placeholder_pixmap(size: int = THUMB_SIZE) -> QPixmap:
    pixmap = QPixmap(size, size * 3 // 4)
    pixmap.fill(QtCore.Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QtCore.Qt.PenStyle.NoPen)
    painter.setBrush(QColor("#e4e8ec"))
    painter.drawRoundedRect(pixmap.rect().adjusted(1, 1, -1, -1), 6, 6)
    painter.end()
    return pixmap


class ThumbnailListModel(QtCore.QAbstractListModel):
    """Rows of :class:`ImageRow`; thumbnails are requested lazily when a row is painted."""

    ImageIdRole = QtCore.Qt.ItemDataRole.UserRole + 1
    RowRole = QtCore.Qt.ItemDataRole.UserRole + 2

    def __init__(self, loader: ThumbnailLoader, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.loader = loader
        self._rows: list[ImageRow] = []
        self._row_of: dict[str, list[int]] = {}
        self._pixmaps: OrderedDict[str, QPixmap] = OrderedDict()
        self._failed: set[str] = set()
        self._placeholder = placeholder_pixmap()
        loader.loaded.connect(self._on_loaded)
        loader.failed.connect(self._on_failed)

    # -- content -------------------------------------------------------------------------------
    def set_rows(self, rows: list[ImageRow]) -> None:
        self.beginResetModel()
        self._rows = rows
        self._row_of = {}
        for index, row in enumerate(rows):
            self._row_of.setdefault(row.sha256, []).append(index)
        self.endResetModel()
        self.loader.clear()

    def row_at(self, index: int) -> ImageRow:
        return self._rows[index]

    def has_thumbnail(self, sha256: str) -> bool:
        return sha256 in self._pixmaps

    # -- Qt model API --------------------------------------------------------------------------
    def rowCount(
        self, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex = QtCore.QModelIndex()
    ) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def data(
        self,
        index: QtCore.QModelIndex | QtCore.QPersistentModelIndex,
        role: int = QtCore.Qt.ItemDataRole.DisplayRole,
    ):
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == QtCore.Qt.ItemDataRole.DecorationRole:
            return self._decoration(row)
        if role == QtCore.Qt.ItemDataRole.DisplayRole:
            return f"{row.entity} · {row.kind}"
        if role == QtCore.Qt.ItemDataRole.ToolTipRole:
            label = row.source_id or row.sha256[:12]
            return f"{label}\n{BY_CODE[row.entity].name}\n{row.kind}, source {row.source}"
        if role == QtCore.Qt.ItemDataRole.SizeHintRole:
            return QtCore.QSize(THUMB_SIZE + 16, THUMB_SIZE * 3 // 4 + 36)
        if role == self.ImageIdRole:
            return row.id
        if role == self.RowRole:
            return row
        return None

    def _decoration(self, row: ImageRow) -> QPixmap:
        pixmap = self._pixmaps.get(row.sha256)
        if pixmap is not None:
            self._pixmaps.move_to_end(row.sha256)
            return pixmap
        if row.sha256 not in self._failed:
            self.loader.request(row.sha256, self.loader.workspace_root / row.file)
        return self._placeholder

    def _on_loaded(self, sha256: str, image: QImage) -> None:
        self._pixmaps[sha256] = QPixmap.fromImage(image)
        while len(self._pixmaps) > _PIXMAP_CACHE:
            self._pixmaps.popitem(last=False)
        self._emit_changed(sha256)

    def _on_failed(self, sha256: str, _reason: str) -> None:
        self._failed.add(sha256)

    def _emit_changed(self, sha256: str) -> None:
        for row in self._row_of.get(sha256, ()):
            index = self.index(row)
            self.dataChanged.emit(index, index, [QtCore.Qt.ItemDataRole.DecorationRole])
