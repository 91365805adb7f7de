"""The panel base: the lifecycle every coordinator panel shares, written once.

A panel is a page of the main window over one workspace. What they all do the same way lives here:
the ``workspace_changed`` signal the main window listens to, one background job at a time on a
:class:`~dermstudy.ui.workers.JobWorker` (start with its progress / finished / failed / cancelled /
done wiring, cancel, busy state) or in a child process on a
:class:`~dermstudy.ui.workers.ProcessRunner` (start, stop with a grace period), the failure
message box, and ``shutdown`` (stop the job, close the workspace; once only). A panel fills in the
hooks (``set_busy``, ``on_progress``, ``on_failed``, ``on_done``, ``close_resources``) and keeps
its own widgets and data; what it shows comes from Qt-free view models (``dermstudy.ui.viewmodels``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6 import QtWidgets
from PySide6.QtCore import Signal

from dermstudy.jobs import ProgressEvent
from dermstudy.ui.workers import JobFunction, JobWorker, ProcessRunner, show_progress
from dermstudy.workspace import Workspace


class Panel(QtWidgets.QWidget):
    """Base of the panels: one workspace, one background job or child process at a time."""

    TITLE = ""  # the page title, also the failure message box's title
    # A child process still running at shutdown gets this long to stop, and is waited this long.
    SHUTDOWN_GRACE_MS = 3000
    SHUTDOWN_WAIT_MS = 5000

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

    def cancel_job(self) -> None:
        if self.worker is not None and self.worker.is_running():
            self.worker.cancel()

    # -- a job in a child process --------------------------------------------------------------
    def start_process(
        self,
        args: list[str],
        on_event: Callable[[dict], None],
        finished: Callable[[int], None],
        failed: Callable[[str], None],
        cancelled: Callable[[], None],
        done: Callable[[], None],
    ) -> ProcessRunner:
        """Start a ``dermstudy … --progress json`` child: its JSON lines go to ``on_event``."""
        runner = ProcessRunner(args, self.workspace_path, self)
        runner.progress.connect(self.on_progress)
        runner.event.connect(on_event)
        runner.finished.connect(finished)
        runner.failed.connect(failed)
        runner.cancelled.connect(cancelled)
        runner.done.connect(done)
        self.runner = runner
        runner.start()
        return runner

    def is_running(self) -> bool:
        return self.runner is not None and self.runner.is_running()

    def stop_process(self, grace_ms: int, wait_ms: int | None = None) -> None:
        """Ask a running child to stop (SIGTERM, then kill after ``grace_ms``); wait if asked."""
        if self.is_running():
            self.runner.stop(grace_ms=grace_ms)
            if wait_ms is not None:
                self.runner.wait(wait_ms)

    def build_run_controls(
        self, start_text: str, start: Callable[[], object], stop: Callable[[], None]
    ) -> tuple[QtWidgets.QVBoxLayout, QtWidgets.QPushButton]:
        """Start and Stop over a progress bar and a status line, for a child-process panel.

        Sets ``start_button``, ``progress_bar`` and ``status``; returns the column and the Stop
        button (panels name it ``stop_button`` or ``cancel_button``).
        """
        self.start_button = QtWidgets.QPushButton(start_text)
        self.start_button.setProperty("role", "primary")
        self.start_button.clicked.connect(lambda: start())  # not clicked's ``checked`` argument
        stop_button = QtWidgets.QPushButton("Stop")
        stop_button.clicked.connect(stop)
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

    def show_busy_progress(self, busy: bool, label: str = "") -> None:
        """While busy an indeterminate progress bar and ``label`` in the status line."""
        self.progress_bar.setVisible(busy)
        if busy:
            self.progress_bar.setRange(0, 0)
            self.status_label.setText(label)

    # -- hooks ---------------------------------------------------------------------------------
    def set_busy(self, busy: bool, label: str = "") -> None:
        """Enable and disable the panel's controls while a job runs (panels override)."""

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
