"""One window per reader and study: a second open of the same session is refused until the first closes."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from dermstudy.reading.session import ReadingError, open_reading
from dermstudy.study.package import export_package


def _root(library):
    return library.root


def test_same_reader_twice_is_refused_other_readers_are_not(library, new_study):
    new_study("s1")
    first = open_reading(_root(library), "s1", "dr-a")
    with pytest.raises(ReadingError, match=r"'dr-a'.*already open in another window"):
        open_reading(_root(library), "s1", "dr-a")
    other = open_reading(_root(library), "s1", "dr-b")
    other.close()
    first.close()
    again = open_reading(_root(library), "s1", "dr-a")  # closing releases the lock
    again.close()


def test_a_killed_reader_does_not_leave_a_stale_lock(library, new_study):
    new_study("s1")
    script = textwrap.dedent(f"""
        import os, signal
        from dermstudy.reading.session import open_reading
        session = open_reading({str(_root(library))!r}, "s1", "dr-a")
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert result.returncode == -9
    open_reading(_root(library), "s1", "dr-a").close()


def test_package_sessions_are_locked_per_reader(library, new_study, tmp_path):
    new_study("s1")
    package = tmp_path / "s1.zip"
    export_package(library, "s1", package)
    first = open_reading(package, None, "dr-a")
    with pytest.raises(ReadingError, match="already open"):
        open_reading(package, None, "dr-a")
    open_reading(package, None, "dr-b").close()
    first.close()
