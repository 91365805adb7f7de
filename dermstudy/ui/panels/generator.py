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

from dermstudy.entities import BY_CODE
from dermstudy.generation.catalog import (
    demo_model_note,
    generate_arguments,
    is_demo_model,
    model_choices,
)
from dermstudy.generation.settings import GenerateSettings
from dermstudy.jobs import ProgressEvent
from dermstudy.paths import models_dir
from dermstudy.ui.file_dialogs import open_file
from dermstudy.ui.panels.base import (
    ChildTexts,
    Panel,
    add_row,
    combo_box,
    form_box,
    form_column,
    spin_box,
)
from dermstudy.ui.settings import load_json, save_json
from dermstudy.ui.style import SPACING, hint_label
from dermstudy.ui.viewmodels import generator as vm
from dermstudy.ui.workers import ProcessRunner

TITLE = "Generator"
CHILD_TEXTS = ChildTexts(waiting="Loading models…", stopping="Stopping after the current step…")
THUMB = 128


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
        save_json(self.SETTINGS_KEY, vm.remembered(self.form()))

    def restore_choices(self) -> None:
        restored = vm.restored_form(load_json(self.SETTINGS_KEY, {}), self.base_picker.path())
        if restored is not None:
            self.set_form(restored.settings, keep=set(restored.fields))

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
        self.no_models = QtWidgets.QLabel()
        self.no_models.setWordWrap(True)
        self.no_models.setProperty("role", "error")

        form = QtWidgets.QVBoxLayout()
        form.setContentsMargins(0, 0, 0, 0)
        for box in (self._build_models(), self._build_what(), self._build_sampling()):
            form.addWidget(box)
        form.addStretch(1)
        form_layout, form_scroll = form_column(form, self._build_controls())
        form_layout.setContentsMargins(0, 0, 0, 0)

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
        left.setLayout(form_layout)
        left.setMaximumWidth(max(520, form_scroll.minimumWidth()))
        columns.addWidget(left)
        columns.addWidget(gallery_box, 1)

        layout = self.page(
            "Sample synthetic dermoscopic images per entity with GLIDE. Images go into the "
            "workspace library with full provenance; each image's seed reproduces it."
        )
        layout.addWidget(self.no_models)
        self.demo_note = hint_label(demo_model_note())
        layout.addWidget(self.demo_note)
        layout.addLayout(columns, 1)

    def _build_models(self) -> QtWidgets.QGroupBox:
        box, form = form_box("Models")
        self.base_picker = add_row(form, "Base (64 px)", ModelPicker("base"))
        self.upsample_check = add_row(form, "", QtWidgets.QCheckBox("Upsample to 256×256"))
        self.upsampler_picker = add_row(form, "Upsampler", ModelPicker("upsample"))
        self.base_picker.combo.currentIndexChanged.connect(self.update_controls)
        self.upsampler_picker.combo.currentIndexChanged.connect(self.update_controls)
        self.upsample_check.setChecked(True)
        self.upsample_check.toggled.connect(self.update_controls)
        return box

    def _build_what(self) -> QtWidgets.QGroupBox:
        box, form = form_box("What to generate")
        self.entity_combo = add_row(form, "Entity", combo_box(vm.ENTITY_CHOICES))
        self.custom_prompt = QtWidgets.QCheckBox("Custom prompt")
        self.custom_prompt.toggled.connect(self.update_controls)
        self.prompt_edit = add_row(form, self.custom_prompt, QtWidgets.QLineEdit())
        self.entity_combo.currentIndexChanged.connect(self._show_entity_prompt)
        self.count_spin = add_row(form, "Images", spin_box(1, 10_000, 4))
        self.seed_edit = add_row(form, "First seed", QtWidgets.QLineEdit())
        self.seed_edit.setPlaceholderText("random")
        self._show_entity_prompt()
        return box

    def _build_sampling(self) -> QtWidgets.QGroupBox:
        box, form = form_box("Sampling")
        self.sampler_combo = add_row(form, "Sampler", combo_box(vm.SAMPLER_CHOICES))
        self.sampler_combo.setMinimumContentsLength(24)  # the popup shows the whole name
        self.sampler_combo.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        defaults = GenerateSettings()
        self.guidance_spin = add_row(form, "Guidance scale", QtWidgets.QDoubleSpinBox())
        self.guidance_spin.setRange(*GenerateSettings.GUIDANCE_LIMITS)
        self.guidance_spin.setSingleStep(0.5)
        self.guidance_spin.setValue(defaults.guidance)
        self.base_steps = add_row(form, "Base steps", QtWidgets.QLineEdit())
        self.base_steps.setPlaceholderText("sampler default")
        self.upsample_steps = add_row(form, "Upsampler steps", QtWidgets.QLineEdit())
        self.upsample_steps.setPlaceholderText("sampler default")
        self.temperature_spin = add_row(form, "Upsampler temperature", QtWidgets.QDoubleSpinBox())
        self.temperature_spin.setDecimals(3)
        self.temperature_spin.setRange(*GenerateSettings.TEMPERATURE_LIMITS)
        self.temperature_spin.setSingleStep(0.001)
        self.temperature_spin.setValue(defaults.temperature)
        self.temperature_spin.setToolTip(
            "The upsampler starts from noise scaled by this (the notebook's "
            f"{defaults.temperature:g}); lower gives smoother 256 px images."
        )
        self.batch_spin = add_row(form, "Batch size", spin_box(1, 256, 1))
        self.device_combo = add_row(form, "Device", combo_box(vm.DEVICE_NAMES))
        self.dtype_combo = add_row(form, "Precision", combo_box(vm.DTYPE_CHOICES))
        return box

    def _build_controls(self) -> QtWidgets.QVBoxLayout:
        column, self.cancel_button = self.build_run_controls("Generate", self.start)
        self.cancel_button.setEnabled(False)
        self.progress_bar.setTextVisible(True)
        return column

    # -- state ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        self.base_picker.fill(self.workspace_path)
        self.upsampler_picker.fill(self.workspace_path)
        self.update_controls()

    def update_controls(self) -> None:
        state = vm.form_state(
            self.base_picker.path(),
            self.upsampler_picker.path(),
            self.upsample_check.isChecked(),
            self.custom_prompt.isChecked(),
            self.is_running(),
        )
        self.no_models.setVisible(bool(state.missing))
        self.no_models.setText(state.missing_text())
        self.demo_note.setVisible(state.demo_note)
        self.prompt_edit.setEnabled(state.prompt_enabled)
        self.upsampler_picker.setEnabled(state.upsampler_enabled)
        self.upsample_steps.setEnabled(state.upsampler_options_enabled)
        self.temperature_spin.setEnabled(state.upsampler_options_enabled)
        self.start_button.setEnabled(state.start_enabled)
        self.cancel_button.setEnabled(state.stop_enabled)
        if not self.custom_prompt.isChecked():
            self._show_entity_prompt()

    def _show_entity_prompt(self) -> None:
        if not self.custom_prompt.isChecked():
            self.prompt_edit.setText(BY_CODE[self.entity_combo.currentData()].prompt)

    def form(self) -> GenerateSettings:
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
            seed=vm.seed_from_text(self.seed_edit.text()),
            batch_size=self.batch_spin.value(),
            device=self.device_combo.currentText(),
            dtype=self.dtype_combo.currentText(),
            base=self.base_picker.path(),
            upsampler=self.upsampler_picker.path(),
        )

    # -- running -------------------------------------------------------------------------------
    def start(self) -> ProcessRunner:
        problem = vm.seed_problem(self.seed_edit.text())
        if problem is not None:
            self.status.setText(problem)
            return None
        self.save_choices()
        self.gallery.clear()
        self._succeeded = False
        return self.run_child(generate_arguments(self.form()), CHILD_TEXTS)

    def close_resources(self) -> None:
        self.save_choices()

    def on_progress(self, event: ProgressEvent) -> None:
        if event.total:
            self.progress_bar.setRange(0, event.total)
            self.progress_bar.setValue(event.done)
            self.status.setText(event.message)

    def on_child_event(self, event: dict) -> None:
        caption = vm.image_caption(event)
        if caption is None:
            return
        thumbnail = QPixmap(caption.file).scaled(
            THUMB,
            THUMB,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        item = QtWidgets.QListWidgetItem(QIcon(thumbnail), caption.text)
        item.setToolTip(caption.tooltip)
        self.gallery.addItem(item)

    def on_child_finished(self, code: int) -> None:
        self._finish(True)

    def on_child_failed(self, message: str) -> None:
        self.status.setText(vm.failed_text(message))

    def on_child_cancelled(self) -> None:
        self.status.setText(f"Stopped. {self._finished_text()}")

    def _finished_text(self) -> str:
        return vm.finished_text(self.gallery.count())

    def _finish(self, succeeded: bool) -> None:
        self._succeeded = succeeded
        self.status.setText(self._finished_text())

    def on_child_done(self) -> None:
        maximum, value = vm.done_bar(
            getattr(self, "_succeeded", False), self.count_spin.value(), self.gallery.count()
        )
        self.progress_bar.setRange(0, maximum)
        self.progress_bar.setValue(value)
        self.update_controls()


create_panel = GeneratorPanel  # the panel protocol's factory: (workspace_path, parent=None)
