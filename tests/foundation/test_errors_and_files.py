"""The one error base (and how the CLI reports it), the atomic write and hash helpers, peak memory."""

from __future__ import annotations

import hashlib
import importlib
import inspect
import pkgutil
import sys

import numpy as np
import pytest

import dermstudy
from dermstudy.cli import main
from dermstudy.errors import DermstudyError
from dermstudy.files import atomic_path, atomic_write_bytes, atomic_write_text, sha256_file
from dermstudy.jobs import Cancelled
from dermstudy.memory import peak_rss_mb


def _core_modules():
    for info in pkgutil.walk_packages(dermstudy.__path__, "dermstudy."):
        # Qt panels define no error classes of their own; __main__ would run the command.
        if not info.name.startswith("dermstudy.ui") and info.name != "dermstudy.__main__":
            yield importlib.import_module(info.name)


def test_every_error_class_of_the_package_is_a_dermstudy_error() -> None:
    found = []
    for module in _core_modules():
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and issubclass(cls, Exception):
                found.append(cls)
    not_based = [c.__qualname__ for c in found if not issubclass(c, DermstudyError)]
    assert len(found) > 20
    assert not_based == ["Cancelled"]  # cancelling is not an error
    assert not issubclass(Cancelled, DermstudyError)


def test_a_package_error_reaches_the_user_as_one_line_and_exit_2(tmp_path, capsys) -> None:
    # No handler catches SplitError any more: cli.main reports it through the base class.
    code = main(["--workspace", str(tmp_path / "ws"), "split", "show", "nosuch"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("dermstudy: error: ") and "nosuch" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_atomic_path_renames_only_a_finished_file(tmp_path) -> None:
    target = tmp_path / "sub" / "table.npy"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp.name.startswith(".")
        assert tmp.suffix == ".npy"  # np.save keeps the name it was given
        np.save(tmp, np.arange(3))
        assert not target.exists()
    assert np.load(target).tolist() == [0, 1, 2]
    assert sorted(p.name for p in target.parent.iterdir()) == ["table.npy"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path) -> None:
    target = tmp_path / "result.json"
    atomic_write_text(target, '{"old": true}')
    with pytest.raises(RuntimeError, match="disk"), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == '{"old": true}'
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_atomic_write_bytes_and_the_file_hash(tmp_path) -> None:
    data = bytes(range(256)) * 1000
    target = tmp_path / "blob.bin"
    atomic_write_bytes(target, data)
    assert target.read_bytes() == data
    assert sha256_file(target, chunk=1000) == hashlib.sha256(data).hexdigest()


def test_peak_memory_is_reported_where_the_platform_can(monkeypatch) -> None:
    if sys.platform != "win32":
        peak = peak_rss_mb()
        assert peak is not None and peak > 1  # this test process holds more than a MiB
    monkeypatch.setitem(sys.modules, "resource", None)  # as on Windows: import fails
    assert peak_rss_mb() is None
