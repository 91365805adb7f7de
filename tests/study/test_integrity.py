"""Issue 12 item 7: the audit log and votes are tamper-evident (`study verify`, checked by reports)."""

from __future__ import annotations

import sqlite3

import pytest

from dermstudy.cli import main
from dermstudy.reading import Answer
from dermstudy.reading.workspace_store import WorkspaceStore
from dermstudy.workspace.integrity import verify


def _answer_all(ws, study="s1", reader="dr-a"):
    store = WorkspaceStore(ws.root, study, reader)
    try:
        for i, case in enumerate(store.cases):
            store.save_answer(case, Answer("mel", ai_scale=i % 5 + 1), None)
    finally:
        store.close()


def _outside(ws, *statements):
    """Edit the database the way someone with the sqlite3 shell would (no app pragmas)."""
    conn = sqlite3.connect(ws.root / "dermstudy.db")
    try:
        with conn:
            for sql in statements:
                conn.execute(sql)
    finally:
        conn.close()


def test_an_untouched_record_verifies(library, new_study, capsys):
    new_study()
    _answer_all(library)
    report = verify(library.conn)
    assert report.ok and report.links > 0 and len(report.head) == 64
    assert main(["--workspace", str(library.root), "study", "verify", "s1"]) == 0
    assert "record intact" in capsys.readouterr().out


def test_insert_or_replace_cannot_rewrite_the_audit_log(library, new_study):
    new_study()
    first = library.conn.execute("SELECT at, actor, action FROM audit_log WHERE id = 1").fetchone()
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        _outside(
            library,
            "INSERT OR REPLACE INTO audit_log (id, at, actor, action) VALUES (1, 'x', 'x', 'x')",
        )
    assert (
        library.conn.execute("SELECT at, actor, action FROM audit_log WHERE id = 1").fetchone()
        == first
    )


@pytest.mark.parametrize(
    "statements",
    [
        ["UPDATE votes SET entity = 'nv' WHERE id = 1"],
        ["DELETE FROM votes WHERE id = 2"],
        ["INSERT INTO votes (session_id, case_id, entity, ai_vote, answered_at) "
         "SELECT session_id, case_id + 1000, entity, ai_vote, answered_at FROM votes LIMIT 1"],
        ["DROP TRIGGER audit_log_no_replace",
         "INSERT OR REPLACE INTO audit_log (id, at, actor, action) VALUES (1, 'x', 'x', 'x')"],
    ],
)  # fmt: skip
def test_edits_outside_the_app_are_found_and_reports_say_so(library, new_study, capsys, statements):
    new_study()
    _answer_all(library)
    _outside(library, "PRAGMA foreign_keys = OFF", *statements)
    report = verify(library.conn)
    assert not report.ok and report.altered_since
    assert report.message().startswith("the record has been altered since ")
    root = str(library.root)
    assert main(["--workspace", root, "study", "verify", "s1"]) == 1
    assert "altered since" in capsys.readouterr().out
    if statements[0].startswith("UPDATE"):  # one report run is enough to prove the check
        code = main(["--workspace", root, "report", "s1", "--resamples", "100"])
        out, err = capsys.readouterr()
        assert code == 0 and "altered since" in err and out.startswith("WARNING: the record")
        logged = library.conn.execute(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'study.report'"
        ).fetchone()[0]
        assert logged == 1
