"""Deleting a study made by mistake: allowed until the first answer, refused after it."""

from __future__ import annotations

import pytest

from dermstudy.cli import main
from dermstudy.reading import Answer, open_reading
from dermstudy.study.builder import StudyError
from dermstudy.study.queries import delete_study, list_studies


def test_an_unanswered_study_is_deleted_with_its_cases_and_sessions(library, new_study):
    new_study("mistake")
    open_reading(library.root, "mistake", "dr-a").close()  # a session, but no answer
    removed = delete_study(library, "mistake")
    assert removed["cases"] == 28 and removed["sessions"] == 1 and removed["studies"] == 1
    assert list_studies(library) == []
    assert library.conn.execute("SELECT COUNT(*) FROM cases").fetchone()[0] == 0
    action = library.conn.execute(
        "SELECT action, subject FROM audit_log ORDER BY id DESC"
    ).fetchone()
    assert action == ("study.delete", "mistake")


def test_an_answered_study_is_kept(library, new_study):
    new_study("pilot")
    with open_reading(library.root, "pilot", "dr-a") as session:
        session.submit(session.current, Answer("mel", ai_scale=2))
    with pytest.raises(StudyError, match="has 1 answer"):
        delete_study(library, "pilot")
    assert [s["name"] for s in list_studies(library)] == ["pilot"]


def test_cli_delete_and_unknown_study(library, new_study, capsys):
    new_study("s1")
    root = str(library.root)
    assert main(["--workspace", root, "study", "delete", "s1"]) == 0
    assert "deleted study 's1'" in capsys.readouterr().out
    assert main(["--workspace", root, "study", "delete", "s1"]) == 2
    assert "no study named 's1'" in capsys.readouterr().err


def test_a_study_exported_as_a_package_cannot_be_deleted(library, new_study, tmp_path):
    """Issue 12 item 12: its answers could never be merged once the study is gone."""
    from dermstudy.study.package import export_package

    new_study()
    export_package(library, "s1", tmp_path / "p.zip")
    with pytest.raises(StudyError, match="exported as a reader package"):
        delete_study(library, "s1")
    assert [s["name"] for s in list_studies(library)] == ["s1"]
