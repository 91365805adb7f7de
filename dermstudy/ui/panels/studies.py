"""The Studies panel (coordinators): create blinded studies, inspect them, move reader packages.

Creating a study calls :func:`dermstudy.study.builder.create_study` on a background
:class:`~dermstudy.ui.workers.JobWorker` (drawing and blinding 140 images takes a moment), with a
progress bar and Cancel. A study's details come from :mod:`dermstudy.study.queries`; the answer key is
only shown here, on explicit request, never in the reader window.
"""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtWidgets
from PySide6.QtCore import Qt

from dermstudy.datasets.summary import dataset_summary
from dermstudy.entities import BY_CODE, ENTITIES
from dermstudy.jobs import ProgressEvent
from dermstudy.study.design import StudyDesign
from dermstudy.ui.file_dialogs import open_file, save_file
from dermstudy.ui.panels.base import Panel, combo_box, set_widget_value, widget_value
from dermstudy.ui.style import SPACING, set_role
from dermstudy.ui.viewmodels.studies import (
    HARMONISE_CHOICES,
    ORDER_CHOICES,
    SCALE_CHOICES,
    NewStudyForm,
    study_details,
    study_list_rows,
)
from dermstudy.ui.workers import JobWorker
from dermstudy.workspace import Workspace
from dermstudy.workspace.image_sets import ImageSetRepository
from dermstudy.workspace.splits import SplitRepository

TITLE = "Studies"


def _table(headers: list[str], stretch: int | None = 0) -> QtWidgets.QTableWidget:
    """A read-only table whose column ``stretch`` (None: the last one) takes the spare width."""
    table = QtWidgets.QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
    if stretch is None:
        header.setStretchLastSection(True)
    else:
        header.setSectionResizeMode(stretch, QtWidgets.QHeaderView.ResizeMode.Stretch)
    table.verticalHeader().setDefaultSectionSize(24)
    return table


def _fill(table: QtWidgets.QTableWidget, rows: list[list[object]], numeric_from: int = 1) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            item = QtWidgets.QTableWidgetItem("" if value is None else str(value))
            if c >= numeric_from and isinstance(value, int | float):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(r, c, item)


class NewStudyDialog(QtWidgets.QDialog):
    """The builder's options as a form: :meth:`form` reads it as a ``NewStudyForm`` (whose
    ``design`` is the ``StudyDesign``), :meth:`set_form` shows one; it starts from the defaults."""

    def __init__(self, ws: Workspace, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New study")
        self.setMinimumWidth(760)
        self._available = dataset_summary(ws)["by_entity"]
        layout = QtWidgets.QVBoxLayout(self)
        form = QtWidgets.QFormLayout()
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.name_edit = QtWidgets.QLineEdit()
        self.name_edit.setPlaceholderText("e.g. pilot-2026")
        form.addRow("Name:", self.name_edit)
        layout.addLayout(form)
        layout.addWidget(self._build_cases_box())
        layout.addWidget(self._build_reading_box())
        layout.addWidget(self._build_pools_box(ws))
        self.error_label = QtWidgets.QLabel()
        self.error_label.setProperty("role", "error")
        self.error_label.setWordWrap(True)
        layout.addWidget(self.error_label)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok).setText("Create study")
        buttons.accepted.connect(self._accept_if_valid)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._bind_fields()
        self.set_form(NewStudyForm.defaults())
        self._update_total()

    def _build_cases_box(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Cases per entity")
        grid = QtWidgets.QGridLayout(box)
        grid.setHorizontalSpacing(SPACING * 2)
        grid.addWidget(QtWidgets.QLabel("Entities:"), 0, 0, Qt.AlignmentFlag.AlignTop)
        entity_grid = QtWidgets.QGridLayout()
        self.entity_checks: dict[str, QtWidgets.QCheckBox] = {}
        for i, entity in enumerate(ENTITIES):
            available = self._available[entity.code]
            check = QtWidgets.QCheckBox(f"{entity.short_name}")
            check.setToolTip(
                f"{entity.name}: {available['real']} real, {available['synthetic']} synthetic "
                "images in this workspace"
            )
            check.toggled.connect(self._update_total)
            self.entity_checks[entity.code] = check
            entity_grid.addWidget(check, i // 3, i % 3)
        grid.addLayout(entity_grid, 0, 1, 1, 3)
        self.real_spin = QtWidgets.QSpinBox()
        self.real_spin.setRange(0, 10_000)
        self.synthetic_spin = QtWidgets.QSpinBox()
        self.synthetic_spin.setRange(0, 10_000)
        for spin in (self.real_spin, self.synthetic_spin):
            spin.valueChanged.connect(self._update_total)
        grid.addWidget(QtWidgets.QLabel("Real per entity:"), 1, 0)
        grid.addWidget(self.real_spin, 1, 1)
        grid.addWidget(QtWidgets.QLabel("Synthetic per entity:"), 1, 2)
        grid.addWidget(self.synthetic_spin, 1, 3)
        self.total_label = QtWidgets.QLabel()
        self.total_label.setProperty("role", "hint")
        self.total_label.setWordWrap(True)
        grid.addWidget(self.total_label, 2, 0, 1, 4)
        return box

    def _build_reading_box(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Reading")
        grid = QtWidgets.QGridLayout(box)
        grid.setHorizontalSpacing(SPACING * 2)
        self.size_spin = QtWidgets.QSpinBox()
        self.size_spin.setRange(16, 4096)
        self.size_spin.setSuffix(" px")
        self.seed_edit = QtWidgets.QLineEdit()
        self.seed_edit.setPlaceholderText("random (recorded)")
        self.seed_edit.setMinimumWidth(150)
        self.order_combo = combo_box(ORDER_CHOICES)
        self.scale_combo = combo_box(SCALE_CHOICES)
        self.practice_spin = QtWidgets.QSpinBox()
        self.practice_spin.setRange(0, 100)
        self.allow_back_check = QtWidgets.QCheckBox("Readers may go back and change answers")
        self.confidence_check = QtWidgets.QCheckBox("Also ask a confidence (1–5) for the diagnosis")
        grid.addWidget(QtWidgets.QLabel("Display size:"), 0, 0)
        grid.addWidget(self.size_spin, 0, 1)
        grid.addWidget(QtWidgets.QLabel("Seed:"), 0, 2)
        grid.addWidget(self.seed_edit, 0, 3)
        grid.addWidget(QtWidgets.QLabel("Order:"), 1, 0)
        grid.addWidget(self.order_combo, 1, 1)
        grid.addWidget(QtWidgets.QLabel("Practice cases:"), 1, 2)
        grid.addWidget(self.practice_spin, 1, 3)
        grid.addWidget(QtWidgets.QLabel("Answer scale:"), 2, 0)
        grid.addWidget(self.scale_combo, 2, 1, 1, 3)
        grid.addWidget(self.allow_back_check, 3, 0, 1, 4)
        grid.addWidget(self.confidence_check, 4, 0, 1, 4)
        return box

    def _build_pools_box(self, ws: Workspace) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Image pools")
        form = QtWidgets.QFormLayout(box)
        sets = ImageSetRepository(ws).names()
        splits = sorted(SplitRepository(ws).names())
        self.exclude_sets_edit = QtWidgets.QLineEdit()
        self.exclude_sets_edit.setPlaceholderText(
            f"image sets to keep out, comma-separated ({', '.join(sets) or 'none stored'})"
        )
        self.exclude_splits_edit = QtWidgets.QLineEdit()
        self.exclude_splits_edit.setPlaceholderText(
            f"training splits to keep out ({', '.join(splits) or 'none stored'})"
        )
        self.filters_edit = QtWidgets.QLineEdit()
        self.filters_edit.setPlaceholderText(
            "KEY=PATTERN, comma-separated, e.g. source=glide*, model=<checkpoint SHA or file>"
        )
        self.one_per_lesion_check = QtWidgets.QCheckBox("At most one image per lesion")
        self.harmonise_combo = combo_box(HARMONISE_CHOICES)
        self.harmonise_combo.setToolTip(
            "Every case image is blinded the same way; the study's blinding audit measures what "
            "each choice leaves (README, “Blinding and data integrity”)."
        )
        form.addRow("Exclude sets:", self.exclude_sets_edit)
        form.addRow("Exclude splits:", self.exclude_splits_edit)
        form.addRow("Synthetic filters:", self.filters_edit)
        form.addRow("", self.one_per_lesion_check)
        form.addRow("Harmonise images:", self.harmonise_combo)
        return box

    def _update_total(self) -> None:
        """Cases the form asks for, and (before drawing) which pools are visibly too small."""
        chosen = [code for code, check in self.entity_checks.items() if check.isChecked()]
        wanted = {"real": self.real_spin.value(), "synthetic": self.synthetic_spin.value()}
        short = [
            f"{code} {kind} {self._available[code][kind]}/{n}"
            for code in chosen
            for kind, n in wanted.items()
            if self._available[code][kind] < n
        ]
        per = sum(wanted.values())
        text = f"{len(chosen)} entities × {per} = {len(chosen) * per} scored cases."
        if short:
            text += " Too few images (have/need): " + ", ".join(short) + "."
        self.total_label.setText(text)

    def _bind_fields(self) -> None:
        """Each field of ``NewStudyForm`` (but the entities, one check each) and its control."""
        self.fields: dict[str, QtWidgets.QWidget] = {
            "name": self.name_edit,
            "real_per_entity": self.real_spin,
            "synthetic_per_entity": self.synthetic_spin,
            "seed": self.seed_edit,
            "display_size": self.size_spin,
            "order": self.order_combo,
            "allow_back": self.allow_back_check,
            "answer_scale": self.scale_combo,
            "entity_confidence": self.confidence_check,
            "practice": self.practice_spin,
            "exclude_sets": self.exclude_sets_edit,
            "exclude_splits": self.exclude_splits_edit,
            "synthetic_filters": self.filters_edit,
            "one_per_lesion": self.one_per_lesion_check,
            "harmonise": self.harmonise_combo,
        }

    def form(self) -> NewStudyForm:
        """The form's values as they stand."""
        chosen = tuple(code for code, check in self.entity_checks.items() if check.isChecked())
        values = {name: widget_value(w) for name, w in self.fields.items()}
        return NewStudyForm(entities=chosen, **values)

    def set_form(self, form: NewStudyForm) -> None:
        """Show ``form``'s values."""
        for code, check in self.entity_checks.items():
            check.setChecked(code in form.entities)
        for name, widget in self.fields.items():
            set_widget_value(widget, getattr(form, name))

    def design(self) -> StudyDesign:
        """The ``StudyDesign`` the form describes; raises ValueError with a readable message."""
        return self.form().design()

    def _accept_if_valid(self) -> None:
        try:
            self.design().validate()
        except ValueError as exc:  # StudyError and PoolError are ValueErrors too
            self.error_label.setText(str(exc))
            return
        self.accept()


class AnswerKeyDialog(QtWidgets.QDialog):
    """The answer key of one study, for coordinators (opened only on request)."""

    def __init__(
        self, key: list[dict], study: str, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Answer key — {study}")
        self.resize(760, 560)
        layout = QtWidgets.QVBoxLayout(self)
        warning = QtWidgets.QLabel("Coordinators only: this reveals the truth of every case.")
        warning.setProperty("role", "error")
        layout.addWidget(warning)
        self.table = _table(["Case", "Practice", "Entity", "Source", "Image", "Lesion"])
        _fill(
            self.table,
            [
                [
                    k["case"],
                    "yes" if k["practice"] else "",
                    BY_CODE[k["entity"]].short_name,
                    k["source"],
                    k.get("source_id") or k.get("image_source") or "",
                    k.get("lesion_id") or "",
                ]
                for k in key
            ],
            numeric_from=99,
        )
        layout.addWidget(self.table)


class StudiesPanel(Panel):
    """List of studies on the left; the selected study's design, counts and readers on the right."""

    TITLE = TITLE

    def __init__(self, workspace_path: Path, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(workspace_path, parent, open_workspace=True)
        self.last_result: object = None
        self._build()
        self.refresh()

    # -- layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(SPACING * 2, SPACING * 2, SPACING * 2, SPACING)
        layout.setSpacing(SPACING)
        header = QtWidgets.QHBoxLayout()
        title = QtWidgets.QLabel("Studies")
        title.setProperty("role", "title")
        self.new_button = QtWidgets.QPushButton("New study…")
        self.new_button.setProperty("role", "primary")
        self.new_button.clicked.connect(self.open_new_study_dialog)
        header.addWidget(title)
        header.addStretch(1)
        header.addWidget(self.new_button)
        layout.addLayout(header)
        hint = QtWidgets.QLabel(
            "A study draws real and synthetic cases with a recorded seed, blinds every image to one "
            "format and size under an opaque code, and never changes afterwards."
        )
        hint.setProperty("role", "hint")
        hint.setWordWrap(True)
        layout.addWidget(hint)

        job_row = QtWidgets.QHBoxLayout()
        self.progress_bar = QtWidgets.QProgressBar()
        self.progress_bar.setVisible(False)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_job)
        self.status_label = QtWidgets.QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setVisible(False)
        job_row.addWidget(self.progress_bar, 1)
        job_row.addWidget(self.cancel_button)
        layout.addLayout(job_row)
        layout.addWidget(self.status_label)

        splitter = QtWidgets.QSplitter(Qt.Orientation.Horizontal)
        self.study_table = _table(["Study", "Cases", "Readers", "Finished"], stretch=0)
        self.study_table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.study_table.itemSelectionChanged.connect(self._show_selected)
        splitter.addWidget(self.study_table)
        splitter.addWidget(self._build_details())
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([400, 680])
        layout.addWidget(splitter, 1)

    def _build_details(self) -> QtWidgets.QWidget:
        host = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(host)
        layout.setContentsMargins(SPACING, 0, 0, 0)
        self.details_title = QtWidgets.QLabel("Select a study")
        self.details_title.setProperty("role", "subtitle")
        self.design_label = QtWidgets.QLabel()
        self.design_label.setWordWrap(True)
        self.design_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.counts_table = _table(["Entity", "Real", "Synthetic", "Total"])
        self.readers_table = _table(["Reader", "Answered", "Practice", "Started", "Finished"])
        buttons = QtWidgets.QHBoxLayout()
        self.export_button = QtWidgets.QPushButton("Export reader package…")
        self.export_button.clicked.connect(self._choose_export)
        self.import_button = QtWidgets.QPushButton("Import reader results…")
        self.import_button.clicked.connect(self._choose_import)
        self.key_button = QtWidgets.QPushButton("Answer key…")
        self.key_button.setMinimumWidth(self.key_button.sizeHint().width())
        self.key_button.setToolTip("Coordinators only: shows the truth of every case")
        self.key_button.clicked.connect(self.show_answer_key)
        for button in (self.export_button, self.import_button, self.key_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addWidget(self.details_title)
        layout.addWidget(self.design_label)
        layout.addWidget(self._caption("Scored cases per entity"))
        layout.addWidget(self.counts_table, 3)
        layout.addWidget(self._caption("Readers"))
        layout.addWidget(self.readers_table, 2)
        for table in (self.counts_table, self.readers_table):
            table.setMinimumWidth(200)  # the tables scroll inside; the details never need to
            table.setMinimumHeight(96)  # header and a few rows: the details fit a 720 px screen
        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(host)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QtWidgets.QScrollArea.Shape.NoFrame)
        # The actions stay below the scrolling details, so they are never scrolled off screen.
        details = QtWidgets.QWidget()
        details_layout = QtWidgets.QVBoxLayout(details)
        details_layout.setContentsMargins(0, 0, 0, 0)
        details_layout.addWidget(scroll, 1)
        buttons.setContentsMargins(SPACING, 0, 0, 0)
        details_layout.addLayout(buttons)
        return details

    @staticmethod
    def _caption(text: str) -> QtWidgets.QLabel:
        label = QtWidgets.QLabel(text)
        label.setStyleSheet("font-weight: 600;")
        return label

    # -- data ----------------------------------------------------------------------------------
    def refresh(self) -> None:
        if self._closed:
            return
        from dermstudy.study.queries import list_studies

        selected = self.selected_study()
        studies = list_studies(self.ws)
        self.study_table.blockSignals(True)
        _fill(self.study_table, study_list_rows(studies))
        self.study_table.blockSignals(False)
        names = [s["name"] for s in studies]
        if names:
            self.select_study(selected if selected in names else names[-1])
        else:
            self._show_details(None)

    def study_names(self) -> list[str]:
        return [self.study_table.item(r, 0).text() for r in range(self.study_table.rowCount())]

    def selected_study(self) -> str | None:
        rows = self.study_table.selectionModel().selectedRows() if self.study_table.model() else []
        return self.study_table.item(rows[0].row(), 0).text() if rows else None

    def select_study(self, name: str) -> None:
        names = self.study_names()
        if name in names:
            self.study_table.selectRow(names.index(name))
            self._show_selected()

    def _show_selected(self) -> None:
        self._show_details(self.selected_study())

    def _show_details(self, name: str | None) -> None:
        from dermstudy.study.queries import study_summary

        for button in (self.export_button, self.import_button, self.key_button):
            button.setEnabled(name is not None)
        if name is None:
            self.details_title.setText("No study yet — create one with “New study…”")
            self.design_label.setText("")
            self.counts_table.setRowCount(0)
            self.readers_table.setRowCount(0)
            return
        details = study_details(study_summary(self.ws, name))
        self.details_title.setText(details.title)
        self.design_label.setText(details.design_text)
        _fill(self.counts_table, details.count_rows)
        _fill(self.readers_table, details.reader_rows)

    # -- actions -------------------------------------------------------------------------------
    def open_new_study_dialog(self) -> None:
        dialog = NewStudyDialog(self.ws, self)
        if dialog.exec() == QtWidgets.QDialog.DialogCode.Accepted:
            self.create_study(dialog.design())

    def create_study(self, design) -> JobWorker:
        """Draw and blind ``design`` in the background; the new study is selected when done."""
        from dermstudy.study.builder import create_study

        def work(ws: Workspace, progress, cancel) -> str:
            create_study(ws, design, progress=progress, cancel=cancel)
            return design.name

        return self._start_job(f"Creating study {design.name}…", work)

    def export_package(self, out: Path) -> JobWorker:
        from dermstudy.study.package import export_package

        name = self.selected_study()
        return self._start_job(
            f"Writing reader package {out.name}…",
            lambda ws, _progress, _cancel: export_package(ws, name, out),
        )

    def import_results(self, file: Path) -> JobWorker:
        from dermstudy.study.package import import_results

        name = self.selected_study()
        return self._start_job(
            f"Merging answers from {file.name}…",
            lambda ws, _progress, _cancel: import_results(ws, name, file),
        )

    def _choose_export(self) -> None:
        name = self.selected_study()
        if not name:
            return
        out = save_file(self, "Export reader package", f"{name}.zip", "Reader packages (*.zip)")
        if out:
            self.export_package(Path(out))

    def _choose_import(self) -> None:
        file = open_file(
            self,
            "Reader results (answers file, or the package beside it)",
            "Answers or packages (*.sqlite *.zip);;All files (*)",
        )
        if file:
            self.import_results(Path(file))

    def show_answer_key(self) -> AnswerKeyDialog | None:
        from dermstudy.study.queries import answer_key

        name = self.selected_study()
        if not name:
            return None
        key = answer_key(self.ws, name)
        # Every view of the key leaves a trace, as `dermstudy study key` does.
        with self.ws.transaction():
            self.ws.audit("study.key", name, {"format": "gui"})
        dialog = AnswerKeyDialog(key, name, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    # -- background jobs -----------------------------------------------------------------------
    def _start_job(self, label: str, work) -> JobWorker:
        """``work(ws, progress, cancel)`` on the job's own connection to the workspace."""
        return self.start_workspace_job(work, label, self._on_finished)

    def set_busy(self, busy: bool, label: str = "") -> None:
        self.progress_bar.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.new_button.setEnabled(not busy)
        if busy:
            self.progress_bar.setRange(0, 0)
            self._set_status(label)

    def on_cancelled(self) -> None:
        self._set_status("Cancelled; nothing was changed.")

    def on_progress(self, event: ProgressEvent) -> None:
        if event.total:
            self.progress_bar.setRange(0, event.total)
            self.progress_bar.setValue(event.done)

    def _on_finished(self, result: object) -> None:
        self.last_result = result
        if isinstance(result, str):  # a new study's name
            self._set_status(f"Study {result!r} created.")
            self._select_after_refresh = result
        elif isinstance(result, dict) and "file" in result:
            self._set_status(f"Wrote {result['cases']} cases to {result['file']}.")
        elif hasattr(result, "to_dict"):  # merged reader results
            merged = result.to_dict()
            self._set_status(
                f"Merged {merged['inserted']} new answer(s) from {Path(merged['file']).name}; "
                f"{merged['unchanged']} already present; {merged['conflicts']} conflict(s)."
            )
            if merged["conflicts"] and self.isVisible():  # conflicts need a look: list them
                box = QtWidgets.QMessageBox(
                    QtWidgets.QMessageBox.Icon.Warning,
                    "Reader results",
                    result.to_text(),
                    parent=self,
                )
                box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
                box.open()  # window-modal, not a nested event loop: the panel stays live

    def on_failed(self, message: str) -> None:
        self.last_result = None
        self._set_status(message, error=True)

    def on_done(self) -> None:
        self.set_busy(False)
        self.refresh()
        self.workspace_changed.emit()
        name = getattr(self, "_select_after_refresh", None)
        if name:
            self.select_study(name)
            self._select_after_refresh = None

    def _set_status(self, text: str, error: bool = False) -> None:
        set_role(self.status_label, "error" if error else "hint")
        self.status_label.setText(text)
        self.status_label.setVisible(bool(text))


create_panel = StudiesPanel  # the panel protocol's factory: (workspace_path, parent=None)
