"""Training panel: fine-tune the GLIDE base model or upsampler on the workspace's real images.

A thin view over ``dermstudy train``: the form becomes command-line arguments, the run happens in a
``dermstudy train … --progress json`` child process (``ProcessRunner``), and the panel follows its
JSON lines: the loss curve (matplotlib), images/s and ETA, and the newest per-entity preview grid.
Stop sends SIGTERM; the job finishes its step, writes a checkpoint and can be resumed from the list
of runs.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PySide6 import QtWidgets
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap

from dermstudy.jobs import ProgressEvent
from dermstudy.paths import models_dir
from dermstudy.training.config import TrainConfig
from dermstudy.training.plots import draw_loss_curve
from dermstudy.ui.file_dialogs import open_file
from dermstudy.ui.panels.base import (
    ChildTexts,
    Panel,
    add_row,
    combo_box,
    fill_combo,
    form_box,
    form_column,
    set_widget_value,
    spin_box,
    widget_value,
)
from dermstudy.ui.viewmodels import training as vm
from dermstudy.ui.viewmodels.training import DEMO_FINE_TUNE, gui_terms
from dermstudy.ui.workers import ProcessRunner, show_progress
from dermstudy.workspace import Workspace
from dermstudy.workspace.splits import SplitRepository
from dermstudy.workspace.training_runs import TrainingRunRepository

# DEMO_FINE_TUNE and gui_terms are part of the panel module's interface (tests and callers use them).
__all__ = ["DEMO_FINE_TUNE", "TrainingPanel", "create_panel", "gui_terms"]

TITLE = "Training"
CHILD_TEXTS = ChildTexts(
    waiting="Preparing the images and the model…",
    stopping="Stopping after the current step (writing a checkpoint)…",
    stopped="Stopped; resume the run from the list.",
)


class ScaledImage(QtWidgets.QLabel):
    """Shows a pixmap as large as fits, keeping its aspect ratio, rescaled when resized."""

    def __init__(self, text: str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.source: QPixmap | None = None
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Ignored
        )

    def set_source(self, pixmap: QPixmap) -> None:
        self.source = pixmap
        self._rescale()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self.source is not None and not self.source.isNull():
            # Enlarging keeps the pixels of small tiles sharp; shrinking smooths (legible labels).
            enlarge = self.source.height() < self.height()
            mode = (
                Qt.TransformationMode.FastTransformation
                if enlarge
                else Qt.TransformationMode.SmoothTransformation
            )
            self.setPixmap(
                self.source.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio, mode)
            )


class TrainingPanel(Panel):
    TITLE = TITLE
    # A full-size step on a CPU can take a while; never kill a run mid-checkpoint.
    SHUTDOWN_GRACE_MS = SHUTDOWN_WAIT_MS = STOP_GRACE_MS = 120_000

    def __init__(self, workspace_path: Path, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(workspace_path, parent)
        self.run = vm.RunProgress()  # the run the curve and the bar follow
        self.run_choices: list[vm.RunChoice] = []
        self._build()
        self.fields = self._field_widgets()
        self._apply_preset()
        self._offer_demo_fine_tune()
        self.refresh()

    # The followed run, as the tests and the previews read it.
    @property
    def records(self) -> list[dict]:
        return self.run.records

    @property
    def run_id(self) -> str | None:
        return self.run.run_id

    # -- layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        form = QtWidgets.QVBoxLayout()
        for box in (self._build_model_box(), self._build_options_box(), self._build_runs_box()):
            form.addWidget(box)
        form.addStretch(1)
        right = QtWidgets.QVBoxLayout()
        right.addWidget(self._build_curve_box(), 3)
        right.addWidget(self._build_preview_box(), 4)
        columns = QtWidgets.QHBoxLayout()
        columns.addLayout(form_column(form, self._build_controls())[0], 2)
        columns.addLayout(right, 3)
        page = self.page(
            "Fine-tune GLIDE on this workspace's real images; captions are the entities' prompts. "
            "The run is a separate process: stop it at any time and resume it later, exactly."
        )
        page.addLayout(columns, 1)

    def _build_model_box(self) -> QtWidgets.QGroupBox:
        box, form = form_box("Model")
        self.kind_combo = add_row(form, "Train", combo_box(vm.KIND_CHOICES))
        self.preset_combo = add_row(form, "Preset", combo_box(vm.PRESET_CHOICES))
        self.preset_combo.currentIndexChanged.connect(self._apply_preset)
        self.init_edit = QtWidgets.QLineEdit()
        self.init_edit.setPlaceholderText(f"default: {models_dir()}/<kind>.pt")
        self.init_edit.textChanged.connect(self.update_controls)
        self.kind_combo.currentIndexChanged.connect(self.update_controls)
        browse = QtWidgets.QPushButton("Browse…")
        browse.clicked.connect(self._browse_init)
        init_row = add_row(form, "Start from", QtWidgets.QHBoxLayout())
        init_row.addWidget(self.init_edit, 1)
        init_row.addWidget(browse)
        self.scratch_check = QtWidgets.QCheckBox("Random initial weights (no checkpoint)")
        self.scratch_check.toggled.connect(self.update_controls)
        add_row(form, "", self.scratch_check)
        self.model_options_edit = add_row(form, "Model options", QtWidgets.QLineEdit())
        self.model_options_edit.setPlaceholderText('with random weights, e.g. {"num_channels": 64}')
        return box

    def _build_options_box(self) -> QtWidgets.QGroupBox:
        box, form = form_box("Options")
        self.epochs_spin = add_row(form, "Epochs", spin_box(0, 10_000, 60))
        self.steps_spin = add_row(form, "Steps", spin_box(0, 10_000_000, 0))
        self.steps_spin.setSpecialValueText("use epochs")
        self.batch_spin = add_row(form, "Batch size", spin_box(1, 4096, 4))
        self.lr_edit = add_row(form, "Learning rate", QtWidgets.QLineEdit())
        self.uncond_edit = add_row(form, "Empty-caption share", QtWidgets.QLineEdit())
        self.precision_combo = add_row(form, "Precision", combo_box(vm.PRECISION_NAMES))
        self.loss_combo = add_row(form, "Loss", combo_box(vm.LOSS_NAMES))
        self.ema_edit = add_row(form, "EMA rate (0 = off)", QtWidgets.QLineEdit())
        self.device_combo = add_row(form, "Device", combo_box(vm.DEVICE_NAMES))
        self.entity_combo = add_row(form, "Images", combo_box(vm.ENTITY_CHOICES))
        self.split_combo = add_row(form, "Hold out", QtWidgets.QComboBox())
        self.preview_spin = add_row(form, "Preview every", spin_box(0, 1_000_000, 500))
        self.checkpoint_spin = add_row(form, "Checkpoint every", spin_box(1, 10_000_000, 1000))
        return box

    def _build_controls(self) -> QtWidgets.QVBoxLayout:
        column, self.stop_button = self.build_run_controls("Start training", self.start)
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        return column

    def _build_runs_box(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Runs")
        self.runs_combo = QtWidgets.QComboBox()
        self.resume_button = QtWidgets.QPushButton("Resume")
        self.resume_button.clicked.connect(lambda: self.start(resume=self.runs_combo.currentData()))
        row = QtWidgets.QHBoxLayout(box)
        row.addWidget(self.runs_combo, 1)
        row.addWidget(self.resume_button)
        return box

    def _build_curve_box(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Loss")
        self.figure = Figure(figsize=(5, 2.6), dpi=90)
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.speed_label = QtWidgets.QLabel("images/s: --   ETA: --")
        self.speed_label.setProperty("role", "hint")
        layout = QtWidgets.QVBoxLayout(box)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.speed_label)
        draw_loss_curve(self.figure, [])
        return box

    def _build_preview_box(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Previews (one row per entity)")
        self.preview_label = ScaledImage("Preview grids appear here while the model trains.")
        self.preview_label.setMinimumHeight(200)
        self.preview_caption = QtWidgets.QLabel("")
        self.preview_caption.setProperty("role", "hint")
        layout = QtWidgets.QVBoxLayout(box)
        layout.addWidget(self.preview_label, 1)
        layout.addWidget(self.preview_caption)
        return box

    def _field_widgets(self) -> dict[str, QtWidgets.QWidget]:
        """The form's control for each field of :class:`~dermstudy.ui.viewmodels.training.
        TrainingForm`: the form is read, and presets are shown, through this one table."""
        return {
            "preset": self.preset_combo,
            "kind": self.kind_combo,
            "scratch": self.scratch_check,
            "model_options": self.model_options_edit,
            "init": self.init_edit,
            "epochs": self.epochs_spin,
            "steps": self.steps_spin,
            "batch_size": self.batch_spin,
            "lr": self.lr_edit,
            "uncond_p": self.uncond_edit,
            "ema": self.ema_edit,
            "precision": self.precision_combo,
            "loss": self.loss_combo,
            "device": self.device_combo,
            "entity": self.entity_combo,
            "split": self.split_combo,
            "preview_every": self.preview_spin,
            "checkpoint_every": self.checkpoint_spin,
        }

    def show_values(self, values: dict[str, object]) -> None:
        """Show ``values`` (``TrainingForm`` field → value) in the form."""
        for name, value in values.items():
            set_widget_value(self.fields[name], value)

    # -- state ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read splits and runs from the workspace (called when the panel is shown)."""
        current_split = self.split_combo.currentData()
        split_names: list[str] = []
        self.run_choices = []
        if (self.workspace_path / "dermstudy.db").exists():
            with Workspace.open(self.workspace_path, create=False) as ws:
                split_names = SplitRepository(ws).names()
                self.run_choices = vm.run_choices(TrainingRunRepository(ws).summaries())
        self.split_combo.clear()
        fill_combo(self.split_combo, vm.split_choices(split_names))
        self.runs_combo.clear()
        fill_combo(self.runs_combo, [(run.label, run.id) for run in self.run_choices])
        index = self.split_combo.findData(current_split)
        self.split_combo.setCurrentIndex(max(index, 0))
        self.update_controls()

    def _apply_preset(self) -> None:
        self.show_values(dataclasses.asdict(vm.preset_fields(self.preset_combo.currentData())))

    def _offer_demo_fine_tune(self) -> None:
        """Without a model of its own, the form is ready to fine-tune the shipped demo model:
        a short run (60 steps of 8 images, a few minutes on a CPU) in which the loss falls and
        the previews change, so a first user sees training work end to end."""
        from dermstudy.glide.checkpoints import find_default_model, find_model_or_demo

        if not vm.offers_demo_fine_tune(find_default_model("base"), find_model_or_demo("base")):
            return
        self.show_values(vm.demo_fine_tune_fields())
        self.status.setText(vm.DEMO_OFFER)

    def missing_model(self) -> str | None:
        """What keeps a new run from starting, in the form's own words (None: nothing)."""
        return vm.missing_model(
            self.scratch_check.isChecked(), self.init_edit.text(), self.kind_combo.currentData()
        )

    def update_controls(self) -> None:
        running = self.is_running()
        missing = self.missing_model()
        self.start_button.setEnabled(not running and missing is None)
        self.start_button.setToolTip(missing or "")
        if not running and getattr(self, "status", None) is not None:
            self.status.setText(vm.status_after_check(self.status.text(), missing))
        self.resume_button.setEnabled(not running and self.runs_combo.count() > 0)
        self.stop_button.setEnabled(running)
        self.init_edit.setEnabled(not self.scratch_check.isChecked())
        self.model_options_edit.setEnabled(self.scratch_check.isChecked())

    def _browse_init(self) -> None:
        name = open_file(self, "Initial GLIDE checkpoint", "Checkpoints (*.pt)", models_dir())
        if name:
            self.init_edit.setText(name)

    def form(self) -> vm.TrainingForm:
        """The form's fields as plain values."""
        return vm.TrainingForm(**{name: widget_value(w) for name, w in self.fields.items()})

    def settings(self) -> TrainConfig:
        """The run's configuration as the form describes it: the preset, then every field of the
        form (raises ValueError, naming the form's field, on bad input)."""
        return self.form().to_config()

    def arguments(self) -> list[str]:
        """The ``dermstudy train`` arguments of :meth:`settings` (raises ValueError on bad input)."""
        return self.form().arguments()

    # -- running -------------------------------------------------------------------------------
    def start(self, resume: str | None = None) -> ProcessRunner | None:
        if resume:
            args = next(r for r in self.run_choices if r.id == resume).resume_arguments()
        else:
            missing = self.missing_model()
            if missing is not None:
                self.status.setText(missing)
                return None
            try:
                args = self.arguments()
            except ValueError as exc:
                self.status.setText(gui_terms(str(exc)))
                return None
        self.run.restart(resume)
        draw_loss_curve(self.figure, [])
        self.canvas.draw_idle()
        return self.run_child(args, CHILD_TEXTS)

    def on_progress(self, event: ProgressEvent) -> None:
        show_progress(self.progress_bar, self.status, event)

    def on_child_event(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "start":
            self.run.run_id = event.get("run")
            if event.get("resumed"):
                self._load_earlier_steps()
        elif kind == "step":
            self.speed_label.setText(vm.speed_text(event))
            if self.run.add_step(event):
                self._redraw()
        elif kind == "preview" and event.get("path"):
            self.show_preview(Path(event["path"]), int(event.get("step", 0)))

    def _load_earlier_steps(self) -> None:
        """A resumed run continues its curve: read the steps it logged before."""
        from dermstudy.training.runs import read_log

        if self.run_id:
            self.run.earlier_steps(
                read_log(self.workspace_path / "runs" / self.run_id / "log.jsonl")
            )

    def _redraw(self) -> None:
        draw_loss_curve(self.figure, self.records, self.run_id or "")
        self.canvas.draw_idle()

    def show_preview(self, path: Path, step: int) -> None:
        pixmap = QPixmap(str(path))
        if pixmap.isNull():
            return
        self.preview_label.set_source(pixmap)
        self.preview_caption.setText(vm.preview_caption(step, path))

    def child_ended(self, text: str, completed: bool) -> None:
        self._redraw()
        self.status.setText(gui_terms(text))  # a failure names CLI flags: say the form's labels
        self.run.completed = completed

    def on_child_done(self) -> None:
        maximum, value = self.run.bar()
        self.progress_bar.setRange(0, maximum)
        self.progress_bar.setValue(value)
        self.refresh()


create_panel = TrainingPanel  # the panel protocol's factory: (workspace_path, parent=None)
