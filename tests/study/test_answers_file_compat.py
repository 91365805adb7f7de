"""An answers file written before the answers file had named migrations still opens and merges.

The old file is made here with the schema dermstudy wrote until then (copied verbatim below from
``reading/package_store.py`` as of commit 70409e7), so the test does not depend on today's code to
make it.
"""

from __future__ import annotations

import json
import sqlite3
import zipfile

import pytest

from dermstudy.reading import Answer, ReadingError, open_reading
from dermstudy.study.builder import StudyError
from dermstudy.study.package import export_package, import_results
from dermstudy.workspace.package_answers import ANSWERS_MIGRATIONS

# The answers file's schema before it had named migrations (no _migrations table).
OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    reader TEXT PRIMARY KEY,
    case_order TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE TABLE IF NOT EXISTS answers (
    reader TEXT NOT NULL REFERENCES sessions (reader),
    code TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    entity TEXT NOT NULL,
    ai_scale INTEGER,
    ai_vote TEXT NOT NULL,
    entity_confidence INTEGER,
    seconds REAL,
    answered_at TEXT NOT NULL,
    PRIMARY KEY (reader, code)
);
CREATE TABLE IF NOT EXISTS problems (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    reader TEXT NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    reader TEXT NOT NULL,
    code TEXT NOT NULL,
    old TEXT NOT NULL,
    new TEXT NOT NULL
);
"""
AT = "2026-01-02T03:04:05.000+00:00"


@pytest.fixture
def package(library, new_study, tmp_path):
    new_study(real_per_entity=1, synthetic_per_entity=1, entities=["mel", "bcc"], practice=1)
    path = tmp_path / "study.zip"
    export_package(library, "s1", path)
    return path


def _write_old_answers_file(package, answered: int) -> list[str]:
    """An answers file as the old code wrote it: reader 'dr-old' has answered the first
    ``answered`` cases of their order (practice first) and changed the first answer once."""
    with zipfile.ZipFile(package) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    cases = sorted(manifest["cases"], key=lambda c: not c["practice"])
    order = [c["code"] for c in cases]
    conn = sqlite3.connect(package.with_name(package.name + ".answers.sqlite"))
    conn.executescript(OLD_SCHEMA)
    meta = {
        "format": "dermstudy-reader-answers",
        "version": "1",
        "study": manifest["study"],
        "study_uid": manifest["study_uid"],
        "package": package.name,
        "created_at": AT,
    }
    conn.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
    conn.execute("INSERT INTO sessions VALUES ('dr-old', ?, ?, NULL)", (json.dumps(order), AT))
    for case in cases[:answered]:
        conn.execute(
            "INSERT INTO answers VALUES ('dr-old', ?, ?, 'bcc', 4, 'ai', NULL, 2.5, ?)",
            (case["code"], case["sha256"], AT),
        )
    old = Answer("mel", ai_scale=2, seconds=1.0).to_dict()
    new = Answer("bcc", ai_scale=4, seconds=2.5).to_dict()
    conn.execute(
        "INSERT INTO history (at, reader, code, old, new) VALUES (?, 'dr-old', ?, ?, ?)",
        (AT, order[0], json.dumps(old), json.dumps(new)),
    )
    conn.commit()
    conn.close()
    return order


def test_an_old_answers_file_resumes_and_merges(library, package):
    order = _write_old_answers_file(package, answered=2)
    with open_reading(package, None, "dr-old") as session:
        assert [session.case_code(i) for i in range(session.total)] == order
        assert session.progress()[0] == 2 and session.current == 2
        for i in range(2, session.total):
            session.submit(i, Answer("mel", ai_scale=1))
        session.finish()
    with open_reading(package, None, "dr-new") as session:  # a new reader in the old file
        session.submit(0, Answer("mel", ai_scale=5))

    result = import_results(library, "s1", package).to_dict()
    assert result["inserted"] == len(order) + 1 and result["conflicts"] == 0
    votes = library.conn.execute(
        "SELECT r.name, c.code, v.entity FROM votes v JOIN sessions s ON s.id = v.session_id "
        "JOIN readers r ON r.id = s.reader_id JOIN cases c ON c.id = v.case_id"
    ).fetchall()
    old_reader = {code: entity for name, code, entity in votes if name == "dr-old"}
    assert sorted(old_reader) == sorted(order)
    assert [old_reader[code] for code in order] == ["bcc", "bcc"] + ["mel"] * (len(order) - 2)
    changes = library.conn.execute(
        "SELECT subject FROM audit_log WHERE action = 'vote.change'"
    ).fetchall()
    assert changes == [(order[0],)]


def test_the_answers_tables_keep_their_columns(library, package, tmp_path):
    """Today's answers file has the old tables with the same columns, so old readers of the file
    (and a carried-back copy) see the same layout."""
    with open_reading(package, None, "dr-a") as session:
        session.submit(0, Answer("mel", ai_scale=3))
    new = sqlite3.connect(package.with_name(package.name + ".answers.sqlite"))
    old = sqlite3.connect(tmp_path / "old.sqlite")
    old.executescript(OLD_SCHEMA)
    tables = ["meta", "sessions", "answers", "problems", "history"]
    for table in tables:
        columns = f"PRAGMA table_info({table})"
        assert new.execute(columns).fetchall() == old.execute(columns).fetchall(), table
    assert new.execute("SELECT value FROM meta WHERE key = 'format'").fetchone() == (
        "dermstudy-reader-answers",
    )
    new.close()
    old.close()


def _migrations(path):
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute("SELECT name FROM _migrations ORDER BY rowid")]
    finally:
        conn.close()


def test_the_answers_file_records_its_migrations(package):
    """A new file and an old one (no _migrations table) both end with the named migrations."""
    sidecar = package.with_name(package.name + ".answers.sqlite")
    _write_old_answers_file(package, answered=1)
    with sqlite3.connect(sidecar) as conn:
        assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name = '_migrations'").fetchall()
    with open_reading(package, None, "dr-old"):
        pass
    assert _migrations(sidecar) == [name for name, _ in ANSWERS_MIGRATIONS]

    other = package.with_name("new.answers.sqlite")
    with open_reading(package, None, "dr-a", answers=other):
        pass
    assert _migrations(other) == [name for name, _ in ANSWERS_MIGRATIONS]


def test_an_answers_file_from_a_newer_dermstudy_is_refused(library, package):
    sidecar = package.with_name(package.name + ".answers.sqlite")
    with open_reading(package, None, "dr-a") as session:
        session.submit(0, Answer("mel", ai_scale=3))
    conn = sqlite3.connect(sidecar)
    conn.execute("INSERT INTO _migrations VALUES ('9999_from_the_future', ?)", (AT,))
    conn.commit()
    conn.close()
    with pytest.raises(ReadingError, match=r"newer dermstudy.*9999_from_the_future"):
        open_reading(package, None, "dr-a")
    with pytest.raises(StudyError, match=r"newer dermstudy.*9999_from_the_future"):
        import_results(library, "s1", package)
    assert not library.conn.execute("SELECT COUNT(*) FROM votes").fetchone()[0]
