"""The ``dermstudy study`` / ``votes`` / ``read`` commands end to end through ``cli.main``."""

from __future__ import annotations

import json
import re

import pytest

from dermstudy.cli import main
from dermstudy.reading import Answer, open_reading


@pytest.fixture
def cli(library, capsys):
    def run(*argv: str) -> tuple[int, str, str]:
        code = main(["--workspace", str(library.root), *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_create_show_list_key(cli):
    code, out, _err = cli(
        "study",
        "create",
        "pilot",
        "--real-per-entity",
        "2",
        "--synthetic-per-entity",
        "1",
        "--entities",
        "mel,nv",
        "--size",
        "32",
        "--seed",
        "5",
        "--practice",
        "1",
        "--json",
    )
    assert code == 0
    created = json.loads(out)
    assert created["cases"] == 6 and created["seed"] == 5 and created["practice_cases"] == 1
    assert created["counts"] == {
        "mel": {"real": 2, "synthetic": 1},
        "nv": {"real": 2, "synthetic": 1},
    }

    code, out, _err = cli("study", "list")
    assert code == 0 and out.startswith("pilot: 6 cases + 1 practice")
    code, out, _err = cli("study", "show", "pilot")
    assert code == 0 and "seed 5" in out and re.search(r"mel +2 \+ 1\n", out)

    code, out, _err = cli("study", "key", "pilot", "--json")
    key = json.loads(out)
    assert len(key) == 7
    assert {"case", "entity", "source", "provenance"} <= set(key[0])
    assert sorted(k["source"] for k in key if not k["practice"]) == ["real"] * 4 + ["synthetic"] * 2


def test_errors_are_one_clean_line(cli):
    code, _out, err = cli("study", "create", "big", "--real-per-entity", "9", "--size", "32")
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("dermstudy: error: not enough images")
    assert "mel real: need 9, pool has 4 (short by 5)" in err
    code, _out, err = cli("study", "show", "nope")
    assert code == 2 and "no study named 'nope'" in err
    code, _out, err = cli("study", "create", "x", "--count", "mel=1")
    assert code == 2 and "ENTITY=REAL,SYNTHETIC" in err


def test_package_round_trip_and_votes_import_via_cli(cli, tmp_path):
    cli(
        "study",
        "create",
        "p",
        "--real-per-entity",
        "1",
        "--synthetic-per-entity",
        "1",
        "--entities",
        "df",
        "--size",
        "32",
    )
    package = tmp_path / "p.zip"
    code, out, _err = cli("study", "export-package", "p", "--out", str(package))
    assert code == 0 and "2 cases" in out
    with open_reading(package, None, "remote") as s:
        for i in range(s.total):
            s.submit(i, Answer("df", ai_scale=4))
        codes = [s.case_code(i) for i in range(s.total)]
    code, out, _err = cli("study", "import-results", "p", str(package))
    assert code == 0 and "remote: 2 new" in out

    votes = tmp_path / "v.csv"
    votes.write_text(f"case,entity,ai_or_real\n{codes[0]},df,1\nBAD,df,1\n")
    code, _out, err = cli("votes", "import", "p", str(votes), "--reader", "paper")
    assert code == 2 and f"{votes}:3:" in err and "nothing imported" in err
    code, out, _err = cli("votes", "import", "p", str(votes), "--reader", "paper", "--skip-invalid")
    assert code == 0 and "1 answer(s) imported" in out
    code, out, _err = cli("study", "show", "p", "--json")
    readers = {r["reader"]: r["answered"] for r in json.loads(out)["readers"]}
    assert readers == {"paper": 1, "remote": 2}


def test_read_command_hands_the_session_to_the_reader_window(cli, monkeypatch):
    import types

    seen = {}

    def fake_window(session):
        seen["total"] = session.total
        seen["reader"] = session.reader
        return 0

    module = types.ModuleType("dermstudy.ui.reader_window")
    module.run_reader_window = fake_window
    monkeypatch.setitem(__import__("sys").modules, "dermstudy.ui.reader_window", module)
    cli(
        "study",
        "create",
        "r",
        "--real-per-entity",
        "1",
        "--synthetic-per-entity",
        "0",
        "--entities",
        "nv",
        "--size",
        "32",
    )
    code, _out, _err = cli("read", "r", "--reader", "dr-q")
    assert code == 0 and seen == {"total": 1, "reader": "dr-q"}
    code, _out, err = cli("read", "missing", "--reader", "dr-q")
    assert code == 2 and "no study named 'missing'" in err
