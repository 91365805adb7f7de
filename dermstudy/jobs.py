"""One small protocol for long work: a progress callback and a cancel token.

A job is a plain function ``job(..., progress: Progress, cancel: CancelToken)``. The CLI renders
progress as a text bar, the GUI as a progress bar; subprocess jobs print it as JSON lines.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO


class Cancelled(Exception):
    """Raised inside a job when its cancel token was set."""


class CancelToken:
    """Thread-safe flag a job polls between units of work."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()


@dataclass
class ProgressEvent:
    done: int
    total: int | None
    message: str = ""
    data: dict = field(default_factory=dict)


Progress = Callable[[ProgressEvent], None]


def no_progress(_event: ProgressEvent) -> None:
    """A progress callback that ignores everything."""


class TextProgressBar:
    """Renders progress events as one self-overwriting line with an ETA (for the CLI)."""

    def __init__(self, stream: TextIO | None = None, label: str = "") -> None:
        self.stream = stream or sys.stderr
        self.label = label
        self.started = time.monotonic()
        self._last_draw = 0.0

    def __call__(self, event: ProgressEvent) -> None:
        now = time.monotonic()
        finished = event.total is not None and event.done >= event.total
        if now - self._last_draw < 0.1 and not finished:
            return
        self._last_draw = now
        elapsed = now - self.started
        if event.total:
            fraction = min(1.0, event.done / event.total)
            bar = "#" * int(fraction * 30)
            eta = elapsed / fraction - elapsed if fraction > 0 else float("nan")
            text = f"{self.label} [{bar:<30}] {event.done}/{event.total} ETA {_fmt_seconds(eta)}"
        else:
            text = f"{self.label} {event.done} done, {_fmt_seconds(elapsed)}"
        if event.message:
            text += f"  {event.message}"
        if self.stream.isatty():
            self.stream.write("\r" + text[:150].ljust(150))
            if finished:
                self.stream.write("\n")
        elif finished:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.stream.isatty():
            self.stream.write("\n")
            self.stream.flush()


class JsonLinesProgress:
    """Writes each progress event as one JSON line (for jobs run as subprocesses of the GUI)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def __call__(self, event: ProgressEvent) -> None:
        record = {"done": event.done, "total": event.total, "message": event.message, **event.data}
        self.stream.write(json.dumps(record) + "\n")
        self.stream.flush()


def _fmt_seconds(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):
        return "--:--"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
