"""Quality panel: the per-entity image-quality table, memorisation pairs side by side, export.

A thin view over :func:`dermstudy.quality.report.compute_quality` (the job behind
``dermstudy quality``), run on a :class:`~dermstudy.ui.workers.JobWorker` with progress and Cancel.
This is a coordinator view: it shows real and synthetic images together, never to readers.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6 import QtWidgets
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics, QPixmap

from dermstudy.entities import CODES, parse_entity
from dermstudy.quality.report import NearestReal, QualityOptions, QualityReport, compute_quality
from dermstudy.quality.tables import COLUMNS, cell, value, write_xlsx
from dermstudy.ui.panels.base import Panel
from dermstudy.ui.style import SPACING, hint_label, page_layout
from dermstudy.ui.workers import JobWorker

TITLE = "Quality"
PAIR_SIZE = 216  # two side by side leave the memorisation table its 7 columns at 1366 px
FILTER_HINT = "KEY=PATTERN, comma-separated, e.g. model=<checkpoint SHA or file>, source=glide*"


class SortItem(QtWidgets.QTableWidgetItem):
    """A cell that sorts by its number (None last), not by its text."""

    def __init__(self, text: str, key: float | int | str | None) -> None:
        super().__init__(text)
        self.key = key
        self.setFlags(self.flags() & ~Qt.ItemFlag.ItemIsEditable)
        if isinstance(key, (int, float)):
            self.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def __lt__(self, other: QtWidgets.QTableWidgetItem) -> bool:
        mine, theirs = self.key, getattr(other, "key", None)
        if mine is None or theirs is None:
            return mine is not None and theirs is None
        if isinstance(mine, str) or isinstance(theirs, str):
            return str(mine) < str(theirs)
        return mine < theirs


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
        intro = hint_label(
            "Synthetic images against real images of the same entity: paired SSIM/PSNR/MSE, FID, "
            "IS, KID, a classifier distance, and each synthetic image's nearest real image."
        )
        layout = page_layout(self, "Quality", intro)
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
        self.run_button = QtWidgets.QPushButton("Compute")
        self.run_button.setProperty("role", "primary")
        self.run_button.clicked.connect(self.start)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
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
        table = QtWidgets.QTableWidget(0, len(COLUMNS))
        # Two-line headers: the 14 columns fit a 1366-px screen without scrolling sideways.
        table.setHorizontalHeaderLabels([two_lines(header) for _, header in COLUMNS])
        table.setSortingEnabled(True)
        table.verticalHeader().setVisible(False)
        table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        return table

    def _build_memorisation(self) -> QtWidgets.QWidget:
        self.memo_table = QtWidgets.QTableWidget(0, 7)
        self.memo_table.setHorizontalHeaderLabels(
            [two_lines(h) for h in ("Entity", "Synthetic", "Real (pixels)", "Pixel RMSE",
                                    "Real (Inception)", "Cosine", "Near-copy")]
        )  # fmt: skip
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
        _fill(self.table, report.rows)
        _fill(self.overall, [report.overall], sortable=False)
        for column in range(self.table.columnCount()):
            width = max(_header_width(self.table, column), self.table.sizeHintForColumn(column))
            width = max(width, self.overall.sizeHintForColumn(column))
            self.table.setColumnWidth(column, width)
            self.overall.setColumnWidth(column, width)
        self._fill_memorisation(report.memorisation)
        lines = [*report.notes]
        lines += [f"Skipped ({metric}): {reason}" for metric, reason in report.skipped.items()]
        for row in [*report.rows, report.overall]:
            lines += [f"{row.entity}: {note}" for note in row.notes]
        lines += [f"Features: {name}" for name in report.extractors.values()]
        self.notes.setPlainText("\n\n".join(lines))
        copies = report.overall.near_copies
        self.status_label.setText(
            f"{report.overall.n_synthetic} synthetic images, {len(report.rows)} entities; "
            f"{copies} near-cop{'y' if copies == 1 else 'ies'}."
        )

    def _fill_memorisation(self, items: list[NearestReal]) -> None:
        table = self.memo_table
        table.setSortingEnabled(False)
        table.setRowCount(len(items))
        for r, m in enumerate(items):
            cells = [
                SortItem(m.entity, m.entity),
                SortItem(str(m.synthetic_id), m.synthetic_id),
                SortItem(str(m.pixel_real_id), m.pixel_real_id),
                SortItem(f"{m.pixel_rmse:.4f}", m.pixel_rmse),
                SortItem(
                    "–" if m.feature_real_id is None else str(m.feature_real_id), m.feature_real_id
                ),
                SortItem(
                    "–" if m.feature_cosine is None else f"{m.feature_cosine:.4f}", m.feature_cosine
                ),
                SortItem("yes" if m.near_copy else "", int(m.near_copy)),
            ]
            cells[0].setData(Qt.ItemDataRole.UserRole, m)
            for c, item in enumerate(cells):
                table.setItem(r, c, item)
        table.setSortingEnabled(True)
        table.sortItems(3, Qt.SortOrder.AscendingOrder)
        for column in range(table.columnCount()):
            width = max(_header_width(table, column), table.sizeHintForColumn(column))
            table.setColumnWidth(column, width)
        if items:
            table.selectRow(0)

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
        flag = " — near-copy" if pair.near_copy else ""
        self.synthetic_caption.setText(f"Synthetic image {pair.synthetic_id} ({pair.entity}){flag}")
        self.real_caption.setText(
            f"Nearest real image {pair.pixel_real_id}: pixel RMSE {pair.pixel_rmse:.4f}"
        )

    # -- export --------------------------------------------------------------------------------
    def export_workbook(self, path: str | None = None) -> None:
        if self.report is None:
            return
        if not path:
            path, _ = QtWidgets.QFileDialog.getSaveFileName(
                self, "Save workbook", "quality.xlsx", "*.xlsx"
            )
        if path:
            write_xlsx(self.report, Path(path))
            self.status_label.setText(f"Saved {path}")

    def export_json(self, path: str | None = None) -> None:
        if self.report is None:
            return
        if not path:
            path, _ = QtWidgets.QFileDialog.getSaveFileName(
                self, "Save JSON", "quality.json", "*.json"
            )
        if path:
            Path(path).write_text(json.dumps(self.report.to_dict(), indent=2, default=str))
            self.status_label.setText(f"Saved {path}")


def _fill(table: QtWidgets.QTableWidget, rows, sortable: bool = True) -> None:
    table.setSortingEnabled(False)
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, (key, _) in enumerate(COLUMNS):
            text = row.entity if key == "entity" else cell(row, key)
            # Entities sort in the research's order (mel, nv, akiec, ...), not alphabetically.
            key_value = _entity_order(row.entity) if key == "entity" else value(row, key)
            item = SortItem(text, key_value)
            if key == "entity":
                item.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
                item.setToolTip("\n".join([cell(row, key), *row.notes]))
            table.setItem(r, c, item)
    table.setSortingEnabled(sortable)
    if sortable:
        table.sortItems(0, Qt.SortOrder.AscendingOrder)


def _header_width(table: QtWidgets.QTableWidget, column: int) -> int:
    """The header text's widest line plus padding and the sort arrow; Qt's own section size hint
    reserves far more, which pushed the last columns off a 1366-px screen."""
    item = table.horizontalHeaderItem(column)
    font = table.horizontalHeader().font()
    font.setBold(True)
    metrics = QFontMetrics(font)
    lines = item.text().split("\n") if item else [""]
    return max(metrics.horizontalAdvance(line) for line in lines) + 24  # padding 2 x 6, arrow


def _entity_order(code: str) -> int:
    return CODES.index(code) if code in CODES else len(CODES)


def two_lines(header: str) -> str:
    """A column header on two lines, broken at its first space or hyphen."""
    for sep, keep in ((" ", ""), ("-", "-")):
        if sep in header:
            head, tail = header.split(sep, 1)
            return f"{head}{keep}\n{tail}"
    return header


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
