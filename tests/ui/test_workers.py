"""The background runners: in-process jobs on a QThread and `dermstudy` subprocesses."""

from __future__ import annotations

import sys
import threading
import time

import pytest

from dermstudy.jobs import ProgressEvent
from dermstudy.ui.workers import JobWorker, ProcessRunner


def test_job_runs_off_the_ui_thread_and_reports_progress(qtbot):
    threads = []

    def job(progress, cancel):
        threads.append(threading.get_ident())
        for i in range(1, 4):
            progress(ProgressEvent(i, 3, f"step {i}"))
        return {"answer": 42}

    worker = JobWorker(job)
    events = []
    worker.progress.connect(events.append)
    with qtbot.waitSignal(worker.finished, timeout=5000) as blocker:
        worker.start()
    assert blocker.args == [{"answer": 42}]
    assert threads and threads[0] != threading.get_ident()
    assert events and events[-1].done == 3  # the final event is never throttled away


def test_a_finished_job_is_no_longer_running_when_its_handlers_run(qtbot, monkeypatch):
    """A handler may start the next job at once: the thread must have ended by then."""
    run_job = JobWorker._run_job

    def run_then_linger(self):  # the thread lingers after posting its end, as under load
        run_job(self)
        time.sleep(0.3)

    monkeypatch.setattr(JobWorker, "_run_job", run_then_linger)
    worker = JobWorker(lambda progress, cancel: 1)
    seen = []
    worker.finished.connect(lambda _result: seen.append(worker.is_running()))
    with qtbot.waitSignal(worker.done, timeout=5000):
        worker.start()
    assert seen == [False]


def test_job_failure_is_one_line(qtbot):
    def job(progress, cancel):
        raise ValueError("metadata.csv row 7: unknown dx 'xyz'\nsecond line")

    worker = JobWorker(job)
    with qtbot.waitSignal(worker.failed, timeout=5000) as blocker:
        worker.start()
    assert blocker.args == ["metadata.csv row 7: unknown dx 'xyz'"]
    assert isinstance(worker.error, ValueError)


def test_cancel_stops_the_job(qtbot):
    started = threading.Event()

    def job(progress, cancel):
        started.set()
        while True:
            cancel.raise_if_cancelled()
            threading.Event().wait(0.005)

    worker = JobWorker(job)
    finished = []
    worker.finished.connect(finished.append)
    worker.start()
    assert started.wait(5)
    assert worker.is_running()
    with qtbot.waitSignal(worker.cancelled, timeout=5000):
        worker.cancel()
    assert worker.wait(5000)
    assert finished == []


def test_process_runner_parses_json_lines(qtbot):
    runner = ProcessRunner([])
    script = (
        "import json, sys\n"
        "print('plain text line')\n"
        "for i in range(3): print(json.dumps({'done': i + 1, 'total': 3, 'message': 'm', 'x': i}))\n"
        "print(json.dumps({'result': 'ok'}))\n"
    )
    runner.program, runner.arguments = sys.executable, ["-c", script]
    progress, outputs = [], []
    runner.progress.connect(progress.append)
    runner.output.connect(outputs.append)
    with qtbot.waitSignal(runner.finished, timeout=15000) as blocker:
        runner.start()
    assert blocker.args == [0]
    assert [e.done for e in progress] == [1, 2, 3]
    assert progress[-1].data == {"x": 2}
    assert runner.events[-1] == {"result": "ok"}
    assert outputs == ["plain text line"]


def test_process_runner_reports_cli_errors(qtbot, tmp_path):
    runner = ProcessRunner(["no-such-command"], workspace=tmp_path / "ws")
    with qtbot.waitSignal(runner.failed, timeout=30000) as blocker:
        runner.start()
    assert "no-such-command" in blocker.args[0]


def test_process_runner_stop(qtbot):
    runner = ProcessRunner([])
    runner.program, runner.arguments = sys.executable, ["-c", "import time; time.sleep(60)"]
    with qtbot.waitSignal(runner.process.started, timeout=15000):
        runner.start()
    with qtbot.waitSignal(runner.cancelled, timeout=15000):
        runner.stop(grace_ms=500)
    assert not runner.is_running()


@pytest.mark.parametrize("bad", ["[1, 2]", "{not json"])
def test_non_object_lines_are_plain_output(qtbot, bad):
    runner = ProcessRunner([])
    outputs = []
    runner.output.connect(outputs.append)
    runner._handle_stdout_line(bad)
    assert outputs == [bad] and runner.events == []


def test_end_of_a_fast_job_reaches_slots_connected_after_start(qtbot):
    worker = JobWorker(lambda progress, cancel: "quick")
    worker.start()
    assert worker.wait(5000)  # the job is over before anyone connected
    with qtbot.waitSignal(worker.done, timeout=5000):
        pass
    assert worker.result == "quick"


def test_public_signals_arrive_on_the_ui_thread(qtbot):
    seen = []
    worker = JobWorker(lambda progress, cancel: progress(ProgressEvent(1, 1)))
    worker.progress.connect(lambda _event: seen.append(threading.get_ident()))
    worker.done.connect(lambda: seen.append(threading.get_ident()))
    with qtbot.waitSignal(worker.done, timeout=5000):
        worker.start()
    assert seen == [threading.get_ident()] * 2
