"""Training panel: fine-tune the GLIDE base model or upsampler on the workspace's real images.

A thin view over ``dermstudy train``: the form becomes command-line arguments, the run happens in a
``dermstudy train … --progress json`` child process (``ProcessRunner``), and the panel follows its
JSON lines: the loss curve (matplotlib), images/s and ETA, and the newest per-entity preview grid.
Stop sends SIGTERM; the job finishes its step, writes a checkpoint and can be resumed from the list
of runs.
"""

from __future__ import annotations

import json
from pathlib import Path

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PySide6 import QtWidgets
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap

from dermstudy.entities import ENTITIES
from dermstudy.jobs import ProgressEvent
from dermstudy.paths import models_dir
from dermstudy.training.config import TrainConfig, resolve_config
from dermstudy.training.plots import draw_loss_curve
from dermstudy.ui.file_dialogs import open_file
from dermstudy.ui.messages import in_gui_terms
from dermstudy.ui.panels.base import Panel
from dermstudy.ui.style import hint_label, page_layout, scrolling_form
from dermstudy.ui.workers import ProcessRunner, show_progress
from dermstudy.workspace import Workspace
from dermstudy.workspace.splits import SplitRepository
from dermstudy.workspace.training_runs import TrainingRunRepository

TITLE = "Training"
STOP_GRACE_MS = 120_000  # a full-size step on a CPU can take a while; never kill mid-checkpoint


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


def _fmt_eta(seconds: float | None) -> str:
    if seconds is None or seconds != seconds:
        return "--"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


# A first fine-tune of the shipped demo model that finishes in minutes on a 2-core CPU.
DEMO_FINE_TUNE = {
    "steps": 60,
    "batch_size": 8,
    "lr": 1e-4,
    "ema": 0.99,
    "preview_every": 20,
    "checkpoint_every": 20,
}


class TrainingPanel(Panel):
    TITLE = TITLE
    SHUTDOWN_GRACE_MS = SHUTDOWN_WAIT_MS = STOP_GRACE_MS

    def __init__(self, workspace_path: Path, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(workspace_path, parent)
        self.records: list[dict] = []
        self.run_id: str | None = None
        self._build()
        self._apply_preset()
        self._offer_demo_fine_tune()
        self.refresh()

    # -- layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        intro = hint_label(
            "Fine-tune GLIDE on this workspace's real images; captions are the entities' prompts. "
            "The run is a separate process: stop it at any time and resume it later, exactly."
        )
        left = QtWidgets.QVBoxLayout()
        left.addWidget(self._build_model_box())
        left.addWidget(self._build_options_box())
        left.addWidget(self._build_runs_box())
        left.addStretch(1)
        right = QtWidgets.QVBoxLayout()
        right.addWidget(self._build_curve_box(), 3)
        right.addWidget(self._build_preview_box(), 4)
        form_scroll = scrolling_form(left)
        # Start/Stop and the progress stay below the scrolling form: always on screen.
        form_column = QtWidgets.QVBoxLayout()
        form_column.addWidget(form_scroll, 1)
        form_column.addLayout(self._build_controls())
        columns = QtWidgets.QHBoxLayout()
        columns.addLayout(form_column, 2)
        columns.addLayout(right, 3)
        layout = page_layout(self, "Training", intro)
        layout.addLayout(columns, 1)

    def _build_model_box(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Model")
        form = QtWidgets.QFormLayout(box)
        self.kind_combo = QtWidgets.QComboBox()
        self.kind_combo.addItem("Base model (64 px)", "base")
        self.kind_combo.addItem("Upsampler (64 → 256 px)", "upsampler")
        self.preset_combo = QtWidgets.QComboBox()
        self.preset_combo.addItem("fast (recommended)", "fast")
        self.preset_combo.addItem("paper (as published)", "paper")
        self.preset_combo.currentIndexChanged.connect(self._apply_preset)
        self.init_edit = QtWidgets.QLineEdit()
        self.init_edit.setPlaceholderText(f"default: {models_dir()}/<kind>.pt")
        self.init_edit.textChanged.connect(self._update_enabled)
        self.kind_combo.currentIndexChanged.connect(self._update_enabled)
        browse = QtWidgets.QPushButton("Browse…")
        browse.clicked.connect(self._browse_init)
        init_row = QtWidgets.QHBoxLayout()
        init_row.addWidget(self.init_edit, 1)
        init_row.addWidget(browse)
        self.scratch_check = QtWidgets.QCheckBox("Random initial weights (no checkpoint)")
        self.scratch_check.toggled.connect(self._update_enabled)
        self.model_options_edit = QtWidgets.QLineEdit()
        self.model_options_edit.setPlaceholderText('with random weights, e.g. {"num_channels": 64}')
        form.addRow("Train", self.kind_combo)
        form.addRow("Preset", self.preset_combo)
        form.addRow("Start from", init_row)
        form.addRow("", self.scratch_check)
        form.addRow("Model options", self.model_options_edit)
        return box

    def _build_options_box(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Options")
        form = QtWidgets.QFormLayout(box)
        self.epochs_spin = _spin(0, 10_000, 60)
        self.steps_spin = _spin(0, 10_000_000, 0)
        self.steps_spin.setSpecialValueText("use epochs")
        self.batch_spin = _spin(1, 4096, 4)
        self.lr_edit = QtWidgets.QLineEdit()
        self.uncond_edit = QtWidgets.QLineEdit()
        self.precision_combo = QtWidgets.QComboBox()
        self.precision_combo.addItems(["fp32", "bf16", "fp16"])
        self.loss_combo = QtWidgets.QComboBox()
        self.loss_combo.addItems(["hybrid", "mse"])
        self.ema_edit = QtWidgets.QLineEdit()
        self.device_combo = QtWidgets.QComboBox()
        self.device_combo.addItems(["auto", "cpu", "cuda"])
        self.entity_combo = QtWidgets.QComboBox()
        self.entity_combo.addItem("all seven entities", "")
        for entity in ENTITIES:
            self.entity_combo.addItem(entity.short_name, entity.code)
        self.split_combo = QtWidgets.QComboBox()
        self.preview_spin = _spin(0, 1_000_000, 500)
        self.checkpoint_spin = _spin(1, 10_000_000, 1000)
        form.addRow("Epochs", self.epochs_spin)
        form.addRow("Steps", self.steps_spin)
        form.addRow("Batch size", self.batch_spin)
        form.addRow("Learning rate", self.lr_edit)
        form.addRow("Empty-caption share", self.uncond_edit)
        form.addRow("Precision", self.precision_combo)
        form.addRow("Loss", self.loss_combo)
        form.addRow("EMA rate (0 = off)", self.ema_edit)
        form.addRow("Device", self.device_combo)
        form.addRow("Images", self.entity_combo)
        form.addRow("Hold out", self.split_combo)
        form.addRow("Preview every", self.preview_spin)
        form.addRow("Checkpoint every", self.checkpoint_spin)
        return box

    def _build_controls(self) -> QtWidgets.QVBoxLayout:
        column, self.stop_button = self.build_run_controls("Start training", self.start, self.stop)
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

    # -- state ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read splits and runs from the workspace (called when the panel is shown)."""
        current_split = self.split_combo.currentData()
        self.split_combo.clear()
        self.split_combo.addItem("nothing (train on all)", "")
        self.runs_combo.clear()
        if (self.workspace_path / "dermstudy.db").exists():
            with Workspace.open(self.workspace_path, create=False) as ws:
                for name in SplitRepository(ws).names():
                    self.split_combo.addItem(f"test side of split {name!r}", name)
                for run in TrainingRunRepository(ws).summaries():
                    self.runs_combo.addItem(
                        f"{run.id} · {run.kind} · {run.status} · {run.step}/{run.total_steps}",
                        run.id,
                    )
        index = self.split_combo.findData(current_split)
        self.split_combo.setCurrentIndex(max(index, 0))
        self._update_enabled()

    def _apply_preset(self) -> None:
        # resolve_config adapts ``fast`` to a machine without CUDA (fp32 there: measured faster).
        preset = resolve_config(self.preset_combo.currentData(), {}).to_dict()
        self.epochs_spin.setValue(int(preset["epochs"]))
        self.batch_spin.setValue(int(preset["batch_size"]))
        self.lr_edit.setText(f"{preset['lr']:g}")
        self.uncond_edit.setText(f"{preset['uncond_p']:g}")
        self.precision_combo.setCurrentText(preset["precision"])
        self.loss_combo.setCurrentText(preset["loss"])
        self.ema_edit.setText(f"{preset['ema']:g}")

    def _offer_demo_fine_tune(self) -> None:
        """Without a model of its own, the form is ready to fine-tune the shipped demo model:
        a short run (60 steps of 8 images, a few minutes on a CPU) in which the loss falls and
        the previews change, so a first user sees training work end to end."""
        from dermstudy.glide.checkpoints import find_default_model, find_model_or_demo

        if find_default_model("base") is not None or find_model_or_demo("base") is None:
            return
        # "Start from" stays empty: the default resolves to the demo model of the chosen kind.
        self.steps_spin.setValue(DEMO_FINE_TUNE["steps"])
        self.batch_spin.setValue(DEMO_FINE_TUNE["batch_size"])
        self.lr_edit.setText(f"{DEMO_FINE_TUNE['lr']:g}")
        self.ema_edit.setText(f"{DEMO_FINE_TUNE['ema']:g}")
        self.preview_spin.setValue(DEMO_FINE_TUNE["preview_every"])
        self.checkpoint_spin.setValue(DEMO_FINE_TUNE["checkpoint_every"])
        self.status.setText(
            "Ready to fine-tune the shipped demo model: 60 steps of 8 images, a few minutes on a "
            "CPU. Put the public GLIDE weights into models/ for research runs."
        )

    def missing_model(self) -> str | None:
        """What keeps a new run from starting, in the form's own words (None: nothing)."""
        from dermstudy.glide.checkpoints import find_model_or_demo as find_default_model

        if self.scratch_check.isChecked():
            return None
        text = self.init_edit.text().strip()
        if text:
            if not Path(text).expanduser().is_file():
                return f"“Start from”: there is no file {text}."
            return None
        kind = self.kind_combo.currentData()
        filename = "upsample.pt" if kind == "upsampler" else "base.pt"
        if find_default_model("upsample" if kind == "upsampler" else "base") is None:
            return (
                f"No model to start from: put {filename} into {models_dir()}, choose a checkpoint "
                "with “Browse…”, or tick “Random initial weights”."
            )
        return None

    def _update_enabled(self) -> None:
        running = self.is_running()
        missing = self.missing_model()
        self.start_button.setEnabled(not running and missing is None)
        self.start_button.setToolTip(missing or "")
        if not running and getattr(self, "status", None) is not None:
            if missing is not None:
                self.status.setText(missing)
            elif self.status.text().startswith(("No model to start from", "“Start from”")):
                self.status.setText("Ready.")
        self.resume_button.setEnabled(not running and self.runs_combo.count() > 0)
        self.stop_button.setEnabled(running)
        self.init_edit.setEnabled(not self.scratch_check.isChecked())
        self.model_options_edit.setEnabled(self.scratch_check.isChecked())

    def _browse_init(self) -> None:
        name = open_file(self, "Initial GLIDE checkpoint", "Checkpoints (*.pt)", models_dir())
        if name:
            self.init_edit.setText(name)

    def settings(self) -> TrainConfig:
        """The run's configuration as the form describes it: the preset, then every field of the
        form (raises ValueError, naming the form's field, on bad input)."""
        overrides: dict = {"kind": self.kind_combo.currentData()}
        if self.scratch_check.isChecked():
            overrides["init"] = "scratch"
            text = self.model_options_edit.text().strip()
            if text:
                try:
                    overrides["model_options"] = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"Model options are not valid JSON ({exc.msg})") from None
                if not isinstance(overrides["model_options"], dict):
                    raise ValueError(
                        'Model options must be a JSON object such as {"num_channels": 64}'
                    )
        elif self.init_edit.text().strip():
            overrides["init"] = self.init_edit.text().strip()
        if self.steps_spin.value():
            overrides["steps"] = self.steps_spin.value()
        else:
            overrides["epochs"] = self.epochs_spin.value()
        for flag, name, edit in (
            ("--lr", "lr", self.lr_edit),
            ("--uncond-p", "uncond_p", self.uncond_edit),
            ("--ema", "ema", self.ema_edit),
        ):
            try:
                overrides[name] = float(edit.text())
            except ValueError:
                label = FLAG_LABELS[flag]
                raise ValueError(f"“{label}” must be a number, got {edit.text()!r}") from None
        overrides.update(
            batch_size=self.batch_spin.value(),
            precision=self.precision_combo.currentText(),
            loss=self.loss_combo.currentText(),
            device=self.device_combo.currentText(),
            preview_every=self.preview_spin.value(),
            checkpoint_every=self.checkpoint_spin.value(),
        )
        if self.entity_combo.currentData():
            overrides["entities"] = [self.entity_combo.currentData()]
        if self.split_combo.currentData():
            overrides["split"] = self.split_combo.currentData()
        return resolve_config(self.preset_combo.currentData(), overrides)

    def arguments(self) -> list[str]:
        """The ``dermstudy train`` arguments of :meth:`settings` (raises ValueError on bad input)."""
        return [*self.settings().to_argv(), "--progress", "json"]

    # -- running -------------------------------------------------------------------------------
    def start(self, resume: str | None = None) -> ProcessRunner | None:
        if resume:
            kind = self.runs_combo.currentText().split(" · ")[1]
            args = [
                "train",
                "upsampler" if kind == "upsample" else "base",
                "--resume",
                resume,
                "--progress",
                "json",
            ]
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
        self.records = []
        self.run_id = resume
        self._completed = False
        draw_loss_curve(self.figure, [])
        self.canvas.draw_idle()
        self.progress_bar.setRange(0, 0)
        self.status.setText("Preparing the images and the model…")
        runner = self.start_process(
            args,
            self._on_event,
            finished=lambda _code: self._ended("Finished."),
            failed=lambda message: self._ended(f"Failed: {gui_terms(message)}", False),
            cancelled=lambda: self._ended("Stopped; resume the run from the list.", False),
            done=self._on_done,
        )
        self._update_enabled()
        return runner

    def stop(self) -> None:
        if self.is_running():
            self.status.setText("Stopping after the current step (writing a checkpoint)…")
            self.runner.stop(grace_ms=STOP_GRACE_MS)

    def on_progress(self, event: ProgressEvent) -> None:
        show_progress(self.progress_bar, self.status, event)

    def _on_event(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "start":
            self.run_id = event.get("run")
            if event.get("resumed"):
                self._load_earlier_steps()
        elif kind == "step":
            self.records.append(event)
            self.speed_label.setText(
                f"step {event['step']:,}/{event.get('total', 0) or 0:,} · "
                f"{event.get('images_per_s', 0):.1f} images/s · ETA {_fmt_eta(event.get('eta_s'))}"
            )
            # Redrawing costs ~50 ms; every step early on, then every tenth.
            if len(self.records) < 50 or len(self.records) % 10 == 0:
                self._redraw()
        elif kind == "preview" and event.get("path"):
            self.show_preview(Path(event["path"]), int(event.get("step", 0)))

    def _load_earlier_steps(self) -> None:
        """A resumed run continues its curve: read the steps it logged before."""
        from dermstudy.training.runs import read_log

        if self.run_id:
            log = self.workspace_path / "runs" / self.run_id / "log.jsonl"
            self.records = [r for r in read_log(log) if r.get("event") == "step"]

    def _redraw(self) -> None:
        draw_loss_curve(self.figure, self.records, self.run_id or "")
        self.canvas.draw_idle()

    def show_preview(self, path: Path, step: int) -> None:
        pixmap = QPixmap(str(path))
        if pixmap.isNull():
            return
        self.preview_label.set_source(pixmap)
        self.preview_caption.setText(f"step {step:,} · {path}")

    def _ended(self, text: str, completed: bool = True) -> None:
        self._redraw()
        self.status.setText(text)
        self._completed = completed

    def _on_done(self) -> None:
        # A full bar only for a run that finished; a failed or stopped one shows how far it got.
        self.progress_bar.setRange(0, 1)
        completed = getattr(self, "_completed", False)
        if completed:
            self.progress_bar.setValue(1)
        elif self.records and self.records[-1].get("total"):
            self.progress_bar.setRange(0, int(self.records[-1]["total"]))
            self.progress_bar.setValue(int(self.records[-1]["step"]))
        else:
            self.progress_bar.setValue(0)
        self.refresh()


# The command-line flags a child process may name in an error, and the form's label for each.
FLAG_LABELS = {
    "--init scratch": "Random initial weights",
    "--init": "Start from",
    "--model-options": "Model options",
    "--epochs": "Epochs",
    "--steps": "Steps",
    "--batch-size": "Batch size",
    "--lr": "Learning rate",
    "--uncond-p": "Empty-caption share",
    "--precision": "Precision",
    "--loss": "Loss",
    "--ema": "EMA rate",
    "--device": "Device",
    "--entity": "Images",
    "--split": "Hold out",
    "--preview-every": "Preview every",
    "--checkpoint-every": "Checkpoint every",
}


def gui_terms(message: str) -> str:
    """``message`` with every command-line flag replaced by the form field it comes from."""
    return in_gui_terms(message, FLAG_LABELS)


def _spin(low: int, high: int, value: int) -> QtWidgets.QSpinBox:
    spin = QtWidgets.QSpinBox()
    spin.setRange(low, high)
    spin.setValue(value)
    return spin


create_panel = TrainingPanel  # the panel protocol's factory: (workspace_path, parent=None)
