"""Running long work off the UI thread: in-process jobs on a QThread, or `dermstudy` subprocesses.

Two runners, one shape (``progress`` / ``finished`` / ``failed`` / ``cancelled`` signals):

* :class:`JobWorker` runs a Qt-free job function ``fn(progress=..., cancel=...)`` (the protocol in
  :mod:`dermstudy.jobs`) on its own ``QThread``. The job must open its own ``Workspace`` inside the
  function: SQLite connections are not shared between threads.
* :class:`ProcessRunner` starts ``python -m dermstudy [--workspace DIR] ARGS...`` with ``QProcess`` and
  turns each JSON line the subcommand prints on stdout (see :class:`dermstudy.jobs.JsonLinesProgress`)
  into an ``event`` signal; heavy jobs (training, sampling) use it so a crash cannot take the window down.

Typical use::

    worker = JobWorker(lambda progress, cancel: import_ham10000(ws, folder, progress, cancel))
    worker.progress.connect(lambda ev: bar.setValue(ev.done))
    worker.finished.connect(show_summary)
    worker.failed.connect(show_error)
    worker.start()
    ...
    worker.cancel()
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Qt, QThread, QTimer, Signal

from dermstudy.jobs import Cancelled, CancelToken, ProgressEvent

JobFunction = Callable[..., Any]

# Progress signals cross threads through the event queue; more than ~30 per second only costs
# UI time without anyone seeing the difference.
_PROGRESS_INTERVAL_S = 0.033


def show_progress(bar: Any, label: Any, event: ProgressEvent) -> None:
    """A job's progress event on a panel's progress bar and status label."""
    if event.total:
        bar.setRange(0, event.total)
        bar.setValue(event.done)
    if event.message:
        label.setText(event.message)


def one_line_error(exc: BaseException) -> str:
    """A single readable line for an exception (what the user sees; never a stack trace)."""
    text = str(exc).strip().splitlines()
    message = text[0] if text else ""
    return message or type(exc).__name__


class _JobThread(QThread):
    """The thread that actually calls the job; reports back through the owning worker's signals."""

    def __init__(self, worker: JobWorker) -> None:
        super().__init__()
        self._worker = worker

    def run(self) -> None:  # runs on the worker thread
        self._worker._run_job()


class JobWorker(QObject):
    """Runs ``fn(progress=callback, cancel=token)`` on a background ``QThread``.

    Exactly one of ``finished(result)``, ``failed(message)`` or ``cancelled()`` is emitted per run,
    followed by ``done()``. Every public signal is emitted by the UI thread's event loop (the job
    thread only posts to it), so a slot connected right after :meth:`start` never misses the end
    of a job that was over in a millisecond.
    """

    progress = Signal(object)  # ProgressEvent
    finished = Signal(object)  # the job's return value
    failed = Signal(str)  # one-line error message
    cancelled = Signal()
    done = Signal()  # after any of the three above

    # Posted by the job thread, re-emitted publicly on the UI thread (see the class docstring).
    _posted_progress = Signal(object)
    _posted_end = Signal(str, object)  # "finished" | "failed" | "cancelled", payload

    def __init__(self, fn: JobFunction, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._fn = fn
        self._token = CancelToken()
        self._thread: _JobThread | None = None
        self._last_progress = 0.0
        self.error: BaseException | None = None
        self.result: Any = None
        queued = Qt.ConnectionType.QueuedConnection
        self._posted_progress.connect(self.progress, queued)
        self._posted_end.connect(self._emit_end, queued)

    # -- control (UI thread) -------------------------------------------------------------------
    def start(self) -> None:
        if self.is_running():
            raise RuntimeError("job is already running")
        self._token = CancelToken()
        self._thread = _JobThread(self)
        self._thread.start()

    def cancel(self) -> None:
        """Ask the job to stop at its next check; ``cancelled`` follows when it has."""
        self._token.cancel()

    @property
    def cancel_requested(self) -> bool:
        return self._token.cancelled

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    def wait(self, timeout_ms: int = 30_000) -> bool:
        """Block until the thread has ended (for shutdown and tests)."""
        return self._thread.wait(timeout_ms) if self._thread is not None else True

    def cancel_and_wait(self, timeout_ms: int = 60_000) -> None:
        """Ask a running job to stop and block until it has (a panel closing or switching)."""
        if self.is_running():
            self.cancel()
            self.wait(timeout_ms)

    # -- the job (worker thread) ---------------------------------------------------------------
    def _report(self, event: ProgressEvent) -> None:
        now = time.monotonic()
        last = event.total is not None and event.done >= event.total
        if last or now - self._last_progress >= _PROGRESS_INTERVAL_S:
            self._last_progress = now
            self._posted_progress.emit(event)

    def _run_job(self) -> None:
        try:
            result = self._fn(progress=self._report, cancel=self._token)
        except Cancelled:
            self._posted_end.emit("cancelled", None)
        except Exception as exc:  # shown to the user as one line; the object is kept for callers
            self.error = exc
            self._posted_end.emit("failed", one_line_error(exc))
        else:
            if self._token.cancelled and result is None:
                self._posted_end.emit("cancelled", None)
            else:
                self._posted_end.emit("finished", result)

    def _emit_end(self, kind: str, payload: object) -> None:  # on the UI thread
        # The job thread posted this as its last act; let it end first, so that a handler (or
        # the user) starting the next job does not find this one still "running".
        self._thread.wait()
        if kind == "finished":
            self.result = payload
            self.finished.emit(payload)
        elif kind == "failed":
            self.failed.emit(str(payload))
        else:
            self.cancelled.emit()
        self.done.emit()


def dermstudy_command(
    args: Sequence[str], workspace: str | os.PathLike | None = None
) -> tuple[str, list[str]]:
    """The program and arguments that run ``dermstudy ARGS`` with this very interpreter."""
    argv = ["-m", "dermstudy"]
    if workspace is not None:
        argv += ["--workspace", str(workspace)]
    return sys.executable, argv + [str(a) for a in args]


class ProcessRunner(QObject):
    """Runs a ``dermstudy`` subcommand as a child process and parses its JSON-lines output.

    Signals: ``event(dict)`` for each JSON object line on stdout, ``progress(ProgressEvent)`` for those
    that carry ``done``, ``output(str)`` for other stdout lines, ``finished(int)`` with the exit code
    when it ends normally (0), ``failed(str)`` with the last stderr line otherwise, ``cancelled()``
    after :meth:`stop`, then ``done()``.
    """

    event = Signal(dict)
    progress = Signal(object)
    output = Signal(str)
    finished = Signal(int)
    failed = Signal(str)
    cancelled = Signal()
    done = Signal()

    def __init__(
        self,
        args: Sequence[str],
        workspace: str | os.PathLike | None = None,
        parent: QObject | None = None,
        env: dict[str, str] | None = None,
        cwd: str | os.PathLike | None = None,
    ) -> None:
        super().__init__(parent)
        self.program, self.arguments = dermstudy_command(args, workspace)
        self.stderr_lines: list[str] = []
        self.events: list[dict] = []
        self._stdout_buffer = b""
        self._stderr_buffer = b""
        self._stopping = False
        self.process = QProcess(self)
        environment = QProcessEnvironment.systemEnvironment()
        environment.insert("PYTHONUNBUFFERED", "1")
        for key, value in (env or {}).items():
            environment.insert(key, value)
        self.process.setProcessEnvironment(environment)
        if cwd is not None:
            self.process.setWorkingDirectory(str(Path(cwd)))
        self.process.readyReadStandardOutput.connect(self._read_stdout)
        self.process.readyReadStandardError.connect(self._read_stderr)
        self.process.finished.connect(self._on_finished)
        self.process.errorOccurred.connect(self._on_error)

    def start(self) -> None:
        self._stopping = False
        self.process.start(self.program, self.arguments)

    def stop(self, grace_ms: int = 3000) -> None:
        """Ask the process to end (SIGTERM), and kill it if it is still there after ``grace_ms``."""
        if self.process.state() == QProcess.ProcessState.NotRunning:
            return
        self._stopping = True
        self.process.terminate()
        QTimer.singleShot(grace_ms, self._kill_if_running)

    def is_running(self) -> bool:
        return self.process.state() != QProcess.ProcessState.NotRunning

    def wait(self, timeout_ms: int = 30_000) -> bool:
        return self.process.waitForFinished(timeout_ms)

    def _kill_if_running(self) -> None:
        if self.process.state() != QProcess.ProcessState.NotRunning:
            self.process.kill()

    # -- output parsing ------------------------------------------------------------------------
    def _read_stdout(self) -> None:
        self._stdout_buffer += bytes(self.process.readAllStandardOutput().data())
        *lines, self._stdout_buffer = self._stdout_buffer.split(b"\n")
        for raw in lines:
            self._handle_stdout_line(raw.decode("utf-8", errors="replace").rstrip("\r"))

    def _handle_stdout_line(self, line: str) -> None:
        if not line.strip():
            return
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if not isinstance(record, dict):
            self.output.emit(line)
            return
        self.events.append(record)
        self.event.emit(record)
        if "done" in record:
            extra = {k: v for k, v in record.items() if k not in ("done", "total", "message")}
            self.progress.emit(
                ProgressEvent(
                    int(record.get("done") or 0),
                    record.get("total"),
                    str(record.get("message") or ""),
                    extra,
                )
            )

    def _read_stderr(self) -> None:
        self._stderr_buffer += bytes(self.process.readAllStandardError().data())
        *lines, self._stderr_buffer = self._stderr_buffer.split(b"\n")
        for raw in lines:
            text = raw.decode("utf-8", errors="replace").rstrip()
            # The CLI's text progress bar redraws with \r; keep only the last state of such a line.
            text = text.rsplit("\r", 1)[-1].strip()
            if text:
                self.stderr_lines.append(text)

    def _flush_buffers(self) -> None:
        self._read_stdout()
        self._read_stderr()
        if self._stdout_buffer:
            self._handle_stdout_line(self._stdout_buffer.decode("utf-8", errors="replace"))
            self._stdout_buffer = b""
        if self._stderr_buffer.strip():
            text = self._stderr_buffer.decode("utf-8", errors="replace").rsplit("\r", 1)[-1]
            self.stderr_lines.append(text.strip())
            self._stderr_buffer = b""

    def _on_finished(self, exit_code: int, status: QProcess.ExitStatus) -> None:
        self._flush_buffers()
        if self._stopping:
            self.cancelled.emit()
        elif status == QProcess.ExitStatus.NormalExit and exit_code == 0:
            self.finished.emit(exit_code)
        else:
            self.failed.emit(self._failure_message(exit_code, status))
        self.done.emit()

    def _on_error(self, error: QProcess.ProcessError) -> None:
        # A crash or kill also arrives through finished(); only a failed start ends here alone.
        if error == QProcess.ProcessError.FailedToStart:
            self.failed.emit(f"could not start {self.program}: {self.process.errorString()}")
            self.done.emit()

    def _failure_message(self, exit_code: int, status: QProcess.ExitStatus) -> str:
        last = self.stderr_lines[-1] if self.stderr_lines else ""
        if status == QProcess.ExitStatus.CrashExit:
            return f"the job stopped unexpectedly{': ' + last if last else ''}"
        return last or f"the job failed (exit code {exit_code})"
