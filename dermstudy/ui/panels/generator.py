"""Generator panel: sample synthetic images per entity with GLIDE into the workspace library.

A thin view over ``dermstudy generate``: the form fills a :class:`GenerateSettings`, the run happens in a
``dermstudy generate --progress json`` child process (so sampling never blocks the window and a crash
cannot take it down), and each finished image appears as a thumbnail when the process announces it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtWidgets
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QPixmap

from dermstudy.entities import BY_CODE, ENTITIES
from dermstudy.generation.catalog import (
    demo_model_note,
    demo_sampling,
    generate_arguments,
    is_demo_model,
    model_choices,
)
from dermstudy.generation.settings import GenerateSettings, GenerationError
from dermstudy.jobs import ProgressEvent
from dermstudy.paths import models_dir
from dermstudy.ui.file_dialogs import open_file
from dermstudy.ui.messages import GENERATOR_LABELS, in_gui_terms
from dermstudy.ui.panels.base import Panel
from dermstudy.ui.settings import load_json, save_json
from dermstudy.ui.style import SPACING, hint_label, page_layout, scrolling_form
from dermstudy.ui.workers import ProcessRunner

TITLE = "Generator"
THUMB = 128
CUSTOM_PROMPT = "__custom__"
# Keys an older version saved the form under, and the settings they are now.
_OLD_KEYS = {"images": "count", "batch": "batch_size", "precision": "dtype"}


class ModelPicker(QtWidgets.QWidget):
    """A combo of the model files found for one kind, plus a Browse… button."""

    def __init__(self, kind: str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.combo = QtWidgets.QComboBox()
        self.combo.setMinimumContentsLength(14)
        self.combo.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        browse = QtWidgets.QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.combo, 1)
        layout.addWidget(browse)

    def fill(self, workspace: Path) -> None:
        current = self.path()
        self.combo.clear()
        for choice in model_choices(workspace, self.kind):
            self.combo.addItem(choice.label, str(choice.path))
        # Keep the user's choice, except the demo model once a real model has taken its place.
        if current is not None and (
            not is_demo_model(current) or self.combo.findData(str(current)) >= 0
        ):
            self._select(current)

    def path(self) -> Path | None:
        data = self.combo.currentData()
        return Path(data) if data else None

    def _select(self, path: Path) -> None:
        index = self.combo.findData(str(path))
        if index < 0:
            self.combo.addItem(f"{path.name}  (chosen file)", str(path))
            index = self.combo.count() - 1
        self.combo.setCurrentIndex(index)

    def _browse(self) -> None:
        name = open_file(
            self, f"Choose a GLIDE {self.kind} model", "Checkpoints (*.pt)", models_dir()
        )
        if name:
            self._select(Path(name))


class GeneratorPanel(Panel):
    TITLE = TITLE
    SHUTDOWN_GRACE_MS = 2000
    SHUTDOWN_WAIT_MS = 5000

    def __init__(self, workspace_path: Path, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(workspace_path, parent)
        self._build()
        self.refresh()  # the model pickers first: the remembered form depends on the base model
        self.restore_choices()  # toggling a restored check box updates what is enabled

    # -- remembered between starts ---------------------------------------------------------------
    SETTINGS_KEY = "generator/form"

    def save_choices(self) -> None:
        """Remember the form as the settings' JSON (not the seed: a new run should not repeat the
        last one's images, nor the model files: the pickers find those again)."""
        data = self.form().to_json()
        for name in ("seed", "prompt", "base", "upsampler", "base_sha256", "upsampler_sha256"):
            data.pop(name, None)
        save_json(self.SETTINGS_KEY, data)

    def restore_choices(self) -> None:
        saved = load_json(self.SETTINGS_KEY, {})
        if not isinstance(saved, dict):
            return
        saved = {_OLD_KEYS.get(key, key): value for key, value in saved.items()}
        if is_demo_model(self.base_picker.path()):
            # First use of the demo model: the sampler and guidance its shipped images were made
            # with (the fast sampler, the guidance chosen by measurement), unless the user chose.
            saved = {**demo_sampling(), **saved}
        # Each remembered value on its own: one that no longer fits is dropped, not the whole form.
        values = {}
        for key, value in saved.items():
            try:
                GenerateSettings.from_json({key: value})
            except GenerationError:
                continue
            values[key] = value
        self.set_form(GenerateSettings.from_json(values), keep=set(values))

    def set_form(self, settings: GenerateSettings, keep: set[str] | None = None) -> None:
        """Show ``settings`` in the form (only the fields named in ``keep`` when given)."""

        def wanted(name: str) -> bool:
            return keep is None or name in keep

        for combo, name in ((self.entity_combo, "entity"), (self.sampler_combo, "sampler")):
            index = combo.findData(getattr(settings, name))
            if wanted(name) and index >= 0:
                combo.setCurrentIndex(index)
        for combo, name in ((self.device_combo, "device"), (self.dtype_combo, "dtype")):
            index = combo.findText(str(getattr(settings, name)))
            if wanted(name) and index >= 0:
                combo.setCurrentIndex(index)
        for spin, name in (
            (self.count_spin, "count"),
            (self.batch_spin, "batch_size"),
            (self.guidance_spin, "guidance"),
            (self.temperature_spin, "temperature"),
        ):
            if wanted(name):
                spin.setValue(getattr(settings, name))
        if wanted("upsample"):
            self.upsample_check.setChecked(settings.upsample)
        if wanted("base_steps"):
            self.base_steps.setText(settings.base_steps or "")
        if wanted("upsample_steps"):
            self.upsample_steps.setText(settings.upsample_steps or "")

    # -- layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        intro = hint_label(
            "Sample synthetic dermoscopic images per entity with GLIDE. Images go into the "
            "workspace library with full provenance; each image's seed reproduces it."
        )
        self.no_models = QtWidgets.QLabel()
        self.no_models.setWordWrap(True)
        self.no_models.setProperty("role", "error")

        form = QtWidgets.QVBoxLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addWidget(self._build_models())
        form.addWidget(self._build_what())
        form.addWidget(self._build_sampling())
        form.addStretch(1)
        # On a laptop screen the form scrolls rather than squeezing its rows into slivers;
        # Generate/Stop and the progress stay below it, always on screen.
        form_scroll = scrolling_form(form)  # never cut sideways: as wide as the form needs
        form_column = QtWidgets.QVBoxLayout()
        form_column.setContentsMargins(0, 0, 0, 0)
        form_column.addWidget(form_scroll, 1)
        form_column.addLayout(self._build_controls())

        self.gallery = QtWidgets.QListWidget()
        self.gallery.setViewMode(QtWidgets.QListWidget.ViewMode.IconMode)
        self.gallery.setIconSize(QSize(THUMB, THUMB))
        self.gallery.setResizeMode(QtWidgets.QListWidget.ResizeMode.Adjust)
        self.gallery.setMovement(QtWidgets.QListWidget.Movement.Static)
        self.gallery.setSpacing(6)
        gallery_box = QtWidgets.QGroupBox("Images of this run")
        gallery_layout = QtWidgets.QVBoxLayout(gallery_box)
        gallery_layout.addWidget(self.gallery)

        columns = QtWidgets.QHBoxLayout()
        columns.setSpacing(SPACING * 2)
        left = QtWidgets.QWidget()
        left.setLayout(form_column)
        left.setMaximumWidth(max(520, form_scroll.minimumWidth()))
        columns.addWidget(left)
        columns.addWidget(gallery_box, 1)

        layout = page_layout(self, "Generator", intro)
        layout.addWidget(self.no_models)
        self.demo_note = hint_label(demo_model_note())
        layout.addWidget(self.demo_note)
        layout.addLayout(columns, 1)

    def _build_models(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Models")
        form = QtWidgets.QFormLayout(box)
        self.base_picker = ModelPicker("base")
        self.upsampler_picker = ModelPicker("upsample")
        self.base_picker.combo.currentIndexChanged.connect(self._update_enabled)
        self.upsampler_picker.combo.currentIndexChanged.connect(self._update_enabled)
        self.upsample_check = QtWidgets.QCheckBox("Upsample to 256×256")
        self.upsample_check.setChecked(True)
        self.upsample_check.toggled.connect(self._update_enabled)
        form.addRow("Base (64 px)", self.base_picker)
        form.addRow("", self.upsample_check)
        form.addRow("Upsampler", self.upsampler_picker)
        return box

    def _build_what(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("What to generate")
        form = QtWidgets.QFormLayout(box)
        self.entity_combo = QtWidgets.QComboBox()
        for entity in ENTITIES:
            self.entity_combo.addItem(f"{entity.code} — {entity.name}", entity.code)
        self.custom_prompt = QtWidgets.QCheckBox("Custom prompt")
        self.custom_prompt.toggled.connect(self._update_enabled)
        self.prompt_edit = QtWidgets.QLineEdit()
        self.entity_combo.currentIndexChanged.connect(self._show_entity_prompt)
        self.count_spin = _spin(1, 10_000, 4)
        self.seed_edit = QtWidgets.QLineEdit()
        self.seed_edit.setPlaceholderText("random")
        form.addRow("Entity", self.entity_combo)
        form.addRow(self.custom_prompt, self.prompt_edit)
        form.addRow("Images", self.count_spin)
        form.addRow("First seed", self.seed_edit)
        self._show_entity_prompt()
        return box

    def _build_sampling(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Sampling")
        form = QtWidgets.QFormLayout(box)
        self.sampler_combo = QtWidgets.QComboBox()
        self.sampler_combo.setMinimumContentsLength(24)  # the popup shows the whole name
        self.sampler_combo.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.sampler_combo.addItem("DDPM 100 + DDIM fast27 (notebook recipe)", "ddpm")
        self.sampler_combo.addItem("DDIM", "ddim")
        self.sampler_combo.addItem("DPM-Solver++ 2M (fast)", "dpm++2m")
        defaults = GenerateSettings()
        self.guidance_spin = QtWidgets.QDoubleSpinBox()
        self.guidance_spin.setRange(0.0, 30.0)
        self.guidance_spin.setSingleStep(0.5)
        self.guidance_spin.setValue(defaults.guidance)
        self.temperature_spin = QtWidgets.QDoubleSpinBox()
        self.temperature_spin.setDecimals(3)
        self.temperature_spin.setRange(0.001, 2.0)
        self.temperature_spin.setSingleStep(0.001)
        self.temperature_spin.setValue(defaults.temperature)
        self.temperature_spin.setToolTip(
            "The upsampler starts from noise scaled by this (the notebook's "
            f"{defaults.temperature:g}); lower gives smoother 256 px images."
        )
        self.base_steps = QtWidgets.QLineEdit()
        self.base_steps.setPlaceholderText("sampler default")
        self.upsample_steps = QtWidgets.QLineEdit()
        self.upsample_steps.setPlaceholderText("sampler default")
        self.batch_spin = _spin(1, 256, 1)
        self.device_combo = _combo(["auto", "cpu", "cuda"])
        self.dtype_combo = _combo(["fp32", "bf16", "fp16"])
        form.addRow("Sampler", self.sampler_combo)
        form.addRow("Guidance scale", self.guidance_spin)
        form.addRow("Base steps", self.base_steps)
        form.addRow("Upsampler steps", self.upsample_steps)
        form.addRow("Upsampler temperature", self.temperature_spin)
        form.addRow("Batch size", self.batch_spin)
        form.addRow("Device", self.device_combo)
        form.addRow("Precision", self.dtype_combo)
        return box

    def _build_controls(self) -> QtWidgets.QVBoxLayout:
        column, self.cancel_button = self.build_run_controls("Generate", self.start, self.cancel)
        self.cancel_button.setEnabled(False)
        self.progress_bar.setTextVisible(True)
        return column

    # -- state ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        self.base_picker.fill(self.workspace_path)
        self.upsampler_picker.fill(self.workspace_path)
        self._update_enabled()

    def _show_missing_models(self) -> None:
        missing = []
        if self.base_picker.path() is None:
            missing.append("base.pt")
        if self.upsample_check.isChecked() and self.upsampler_picker.path() is None:
            missing.append("upsample.pt")
        self.no_models.setVisible(bool(missing))
        self.no_models.setText(
            f"No {' or '.join(missing)} found in {models_dir()} or in this workspace. Put the GLIDE "
            "model files there (see models/README.md), choose a file with Browse…, or fine-tune one "
            "in the Training panel."
        )

    def _update_enabled(self) -> None:
        self._show_missing_models()
        self.demo_note.setVisible(is_demo_model(self.base_picker.path()))
        running = self.is_running()
        self.prompt_edit.setEnabled(self.custom_prompt.isChecked() and not running)
        self.upsampler_picker.setEnabled(self.upsample_check.isChecked() and not running)
        self.upsample_steps.setEnabled(self.upsample_check.isChecked())
        self.temperature_spin.setEnabled(self.upsample_check.isChecked())
        ready = self.base_picker.path() is not None and (
            not self.upsample_check.isChecked() or self.upsampler_picker.path() is not None
        )
        self.start_button.setEnabled(ready and not running)
        self.cancel_button.setEnabled(running)
        if not self.custom_prompt.isChecked():
            self._show_entity_prompt()

    def _show_entity_prompt(self) -> None:
        if not self.custom_prompt.isChecked():
            self.prompt_edit.setText(BY_CODE[self.entity_combo.currentData()].prompt)

    def form(self) -> GenerateSettings:
        seed_text = self.seed_edit.text().strip()
        return GenerateSettings(
            entity=self.entity_combo.currentData(),
            prompt=self.prompt_edit.text().strip() if self.custom_prompt.isChecked() else None,
            count=self.count_spin.value(),
            guidance=self.guidance_spin.value(),
            sampler=self.sampler_combo.currentData(),
            base_steps=self.base_steps.text().strip() or None,
            upsample_steps=self.upsample_steps.text().strip() or None,
            upsample=self.upsample_check.isChecked(),
            temperature=self.temperature_spin.value(),
            seed=int(seed_text) if seed_text.lstrip("-").isdigit() else None,
            batch_size=self.batch_spin.value(),
            device=self.device_combo.currentText(),
            dtype=self.dtype_combo.currentText(),
            base=self.base_picker.path(),
            upsampler=self.upsampler_picker.path(),
        )

    # -- running -------------------------------------------------------------------------------
    def start(self) -> ProcessRunner:
        if self.seed_edit.text().strip() and self.form().seed is None:
            self.status.setText("The seed must be a whole number (or empty for a random seed).")
            return None
        self.save_choices()
        self.gallery.clear()
        self.progress_bar.setRange(0, 0)
        self.status.setText("Loading models…")
        self._succeeded = False
        runner = self.start_process(
            generate_arguments(self.form()),
            self._on_event,
            finished=lambda _code: self._finish(True),
            failed=lambda message: self.status.setText(
                f"Failed: {in_gui_terms(message, GENERATOR_LABELS)}"
            ),
            cancelled=lambda: self.status.setText(f"Stopped. {self._finished_text()}"),
            done=self._on_done,
        )
        self._update_enabled()
        return runner

    def cancel(self) -> None:
        if self.runner is not None:
            self.status.setText("Stopping after the current step…")
            self.runner.stop(grace_ms=15_000)

    def close_resources(self) -> None:
        self.save_choices()

    def on_progress(self, event: ProgressEvent) -> None:
        if event.total:
            self.progress_bar.setRange(0, event.total)
            self.progress_bar.setValue(event.done)
            self.status.setText(event.message)

    def _on_event(self, event: dict) -> None:
        if event.get("event") == "image" and event.get("file"):
            pixmap = QPixmap(event["file"])
            item = QtWidgets.QListWidgetItem(
                QIcon(
                    pixmap.scaled(
                        THUMB,
                        THUMB,
                        Qt.AspectRatioMode.KeepAspectRatio,
                        Qt.TransformationMode.SmoothTransformation,
                    )
                ),
                f"seed {event.get('seed')}",
            )
            item.setToolTip(f"image {event.get('image_id')} · seed {event.get('seed')}")
            self.gallery.addItem(item)

    def _finished_text(self) -> str:
        count = self.gallery.count()
        return f"{count} image{'s' if count != 1 else ''} stored in the library."

    def _finish(self, succeeded: bool) -> None:
        self._succeeded = succeeded
        self.status.setText(self._finished_text())

    def _on_done(self) -> None:
        # A full bar only for a run that finished; a failed or stopped one shows what it made.
        if getattr(self, "_succeeded", False):
            self.progress_bar.setRange(0, 1)
            self.progress_bar.setValue(1)
        else:
            self.progress_bar.setRange(0, max(1, self.count_spin.value()))
            self.progress_bar.setValue(min(self.gallery.count(), self.count_spin.value()))
        self._update_enabled()


def _spin(low: int, high: int, value: int) -> QtWidgets.QSpinBox:
    spin = QtWidgets.QSpinBox()
    spin.setRange(low, high)
    spin.setValue(value)
    return spin


def _combo(items: list[str]) -> QtWidgets.QComboBox:
    combo = QtWidgets.QComboBox()
    combo.addItems(items)
    return combo


create_panel = GeneratorPanel  # the panel protocol's factory: (workspace_path, parent=None)
