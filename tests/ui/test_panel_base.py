"""The panel base: one job at a time, busy state around it, failure message, shutdown once."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from PySide6.QtWidgets import QLabel, QMessageBox, QProgressBar

from dermstudy.ui.panels.base import Panel


class _Panel(Panel):
    TITLE = "Probe"

    def __init__(self, path, **kwargs) -> None:
        super().__init__(path, **kwargs)
        self.progress_bar = QProgressBar(self)
        self.status_label = QLabel(self)
        self.busy: list[bool] = []
        self.released = 0

    def set_busy(self, busy: bool, label: str = "") -> None:
        self.busy.append(busy)
        self.show_busy_progress(busy, label)

    def close_resources(self) -> None:
        self.released += 1


@pytest.fixture
def panel(qtbot, tmp_path):
    widget = _Panel(tmp_path / "ws", open_workspace=True)
    qtbot.addWidget(widget)
    yield widget
    widget.shutdown()


def test_one_job_at_a_time_with_busy_state_and_cancel(qtbot, panel):
    release = threading.Event()

    def job(progress, cancel):
        while not release.wait(0.01):
            cancel.raise_if_cancelled()

    results = []
    worker = panel.start_job(job, "Working…", results.append)
    assert panel.busy == [True] and panel.status_label.text() == "Working…"
    with pytest.raises(RuntimeError, match="still running"):
        panel.start_job(job, "again", results.append)
    with qtbot.waitSignal(worker.done, timeout=10_000):
        panel.cancel_job()
    assert panel.busy == [True, False] and results == []
    assert panel.status_label.text() == "Cancelled."
    release.set()


def test_a_failed_job_says_so_in_the_status_and_a_box(qtbot, panel, monkeypatch):
    boxes = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: boxes.append(args[1:]))

    def job(progress, cancel):
        raise ValueError("row 3: bad entity")

    with qtbot.waitSignal(panel.start_job(job, "…", print).done, timeout=10_000):
        pass
    assert panel.status_label.text() == "Failed: row 3: bad entity"
    assert boxes == [("Probe", "row 3: bad entity")]


def test_shutdown_waits_for_the_job_and_closes_once(qtbot, panel):
    started = threading.Event()
    seen_cancel = []

    def job(progress, cancel):
        started.set()
        while not cancel.cancelled:
            threading.Event().wait(0.01)
        seen_cancel.append(True)

    worker = panel.start_job(job, "…", print)
    assert started.wait(5)
    panel.shutdown()
    panel.shutdown()
    assert not worker.is_running() and seen_cancel == [True]
    assert panel.released == 1
    with pytest.raises(sqlite3.ProgrammingError):
        panel.ws.conn.execute("select 1")  # the workspace is closed
