"""Reader packages: export → read on another 'machine' → import results (idempotent, conflicts kept)."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest

from dermstudy.reading import Answer, ReadingError, open_reading
from dermstudy.study.builder import StudyError
from dermstudy.study.package import export_package, import_results
from dermstudy.study.queries import answer_key


def _votes(ws):
    return ws.conn.execute(
        "SELECT r.name, c.code, v.entity, v.ai_scale, v.origin FROM votes v "
        "JOIN sessions s ON s.id = v.session_id JOIN readers r ON r.id = s.reader_id "
        "JOIN cases c ON c.id = v.case_id ORDER BY r.name, c.code"
    ).fetchall()


@pytest.fixture
def exported(library, new_study, tmp_path):
    new_study(real_per_entity=1, synthetic_per_entity=1, entities=["mel", "bcc"], practice=1)
    package = tmp_path / "out" / "study.zip"
    export_package(library, "s1", package)
    # The reading workstation has only the package: copy it somewhere else.
    elsewhere = tmp_path / "workstation" / "study.zip"
    elsewhere.parent.mkdir()
    shutil.copy(package, elsewhere)
    return elsewhere


def _read_all(package, reader, entity="mel", finish=True):
    with open_reading(package, None, reader) as s:
        for i in range(s.total):
            s.submit(i, Answer(entity, ai_scale=i % 5 + 1))
        if finish:
            s.finish()
        return [s.case_code(i) for i in range(s.total)]


def test_round_trip_export_read_import(library, exported):
    key = {k["case"]: k for k in answer_key(library, "s1")}
    codes = _read_all(exported, "dr-x")
    _read_all(exported, "dr-y", entity="bcc", finish=False)
    sidecar = exported.with_name("study.zip.answers.sqlite")
    assert sidecar.exists()
    assert sorted(codes) == sorted(key)

    result = import_results(library, "s1", exported)
    assert result.to_dict()["inserted"] == 2 * len(key) and result.conflicts == 0
    votes = _votes(library)
    assert {(name, entity) for name, _c, entity, _s, _o in votes} == {
        ("dr-x", "mel"),
        ("dr-y", "bcc"),
    }
    assert {origin for *_x, origin in votes} == {"package"}
    finished = dict(
        library.conn.execute(
            "SELECT r.name, s.finished_at FROM sessions s JOIN readers r ON r.id = s.reader_id"
        ).fetchall()
    )
    assert finished["dr-x"] and finished["dr-y"] is None

    again = import_results(library, "s1", sidecar)  # idempotent
    assert again.to_dict()["inserted"] == 0 and again.to_dict()["unchanged"] == 2 * len(key)
    assert _votes(library) == votes


def test_a_readers_correction_in_the_package_is_merged_with_history(library, exported):
    """Issue 13.2: a later answer from the same reader and package is a correction, not a conflict."""
    _read_all(exported, "dr-x", finish=False)
    import_results(library, "s1", exported)
    with open_reading(exported, None, "dr-x") as s:
        s.go_to(0)
        s.submit(0, Answer("vasc", ai_scale=5))
        changed = s.case_code(0)
        s.finish()
    result = import_results(library, "s1", exported)
    assert result.conflicts == 0 and result.readers[0].corrected == [changed]
    assert "1 corrected by the reader" in result.to_text()
    stored = {code: entity for _n, code, entity, _s, _o in _votes(library)}
    assert stored[changed] == "vasc"
    history = [
        json.loads(d)
        for (d,) in library.conn.execute(
            "SELECT details FROM audit_log WHERE action = 'vote.change' AND subject = ?", (changed,)
        )
    ]
    assert [h["old"]["entity"] for h in history] == ["mel"] and history[0]["new"][
        "entity"
    ] == "vasc"
    finished = library.conn.execute("SELECT finished_at FROM sessions").fetchone()[0]
    assert finished is not None  # the remote session's state is merged too
    again = import_results(library, "s1", exported)
    assert again.to_dict()["corrected"] == 0 and again.conflicts == 0


def test_true_conflicts_between_two_sources_are_reported_not_overwritten(library, exported):
    codes = _read_all(exported, "dr-x", finish=False)
    from dermstudy.reading.workspace_store import WorkspaceStore

    store = WorkspaceStore(library.root, "s1", "dr-x")  # the same reader in the workspace window
    try:
        case = next(c for c in store.cases if c.code == codes[0])
        store.save_answer(case, Answer("nv", ai_scale=1), None)
    finally:
        store.close()
    result = import_results(library, "s1", exported)
    assert [c["case"] for c in result.readers[0].conflicts] == [codes[0]]
    assert "conflict on case" in result.to_text()
    stored = {code: entity for _n, code, entity, _s, _o in _votes(library)}
    assert stored[codes[0]] == "nv"


def test_answers_for_another_study_are_refused(library, new_study, exported):
    _read_all(exported, "dr-x", finish=False)
    new_study("other", real_per_entity=1, synthetic_per_entity=0)
    with pytest.raises(StudyError, match="different study"):
        import_results(library, "other", exported)
    assert _votes(library) == []


def test_tampered_answers_file_imports_nothing(library, exported):
    _read_all(exported, "dr-x", finish=False)
    sidecar = exported.with_name("study.zip.answers.sqlite")
    conn = sqlite3.connect(sidecar)
    with conn:
        conn.execute("UPDATE answers SET sha256 = 'bad' WHERE rowid = 1")
    conn.close()
    with pytest.raises(StudyError, match="image hash differs"):
        import_results(library, "s1", sidecar)
    assert _votes(library) == []


def test_package_reader_resumes_and_checks_images(exported, tmp_path):
    with open_reading(exported, None, "dr-z") as s:
        s.submit(0, Answer("mel", ai_scale=1))
    with open_reading(exported, None, "dr-z") as s:
        assert s.current == 1 and s.answer(0).entity == "mel"
    with pytest.raises(ReadingError, match="holds study 's1', not 'x'"):
        open_reading(exported, "x", "dr-z")
    not_a_package = tmp_path / "notes.zip"
    not_a_package.write_bytes(b"hello")
    with pytest.raises(ReadingError, match="not a dermstudy reader package"):
        open_reading(not_a_package, None, "dr-z")


def test_changes_made_in_the_package_reach_the_audit_log_once(library, exported):
    with open_reading(exported, None, "dr-h") as s:
        s.submit(0, Answer("mel", ai_scale=1))
        s.go_to(0)
        s.submit(0, Answer("nv", ai_scale=2))
        code = s.case_code(0)
    import_results(library, "s1", exported)
    import_results(library, "s1", exported)
    rows = library.conn.execute(
        "SELECT subject, details FROM audit_log WHERE action = 'vote.change'"
    ).fetchall()
    assert [subject for subject, _d in rows] == [code]
    assert '"old": {"ai_scale": 1' in rows[0][1]
