"""The reading-session state machine: one reader working through one study's blinded cases.

Qt-free. The reader window (``dermstudy.ui.reader_window``) only calls this API; nothing reachable
from it reveals ground truth, sources, entities, models or file names — a session knows each case only
by its opaque case code, whether it is a practice case, and its blinded PNG.

Typical use::

    session = open_reading(workspace_dir, "pilot", reader="dr-a")     # or open_reading(package_file, None, "dr-a")
    i = session.current                                                 # resumes at the first unanswered case
    png = session.image_bytes(i); session.preload(i + 1)                # preload may run on another thread
    session.submit(i, Answer("mel", ai_scale=4))                       # durable before it returns
    ... session.current is now the next case ...
    if session.all_answered: session.finish()
    session.close()

States and rules:

* Cases are answered in reading order. ``current`` starts at :meth:`first_unanswered` (or the last
  case when everything is answered) and moves with :meth:`submit` and :meth:`go_to`.
* :meth:`submit` writes the answer in one transaction with ``synchronous=FULL`` and returns only after
  the commit, so a crash or kill after it returns loses nothing. Re-answering a case (allowed only when
  the study allows going back) keeps the previous answer in the audit log.
* With ``allow_back`` off a reader can neither go back nor change an answer.
* :meth:`finish` needs every case answered; afterwards the session is read-only.
* ``seconds``: when an :class:`Answer` has ``seconds=None`` the session fills in the time the case was
  on screen since :meth:`go_to` / the previous submit, minus pauses (:meth:`pause` / :meth:`resume`);
  a changed answer adds the new viewing time to the time already recorded.

Threading: :meth:`image_bytes` and :meth:`preload` are safe to call from any thread; every other
method must be called from the thread that opened the session (SQLite connections are per thread).
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from dermstudy.errors import DermstudyError
from dermstudy.locks import LockedError, acquire_exclusive, release
from dermstudy.reading.answers import (
    ORDER_PER_READER,
    Answer,
    InvalidAnswerError,
    ReadingSettings,
)


class ReadingError(DermstudyError):
    """A reading session cannot be opened or an action is not allowed; the message says why."""


class NavigationError(ReadingError):
    """Going to a case that the rules do not allow (back when back is off, or past the first gap)."""


class SessionFinishedError(ReadingError):
    """The session was finished; it is read-only now."""


# What this module defines; the package (``dermstudy.reading``) gathers the public API.
__all__ = [
    "CaseRef",
    "NavigationError",
    "ReadingError",
    "ReadingSession",
    "SessionFinishedError",
    "case_order_for",
    "check_reader_name",
    "open_reading",
]


@dataclass(frozen=True)
class CaseRef:
    """What a reading session knows about a case: its opaque code, practice flag and image hash."""

    code: str
    practice: bool
    sha256: str


class AnswerStore(Protocol):
    """Where a session's cases come from and its answers go (a workspace or a reader package)."""

    study_name: str
    reader: str
    settings: ReadingSettings
    cases: list[CaseRef]  # in this reader's reading order
    lock_path: Path  # held while the session is open: one window per reader and study

    def read_image(self, case: CaseRef) -> bytes: ...

    def load_answers(self) -> dict[str, Answer]: ...

    def save_answer(self, case: CaseRef, answer: Answer, previous: Answer | None) -> None: ...

    def finished_at(self) -> str | None: ...

    def mark_finished(self) -> None: ...

    def close(self) -> None: ...


def case_order_for(cases: list[CaseRef], order: str, order_key: str, reader: str) -> list[CaseRef]:
    """The reading order for one reader: practice cases first, then the scored cases.

    ``cases`` is the study's base order. With ``order='per-reader'`` the scored cases are shuffled by a
    generator seeded from the study's ``order_key`` and the reader's name, so the order is reproducible
    from the stored study record and differs between readers.
    """
    practice = [c for c in cases if c.practice]
    scored = [c for c in cases if not c.practice]
    if order == ORDER_PER_READER:
        seed = hashlib.sha256(f"{order_key}\0{reader}".encode()).digest()
        random.Random(seed).shuffle(scored)
    return practice + scored


def check_reader_name(reader: str) -> str:
    from dermstudy.workspace.votes import VoteRuleError
    from dermstudy.workspace.votes import check_reader_name as check_rules

    name = " ".join(str(reader).split())
    if not name:
        raise ReadingError("a reader name is required (--reader NAME)")
    try:
        return check_rules(name)
    except VoteRuleError as exc:
        raise ReadingError(str(exc)) from None


class ReadingSession:
    """One reader's pass through one study. Create with :func:`open_reading`."""

    _CACHE_SIZE = 4

    def __init__(self, store: AnswerStore) -> None:
        self._store = store
        self._lock = _lock_session(store)
        self._cases = list(store.cases)
        if not self._cases:
            raise ReadingError(f"study {store.study_name!r} has no cases")
        self._answers: dict[str, Answer] = store.load_answers()
        self._finished_at = store.finished_at()
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._cache_lock = threading.Lock()
        first = self.first_unanswered()
        self._current = first if first is not None else self.total - 1
        self._restart_timer()

    # -- what the reader sees -------------------------------------------------------------------
    @property
    def study_name(self) -> str:
        return self._store.study_name

    @property
    def reader(self) -> str:
        return self._store.reader

    @property
    def settings(self) -> ReadingSettings:
        return self._store.settings

    @property
    def total(self) -> int:
        """Number of cases including practice cases."""
        return len(self._cases)

    @property
    def scored_total(self) -> int:
        return sum(1 for c in self._cases if not c.practice)

    @property
    def current(self) -> int:
        """Index (0-based, reading order) of the case on screen."""
        return self._current

    def case_code(self, i: int) -> str:
        return self._case(i).code

    def is_practice(self, i: int) -> bool:
        return self._case(i).practice

    def position_label(self, i: int) -> str:
        """'Practice 2 of 3' or 'Case 17 of 140' (scored cases counted without practice)."""
        case = self._case(i)
        practice = self.total - self.scored_total
        if case.practice:
            return f"Practice {i + 1} of {practice}"
        return f"Case {i - practice + 1} of {self.scored_total}"

    def image_bytes(self, i: int) -> bytes:
        """The blinded PNG of case ``i`` (checked against its SHA-256). Thread-safe."""
        with self._cache_lock:
            if i in self._cache:
                self._cache.move_to_end(i)
                return self._cache[i]
        data = self._store.read_image(self._case(i))
        with self._cache_lock:
            self._cache[i] = data
            while len(self._cache) > self._CACHE_SIZE:
                self._cache.popitem(last=False)
        return data

    def preload(self, i: int) -> None:
        """Read case ``i``'s image into the cache (no-op outside 0..total-1). Thread-safe."""
        if 0 <= i < self.total:
            self.image_bytes(i)

    def next_index(self, i: int | None = None) -> int | None:
        """The case shown after ``i`` (default: current): the next one, or None at the end."""
        i = self._current if i is None else i
        return i + 1 if i + 1 < self.total else None

    # -- answers ---------------------------------------------------------------------------------
    def answer(self, i: int) -> Answer | None:
        """This reader's answer to case ``i``, or None."""
        return self._answers.get(self._case(i).code)

    def is_answered(self, i: int) -> bool:
        return self._case(i).code in self._answers

    def first_unanswered(self) -> int | None:
        for i, case in enumerate(self._cases):
            if case.code not in self._answers:
                return i
        return None

    def progress(self) -> tuple[int, int]:
        """(answered, total) over all cases including practice."""
        return len(self._answers), self.total

    def scored_progress(self) -> tuple[int, int]:
        """(answered, total) over scored cases only (the 'n / 140' a reader sees)."""
        answered = sum(1 for c in self._cases if not c.practice and c.code in self._answers)
        return answered, self.scored_total

    @property
    def all_answered(self) -> bool:
        return len(self._answers) == self.total

    def can_change(self, i: int) -> bool:
        """Whether case ``i`` may be (re-)answered now."""
        if self.finished or not 0 <= i < self.total:
            return False
        if self.is_answered(i):
            return self.settings.allow_back
        return i == self.first_unanswered()

    def can_go_back(self, i: int | None = None) -> bool:
        """Whether the reader may move from case ``i`` (default: current) to the one before it."""
        i = self._current if i is None else i
        return self.settings.allow_back and not self.finished and i > 0

    def can_go_to(self, i: int) -> bool:
        if not 0 <= i < self.total:
            return False
        first = self.first_unanswered()
        limit = self.total - 1 if first is None else first
        if i > limit:
            return False
        if self.finished:
            return True  # read-only review after finishing is harmless: answers cannot change
        return self.settings.allow_back or i == limit or i >= self._current

    def go_to(self, i: int) -> int:
        """Show case ``i``; raises NavigationError when the rules forbid it. Returns ``i``."""
        if not self.can_go_to(i):
            raise NavigationError(self._why_not(i))
        if i != self._current:
            self._current = i
            self._restart_timer()
        return i

    def back(self) -> int:
        """Go to the previous case (only when going back is allowed)."""
        if not self.can_go_back():
            raise NavigationError("going back is not allowed in this study")
        return self.go_to(self._current - 1)

    def record_unreadable(self, i: int, message: str) -> None:
        """Record that case ``i`` could not be shown to the reader (it was not answered)."""
        record = getattr(self._store, "record_problem", None)
        if record is not None:
            record(self._case(i), f"case image cannot be shown: {message}")

    def submit(self, i: int, answer: Answer) -> int:
        """Record ``answer`` for case ``i`` durably, then move on; returns the new ``current``.

        The answer is committed (one transaction, synchronous FULL) before this returns. Submitting
        the same choice again is a no-op. Changing an answer writes the old one to the audit log.
        """
        if self.finished:
            raise SessionFinishedError(
                "this reading session is finished; answers can no longer change"
            )
        if not isinstance(answer, Answer):
            raise InvalidAnswerError("submit() needs an Answer")
        case = self._case(i)
        self.settings.check(answer)
        if not self.can_change(i):
            raise NavigationError(self._why_not_answer(i))
        previous = self._answers.get(case.code)
        if answer.seconds is None:
            answer = answer.with_seconds(self._seconds_for(i, previous))
        if not answer.same_choice(previous):
            self._store.save_answer(case, answer, previous)
            self._answers[case.code] = answer
        self._current = self._after(i)
        self._restart_timer()
        return self._current

    def _after(self, i: int) -> int:
        """Where the reader goes after answering case ``i``.

        Without going back, straight to the first unanswered case (answers imported from elsewhere
        may leave gaps); with it, to the next case, or back to the first gap after the last case.
        """
        first = self.first_unanswered()
        if not self.settings.allow_back or i + 1 >= self.total:
            return first if first is not None else self.total - 1
        return i + 1

    # -- timing ----------------------------------------------------------------------------------
    def pause(self) -> None:
        """Stop the clock for the current case (e.g. while a pause screen hides the image)."""
        if self._paused_at is None:
            self._paused_at = time.monotonic()

    def resume(self) -> None:
        if self._paused_at is not None:
            self._paused_seconds += time.monotonic() - self._paused_at
            self._paused_at = None

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    def elapsed(self) -> float:
        """Seconds the current case has been on screen, pauses excluded."""
        now = self._paused_at if self._paused_at is not None else time.monotonic()
        return max(0.0, now - self._shown_at - self._paused_seconds)

    # -- finishing -------------------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        return self._finished_at is not None

    def finish(self) -> None:
        """Mark the session finished (durably). Needs every case answered; idempotent."""
        if self.finished:
            return
        missing = self.total - len(self._answers)
        if missing:
            raise ReadingError(
                f"{missing} case(s) are still unanswered; answer them before finishing"
            )
        self._store.mark_finished()
        self._finished_at = self._store.finished_at()

    def close(self) -> None:
        release(self._lock)
        self._store.close()

    def __enter__(self) -> ReadingSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- helpers ---------------------------------------------------------------------------------
    def _case(self, i: int) -> CaseRef:
        if not isinstance(i, int) or not 0 <= i < len(self._cases):
            raise IndexError(f"case index {i!r} outside 0..{len(self._cases) - 1}")
        return self._cases[i]

    def _restart_timer(self) -> None:
        self._shown_at = time.monotonic()
        self._paused_seconds = 0.0
        self._paused_at = None

    def _seconds_for(self, i: int, previous: Answer | None) -> float | None:
        earlier = previous.seconds if previous is not None and previous.seconds else 0.0
        if i != self._current:
            return previous.seconds if previous is not None else None
        return round(earlier + self.elapsed(), 3)

    def _why_not(self, i: int) -> str:
        if not 0 <= i < self.total:
            return f"there is no case {i + 1}"
        if i < self._current and not self.settings.allow_back:
            return "going back is not allowed in this study"
        return "answer the cases in order: earlier cases are still unanswered"

    def _why_not_answer(self, i: int) -> str:
        if self.is_answered(i):
            return "changing an answer is not allowed in this study"
        return "answer the cases in order: earlier cases are still unanswered"


def _lock_session(store: AnswerStore) -> IO[str] | None:
    """One window per reader and study: a second open of the same session is refused."""
    lock_path = getattr(store, "lock_path", None)
    if lock_path is None:
        return None
    try:
        return acquire_exclusive(lock_path, f"{store.reader!r}'s reading of {store.study_name!r}")
    except LockedError as exc:
        store.close()
        raise ReadingError(str(exc)) from None


def open_reading(
    source: str | Path, study: str | None, reader: str, *, answers: str | Path | None = None
) -> ReadingSession:
    """Open (or resume) ``reader``'s session.

    ``source`` is a workspace folder (then ``study`` names the study) or a reader package file
    written by ``dermstudy study export-package`` (then ``study`` may be None or must match; answers go
    to ``answers`` or, by default, to ``<package>.answers.sqlite`` beside it).
    """
    from dermstudy.reading.workspace_store import WorkspaceStore

    # The reader-package format, its store included, is one module: dermstudy.study.package.
    from dermstudy.study.package import PackageStore, is_package

    path = Path(source).expanduser()
    name = check_reader_name(reader)
    if path.is_file():
        if not is_package(path):
            raise ReadingError(f"{path}: not a dermstudy reader package")
        return ReadingSession(PackageStore(path, study, name, answers_path=answers))
    if not study:
        raise ReadingError("name the study to read (or give a reader package file)")
    return ReadingSession(WorkspaceStore(path, study, name))
