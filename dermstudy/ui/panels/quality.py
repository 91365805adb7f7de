"""Quality panel: the per-entity image-quality table, memorisation pairs side by side, export.

A thin view over :func:`dermstudy.quality.report.compute_quality` (the job behind
``dermstudy quality``), run on a :class:`~dermstudy.ui.workers.JobWorker` with progress and Cancel.
This is a coordinator view: it shows real and synthetic images together, never to readers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6 import QtWidgets
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics, QPixmap

from dermstudy.entities import parse_entity
from dermstudy.files import atomic_write_text
from dermstudy.quality.report import NearestReal, QualityOptions, QualityReport, compute_quality
from dermstudy.quality.tables import write_xlsx
from dermstudy.ui.panels.base import Panel
from dermstudy.ui.style import SPACING, job_buttons
from dermstudy.ui.viewmodels.quality import (
    ENTITY_HEADERS,
    MEMORISATION_HEADERS,
    MEMORISATION_SORT_COLUMN,
    Cell,
    memorisation_cells,
    notes_text,
    pair_captions,
    quality_cells,
    sorts_before,
    status_text,
)
from dermstudy.ui.workers import JobWorker

TITLE = "Quality"
INTRO = (
    "Synthetic images against real images of the same entity: paired SSIM/PSNR/MSE, FID, "
    "IS, KID, a classifier distance, and each synthetic image's nearest real image."
)
PAIR_SIZE = 216  # two side by side leave the memorisation table its 7 columns at 1366 px
FILTER_HINT = "KEY=PATTERN, comma-separated, e.g. model=<checkpoint SHA or file>, source=glide*"


class SortItem(QtWidgets.QTableWidgetItem):
    """A read-only cell that sorts by its view-model value (None last), not by its text."""

    def __init__(self, cell: Cell) -> None:
        super().__init__(cell.text)
        self.key = cell.key
        self.setFlags(self.flags() & ~Qt.ItemFlag.ItemIsEditable)
        if cell.right_aligned:
            self.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        elif cell.label:
            self.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        if cell.tooltip:
            self.setToolTip(cell.tooltip)

    def __lt__(self, other: QtWidgets.QTableWidgetItem) -> bool:
        return sorts_before(self.key, getattr(other, "key", None))


def parse_filters(text: str) -> tuple[tuple[str, str], ...]:
    from dermstudy.study.pools import parse_filter

    return tuple(parse_filter(part) for part in text.split(",") if part.strip())


class QualityPanel(Panel):
    TITLE = TITLE

    def __init__(self, workspace_path: Path, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(workspace_path, parent)
        self.report: QualityReport | None = None
        self._build()

    # -- layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = self.page(INTRO)
        layout.addLayout(self._build_controls())
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.setDocumentMode(True)
        self.table = self._table()
        self.overall = self._table()
        self.overall.setSortingEnabled(False)
        self.overall.horizontalHeader().setVisible(False)
        self.overall.setMaximumHeight(40)
        table_page = QtWidgets.QWidget()
        table_layout = QtWidgets.QVBoxLayout(table_page)
        table_layout.setContentsMargins(0, 0, 0, 0)
        table_layout.addWidget(self.table, 1)
        table_layout.addWidget(self.overall)
        # The overall line sits under the entity table, column for column.
        self.overall.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Fixed)
        self.overall.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.horizontalScrollBar().valueChanged.connect(
            self.overall.horizontalScrollBar().setValue
        )
        self.table.horizontalHeader().sectionResized.connect(
            lambda index, _old, new: self.overall.setColumnWidth(index, new)
        )
        self.tabs.addTab(table_page, "Per entity")
        self.tabs.addTab(self._build_memorisation(), "Memorisation")
        self.notes = QtWidgets.QTextEdit()
        self.notes.setReadOnly(True)
        self.tabs.addTab(self.notes, "Notes")
        layout.addWidget(self.tabs, 1)

    def _build_controls(self) -> QtWidgets.QGridLayout:
        grid = QtWidgets.QGridLayout()
        grid.setHorizontalSpacing(SPACING)
        self.synthetic_edit = QtWidgets.QLineEdit()
        self.synthetic_edit.setPlaceholderText(FILTER_HINT)
        self.real_edit = QtWidgets.QLineEdit()
        self.real_edit.setPlaceholderText("all real images; e.g. split=NAME:train")
        self.entity_edit = QtWidgets.QLineEdit()
        self.entity_edit.setPlaceholderText("all entities with synthetic images; e.g. mel nv df")
        grid.addWidget(QtWidgets.QLabel("Synthetic:"), 0, 0)
        grid.addWidget(self.synthetic_edit, 0, 1, 1, 3)
        grid.addWidget(QtWidgets.QLabel("Real:"), 1, 0)
        grid.addWidget(self.real_edit, 1, 1, 1, 3)
        grid.addWidget(QtWidgets.QLabel("Entities:"), 2, 0)
        grid.addWidget(self.entity_edit, 2, 1)
        options = QtWidgets.QHBoxLayout()
        self.max_real_spin = _spin(0, 100_000, 200, "real images per entity (0 = all)")
        self.seed_spin = _spin(0, 2**31 - 1, 0, "pairing and sampling seed")
        self.inception_check = QtWidgets.QCheckBox("FID / KID / IS")
        self.inception_check.setChecked(True)
        self.inception_check.setToolTip("The Inception network is slow on CPU (about 1 image/s)")
        self.classifier_check = QtWidgets.QCheckBox("Classifier distance")
        self.classifier_check.setChecked(True)
        for widget in (
            QtWidgets.QLabel("Max real:"),
            self.max_real_spin,
            QtWidgets.QLabel("Seed:"),
            self.seed_spin,
            self.inception_check,
            self.classifier_check,
        ):
            options.addWidget(widget)
        grid.addLayout(options, 2, 2, 1, 2)
        buttons = QtWidgets.QHBoxLayout()
        self.run_button, self.cancel_button = job_buttons("Compute", self.start, self.cancel)
        self.xlsx_button = QtWidgets.QPushButton("Save workbook…")
        self.xlsx_button.clicked.connect(self.export_workbook)
        self.json_button = QtWidgets.QPushButton("Save JSON…")
        self.json_button.clicked.connect(self.export_json)
        for button in (self.run_button, self.cancel_button, self.xlsx_button, self.json_button):
            buttons.addWidget(button)
        self.xlsx_button.setEnabled(False)
        self.json_button.setEnabled(False)
        self.progress_bar = QtWidgets.QProgressBar()
        self.progress_bar.setVisible(False)
        buttons.addWidget(self.progress_bar, 1)
        self.status_label = QtWidgets.QLabel()
        self.status_label.setProperty("role", "hint")
        buttons.addWidget(self.status_label, 1)
        grid.addLayout(buttons, 3, 0, 1, 4)
        grid.setColumnStretch(1, 1)
        return grid

    def _table(self) -> QtWidgets.QTableWidget:
        table = QtWidgets.QTableWidget(0, len(ENTITY_HEADERS))
        table.setHorizontalHeaderLabels(ENTITY_HEADERS)
        table.setSortingEnabled(True)
        table.verticalHeader().setVisible(False)
        table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        return table

    def _build_memorisation(self) -> QtWidgets.QWidget:
        self.memo_table = QtWidgets.QTableWidget(0, len(MEMORISATION_HEADERS))
        self.memo_table.setHorizontalHeaderLabels(MEMORISATION_HEADERS)
        self.memo_table.setSortingEnabled(True)
        self.memo_table.verticalHeader().setVisible(False)
        self.memo_table.setSelectionBehavior(
            QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows
        )
        self.memo_table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.memo_table.itemSelectionChanged.connect(self._show_pair)
        pair = QtWidgets.QWidget()
        pair_layout = QtWidgets.QGridLayout(pair)
        self.synthetic_image = _image_label()
        self.real_image = _image_label()
        self.synthetic_caption = QtWidgets.QLabel("Synthetic")
        self.real_caption = QtWidgets.QLabel("Nearest real image (pixels)")
        for caption in (self.synthetic_caption, self.real_caption):
            caption.setWordWrap(True)  # a long caption must not widen the pair over the table
            caption.setMaximumWidth(PAIR_SIZE)
            caption.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom)
        pair_layout.addWidget(self.synthetic_caption, 0, 0)
        pair_layout.addWidget(self.real_caption, 0, 1)
        pair_layout.addWidget(self.synthetic_image, 1, 0)
        pair_layout.addWidget(self.real_image, 1, 1)
        pair_layout.setRowStretch(2, 1)
        splitter = QtWidgets.QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.memo_table)
        splitter.addWidget(pair)
        splitter.setStretchFactor(0, 1)
        splitter.setSizes([620, 2 * PAIR_SIZE + 3 * SPACING])
        return splitter

    # -- running -------------------------------------------------------------------------------
    def options(self) -> QualityOptions:
        """The form as options; ValueError with a readable message for bad input."""
        entities = tuple(parse_entity(text) for text in self.entity_edit.text().split())
        return QualityOptions(
            synthetic_filters=parse_filters(self.synthetic_edit.text()),
            real_filters=parse_filters(self.real_edit.text()),
            entities=entities,
            seed=self.seed_spin.value(),
            max_real=self.max_real_spin.value(),
            inception=self.inception_check.isChecked(),
            classifier="auto" if self.classifier_check.isChecked() else None,
        )

    def start(self) -> JobWorker | None:
        try:
            options = self.options()
        except ValueError as exc:
            QtWidgets.QMessageBox.warning(self, "Quality", str(exc))
            return None
        path = self.workspace_path
        return self.start_job(
            lambda progress, cancel: compute_quality(path, options, progress, cancel),
            "Computing…",
            self.show_report,
        )

    def cancel(self) -> None:
        self.cancel_job()

    def set_busy(self, busy: bool, label: str = "") -> None:
        self.run_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        self.xlsx_button.setEnabled(not busy and self.report is not None)
        self.json_button.setEnabled(not busy and self.report is not None)
        self.show_busy_progress(busy, label)

    # -- showing -------------------------------------------------------------------------------
    def show_report(self, report: QualityReport) -> None:
        self.report = report
        _fill(self.table, [quality_cells(row) for row in report.rows], sort_column=0)
        _fill(self.overall, [quality_cells(report.overall)])
        _fit_columns(self.table, self.overall)
        self._fill_memorisation(report.memorisation)
        self.notes.setPlainText(notes_text(report))
        self.status_label.setText(status_text(report))

    def _fill_memorisation(self, items: list[NearestReal]) -> None:
        rows = [memorisation_cells(m) for m in items]
        _fill(self.memo_table, rows, sort_column=MEMORISATION_SORT_COLUMN, data=items)
        _fit_columns(self.memo_table)
        if items:
            self.memo_table.selectRow(0)

    def selected_pair(self) -> NearestReal | None:
        rows = self.memo_table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.memo_table.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole)

    def _show_pair(self) -> None:
        pair = self.selected_pair()
        if pair is None:
            return
        _set_image(self.synthetic_image, pair.synthetic_path)
        _set_image(self.real_image, pair.pixel_real_path)
        synthetic_caption, real_caption = pair_captions(pair)
        self.synthetic_caption.setText(synthetic_caption)
        self.real_caption.setText(real_caption)

    # -- export --------------------------------------------------------------------------------
    def export_workbook(self, path: str | None = None) -> None:
        """Save the shown report as a workbook (asks where when no ``path`` is given)."""
        self._export(path, "Save workbook", "quality.xlsx", lambda to: write_xlsx(self.report, to))

    def export_json(self, path: str | None = None) -> None:
        """Save the shown report as JSON (asks where when no ``path`` is given)."""
        self._export(path, "Save JSON", "quality.json", self._write_json)

    def _write_json(self, path: Path) -> None:
        atomic_write_text(path, json.dumps(self.report.to_dict(), indent=2, default=str))

    def _export(
        self, path: str | None, caption: str, file_name: str, write: Callable[[Path], None]
    ) -> None:
        if self.report is None:
            return
        if not path:
            pattern = f"*{Path(file_name).suffix}"
            path, _ = QtWidgets.QFileDialog.getSaveFileName(self, caption, file_name, pattern)
        if path:
            write(Path(path))
            self.status_label.setText(f"Saved {path}")


def _fill(
    table: QtWidgets.QTableWidget,
    rows: list[list[Cell]],
    sort_column: int | None = None,
    data: Sequence[object] = (),
) -> None:
    """Put view-model rows into ``table``, sorted by ``sort_column`` (None: not sortable);
    ``data[i]`` rides on row i's first item, so it follows the row when the user sorts."""
    table.setSortingEnabled(False)
    table.setRowCount(len(rows))
    for r, cells in enumerate(rows):
        items = [SortItem(cell) for cell in cells]
        if data:
            items[0].setData(Qt.ItemDataRole.UserRole, data[r])
        for c, item in enumerate(items):
            table.setItem(r, c, item)
    if sort_column is not None:
        table.setSortingEnabled(True)
        table.sortItems(sort_column, Qt.SortOrder.AscendingOrder)


def _fit_columns(table: QtWidgets.QTableWidget, *below: QtWidgets.QTableWidget) -> None:
    """Each column as wide as its header and its widest cell, in ``table`` and in the tables
    lined up column for column under it."""
    tables = (table, *below)
    for column in range(table.columnCount()):
        width = max(_header_width(table, column), *(t.sizeHintForColumn(column) for t in tables))
        for t in tables:
            t.setColumnWidth(column, width)


def _header_width(table: QtWidgets.QTableWidget, column: int) -> int:
    """The header text's widest line plus padding and the sort arrow; Qt's own section size hint
    reserves far more, which pushed the last columns off a 1366-px screen."""
    item = table.horizontalHeaderItem(column)
    font = table.horizontalHeader().font()
    font.setBold(True)
    metrics = QFontMetrics(font)
    lines = item.text().split("\n") if item else [""]
    return max(metrics.horizontalAdvance(line) for line in lines) + 24  # padding 2 x 6, arrow


def _spin(low: int, high: int, val: int, tip: str) -> QtWidgets.QSpinBox:
    spin = QtWidgets.QSpinBox()
    spin.setRange(low, high)
    spin.setValue(val)
    spin.setToolTip(tip)
    return spin


def _image_label() -> QtWidgets.QLabel:
    label = QtWidgets.QLabel()
    label.setFixedSize(PAIR_SIZE, PAIR_SIZE)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setStyleSheet("QLabel { background: #202020; }")
    return label


def _set_image(label: QtWidgets.QLabel, path: str) -> None:
    pixmap = QPixmap(path)
    if pixmap.isNull():
        label.setText("(image not readable)")
        return
    label.setPixmap(
        pixmap.scaled(
            PAIR_SIZE,
            PAIR_SIZE,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
    )


create_panel = QualityPanel  # the panel protocol's factory: (workspace_path, parent=None)
