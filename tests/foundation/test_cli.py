import json
import socket

import pytest

from dermstudy.cli import main
from tests.conftest import NetworkAccessError


def test_demo_without_gui_builds_the_demo_workspace(tmp_path, capsys):
    assert main(["--workspace", str(tmp_path / "demo"), "demo", "--no-gui"]) == 0
    out = capsys.readouterr().out
    assert "total       140         70" in out
    assert main(["--workspace", str(tmp_path / "demo"), "dataset", "summary", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["total"] == 210
    assert all(v == {"real": 20, "synthetic": 10} for v in summary["by_entity"].values())
    # reopening the demo imports nothing twice
    assert main(["--workspace", str(tmp_path / "demo"), "demo", "--no-gui"]) == 0
    assert "total       140         70" in capsys.readouterr().out


def test_dataset_import_json_summary_and_clear_errors(tmp_path, ham_folder, capsys):
    ws = str(tmp_path / "ws")
    assert main(["--workspace", ws, "dataset", "import", str(ham_folder), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["imported_total"] == 14
    (tmp_path / "nothing").mkdir()
    assert main(["--workspace", ws, "dataset", "import", str(tmp_path / "nothing")]) == 2
    assert "no HAM10000_metadata.csv" in capsys.readouterr().err


def test_import_synthetic_needs_an_entity(tmp_path, capsys):
    (tmp_path / "gen").mkdir()
    code = main(
        ["--workspace", str(tmp_path / "ws"), "library", "import-synthetic", str(tmp_path / "gen")]
    )
    assert code == 2 and "--entity" in capsys.readouterr().err


def test_using_the_package_opens_no_network_socket(tmp_path):
    """The autouse guard in conftest fails any outbound connection; prove it is armed here."""
    assert main(["--workspace", str(tmp_path / "demo"), "demo", "--no-gui"]) == 0
    with pytest.raises(NetworkAccessError):
        socket.create_connection(("192.0.2.1", 80), timeout=0.1)


def test_every_module_imports_without_network():
    import importlib
    import pkgutil

    import dermstudy

    names = [m.name for m in pkgutil.walk_packages(dermstudy.__path__, "dermstudy.")]
    assert "dermstudy.datasets.ham10000" in names
    for name in names:
        if name != "dermstudy.__main__":
            importlib.import_module(name)
