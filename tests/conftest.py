"""Shared pytest set-up: Qt offscreen, no network, small workspaces."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SHARED = Path(__file__).resolve().parents[2] / "shared"
DATA = Path(__file__).resolve().parent / "data"


class NetworkAccessError(AssertionError):
    pass


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test whose code tries to open an internet socket (local AF_UNIX is allowed)."""
    real_connect = socket.socket.connect

    def guarded_connect(self: socket.socket, address: object) -> object:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0] if isinstance(address, tuple) else address
            if host not in ("127.0.0.1", "::1", "localhost"):
                raise NetworkAccessError(f"network access attempted: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


@pytest.fixture(autouse=True)
def _private_gui_settings(tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> None:
    """Each test gets its own empty GUI settings file: never a person's, never another test's."""
    folder = tmp_path_factory.mktemp("settings")
    monkeypatch.setenv("DERMSTUDY_SETTINGS", str(folder / "dermstudy.ini"))


@pytest.fixture
def workspace(tmp_path: Path):
    from dermstudy.workspace import Workspace

    ws = Workspace.open(tmp_path / "ws")
    yield ws
    ws.close()


@pytest.fixture(autouse=True)
def _quick_blinding_audit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Few classifier permutations in the blinding audit that every study creation runs: most tests
    create studies and do not check the audit's threshold (tests/study/test_audit.py does, at the
    full count)."""
    monkeypatch.setattr("dermstudy.study.audit.CLASSIFIER_PERMUTATIONS", 5)
