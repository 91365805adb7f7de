import sqlite3

import pytest

from dermstudy.workspace import NewerSchemaError, Workspace, WorkspaceError, schema


def test_new_workspace_has_all_tables_and_pragmas(tmp_path):
    with Workspace.open(tmp_path / "ws") as ws:
        tables = set(ws.db.table_names())
        assert {
            "images",
            "models",
            "studies",
            "cases",
            "readers",
            "sessions",
            "votes",
            "audit_log",
            "_migrations",
        } <= tables
        assert ws.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert ws.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert ws.applied_migrations == [name for name, _ in schema.MIGRATIONS]


def test_older_workspace_is_migrated(tmp_path, monkeypatch):
    first_only = schema.MIGRATIONS[:1]
    monkeypatch.setattr("dermstudy.workspace.core.MIGRATIONS", first_only)
    Workspace.open(tmp_path / "ws").close()

    def add_column(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE readers ADD COLUMN note TEXT")

    extended = [*schema.MIGRATIONS, ("9999_test_note", add_column)]
    monkeypatch.setattr("dermstudy.workspace.core.MIGRATIONS", extended)
    with Workspace.open(tmp_path / "ws") as ws:
        assert ws.applied_migrations[-1] == "9999_test_note"
        assert "note" in ws.db["readers"].columns_dict


def test_newer_workspace_is_refused(tmp_path):
    with Workspace.open(tmp_path / "ws") as ws:
        ws.conn.execute("INSERT INTO _migrations VALUES ('9999_from_the_future', 'x')")
    with pytest.raises(NewerSchemaError, match="newer dermstudy"):
        Workspace.open(tmp_path / "ws")


def test_failed_migration_leaves_nothing_half_done(tmp_path, monkeypatch):
    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half (x)")
        raise RuntimeError("boom")

    monkeypatch.setattr(
        "dermstudy.workspace.core.MIGRATIONS", [*schema.MIGRATIONS, ("9_b", broken)]
    )
    with pytest.raises(RuntimeError):
        Workspace.open(tmp_path / "ws")
    monkeypatch.setattr("dermstudy.workspace.core.MIGRATIONS", schema.MIGRATIONS)
    with Workspace.open(tmp_path / "ws") as ws:
        assert "half" not in ws.db.table_names()


def test_audit_log_is_append_only(workspace):
    workspace.audit("test.action", "subject", {"n": 1}, actor="tester")
    row = workspace.conn.execute("SELECT actor, action, details FROM audit_log").fetchone()
    assert row == ("tester", "test.action", '{"n": 1}')
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        workspace.conn.execute("UPDATE audit_log SET actor = 'x'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        workspace.conn.execute("DELETE FROM audit_log")


def test_transaction_rolls_back_on_error(workspace):
    with pytest.raises(ValueError), workspace.transaction():
        workspace.conn.execute("INSERT INTO readers (name, created_at) VALUES ('a', 'now')")
        raise ValueError
    assert workspace.conn.execute("SELECT COUNT(*) FROM readers").fetchone()[0] == 0


def test_blobs_are_content_addressed(workspace):
    sha, relative = workspace.store_blob(b"hello", ".bin")
    assert relative == f"images/{sha[:2]}/{sha}.bin"
    assert workspace.path_of(relative).read_bytes() == b"hello"
    assert workspace.store_blob(b"hello", ".bin") == (sha, relative)


def test_a_file_is_not_a_workspace(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(WorkspaceError, match="is a file"):
        Workspace.open(tmp_path / "f")


def test_corrupt_database_is_a_clear_error(tmp_path):
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "dermstudy.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(WorkspaceError, match=r"dermstudy\.db"):
        Workspace.open(tmp_path / "ws")
