"""The Results panel: a study's analysis as tables and figures, and exports (workbook, figures, JSON).

The panel only shows what :mod:`dermstudy.analysis` computes and :mod:`dermstudy.reports` draws: the
analysis, the figures (rendered to PNG) and the exports run on a
:class:`~dermstudy.ui.workers.JobWorker` with a progress bar and Cancel, each job opening its own
``Workspace``. The tables are the same :class:`~dermstudy.reports.tables.Table` rows the workbook and
the terminal show, with two decimals on screen and full precision in the tooltip.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6 import QtWidgets
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPixmap

from dermstudy.analysis.data import StudyData, load_study, study_readers
from dermstudy.analysis.inside import COMMON_KEYS, provenance_keys
from dermstudy.analysis.report import build_report
from dermstudy.jobs import CancelToken, Progress, ProgressEvent
from dermstudy.reports import gallery, tables
from dermstudy.reports.bundle import report_json, write_outputs
from dermstudy.reports.display import fmt
from dermstudy.reports.figures import build_figures, display_label, figure_bytes
from dermstudy.ui.file_dialogs import existing_folder, save_file
from dermstudy.ui.panels.base import Panel
from dermstudy.ui.settings import load_json, save_json
from dermstudy.ui.style import SPACING, hint_label, job_buttons, page_layout
from dermstudy.ui.viewmodels.results import headline_numbers, summary_text
from dermstudy.workspace import Workspace
from dermstudy.workspace.case_provenance import CaseProvenanceRepository
from dermstudy.workspace.core import atomic_write_bytes
from dermstudy.workspace.studies import StudyRepository, list_studies

TITLE = "Results"

_FIGURE_TITLES = {
    "confusion_entity": "Entity confusion matrix",
    "confusion_ai_vs_real": "AI vs real confusion matrix",
    "roc_entity": "Entity ROC curves",
    "roc_ai_vs_real": "AI vs real ROC curve",
    "readers": "Readers",
    "roc_ai_vs_real_readers": "AI vs real ROC per reader",
    "confusion_entity_real": "Entity, real cases",
    "confusion_entity_synthetic": "Entity, synthetic cases",
}


GROUPS_TAB = "Settings and model tests"
GALLERY_TAB = "Cases that fooled readers"


@dataclass
class Analysis:
    """What one analysis run produced: the data, the report dict and the figures as PNG bytes."""

    data: StudyData
    report: dict[str, Any]
    figures_png: dict[str, bytes]
    # case -> PNG of the fooling-cases gallery (coordinator only), made off the UI thread
    thumbnails: dict[str, bytes] = field(default_factory=dict)


def analyse(
    workspace_path: Path,
    study: str,
    readers: list[str] | None,
    progress: Progress,
    cancel: CancelToken,
    by: str | None = None,
) -> Analysis:
    """The panel's background job (Qt-free): load, analyse and draw one study; ``by`` (a
    provenance key) adds detection per generation setting, as ``dermstudy report --by``."""
    from dermstudy.workspace.integrity import check_for_report

    with Workspace.open(workspace_path, create=False) as ws:
        data = load_study(ws, study, readers)
        integrity = check_for_report(ws, study, "gui")  # logged: a report reveals the key
    report = build_report(data, progress=progress, cancel=cancel, by=by or None)
    report["integrity"] = integrity.to_dict()
    cancel.raise_if_cancelled()
    figures = build_figures(report)
    pngs = {}
    for k, (stem, fig) in enumerate(figures.items()):
        cancel.raise_if_cancelled()
        progress(ProgressEvent(k + 1, len(figures), f"figure {stem}"))
        pngs[stem] = figure_bytes(fig, "png")
    return Analysis(data, report, pngs, gallery.fooling_thumbnails(report, data.case_images))


def format_cell(value: Any, decimals: bool) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return fmt(value) if decimals else f"{value:.4g}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def table_widget(table: tables.Table, columns: list[int] | None = None) -> QtWidgets.QTableWidget:
    """A read-only QTableWidget of a report table (2 decimals shown, full value in the tooltip)."""
    cols = columns if columns is not None else list(range(len(table.header)))
    widget = QtWidgets.QTableWidget(len(table.rows), len(cols))
    widget.setHorizontalHeaderLabels([table.header[c] for c in cols])
    widget.verticalHeader().setVisible(False)
    widget.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
    widget.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
    widget.setAlternatingRowColors(True)
    widget.verticalHeader().setDefaultSectionSize(24)
    for r, row in enumerate(table.rows):
        for k, c in enumerate(cols):
            value = row[c]
            item = QtWidgets.QTableWidgetItem(format_cell(value, c in table.decimal_columns))
            if isinstance(value, int | float) and not isinstance(value, bool):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if isinstance(value, float):
                    item.setToolTip(repr(value))
            widget.setItem(r, k, item)
    if table.image_column is not None and table.image_column in cols and table.images:
        _show_images(widget, table, cols.index(table.image_column))
    header = widget.horizontalHeader()
    header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(False)
    # As wide as its columns (no stretched, mostly empty last column); scrolls when wider.
    widget.resizeColumnsToContents()
    content = sum(widget.columnWidth(c) for c in range(widget.columnCount()))
    widget.setMaximumWidth(
        content + 2 * widget.frameWidth() + widget.verticalScrollBar().sizeHint().width()
    )
    return widget


def _show_images(widget: QtWidgets.QTableWidget, table: tables.Table, column: int) -> None:
    """The table's pictures as icons in ``column``, each row as tall as its picture."""
    size = gallery.THUMB_PX
    widget.setIconSize(QSize(size, size))
    for row, png in table.images.items():
        pixmap = QPixmap()
        if not pixmap.loadFromData(png):
            continue
        item = widget.item(row, column)
        item.setText("")
        item.setData(Qt.ItemDataRole.DecorationRole, pixmap)
        item.setToolTip(str(table.rows[row][table.header.index("case")]))
        widget.setRowHeight(row, pixmap.height() + 6)
    widget.setColumnWidth(column, size + 12)


def _section(
    title: str, body: QtWidgets.QWidget, notes: list[str] | None = None
) -> QtWidgets.QWidget:
    box = QtWidgets.QWidget()
    layout = QtWidgets.QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, SPACING)
    label = QtWidgets.QLabel(title)
    label.setProperty("role", "subtitle")
    layout.addWidget(label)
    for note in notes or []:
        hint = QtWidgets.QLabel(note)
        hint.setProperty("role", "hint")
        hint.setWordWrap(True)
        layout.addWidget(hint)
    layout.addWidget(body, 1)
    return box


def _scroll(*sections: QtWidgets.QWidget) -> QtWidgets.QScrollArea:
    host = QtWidgets.QWidget()
    layout = QtWidgets.QVBoxLayout(host)
    layout.setContentsMargins(SPACING, SPACING, SPACING, SPACING)
    for section in sections:
        layout.addWidget(section)
    layout.addStretch(1)
    area = QtWidgets.QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
    area.setWidget(host)
    return area


def _fit_height(widget: QtWidgets.QTableWidget) -> QtWidgets.QTableWidget:
    """Size a short table to its rows, so several can stack in one scroll area."""
    height = widget.horizontalHeader().sizeHint().height() + 2 * widget.frameWidth() + 2
    height += sum(widget.rowHeight(r) for r in range(widget.rowCount()))
    if widget.maximumWidth() > 1100:  # wide tables get a horizontal scroll bar
        height += widget.horizontalScrollBar().sizeHint().height()
    widget.setMinimumHeight(min(height, 520))
    widget.setMaximumHeight(min(height, 520) if widget.rowCount() < 40 else 16_777_215)
    return widget


# Columns shown on screen for the wide classification tables (the workbook has them all).
_REPORT_COLUMNS = [0, 2, 3, 4, 5, 6, 7, 8, 9]


class FigureView(QtWidgets.QWidget):
    """A list of figure names beside the selected figure, scaled to the available width."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._pixmaps: dict[str, QPixmap] = {}
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.names = QtWidgets.QListWidget()
        self.names.setMaximumWidth(230)
        self.names.currentRowChanged.connect(self._show)
        self.image = QtWidgets.QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumSize(200, 200)
        self.image.setStyleSheet("background: white;")
        layout.addWidget(self.names)
        layout.addWidget(self.image, 1)

    def set_figures(self, pngs: dict[str, bytes]) -> None:
        self._pixmaps = {}
        self.names.clear()
        for stem, data in pngs.items():
            pixmap = QPixmap()
            pixmap.loadFromData(data, "PNG")
            self._pixmaps[stem] = pixmap
            item = QtWidgets.QListWidgetItem(_FIGURE_TITLES.get(stem, stem))
            item.setData(Qt.ItemDataRole.UserRole, stem)
            self.names.addItem(item)
        if pngs:
            self.names.setCurrentRow(0)

    def _show(self, row: int) -> None:
        item = self.names.item(row)
        if item is None:
            self.image.clear()
            return
        self._rescale(item.data(Qt.ItemDataRole.UserRole))

    def _rescale(self, stem: str) -> None:
        pixmap = self._pixmaps.get(stem)
        if pixmap is None or pixmap.isNull():
            return
        size = self.image.size()
        self.image.setPixmap(
            pixmap.scaled(
                size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
        )

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        item = self.names.currentItem()
        if item is not None:
            self._rescale(item.data(Qt.ItemDataRole.UserRole))


class ResultsPanel(Panel):
    """Pick a study and readers, analyse off the UI thread, browse tables and figures, export."""

    TITLE = TITLE

    def __init__(self, workspace_path: Path, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(workspace_path, parent)
        self.analysis: Analysis | None = None
        self._analysed_by: str | None = None  # the grouping key of the analysis shown
        self._show_groups = False  # after a re-run for a new key, open the per-group table
        self._build()
        self.refresh()

    # -- layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        self.summary_label = hint_label("Pick a study and press Analyse.")
        layout = page_layout(self, "Results", self.summary_label)
        layout.addLayout(self._build_controls())
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.setDocumentMode(True)
        layout.addWidget(self.tabs, 1)
        self._show_placeholder("No analysis yet.")

    def _build_controls(self) -> QtWidgets.QHBoxLayout:
        row = QtWidgets.QHBoxLayout()
        row.setSpacing(SPACING * 2)
        left = QtWidgets.QGridLayout()
        left.setHorizontalSpacing(SPACING)
        self.study_combo = QtWidgets.QComboBox()
        self.study_combo.setMinimumWidth(260)
        self.study_combo.currentIndexChanged.connect(self._study_changed)
        left.addWidget(QtWidgets.QLabel("Study:"), 0, 0)
        left.addWidget(self.study_combo, 0, 1)
        self.reader_list = QtWidgets.QListWidget()
        self.reader_list.setMaximumHeight(84)
        self.reader_list.setMinimumWidth(260)
        self.reader_list.setToolTip("Readers to include (all by default)")
        left.addWidget(QtWidgets.QLabel("Readers:"), 1, 0, Qt.AlignmentFlag.AlignTop)
        left.addWidget(self.reader_list, 1, 1)
        # Detection by generation setting (dermstudy report --by): the common keys and every
        # provenance key of the study's images; any dotted key can be typed.
        self.by_combo = QtWidgets.QComboBox()
        self.by_combo.setEditable(True)
        self.by_combo.setInsertPolicy(QtWidgets.QComboBox.InsertPolicy.NoInsert)
        self.by_combo.lineEdit().setPlaceholderText("no grouping (e.g. model, guidance)")
        self.by_combo.setToolTip(
            "Group the synthetic cases by a generation setting (a provenance key such as model, "
            "base.sampler or guidance) and compare how often each group is detected. "
            "Changing it re-runs the analysis."
        )
        self.by_combo.activated.connect(self._by_changed)
        self.by_combo.lineEdit().returnPressed.connect(self._by_changed)
        left.addWidget(QtWidgets.QLabel("Group by:"), 2, 0)
        left.addWidget(self.by_combo, 2, 1)
        row.addLayout(left)

        actions = QtWidgets.QVBoxLayout()
        buttons = QtWidgets.QHBoxLayout()
        buttons.setSpacing(6)  # all five buttons fit beside the study choice on a 1280 px screen
        self.analyse_button, self.cancel_button = job_buttons(
            "Analyse", self.start_analysis, self.cancel
        )
        buttons.addWidget(self.analyse_button)
        buttons.addWidget(self.cancel_button)
        buttons.addSpacing(SPACING)
        self.export_buttons = []
        for text, slot in (
            ("Save workbook…", self.export_workbook),
            ("Save figures…", self.export_figures),
            ("Save JSON…", self.export_json),
        ):
            button = QtWidgets.QPushButton(text)
            button.setEnabled(False)
            button.clicked.connect(slot)
            buttons.addWidget(button)
            self.export_buttons.append(button)
        buttons.addStretch(1)
        actions.addLayout(buttons)
        self.progress_bar = QtWidgets.QProgressBar()
        self.progress_bar.setVisible(False)
        self.status_label = QtWidgets.QLabel()
        self.status_label.setProperty("role", "hint")
        actions.addWidget(self.progress_bar)
        actions.addWidget(self.status_label)
        actions.addStretch(1)
        row.addLayout(actions, 1)
        return row

    def _show_placeholder(self, text: str) -> None:
        self.tabs.clear()
        label = QtWidgets.QLabel(text)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setProperty("role", "hint")
        self.tabs.addTab(label, "Results")

    # -- study and reader choice ---------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the list of studies (keeps the current choice and any shown analysis)."""
        if self._closed:
            return
        current = self.study_combo.currentData() or load_json("results/study")
        with Workspace.open(self.workspace_path) as ws:
            studies = list_studies(ws)
        self.study_combo.blockSignals(True)
        self.study_combo.clear()
        for study in studies:
            self.study_combo.addItem(
                f"{study['name']} — {study['cases']} cases, {study['readers']} readers",
                study["name"],
            )
        index = self.study_combo.findData(current) if current is not None else -1
        self.study_combo.setCurrentIndex(index if index >= 0 else (0 if studies else -1))
        self.study_combo.blockSignals(False)
        self._study_changed()

    def _study_changed(self) -> None:
        name = self.study_combo.currentData()
        self.reader_list.clear()
        readers: list[str] = []
        keys: list[str] = []
        if name is not None:
            with Workspace.open(self.workspace_path) as ws:
                study_id = StudyRepository(ws).find(name).id
                readers = study_readers(ws, study_id)
                keys = provenance_keys(
                    {
                        p.case: p.provenance
                        for p in CaseProvenanceRepository(ws.conn).for_study(study_id)
                        if p.kind == "synthetic"
                    }
                )
        self._fill_by_combo(keys, (load_json(f"results/by/{name}", "") or "") if name else "")
        # The readers ticked when this study was last analysed (new readers start ticked).
        unticked = set(load_json(f"results/unticked/{name}", []) or []) if name else set()
        for reader in readers:
            item = QtWidgets.QListWidgetItem(reader)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            state = Qt.CheckState.Unchecked if reader in unticked else Qt.CheckState.Checked
            item.setCheckState(state)
            self.reader_list.addItem(item)
        idle = self.worker is None or not self.worker.is_running()
        self.analyse_button.setEnabled(bool(readers) and idle)
        if name is None:
            self.summary_label.setText("No studies in this workspace yet (create one in Studies).")
        elif not readers:
            self.summary_label.setText(f"Study {name} has no reader sessions yet.")
        elif self.analysis is None:
            self.summary_label.setText("Pick readers and press Analyse.")

    def _fill_by_combo(self, keys: list[str], current: str) -> None:
        self.by_combo.blockSignals(True)
        self.by_combo.clear()
        self.by_combo.addItem("")  # no grouping
        for key in dict.fromkeys([*COMMON_KEYS, *keys]):
            self.by_combo.addItem(key)
        self.by_combo.setEditText(current)
        self.by_combo.blockSignals(False)

    def group_key(self) -> str | None:
        """The provenance key typed or picked in "Group by", None for no grouping."""
        return self.by_combo.currentText().strip() or None

    def _by_changed(self, *_args: Any) -> None:
        """A new grouping key re-runs the analysis shown (when idle) and opens its table."""
        busy = self.worker is not None and self.worker.is_running()
        if self.analysis is None or busy or self.group_key() == self._analysed_by:
            return
        self._show_groups = self.group_key() is not None
        self.start_analysis()

    def selected_readers(self) -> list[str]:
        return [
            self.reader_list.item(i).text()
            for i in range(self.reader_list.count())
            if self.reader_list.item(i).checkState() == Qt.CheckState.Checked
        ]

    # -- background work -----------------------------------------------------------------------
    def _run(self, fn, on_done, message: str) -> None:
        self.start_job(fn, message, on_done)

    def start_analysis(self) -> None:
        study = self.study_combo.currentData()
        readers = self.selected_readers()
        if study is None:
            return
        if not readers:
            QtWidgets.QMessageBox.information(self, "Results", "Tick at least one reader.")
            return
        all_readers = [self.reader_list.item(i).text() for i in range(self.reader_list.count())]
        save_json("results/study", study)
        save_json(f"results/unticked/{study}", [r for r in all_readers if r not in readers])
        by = self.group_key()
        save_json(f"results/by/{study}", by or "")
        path = self.workspace_path

        def job(progress: Progress, cancel: CancelToken) -> Analysis:
            return analyse(path, study, readers, progress, cancel, by)

        self._run(job, self._on_analysis, f"Analysing {study}…")

    def cancel(self) -> None:
        self.cancel_job()

    def set_busy(self, busy: bool, message: str = "") -> None:
        self.analyse_button.setEnabled(not busy and self.reader_list.count() > 0)
        self.cancel_button.setEnabled(busy)
        self.study_combo.setEnabled(not busy)
        self.by_combo.setEnabled(not busy)
        for button in self.export_buttons:
            button.setEnabled(not busy and self.analysis is not None)
        self.show_busy_progress(busy, message)

    def _on_analysis(self, analysis: Analysis) -> None:
        self.analysis = analysis
        self._analysed_by = analysis.report.get("detection_by_setting", {}).get("key")
        self.show_analysis(analysis)
        if self._show_groups:
            self._show_groups = False
            self.show_tab(GROUPS_TAB)
        self.status_label.setText("Analysis ready.")

    # -- showing -------------------------------------------------------------------------------
    def show_analysis(self, analysis: Analysis) -> None:
        report = analysis.report
        self.summary_label.setText(summary_text(report))
        current = self.tabs.currentIndex()
        self.tabs.clear()
        self.tabs.addTab(self._summary_tab(report), "Summary")
        self.tabs.addTab(self._report_tab(report, "entity"), "Entity")
        self.tabs.addTab(self._report_tab(report, "ai_vs_real"), "AI vs real")
        self.tabs.addTab(self._subsets_tab(report), "Subsets")
        self.tabs.addTab(self._readers_tab(report), "Readers")
        self.tabs.addTab(self._agreement_tab(report), "Agreement")
        if report.get("reader_vs_model"):
            self.tabs.addTab(self._model_tab(report), "Model vs readers")
        self._add_inside_tab(report)
        self.figures = FigureView()
        self.figures.set_figures(analysis.figures_png)
        self.tabs.addTab(self.figures, "Figures")
        self.tabs.setCurrentIndex(max(0, min(current, self.tabs.count() - 1)))

    def show_tab(self, title: str) -> bool:
        """Make the tab called ``title`` current; False when there is none."""
        for i in range(self.tabs.count()):
            if self.tabs.tabText(i) == title:
                self.tabs.setCurrentIndex(i)
                return True
        return False

    def _summary_tab(self, report: dict[str, Any]) -> QtWidgets.QWidget:
        table = tables.study_table(report)
        table.rows = [
            row for row in table.rows if not str(row[0]).startswith(("method:", "software:"))
        ]
        cards = QtWidgets.QWidget()
        grid = QtWidgets.QGridLayout(cards)
        grid.setHorizontalSpacing(SPACING * 2)
        for k, (label, value) in enumerate(headline_numbers(report)):
            card = QtWidgets.QLabel(
                f"<div style='font-size:20pt;font-weight:600'>{value}</div><div>{label}</div>"
            )
            card.setTextFormat(Qt.TextFormat.RichText)
            card.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
            card.setStyleSheet("QLabel { background: white; padding: 10px; border-radius: 6px; }")
            grid.addWidget(card, k // 4, k % 4)
        return _scroll(
            _section("Key results", cards),
            _section(table.title, _fit_height(table_widget(table))),
        )

    def _report_tab(self, report: dict[str, Any], key: str) -> QtWidgets.QWidget:
        title = (
            "Entity classification, all readers pooled"
            if key == "entity"
            else "AI-generated vs real, all readers pooled"
        )
        table = tables.report_table(key, title, report[key])
        cm = [t for t in tables.confusion_tables(report) if t.name.endswith(f"_{key}")]
        sections = [_section(title, _fit_height(table_widget(table, _REPORT_COLUMNS)), table.notes)]
        sections += [_section(t.title, _fit_height(table_widget(t))) for t in cm]
        return _scroll(*sections)

    def _subsets_tab(self, report: dict[str, Any]) -> QtWidgets.QWidget:
        sections = []
        for source in ("real", "synthetic"):
            rep = report["subsets"][source]
            table = tables.report_table(f"subset_{source}", "", rep)
            sections.append(
                _section(
                    f"Entity report, {display_label(source).lower()} cases only",
                    _fit_height(table_widget(table, _REPORT_COLUMNS)),
                    table.notes,
                )
            )
        return _scroll(*sections)

    def _readers_tab(self, report: dict[str, Any]) -> QtWidgets.QWidget:
        readers = tables.readers_table(report)
        spread = tables.reader_summary_table(report)
        averaged = tables.reader_averaged_table(report)
        return _scroll(
            _section(readers.title, _fit_height(table_widget(readers)), readers.notes),
            _section(spread.title, _fit_height(table_widget(spread)), spread.notes),
            _section(averaged.title, _fit_height(table_widget(averaged)), averaged.notes),
        )

    def _agreement_tab(self, report: dict[str, Any]) -> QtWidgets.QWidget:
        table = tables.agreement_table(report)
        missing = tables.missing_table(report)
        return _scroll(
            _section(table.title, _fit_height(table_widget(table)), table.notes),
            _section(missing.title, _fit_height(table_widget(missing)), missing.notes),
        )

    def _model_tab(self, report: dict[str, Any]) -> QtWidgets.QWidget:
        sections = [
            _section(t.title, _fit_height(table_widget(t)), t.notes)
            for t in tables.model_tables(report)
        ]
        return _scroll(*sections)

    def _add_inside_tab(self, report: dict[str, Any]) -> None:
        """Detection per generation setting and the model-vs-readers tests, when present; the
        fooling-cases gallery (with thumbnails) on a tab of its own."""
        from dermstudy.reports.inside_tables import inside_tables

        extra = inside_tables(report)
        gallery.attach_thumbnails(extra, self.analysis.thumbnails if self.analysis else {})
        fooling = [t for t in extra if t.name == "fooling_cases"]
        extra = [t for t in extra if t.name != "fooling_cases"]
        if extra:
            sections = [_section(t.title, _fit_height(table_widget(t)), t.notes) for t in extra]
            self.tabs.addTab(_scroll(*sections), GROUPS_TAB)
        for table in fooling:
            section = _section(table.title, _fit_height(table_widget(table)), table.notes)
            self.tabs.addTab(_scroll(section), GALLERY_TAB)

    # -- exports -------------------------------------------------------------------------------
    def _export_path(self, caption: str, suffix: str, filters: str) -> str:
        """Where to save the shown analysis, ``<study>-results<suffix>`` proposed ("" if there
        is no analysis or the user cancelled)."""
        if self.analysis is None:
            return ""
        name = self.analysis.report["study"]["name"]
        return save_file(self, caption, f"{name}-results{suffix}", filters)

    def export_workbook(self) -> None:
        path = self._export_path("Save workbook", ".xlsx", "Excel workbook (*.xlsx)")
        if path:
            self.save_workbook(Path(path) if path.endswith(".xlsx") else Path(path + ".xlsx"))

    def save_workbook(self, path: Path) -> None:
        analysis = self.analysis

        def job(progress: Progress, cancel: CancelToken) -> Path:
            write_outputs(
                analysis.report,
                analysis.data,
                None,
                xlsx_path=path,
                thumbnails=analysis.thumbnails,
            )
            return path

        self._run(job, lambda p: self.status_label.setText(f"Saved {p}"), "Writing workbook…")

    def export_figures(self) -> None:
        if self.analysis is None:
            return
        folder = existing_folder(self, "Folder for the figures (PNG, SVG, PDF)")
        if folder:
            self.save_figures(Path(folder))

    def save_figures(self, folder: Path, formats: tuple[str, ...] = ("png", "svg", "pdf")) -> None:
        analysis = self.analysis

        def job(progress: Progress, cancel: CancelToken) -> Path:
            write_outputs(analysis.report, None, folder, formats=formats)
            return folder

        self._run(
            job, lambda p: self.status_label.setText(f"Figures saved in {p}"), "Writing figures…"
        )

    def export_json(self) -> None:
        path = self._export_path("Save JSON", ".json", "JSON (*.json)")
        if path:
            atomic_write_bytes(Path(path), report_json(self.analysis.report).encode("utf-8"))
            self.status_label.setText(f"Saved {path}")


create_panel = ResultsPanel  # the panel protocol's factory: (workspace_path, parent=None)
