"""The Reading panel: start or resume a reader's session, from this workspace or a package file.

It opens a :class:`dermstudy.reading.ReadingSession` with ``open_reading`` and shows it in a separate
:class:`~dermstudy.ui.reader_window.ReaderWindow`. While a reader reads (on by default) the main window
is hidden and locked behind an unlock code the coordinator types at the start
(:mod:`dermstudy.ui.lock_screen`): when the reader window closes it comes back showing only the lock
screen, so the coordinator's panels — with the Studies panel's answer key — stay out of reach.
"""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtWidgets
from PySide6.QtCore import Qt

from dermstudy.ui.file_dialogs import open_file
from dermstudy.ui.messages import READING_LABELS, in_gui_terms
from dermstudy.ui.panels.base import Panel
from dermstudy.ui.settings import load_json, save_json
from dermstudy.ui.style import browse_row, set_role
from dermstudy.ui.viewmodels.studies import reading_progress_rows

TITLE = "Reading"
INTRO = (
    "Readers answer with the keyboard in a separate window. Every confirmed answer is saved "
    "at once; closing the window and starting again resumes at the first unanswered case."
)

NO_STUDY = "No study in this workspace yet: create one in the Studies panel."


class ReadingPanel(Panel):
    """Pick a study (or a package file) and a reader name; start or resume reading."""

    TITLE = TITLE

    def __init__(self, workspace_path: Path, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(workspace_path, parent, open_workspace=True)
        self.reader_window = None  # the open ReaderWindow, if any
        self._build()
        self.refresh()

    def _build(self) -> None:
        layout = self.page(INTRO)
        layout.addWidget(self._build_workspace_box())
        layout.addWidget(self._build_package_box())
        self.lock_main_check = QtWidgets.QCheckBox(
            "Lock the main window while reading, behind an unlock code "
            "(recommended when a reader uses this computer)"
        )
        self.lock_main_check.setChecked(True)
        layout.addWidget(self.lock_main_check)
        self.status_label = QtWidgets.QLabel()
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)
        layout.addStretch(1)

    def _build_workspace_box(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Read a study in this workspace")
        layout = QtWidgets.QVBoxLayout(box)
        form = QtWidgets.QFormLayout()
        self.study_combo = QtWidgets.QComboBox()
        self.study_combo.setMinimumWidth(260)
        self.study_combo.currentIndexChanged.connect(self._show_readers)
        self.reader_edit = QtWidgets.QLineEdit()
        self.reader_edit.setPlaceholderText("e.g. dr-smith (the same name resumes a session)")
        self.reader_edit.returnPressed.connect(self.start_workspace_reading)
        self.reader_edit.setText(str(load_json("reading/reader", "")))
        form.addRow("Study:", self.study_combo)
        form.addRow("Reader name:", self.reader_edit)
        layout.addLayout(form)
        row = QtWidgets.QHBoxLayout()
        self.start_button = QtWidgets.QPushButton("Start / resume reading")
        self.start_button.setProperty("role", "primary")
        self.start_button.clicked.connect(self.start_workspace_reading)
        row.addWidget(self.start_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.readers_table = QtWidgets.QTableWidget(0, 3)
        self.readers_table.setHorizontalHeaderLabels(["Reader", "Progress", "Finished"])
        self.readers_table.verticalHeader().setVisible(False)
        self.readers_table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.readers_table.setSelectionBehavior(
            QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows
        )
        self.readers_table.horizontalHeader().setSectionResizeMode(
            QtWidgets.QHeaderView.ResizeMode.ResizeToContents
        )
        self.readers_table.horizontalHeader().setStretchLastSection(True)
        self.readers_table.setMaximumHeight(180)
        self.readers_table.cellDoubleClicked.connect(self._reader_double_clicked)
        layout.addWidget(QtWidgets.QLabel("Sessions of this study (double-click to resume one):"))
        layout.addWidget(self.readers_table)
        return box

    def _build_package_box(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Read from a reader package (offline workstation)")
        form = QtWidgets.QFormLayout(box)
        self.package_edit = QtWidgets.QLineEdit()
        self.package_edit.setPlaceholderText("a .zip written by “Export reader package”")
        form.addRow("Package:", browse_row(self.package_edit, self._browse_package))
        self.package_reader_edit = QtWidgets.QLineEdit()
        self.package_reader_edit.setPlaceholderText("your reader name")
        form.addRow("Reader name:", self.package_reader_edit)
        self.package_button = QtWidgets.QPushButton("Start / resume reading from package")
        self.package_button.clicked.connect(self.start_package_reading)
        note = QtWidgets.QLabel(
            "Answers are saved next to the package in <package>.answers.sqlite."
        )
        note.setProperty("role", "hint")
        button_row = QtWidgets.QHBoxLayout()
        button_row.addWidget(self.package_button)
        button_row.addStretch(1)
        form.addRow("", button_row)
        form.addRow("", note)
        return box

    # -- data ----------------------------------------------------------------------------------
    def refresh(self) -> None:
        if self._closed:
            return
        from dermstudy.study.queries import list_studies

        # The current choice, else the one made the last time the app ran.
        current = self.study_combo.currentText() or str(load_json("reading/study", ""))
        names = [s["name"] for s in list_studies(self.ws)]
        self.study_combo.blockSignals(True)
        self.study_combo.clear()
        self.study_combo.addItems(names)
        if current in names:
            self.study_combo.setCurrentText(current)
        elif names:
            self.study_combo.setCurrentIndex(len(names) - 1)
        self.study_combo.blockSignals(False)
        self.start_button.setEnabled(bool(names))
        if not names:
            self._set_status(NO_STUDY)
        elif self.status_label.text() == NO_STUDY:
            self._set_status("")  # a study exists now: the old hint would be wrong
        self._show_readers()

    def _show_readers(self) -> None:
        from dermstudy.study.queries import study_summary

        name = self.study_combo.currentText()
        if not name:
            self.readers_table.setRowCount(0)
            return
        rows = reading_progress_rows(study_summary(self.ws, name))
        self.readers_table.setRowCount(len(rows))
        for row, values in enumerate(rows):
            for column, value in enumerate(values):
                self.readers_table.setItem(row, column, QtWidgets.QTableWidgetItem(value))

    def _reader_double_clicked(self, row: int, _column: int) -> None:
        self.reader_edit.setText(self.readers_table.item(row, 0).text())
        self.start_workspace_reading()

    def _browse_package(self) -> None:
        file = open_file(self, "Reader package", "Reader packages (*.zip);;All files (*)")
        if file:
            self.package_edit.setText(file)

    # -- starting ------------------------------------------------------------------------------
    def start_workspace_reading(self):
        """Open the reader window on the chosen study for the named reader (None if it failed)."""
        study = self.study_combo.currentText()
        if not study:
            self._set_status("Choose a study first.", error=True)
            return None
        save_json("reading/study", study)
        save_json("reading/reader", self.reader_edit.text().strip())
        return self._start(self.ws.root, study, self.reader_edit.text())

    def start_package_reading(self):
        text = self.package_edit.text().strip()
        if not text:
            self._set_status("Choose a package file first.", error=True)
            return None
        return self._start(Path(text).expanduser(), None, self.package_reader_edit.text())

    def _start(self, source: Path, study: str | None, reader: str):
        from dermstudy.reading import ReadingError, open_reading
        from dermstudy.ui.reader_window import ReaderWindow
        from dermstudy.ui.screens import show_fitted

        if self.reader_window is not None:
            self._set_status("A reader window is already open; close it first.", error=True)
            self.reader_window.raise_()
            return None
        if isinstance(source, Path) and study is None and not source.is_file():
            self._set_status(f"{source}: no such package file", error=True)
            return None
        main = self.window() if self.window() is not self else None
        lock = self.lock_main_check.isChecked() and hasattr(main, "lock_for_reading")
        code = self.ask_unlock_code() if lock else None
        if lock and code is None:
            self._set_status("Not started: locking the main window needs an unlock code.")
            return None
        try:
            session = open_reading(source, study, reader)
        except ReadingError as exc:
            self._set_status(in_gui_terms(str(exc), READING_LABELS), error=True)
            return None
        window = ReaderWindow(session)
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        window.closed.connect(self._reader_closed)
        self.reader_window = window
        if lock:
            main.lock_for_reading(code, f"{session.reader} is reading {session.study_name!r}")
        if self.lock_main_check.isChecked() and main is not None:
            main.hide()  # the reader window is the only window while it is open
        show_fitted(window, ReaderWindow.PREFERRED_SIZE)
        label = session.study_name
        self._set_status(f"Reading {label!r} as {session.reader}…")
        return window

    def ask_unlock_code(self) -> str | None:
        """The coordinator's unlock code for this session (None: cancelled)."""
        from dermstudy.ui.lock_screen import ask_unlock_code

        return ask_unlock_code(self)

    def _reader_closed(self) -> None:
        window, self.reader_window = self.reader_window, None
        if window is not None:
            window.session.close()
        main = self.window()
        if main is not None and not main.isVisible() and not self._closed:
            main.show()
        self._set_status("The reader window was closed; every confirmed answer is saved.")
        self.refresh()

    def _set_status(self, text: str, error: bool = False) -> None:
        set_role(self.status_label, "error" if error else "hint")
        self.status_label.setText(text)

    def close_resources(self) -> None:
        if self.reader_window is not None:
            self.reader_window.close()


create_panel = ReadingPanel  # the panel protocol's factory: (workspace_path, parent=None)
