"""The Dataset panel: per-entity counts, a lazy thumbnail grid with filters, image details, imports.

The grid is a ``QListView`` in icon mode over :class:`~dermstudy.ui.thumbnails.ThumbnailListModel`
(no widget per image); thumbnails are made and decoded off the UI thread and cached on disk under
``<workspace>/cache/thumbs``. Imports call the Qt-free ``dermstudy.datasets`` jobs on a
:class:`~dermstudy.ui.workers.JobWorker` with a progress bar and a Cancel button; a cancelled import
leaves the workspace as it was (the import functions guarantee that).
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6 import QtWidgets
from PySide6.QtCore import QModelIndex, QSize, Qt
from PySide6.QtGui import QPixmap

from dermstudy.datasets.summary import dataset_summary
from dermstudy.entities import BY_CODE, CODES, ENTITIES
from dermstudy.jobs import ProgressEvent
from dermstudy.ui.file_dialogs import existing_folder, open_file
from dermstudy.ui.panels.base import Panel
from dermstudy.ui.style import (
    SPACING,
    browse_row,
    dialog_layout,
    hint_label,
    ok_cancel_buttons,
    page_layout,
    set_role,
)
from dermstudy.ui.thumbnails import ImageRow, ThumbnailListModel, ThumbnailLoader
from dermstudy.ui.viewmodels.dataset import CountRow, DatasetCounts, dataset_counts
from dermstudy.ui.workers import JobWorker
from dermstudy.workspace import Workspace
from dermstudy.workspace.images import ImageRepository

TITLE = "Dataset"


def query_rows(
    ws: Workspace, entity: str | None = None, source_filter: str | None = None
) -> list[ImageRow]:
    """Image rows in report order of entity, then import order; filters are optional.

    ``source_filter`` is ``"kind:real"``, ``"kind:synthetic"`` or ``"source:<label>"``.
    """
    return ImageRepository(ws).listing(entity, source_filter)


class ImageDetailsDialog(QtWidgets.QDialog):
    """One image at full size (fitted to the screen) beside everything the workspace knows of it."""

    def __init__(
        self, workspace_root: Path, record: dict, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        label = record.get("source_id") or record["sha256"][:12]
        self.setWindowTitle(f"{label} — {BY_CODE[record['entity']].name}")
        layout = QtWidgets.QHBoxLayout(self)
        layout.setSpacing(SPACING * 2)
        self.image_label = QtWidgets.QLabel()
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        pixmap = QPixmap(str(Path(workspace_root) / record["file"]))
        if pixmap.isNull():
            self.image_label.setText(f"Cannot display {record['file']}")
            self.image_label.setProperty("role", "error")
        else:
            screen = self.screen().availableGeometry().size() if self.screen() else QSize(1200, 900)
            limit = QSize(int(screen.width() * 0.6), int(screen.height() * 0.75))
            if pixmap.width() > limit.width() or pixmap.height() > limit.height():
                pixmap = pixmap.scaled(
                    limit,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            self.image_label.setPixmap(pixmap)
        layout.addWidget(self.image_label, 1)
        layout.addWidget(self._metadata_widget(record))

    def _metadata_widget(self, record: dict) -> QtWidgets.QWidget:
        form_host = QtWidgets.QWidget()
        form = QtWidgets.QFormLayout(form_host)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        entity = BY_CODE[record["entity"]]
        rows: list[tuple[str, str]] = [
            ("Entity", f"{entity.name} ({entity.code})"),
            ("Kind", record["kind"]),
            ("Source", record["source"]),
            ("Source id", record.get("source_id") or "—"),
            ("Lesion id", record.get("lesion_id") or "—"),
            ("Size", f"{record['width']} × {record['height']} {record['format']}"),
            ("SHA-256", record["sha256"]),
            ("Added", record["created_at"]),
        ]
        try:
            provenance = json.loads(record.get("provenance") or "{}")
        except json.JSONDecodeError:
            provenance = {"provenance": record.get("provenance")}
        rows += [(str(key), _format_value(value)) for key, value in sorted(provenance.items())]
        for name, value in rows:
            value_label = QtWidgets.QLabel(value)
            value_label.setWordWrap(True)
            value_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(f"{name}:", value_label)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(form_host)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(540)  # a SHA-256 is one unbreakable 64-character word
        return scroll


def _format_value(value: object) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return "—" if value is None or value == "" else str(value)


class SyntheticImportDialog(QtWidgets.QDialog):
    """Asks what to import: a folder of one entity, or a CSV of ``file,entity``; and a source label."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        form = dialog_layout(self, "Import synthetic images", 520, QtWidgets.QFormLayout)
        self.folder_mode = QtWidgets.QRadioButton("A folder of images that all show one entity")
        self.csv_mode = QtWidgets.QRadioButton("A CSV file with columns file,entity")
        self.folder_mode.setChecked(True)
        modes = QtWidgets.QButtonGroup(self)
        modes.addButton(self.folder_mode)
        modes.addButton(self.csv_mode)
        form.addRow(self.folder_mode)
        form.addRow(self.csv_mode)
        self.path_edit = QtWidgets.QLineEdit()
        form.addRow("Folder or CSV:", browse_row(self.path_edit, self._browse))
        self.entity_combo = QtWidgets.QComboBox()
        for entity in ENTITIES:
            self.entity_combo.addItem(f"{entity.short_name} ({entity.code})", entity.code)
        form.addRow("Entity:", self.entity_combo)
        self.folder_mode.toggled.connect(self.entity_combo.setEnabled)
        self.source_edit = QtWidgets.QLineEdit("external")
        self.source_edit.setToolTip(
            "Recorded as the images' source label, e.g. the generating tool"
        )
        form.addRow("Source label:", self.source_edit)
        form.addRow(ok_cancel_buttons(self, self._accept_if_valid))

    def _browse(self) -> None:
        if self.folder_mode.isChecked():
            chosen = existing_folder(self, "Folder of synthetic images")
        else:
            chosen = open_file(self, "CSV file", "CSV files (*.csv)")
        if chosen:
            self.path_edit.setText(chosen)

    def _accept_if_valid(self) -> None:
        path = Path(self.path_edit.text().strip())
        if not self.path_edit.text().strip() or not path.exists():
            QtWidgets.QMessageBox.warning(
                self, "Import synthetic images", f"{path}: no such file or folder"
            )
            return
        self.accept()

    def choice(self) -> tuple[str, Path, str | None, str]:
        """(mode, path, entity code or None, source label)."""
        mode = "folder" if self.folder_mode.isChecked() else "csv"
        entity = self.entity_combo.currentData() if mode == "folder" else None
        return mode, Path(self.path_edit.text().strip()), entity, self.source_edit.text().strip()


class DatasetPanel(Panel):
    """Counts, filters, thumbnail grid and import actions for one workspace."""

    TITLE = TITLE

    def __init__(self, workspace_path: Path, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(workspace_path, parent, open_workspace=True)
        self._details: dict[int, ImageDetailsDialog] = {}  # open detail windows by image id
        self.last_summary: object = None
        self.loader = ThumbnailLoader(self.ws.root, threads=2, parent=self)
        self.model = ThumbnailListModel(self.loader, self)
        self._build()
        self._reload_sources()
        self.refresh()

    # -- layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        self.summary_label = hint_label()
        layout = page_layout(self, "Dataset", self.summary_label)

        top = QtWidgets.QHBoxLayout()
        top.setSpacing(SPACING * 2)
        top.addWidget(self._build_counts(), 3)
        top.addWidget(self._build_imports(), 2)
        layout.addLayout(top)
        layout.addLayout(self._build_filters())

        self.view = QtWidgets.QListView()
        self.view.setViewMode(QtWidgets.QListView.ViewMode.IconMode)
        self.view.setResizeMode(QtWidgets.QListView.ResizeMode.Adjust)
        self.view.setMovement(QtWidgets.QListView.Movement.Static)
        self.view.setUniformItemSizes(True)  # the view never asks every row for its size
        self.view.setLayoutMode(QtWidgets.QListView.LayoutMode.Batched)
        self.view.setBatchSize(500)
        self.view.setSpacing(4)
        self.view.setSelectionMode(QtWidgets.QListView.SelectionMode.SingleSelection)
        self.view.setModel(self.model)
        # ``activated`` is the double-click (or Enter, or the platform's single click); connecting
        # ``doubleClicked`` as well opened every window twice.
        self.view.activated.connect(self._on_double_click)
        layout.addWidget(self.view, 1)

    def _build_counts(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Images per entity")
        box_layout = QtWidgets.QVBoxLayout(box)
        self.counts_table = QtWidgets.QTableWidget(len(CODES) + 1, 5)
        self.counts_table.setHorizontalHeaderLabels(
            ["Code", "Entity", "Real", "Synthetic", "Total"]
        )
        self.counts_table.verticalHeader().setVisible(False)
        self.counts_table.setEditTriggers(QtWidgets.QTableWidget.EditTrigger.NoEditTriggers)
        self.counts_table.setSelectionMode(QtWidgets.QTableWidget.SelectionMode.NoSelection)
        self.counts_table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.counts_table.horizontalHeader()
        header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.counts_table.verticalHeader().setDefaultSectionSize(24)
        height = header.sizeHint().height() + 24 * (len(CODES) + 1) + 4
        self.counts_table.setFixedHeight(height)
        box_layout.addWidget(self.counts_table)
        return box

    def _build_imports(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Import")
        box_layout = QtWidgets.QVBoxLayout(box)
        self.ham_button = QtWidgets.QPushButton("Import HAM10000 folder…")
        self.ham_button.setProperty("role", "primary")
        self.ham_button.setToolTip(
            "A folder with HAM10000_metadata.csv and the image files (anywhere below it)"
        )
        self.ham_button.clicked.connect(self._choose_ham_folder)
        self.synthetic_button = QtWidgets.QPushButton("Import synthetic images…")
        self.synthetic_button.setToolTip(
            "Images generated elsewhere: a folder of one entity or a CSV"
        )
        self.synthetic_button.clicked.connect(self._choose_synthetic)
        self.progress_bar = QtWidgets.QProgressBar()
        self.progress_bar.setVisible(False)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_import)
        progress_row = QtWidgets.QHBoxLayout()
        progress_row.addWidget(self.progress_bar, 1)
        progress_row.addWidget(self.cancel_button)
        self.import_status = QtWidgets.QLabel(
            "Imports are checked first and committed in one step."
        )
        self.import_status.setProperty("role", "hint")
        self.import_status.setWordWrap(True)
        box_layout.addWidget(self.ham_button)
        box_layout.addWidget(self.synthetic_button)
        box_layout.addLayout(progress_row)
        box_layout.addWidget(self.import_status)
        box_layout.addStretch(1)
        return box

    def _build_filters(self) -> QtWidgets.QHBoxLayout:
        row = QtWidgets.QHBoxLayout()
        row.setSpacing(SPACING)
        self.entity_filter = QtWidgets.QComboBox()
        self.entity_filter.addItem("All entities", None)
        for entity in ENTITIES:
            self.entity_filter.addItem(f"{entity.short_name} ({entity.code})", entity.code)
        self.source_filter = QtWidgets.QComboBox()
        self.source_filter.setMinimumWidth(200)
        self.entity_filter.currentIndexChanged.connect(self.apply_filters)
        self.source_filter.currentIndexChanged.connect(self.apply_filters)
        self.shown_label = QtWidgets.QLabel()
        self.shown_label.setProperty("role", "hint")
        row.addWidget(QtWidgets.QLabel("Entity:"))
        row.addWidget(self.entity_filter)
        row.addSpacing(SPACING)
        row.addWidget(QtWidgets.QLabel("Source:"))
        row.addWidget(self.source_filter)
        row.addStretch(1)
        row.addWidget(self.shown_label)
        return row

    # -- data ----------------------------------------------------------------------------------
    def _reload_sources(self) -> None:
        """Fill the source filter: all, by kind, then each recorded source; keep the selection."""
        current = self.source_filter.currentData()
        self.source_filter.blockSignals(True)
        self.source_filter.clear()
        self.source_filter.addItem("All sources", None)
        self.source_filter.addItem("Real images", "kind:real")
        self.source_filter.addItem("Synthetic images", "kind:synthetic")
        for source in ImageRepository(self.ws).sources():
            self.source_filter.addItem(f"Source: {source}", f"source:{source}")
        found = self.source_filter.findData(current)
        self.source_filter.setCurrentIndex(max(0, found))
        self.source_filter.blockSignals(False)

    def refresh(self) -> None:
        """Re-read counts, sources and the grid from the workspace (keeps the filters)."""
        if self._closed:
            return
        self._reload_sources()
        self._fill_counts(dataset_counts(dataset_summary(self.ws)["by_entity"]))
        self.apply_filters()

    def _fill_counts(self, counts: DatasetCounts) -> None:
        for row, count in enumerate(counts.rows):
            self._set_row(row, count)
        self._set_row(len(counts.rows), counts.total, bold=True)
        self.summary_label.setText(counts.summary_text(self.ws.root))

    def _set_row(self, row: int, count: CountRow, bold: bool = False) -> None:
        for column, value in enumerate(count.cells()):
            item = QtWidgets.QTableWidgetItem(value)
            if column >= 2:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if bold:
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self.counts_table.setItem(row, column, item)

    def apply_filters(self) -> None:
        rows = query_rows(
            self.ws, self.entity_filter.currentData(), self.source_filter.currentData()
        )
        self.model.set_rows(rows)
        self.shown_label.setText(f"Showing {len(rows):,} images · double-click for details")

    def image_record(self, image_id: int) -> dict:
        record = ImageRepository(self.ws).record(image_id)
        if record is None:
            raise KeyError(image_id)  # the grid only shows stored images
        return record

    def open_details(self, row: int) -> ImageDetailsDialog:
        """Show the image at ``row`` of the grid with its metadata (non-modal; returned for tests)."""
        image_id = self.model.row_at(row).id
        open_dialog = self._details.get(image_id)
        if open_dialog is not None:  # one window per image: bring it forward instead
            open_dialog.raise_()
            open_dialog.activateWindow()
            return open_dialog
        record = self.image_record(image_id)
        dialog = ImageDetailsDialog(self.ws.root, record, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._details[image_id] = dialog
        dialog.destroyed.connect(lambda _=None, key=image_id: self._details.pop(key, None))
        dialog.show()
        return dialog

    def _on_double_click(self, index: QModelIndex) -> None:
        if index.isValid():
            self.open_details(index.row())

    # -- imports -------------------------------------------------------------------------------
    def _choose_ham_folder(self) -> None:
        folder = existing_folder(self, "HAM10000 folder (with HAM10000_metadata.csv)")
        if folder:
            self.import_ham10000_folder(Path(folder))

    def _choose_synthetic(self) -> None:
        dialog = SyntheticImportDialog(self)
        if dialog.exec() == QtWidgets.QDialog.DialogCode.Accepted:
            mode, path, entity, source = dialog.choice()
            self.import_synthetic_path(mode, path, entity, source or "external")

    def import_ham10000_folder(self, folder: Path) -> JobWorker:
        """Start importing a HAM10000-layout folder in the background."""
        from dermstudy.datasets.ham10000 import import_ham10000

        root = self.ws.root

        def job(progress, cancel):
            with Workspace.open(root) as ws:  # this thread's own connection
                return import_ham10000(ws, folder, progress=progress, cancel=cancel)

        return self._start_job(f"Importing {folder.name}…", job)

    def import_synthetic_path(
        self, mode: str, path: Path, entity: str | None, source_label: str
    ) -> JobWorker:
        """Start importing synthetic images from a folder (one entity) or a ``file,entity`` CSV."""
        from dermstudy.datasets.synthetic import files_from_csv, files_from_folder, import_synthetic

        root = self.ws.root

        def job(progress, cancel):
            if mode == "csv":
                files, skipped = files_from_csv(path)
            else:
                files, skipped = files_from_folder(path, entity or ""), []
            with Workspace.open(root) as ws:
                return import_synthetic(ws, files, source_label, progress, cancel, skipped)

        return self._start_job(f"Importing synthetic images from {path.name}…", job)

    def _start_job(self, label: str, job) -> JobWorker:
        return self.start_job(
            job,
            label,
            self._on_import_finished,
            cancelled=lambda: self._on_import_finished(None),
            busy_message="an import is already running",
        )

    def cancel_import(self) -> None:
        if self.worker is not None and self.worker.is_running():
            self.worker.cancel()
            self.cancel_button.setEnabled(False)
            self.import_status.setText("Cancelling… nothing will be imported.")

    def set_busy(self, busy: bool, label: str = "") -> None:
        self.ham_button.setEnabled(not busy)
        self.synthetic_button.setEnabled(not busy)
        self.progress_bar.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.cancel_button.setEnabled(busy)
        if busy:
            self.progress_bar.setRange(0, 0)
            set_role(self.import_status, "hint")
            self.import_status.setText(label)

    def on_progress(self, event: ProgressEvent) -> None:
        if event.total:
            self.progress_bar.setRange(0, event.total)
            self.progress_bar.setValue(min(event.done, event.total))
        else:
            self.progress_bar.setRange(0, 0)
        if event.message:
            self.import_status.setText(f"{event.message} ({event.done:,}/{event.total or '?'})")

    def _on_import_finished(self, summary: object) -> None:
        self.last_summary = summary
        if summary is None or getattr(summary, "cancelled", False):
            self.import_status.setText("Import cancelled; the workspace is unchanged.")
            return
        imported = sum(getattr(summary, "imported", {}).values())
        skipped = len(getattr(summary, "skipped", []))
        present = getattr(summary, "already_present", 0)
        text = f"Imported {imported:,} images; {present:,} already present; {skipped:,} skipped."
        self.import_status.setText(text)
        if skipped and self.isVisible():
            box = QtWidgets.QMessageBox(
                QtWidgets.QMessageBox.Icon.Warning, "Import finished", text, parent=self
            )
            box.setDetailedText(summary.to_text() if hasattr(summary, "to_text") else str(summary))
            box.open()

    def on_failed(self, message: str) -> None:
        self.last_summary = None
        set_role(self.import_status, "error")
        self.import_status.setText(f"Import failed: {message}")

    def on_done(self) -> None:
        self.set_busy(False)
        self.refresh()
        self.workspace_changed.emit()

    # -- lifetime ------------------------------------------------------------------------------
    def close_resources(self) -> None:
        """Stop the thumbnail threads (after the base has cancelled a running import)."""
        self.loader.shutdown()


create_panel = DatasetPanel  # the panel protocol's factory: (workspace_path, parent=None)
