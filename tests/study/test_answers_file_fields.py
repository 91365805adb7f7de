"""Issue 12 item 9: a hand-edited answers file or manifest gives the one-line error (exit 2), never
a traceback, and a damaged case image is never exported to a reading workstation."""

from __future__ import annotations

import json
import shutil
import sqlite3
import zipfile

import pytest

from dermstudy.cli import main
from dermstudy.reading import Answer, ReadingError, open_reading
from dermstudy.study.builder import StudyError
from dermstudy.study.package import export_package, import_results


@pytest.fixture
def answered(library, new_study, tmp_path):
    """A package with two answers of 'dr-a', one of them changed (so there is a history row)."""
    new_study(real_per_entity=1, synthetic_per_entity=1, entities=["mel", "bcc"])
    package = tmp_path / "p.zip"
    export_package(library, "s1", package)
    with open_reading(package, None, "dr-a") as session:
        session.submit(0, Answer("mel", ai_scale=2))
        session.submit(1, Answer("bcc", ai_scale=4))
        session.go_to(0)
        session.submit(0, Answer("nv", ai_scale=1))
    return package.with_name("p.zip.answers.sqlite")


def _loosen(conn: sqlite3.Connection, table: str) -> None:
    """Another program's answers file: same columns, no constraints."""
    columns = ", ".join(row[1] for row in conn.execute(f"PRAGMA table_info({table})"))
    conn.executescript(
        f"ALTER TABLE {table} RENAME TO old; CREATE TABLE {table} ({columns}); "
        f"INSERT INTO {table} SELECT * FROM old; DROP TABLE old;"
    )


@pytest.mark.parametrize(
    ("table", "change", "message"),
    [
        ("history", "UPDATE history SET old = 'not json'", "history row 1: old and new"),
        ("history", "UPDATE history SET new = '[1]'", "history row 1: old and new"),
        ("answers", "UPDATE answers SET reader = NULL", "must be text"),
        ("answers", "UPDATE answers SET answered_at = 5", "answered_at 5 is not an ISO time"),
        ("answers", "UPDATE answers SET answered_at = NULL", "answered_at None is not an ISO"),
        ("sessions", "UPDATE sessions SET started_at = 'soon'", "started_at 'soon' is not"),
        ("sessions", "UPDATE sessions SET finished_at = 7", "finished_at 7 is not an ISO"),
    ],
)
def test_bad_answers_file_fields_give_one_line_and_import_nothing(
    library, answered, tmp_path, capsys, table, change, message
):
    conn = sqlite3.connect(answered)
    _loosen(conn, table)
    conn.executescript(change)
    conn.close()
    with pytest.raises(StudyError, match=message):
        import_results(library, "s1", answered)
    assert library.conn.execute("SELECT COUNT(*) FROM votes").fetchone()[0] == 0
    code = main(["--workspace", str(library.root), "study", "import-results", "s1", str(answered)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("dermstudy: error: ") and err.count("\n") == 1


def test_an_answers_file_without_a_study_uid_is_named_as_such(library, answered):
    conn = sqlite3.connect(answered)
    with conn:
        conn.execute("DELETE FROM meta WHERE key = 'study_uid'")
    conn.close()
    with pytest.raises(StudyError, match="no study uid"):
        import_results(library, "s1", answered)


def _manifest_with(package, tmp_path, **changes):
    with zipfile.ZipFile(package) as archive:
        entries = {n: archive.read(n) for n in archive.namelist()}
    manifest = json.loads(entries["manifest.json"])
    for key, value in changes.items():
        if key.startswith("reading_"):
            manifest["reading"][key[len("reading_") :]] = value
        elif key == "first_practice":
            manifest["cases"][0]["practice"] = value
        else:
            manifest[key] = value
    entries["manifest.json"] = json.dumps(manifest).encode()
    out = tmp_path / "edited.zip"
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"reading_allow_back": "no"}, "'reading.allow_back' must be true or false"),
        ({"reading_display_size": "x"}, "'reading.display_size' must be a whole number"),
        ({"reading_display_size": 10**9}, "'reading.display_size' must be 16..4096"),
        ({"first_practice": "yes"}, "true/false 'practice'"),
        ({"order_key": 5}, "'order_key' must be text"),
        ({"study": " "}, "'study' must not be empty"),
    ],
)
def test_manifest_fields_of_the_wrong_type_are_refused(answered, tmp_path, change, message):
    edited = _manifest_with(answered.with_name("p.zip"), tmp_path, **change)
    with pytest.raises(ReadingError, match=f"malformed package manifest.*{message}"):
        open_reading(edited, None, "dr-b")


def test_a_damaged_case_file_is_not_exported(library, new_study, tmp_path):
    new_study(real_per_entity=1, synthetic_per_entity=1, entities=["mel"])
    [(sha,)] = library.conn.execute("SELECT blinded_sha256 FROM cases LIMIT 1").fetchall()
    case_file = library.path_of(library.relative_blob_path(sha, ".png", "cases"))
    shutil.copy(case_file, tmp_path / "good.png")
    case_file.write_bytes(case_file.read_bytes()[:200])  # truncated on disk
    out = tmp_path / "p.zip"
    with pytest.raises(StudyError, match="is damaged"):
        export_package(library, "s1", out)
    assert not out.exists() and not list(tmp_path.glob(".tmp-*"))
