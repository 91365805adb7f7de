"""The panel base: the lifecycle every coordinator panel shares, written once.

A panel is a page of the main window over one workspace. What they all do the same way lives here:
the ``workspace_changed`` signal the main window listens to, one background job at a time on a
:class:`~dermstudy.ui.workers.JobWorker` (start with its progress / finished / failed / cancelled /
done wiring, cancel, busy state) or in a child process on a
:class:`~dermstudy.ui.workers.ProcessRunner` (start, stop with a grace period), the failure
message box, and ``shutdown`` (stop the job, close the workspace; once only). A panel fills in the
hooks (``set_busy``, ``on_progress``, ``on_failed``, ``on_done``, the ``on_child_…`` ones,
``close_resources``) and keeps
its own widgets and data; what it shows comes from Qt-free view models (``dermstudy.ui.viewmodels``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from PySide6 import QtWidgets
from PySide6.QtCore import Signal

from dermstudy.jobs import CancelToken, Progress, ProgressEvent
from dermstudy.ui.style import hint_label, page_layout, scrolling_form
from dermstudy.ui.workers import JobFunction, JobWorker, ProcessRunner, show_progress
from dermstudy.workspace import Workspace

FieldT = TypeVar("FieldT", bound=QtWidgets.QWidget | QtWidgets.QLayout)


@dataclass(frozen=True)
class ChildTexts:
    """What a panel's status line says about its child process."""

    waiting: str  # from the start until the child reports progress
    stopping: str  # after Stop, until the child has stopped
    stopped: str = "Stopped."  # once it has stopped on request


class Panel(QtWidgets.QWidget):
    """Base of the panels: one workspace, one background job or child process at a time."""

    TITLE = ""  # the page title, also the failure message box's title
    # A child process still running at shutdown gets this long to stop, and is waited this long.
    SHUTDOWN_GRACE_MS = 3000
    SHUTDOWN_WAIT_MS = 5000
    STOP_GRACE_MS = 15_000  # Stop asks a child to end (SIGTERM) and kills it only after this

    # Emitted when a background job has ended (the workspace may have changed): the main window
    # updates its status bar; tests wait on it (connected before the job starts).
    workspace_changed = Signal()

    def __init__(
        self,
        workspace_path: Path,
        parent: QtWidgets.QWidget | None = None,
        *,
        open_workspace: bool = False,
    ) -> None:
        super().__init__(parent)
        self.workspace_path = Path(workspace_path)
        # Panels that read the workspace on the UI thread keep it open; jobs open their own.
        self.ws: Workspace | None = Workspace.open(self.workspace_path) if open_workspace else None
        self.worker: JobWorker | None = None
        self.runner: ProcessRunner | None = None
        self._closed = False

    # -- a job on a worker thread --------------------------------------------------------------
    def start_job(
        self,
        job: JobFunction,
        label: str,
        finished: Callable[[Any], None],
        *,
        cancelled: Callable[[], None] | None = None,
        busy_message: str = "another job is still running",
    ) -> JobWorker:
        """Run ``job`` off the UI thread; ``finished`` gets its result, the hooks the rest."""
        if self.worker is not None and self.worker.is_running():
            raise RuntimeError(busy_message)
        self.worker = JobWorker(job, self)
        self.worker.progress.connect(self.on_progress)
        self.worker.finished.connect(finished)
        self.worker.failed.connect(self.on_failed)
        self.worker.cancelled.connect(cancelled or self.on_cancelled)
        self.worker.done.connect(self.on_done)
        self.set_busy(True, label)
        self.worker.start()
        return self.worker

    def start_workspace_job(
        self,
        work: Callable[[Workspace, Progress, CancelToken], Any],
        label: str,
        finished: Callable[[Any], None],
    ) -> JobWorker:
        """:meth:`start_job` for work on the workspace: the job opens its own connection (a
        connection belongs to the thread that opened it) and closes it when done."""
        root = self.workspace_path

        def job(progress: Progress, cancel: CancelToken) -> Any:
            with Workspace.open(root) as ws:
                return work(ws, progress, cancel)

        return self.start_job(job, label, finished)

    def cancel_job(self) -> None:
        if self.worker is not None and self.worker.is_running():
            self.worker.cancel()

    # -- a job in a child process --------------------------------------------------------------
    def run_child(self, args: list[str], texts: ChildTexts) -> ProcessRunner:
        """Start a ``dermstudy … --progress json`` child for a panel with run controls.

        An indeterminate bar and ``texts.waiting`` in the status line until the child reports
        progress; its JSON lines go to :meth:`on_child_event`, its end to :meth:`on_child_finished`,
        :meth:`on_child_failed` or :meth:`on_child_cancelled`, then :meth:`on_child_done`.
        """
        self.progress_bar.setRange(0, 0)
        self.status.setText(texts.waiting)
        self.child_texts = texts
        runner = ProcessRunner(args, self.workspace_path, self)
        for signal, hook in (
            (runner.progress, self.on_progress),
            (runner.event, self.on_child_event),
            (runner.finished, self.on_child_finished),
            (runner.failed, self.on_child_failed),
            (runner.cancelled, self.on_child_cancelled),
            (runner.done, self.on_child_done),
        ):
            signal.connect(hook)
        self.runner = runner
        runner.start()
        self.update_controls()
        return runner

    def stop(self) -> None:
        """Stop: ask a running child to end (killed after ``STOP_GRACE_MS``), saying so."""
        if self.is_running():
            self.status.setText(self.child_texts.stopping)
            self.stop_process(self.STOP_GRACE_MS)

    def is_running(self) -> bool:
        return self.runner is not None and self.runner.is_running()

    def stop_process(self, grace_ms: int, wait_ms: int | None = None) -> None:
        """Ask a running child to stop (SIGTERM, then kill after ``grace_ms``); wait if asked."""
        if self.is_running():
            self.runner.stop(grace_ms=grace_ms)
            if wait_ms is not None:
                self.runner.wait(wait_ms)

    def build_run_controls(
        self, start_text: str, start: Callable[[], object]
    ) -> tuple[QtWidgets.QVBoxLayout, QtWidgets.QPushButton]:
        """Start and Stop over a progress bar and a status line, for a child-process panel.

        Sets ``start_button``, ``progress_bar`` and ``status``; returns the column and the Stop
        button (panels name it ``stop_button`` or ``cancel_button``).
        """
        self.start_button = QtWidgets.QPushButton(start_text)
        self.start_button.setProperty("role", "primary")
        self.start_button.clicked.connect(lambda: start())  # not clicked's ``checked`` argument
        stop_button = QtWidgets.QPushButton("Stop")
        stop_button.clicked.connect(self.stop)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(stop_button)
        buttons.addStretch(1)
        self.progress_bar = QtWidgets.QProgressBar()
        self.status = QtWidgets.QLabel("Ready.")
        self.status.setWordWrap(True)
        self.status.setProperty("role", "hint")
        column = QtWidgets.QVBoxLayout()
        column.addLayout(buttons)
        column.addWidget(self.progress_bar)
        column.addWidget(self.status)
        return column, stop_button

    def page(self, intro: str) -> QtWidgets.QVBoxLayout:
        """The panel's page layout: its title and a line of introduction."""
        return page_layout(self, self.TITLE, hint_label(intro))

    def show_busy_progress(self, busy: bool, label: str = "") -> None:
        """While busy an indeterminate progress bar and ``label`` in the status line."""
        self.progress_bar.setVisible(busy)
        if busy:
            self.progress_bar.setRange(0, 0)
            self.status_label.setText(label)

    # -- hooks ---------------------------------------------------------------------------------
    def set_busy(self, busy: bool, label: str = "") -> None:
        """Enable and disable the panel's controls while a job runs (panels override)."""

    def update_controls(self) -> None:
        """Enable and disable the controls for the panel's state (child-process panels override)."""

    def on_progress(self, event: ProgressEvent) -> None:
        show_progress(self.progress_bar, self.status_label, event)

    def on_failed(self, message: str) -> None:
        self.show_failure(message)

    def on_cancelled(self) -> None:
        self.status_label.setText("Cancelled.")

    def on_done(self) -> None:
        self.set_busy(False)

    def show_failure(self, message: str) -> None:
        """The one-line error in the status line and in a warning box."""
        self.status_label.setText(f"Failed: {message}")
        QtWidgets.QMessageBox.warning(self, self.TITLE, message)

    def on_child_event(self, event: dict) -> None:
        """A JSON line from the child that is not a progress event (panels override)."""

    def on_child_finished(self, code: int) -> None:
        self.child_ended("Finished.", completed=True)

    def on_child_failed(self, message: str) -> None:
        self.child_ended(f"Failed: {message}", completed=False)

    def on_child_cancelled(self) -> None:
        self.child_ended(self.child_texts.stopped, completed=False)

    def child_ended(self, text: str, completed: bool) -> None:
        """The child finished, failed or stopped (``text`` says which): show it (panels add more)."""
        self.status.setText(text)

    def on_child_done(self) -> None:
        """After any of the three above: the child has ended (panels override)."""
        self.update_controls()

    def close_resources(self) -> None:
        """Release what the panel holds besides the job and the workspace (panels override)."""

    # -- lifetime ------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop a running job and close the workspace (window closing or workspace switch)."""
        if self._closed:
            return
        self._closed = True
        if self.worker is not None:
            self.worker.cancel_and_wait()
        self.stop_process(self.SHUTDOWN_GRACE_MS, self.SHUTDOWN_WAIT_MS)
        self.close_resources()
        if self.ws is not None:
            self.ws.close()


# -- form building blocks ------------------------------------------------------------------------
def form_box(title: str) -> tuple[QtWidgets.QGroupBox, QtWidgets.QFormLayout]:
    """A titled group of labelled rows."""
    box = QtWidgets.QGroupBox(title)
    return box, QtWidgets.QFormLayout(box)


def add_row(form: QtWidgets.QFormLayout, label: str | QtWidgets.QWidget, field: FieldT) -> FieldT:
    """Add ``field`` under ``label`` and return it, so a control is made where its row is."""
    form.addRow(label, field)
    return field


def widget_value(widget: QtWidgets.QWidget) -> Any:
    """What a form control holds: a combo's data (its text where it has none), a check box's
    state, a line edit's text, a spin box's value."""
    if isinstance(widget, QtWidgets.QComboBox):
        data = widget.currentData()
        return widget.currentText() if data is None else data
    if isinstance(widget, QtWidgets.QAbstractButton):
        return widget.isChecked()
    if isinstance(widget, QtWidgets.QLineEdit):
        return widget.text()
    return widget.value()


def set_widget_value(widget: QtWidgets.QWidget, value: Any) -> None:
    """Show ``value`` in a form control (a combo selects the item with that data, else that
    text, and keeps its choice when it has neither)."""
    if isinstance(widget, QtWidgets.QComboBox):
        index = widget.findData(value)
        index = index if index >= 0 else widget.findText(str(value))
        if index >= 0:
            widget.setCurrentIndex(index)
    elif isinstance(widget, QtWidgets.QAbstractButton):
        widget.setChecked(bool(value))
    elif isinstance(widget, QtWidgets.QLineEdit):
        widget.setText(str(value))
    else:
        widget.setValue(value)


def spin_box(low: int, high: int, value: int) -> QtWidgets.QSpinBox:
    spin = QtWidgets.QSpinBox()
    spin.setRange(low, high)
    spin.setValue(value)
    return spin


def combo_box(items: Sequence[str | tuple[str, object]]) -> QtWidgets.QComboBox:
    """A combo of plain texts, or of (label, data) choices as the view models list them."""
    combo = QtWidgets.QComboBox()
    fill_combo(combo, items)
    return combo


def fill_combo(combo: QtWidgets.QComboBox, items: Sequence[str | tuple[str, object]]) -> None:
    """Append ``items`` (plain texts or (label, data) choices) to ``combo``."""
    for item in items:
        if isinstance(item, str):
            combo.addItem(item)
        else:
            combo.addItem(*item)


def form_column(
    form: QtWidgets.QVBoxLayout, controls: QtWidgets.QLayout
) -> tuple[QtWidgets.QVBoxLayout, QtWidgets.QScrollArea]:
    """A job panel's form column: the form scrolls on a laptop screen rather than squeezing its
    rows; the Start/Stop controls and the progress stay below it, always on screen."""
    scroll = scrolling_form(form)
    column = QtWidgets.QVBoxLayout()
    column.addWidget(scroll, 1)
    column.addLayout(controls)
    return column, scroll
