"""Classifier panel: configure and run the CNN ablation, follow its curves and Table 3 as they come.

A thin view over ``dermstudy classifier ablation``: the form becomes an ``AblationSettings``
(``viewmodels.classifier.ablation_settings``) whose ``to_argv`` is the command line, and the run
happens in a ``… --progress json`` child process (``ProcessRunner``). Each finished epoch adds a
point to the loss curves; each finished arm × seed re-reads the run's ``result.json`` and refreshes
Table 3 and the per-seed table. Stop sends SIGTERM: the run ends after the current mini-batch and
keeps what it finished. Earlier runs are shown by choosing them in the list.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PySide6 import QtWidgets

from dermstudy.classifier.figures import draw_curves
from dermstudy.classifier.settings import ARMS, AblationSettings
from dermstudy.jobs import ProgressEvent
from dermstudy.ui.panels.base import ChildTexts, Panel, spin_box, widget_value
from dermstudy.ui.style import scrolling_form
from dermstudy.ui.viewmodels.classifier import (
    REDRAW,
    RELOAD,
    SEED_HEADERS,
    AblationView,
    Curves,
    ablation_settings,
    child_arguments,
    seed_rows,
    stored_run_text,
    table3_text,
)
from dermstudy.ui.workers import ProcessRunner, show_progress
from dermstudy.workspace import Workspace

TITLE = "Classifier"
INTRO = (
    "Does adding synthetic images help a CNN? Each arm trains on its own images and is "
    "tested on the same held-out real images (split by lesion), over several seeds."
)
CHILD_TEXTS = ChildTexts(
    waiting="Decoding the images and preparing the arms…",
    stopping="Stopping after the current mini-batch…",
    stopped="Stopped; finished arms × seeds are kept.",
)


class ClassifierPanel(Panel):
    TITLE = TITLE
    SHUTDOWN_GRACE_MS = SHUTDOWN_WAIT_MS = STOP_GRACE_MS = 30_000  # a mini-batch can take a while

    def __init__(self, workspace_path: Path, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(workspace_path, parent)
        self.run_view = AblationView()
        self._build()
        self.refresh()

    @property
    def curves(self) -> Curves:
        """The loss curves shown: arm → seed → epoch events."""
        return self.run_view.curves

    # -- layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        left = QtWidgets.QVBoxLayout()
        left.addWidget(self._build_form())
        left.addLayout(self._build_controls())
        left.addWidget(self._build_runs_box())
        left.addStretch(1)
        form = scrolling_form(left)
        right = QtWidgets.QSplitter()
        right.setOrientation(right.orientation().Vertical)
        curves_box = QtWidgets.QGroupBox("Loss curves (solid: training, dashed: validation)")
        self.figure = Figure(figsize=(6, 3.2), dpi=90)
        self.canvas = FigureCanvasQTAgg(self.figure)
        QtWidgets.QVBoxLayout(curves_box).addWidget(self.canvas)
        draw_curves(self.figure, {})
        tables_box = QtWidgets.QGroupBox("Table 3 layout: per class, mean ± sd over seeds")
        self.table = QtWidgets.QTableWidget(0, 0)
        self.table.verticalHeader().setVisible(False)
        self.seeds_table = QtWidgets.QTableWidget(0, len(SEED_HEADERS))
        self.seeds_table.setHorizontalHeaderLabels(SEED_HEADERS)
        self.seeds_table.verticalHeader().setVisible(False)
        self.seeds_table.horizontalHeader().setSectionResizeMode(
            QtWidgets.QHeaderView.ResizeMode.Stretch
        )
        tables = QtWidgets.QVBoxLayout(tables_box)
        tables.addWidget(self.table, 3)
        tables.addWidget(self.seeds_table, 2)
        right.addWidget(curves_box)
        right.addWidget(tables_box)
        right.setSizes([340, 360])
        columns = QtWidgets.QHBoxLayout()
        columns.addWidget(form)
        columns.addWidget(right, 1)
        layout = self.page(INTRO)
        layout.addLayout(columns, 1)

    def _build_form(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Ablation")
        form = QtWidgets.QFormLayout(box)
        defaults = AblationSettings()  # the form starts from the run's defaults
        self.protocol_combo = QtWidgets.QComboBox()
        self.protocol_combo.addItem("held-out (real test set, by lesion)", "held-out")
        self.protocol_combo.addItem("paper (pool, random 80/20)", "paper")
        form.addRow("Protocol", self.protocol_combo)
        self.model_combo = QtWidgets.QComboBox()
        self.model_combo.addItem("research CNN (3 conv)", "paper-cnn")
        self.model_combo.addItem("ResNet-18 (from scratch)", "resnet18")
        form.addRow("Model", self.model_combo)
        arms = QtWidgets.QVBoxLayout()
        self.arm_checks: dict[str, QtWidgets.QCheckBox] = {}
        for arm in ARMS:
            check = QtWidgets.QCheckBox(arm)
            check.setChecked(True)
            self.arm_checks[arm] = check
            arms.addWidget(check)
        form.addRow("Arms", arms)
        self.seeds_spin = spin_box(1, 20, defaults.seeds)
        form.addRow("Seeds", self.seeds_spin)
        self.epochs_spin = spin_box(1, 1000, defaults.epochs)
        form.addRow("Most epochs", self.epochs_spin)
        self.patience_spin = spin_box(1, 100, defaults.patience)
        form.addRow("Patience", self.patience_spin)
        self.size_spin = spin_box(8, 512, defaults.image_size)
        self.size_spin.setSingleStep(8)
        form.addRow("Image size", self.size_spin)
        self.split_combo = QtWidgets.QComboBox()
        form.addRow("Test split", self.split_combo)
        self.device_combo = QtWidgets.QComboBox()
        self.device_combo.addItems(["auto", "cpu", "cuda"])
        form.addRow("Device", self.device_combo)
        self.threads_spin = spin_box(0, 256, defaults.threads)
        self.threads_spin.setSpecialValueText("torch's default")
        self.threads_spin.setToolTip("CPU threads; 1 is fastest on a small machine that is busy")
        form.addRow("CPU threads", self.threads_spin)
        self.name_edit = QtWidgets.QLineEdit()
        self.name_edit.setPlaceholderText("automatic")
        form.addRow("Run name", self.name_edit)
        # each control and the AblationSettings field it sets (the arms: one check each)
        self.fields: dict[str, QtWidgets.QWidget] = {
            "protocol": self.protocol_combo,
            "model": self.model_combo,
            "seeds": self.seeds_spin,
            "epochs": self.epochs_spin,
            "patience": self.patience_spin,
            "image_size": self.size_spin,
            "split": self.split_combo,
            "device": self.device_combo,
            "threads": self.threads_spin,
            "name": self.name_edit,
        }
        return box

    def _build_controls(self) -> QtWidgets.QVBoxLayout:
        column, self.stop_button = self.build_run_controls("Run ablation", self.start)
        self.stop_button.setEnabled(False)
        return column

    def _build_runs_box(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Runs")
        self.runs_combo = QtWidgets.QComboBox()
        self.runs_combo.activated.connect(lambda _i: self.show_run(self.runs_combo.currentData()))
        QtWidgets.QVBoxLayout(box).addWidget(self.runs_combo)
        return box

    # -- state ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read splits and runs from the workspace (called when the panel is shown)."""
        from dermstudy.classifier.ablation import list_runs
        from dermstudy.datasets.splits import list_splits

        try:
            with Workspace.open(self.workspace_path, create=False) as ws:
                splits = [s.name for s in list_splits(ws)]
                runs = list_runs(ws)
        except Exception as exc:  # a missing workspace: say so, keep the panel usable
            self.status.setText(f"Cannot read the workspace: {exc}")
            return
        current = self.split_combo.currentData()
        self.split_combo.clear()
        self.split_combo.addItem("default (training's split, else newest, else new)", "")
        for name in splits:
            self.split_combo.addItem(name, name)
        index = self.split_combo.findData(current)
        self.split_combo.setCurrentIndex(max(0, index))
        self.runs_combo.clear()
        for name in reversed(runs):
            self.runs_combo.addItem(name, name)
        if self.run_view.result is None and runs and not self.is_running():
            self.show_run(runs[-1])

    def settings(self) -> AblationSettings:
        """The run the form describes; ValueError (in the form's words) when it cannot run."""
        arms = [arm for arm, check in self.arm_checks.items() if check.isChecked()]
        return ablation_settings(arms, **{name: widget_value(w) for name, w in self.fields.items()})

    def arguments(self) -> list[str]:
        return child_arguments(self.settings())

    def start(self) -> ProcessRunner | None:
        try:
            args = self.arguments()
        except ValueError as exc:
            self.status.setText(str(exc))
            return None
        self.run_view = AblationView()
        self._show_tables()
        self._redraw()
        return self.run_child(args, CHILD_TEXTS)

    def update_controls(self) -> None:
        running = self.is_running()
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)

    # -- events --------------------------------------------------------------------------------
    def on_progress(self, event: ProgressEvent) -> None:
        show_progress(self.progress_bar, self.status, event)

    def on_child_event(self, event: dict) -> None:
        change = self.run_view.on_event(event)
        if change == REDRAW:
            self._redraw()
        elif change == RELOAD:
            self._load_result()

    def _load_result(self) -> None:
        if self.run_view.reload(self.workspace_path):
            self._show_tables()

    def show_run(self, name: str | None) -> None:
        """Show a stored run: its curves and tables."""
        if not name or self.is_running():
            return
        self.runs_combo.setCurrentIndex(max(0, self.runs_combo.findData(name)))
        if self.run_view.show_stored(self.workspace_path, name):
            self._show_tables()
            self._redraw()
            self.status.setText(stored_run_text(name, self.run_view.result))

    def _redraw(self) -> None:
        draw_curves(self.figure, self.run_view.curves, self.run_view.run_name or "")
        self.canvas.draw_idle()

    def _show_tables(self) -> None:
        table = table3_text(self.run_view.result)
        self.table.clear()
        self.table.setColumnCount(len(table.headers))
        self.table.setHorizontalHeaderLabels(table.headers)
        _fill(self.table, table.rows)
        self.table.resizeColumnsToContents()
        _fill(self.seeds_table, seed_rows(self.run_view.result))

    def child_ended(self, text: str, completed: bool) -> None:
        self._load_result()
        self._redraw()
        self.status.setText(text)

    def on_child_done(self) -> None:
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(1)
        self.update_controls()
        self.refresh()


def _fill(table: QtWidgets.QTableWidget, rows: list[list[str]]) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            table.setItem(r, c, QtWidgets.QTableWidgetItem(text))


create_panel = ClassifierPanel  # the panel protocol's factory: (workspace_path, parent=None)
