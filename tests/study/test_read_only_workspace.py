"""Issue 12 item 10: a workspace nobody may write to still answers the commands that only read, a
write says exactly why it cannot happen, and a failed write (file size limit) names the real cause
instead of the rollback's "no transaction is active"."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dermstudy.workspace import ReadOnlyWorkspaceError, StorageError, Workspace

REPO = Path(__file__).resolve().parents[2]

# Runs CLI commands in one process and prints each one's exit code and stderr as JSON lines.
DRIVER = textwrap.dedent(
    """
    import contextlib, io, json, sys
    from dermstudy.cli import main
    for line in sys.argv[1:]:
        err, out = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code = main(json.loads(line))
        print(json.dumps({"code": code, "err": err.getvalue(), "out": out.getvalue()}))
    """
)


def _can_mount_read_only() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount --bind / /mnt 2>/dev/null || mount --bind /tmp /tmp"],
        capture_output=True,
    )
    return probe.returncode == 0


def run_read_only(folder: Path, commands: list[list[str]]) -> list[dict]:
    """Run dermstudy commands while ``folder`` cannot be written: by permissions for an ordinary
    user; for root (who ignores permission bits) on a read-only bind mount in its own namespace."""
    lines = [json.dumps(["--workspace", str(folder), *c]) for c in commands]
    python = [sys.executable, "-c", DRIVER, *lines]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if os.geteuid() != 0:
        subprocess.run(["chmod", "-R", "a-w", str(folder)], check=True)
        try:
            done = subprocess.run(
                python, capture_output=True, text=True, cwd=REPO, env=env, timeout=300
            )
        finally:
            subprocess.run(["chmod", "-R", "u+w", str(folder)], check=True)
    else:
        if not _can_mount_read_only():
            pytest.skip("running as root without mount namespaces: cannot make a read-only folder")
        script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
        done = subprocess.run(
            ["unshare", "-m", "sh", "-c", script, "sh", str(folder), *python],
            capture_output=True,
            text=True,
            cwd=REPO,
            env=env,
            timeout=300,
        )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.fixture
def closed_study(library, new_study):
    """A workspace with one study, closed (so its write-ahead log is merged and removed)."""
    new_study(real_per_entity=1, synthetic_per_entity=1, entities=["mel", "nv"])
    root = library.root
    library.close()
    assert not (root / "dermstudy.db-wal").exists()
    return root


def test_reading_commands_work_on_a_read_only_workspace_and_writes_say_why(closed_study):
    listing, show, verify, audit, summary, key, create, read = run_read_only(
        closed_study,
        [
            ["study", "list", "--json"],
            ["study", "show", "s1"],
            ["study", "verify"],
            ["study", "audit", "s1", "--json"],
            ["dataset", "summary"],
            ["study", "key", "s1"],
            [
                "study",
                "create",
                "s2",
                "--size",
                "32",
                "--entities",
                "mel",
                "--real-per-entity",
                "1",
                "--synthetic-per-entity",
                "1",
            ],
            ["read", "s1", "--reader", "dr-a"],
        ],
    )
    for result in (listing, show, verify, audit, summary):
        assert result["code"] == 0, result["err"]
    assert [s["name"] for s in json.loads(listing["out"])] == ["s1"]
    assert "record intact" in verify["out"]
    assert "combined" in json.loads(audit["out"])
    for refused in (key, create):
        assert refused["code"] == 2 and refused["err"].count("\n") == 1
        assert "is open read-only" in refused["err"] and "Traceback" not in refused["err"]
    assert "audit log" in key["err"]  # the key view must be logged, so it needs write access
    # A reader is told before the window opens, not at the first answer.
    assert read["code"] == 2 and "answers cannot be saved here" in read["err"]


def test_a_write_ahead_log_that_cannot_be_read_read_only_is_explained(closed_study, tmp_path):
    # Copy the database with a -wal holding a change but without its -shm index.
    with Workspace.open(closed_study) as ws:
        ws.conn.execute("PRAGMA wal_autocheckpoint=0")
        ws.audit("test.change", "x")
        copy = tmp_path / "copy"
        copy.mkdir()
        for name in ("dermstudy.db", "dermstudy.db-wal"):
            shutil.copy(closed_study / name, copy / name)
    [result] = run_read_only(copy, [["study", "list"]])
    assert result["code"] == 2 and "write-ahead log dermstudy.db-wal holds changes" in result["err"]


def test_opened_read_only_it_reads_and_refuses_every_write(closed_study, monkeypatch):
    # The same path without a read-only folder: the check that decides it is made to say so.
    monkeypatch.setattr(
        "dermstudy.workspace.core._why_not_writable", lambda root, db: f"{root}: test"
    )
    with Workspace.open(closed_study) as ws:
        assert ws.read_only
        assert ws.conn.execute("SELECT COUNT(*) FROM studies").fetchone()[0] == 1
        with pytest.raises(ReadOnlyWorkspaceError, match=r"open read-only \(.*: test\)"):
            ws.audit("x")
        with pytest.raises(ReadOnlyWorkspaceError):
            ws.store_blob(b"data", ".bin")
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            ws.conn.execute("INSERT INTO audit_log (at, actor, action) VALUES ('t', 'a', 'b')")
    assert not list(closed_study.glob("*.bin"))


FSIZE_DRIVER = textwrap.dedent(
    """
    import resource, sys
    from dermstudy.workspace import Workspace
    ws = Workspace.open(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, resource.RLIM_INFINITY))
    try:
        with ws.transaction():
            for i in range(1000):
                ws.conn.execute(
                    "INSERT INTO audit_log (at, actor, action, details) VALUES ('t', 'a', 'b', ?)",
                    ("x" * 1000,),
                )
    except Exception as exc:
        print(type(exc).__name__, exc)
    print(ws.conn.execute("SELECT COUNT(*) FROM audit_log WHERE action = 'b'").fetchone()[0])
    """
)


@pytest.mark.skipif(not hasattr(os, "setrlimit") and sys.platform == "win32", reason="POSIX only")
def test_a_file_size_limit_is_reported_as_the_cause_not_hidden_by_the_rollback(tmp_path):
    Workspace.open(tmp_path / "ws").close()
    done = subprocess.run(
        [sys.executable, "-c", FSIZE_DRIVER, str(tmp_path / "ws")],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr
    message, count = done.stdout.strip().splitlines()
    assert message.startswith(StorageError.__name__)
    assert "dermstudy.db-wal: File too large (EFBIG)" in message and "200,000 bytes" in message
    assert count == "0"  # nothing half-written


CLI_FSIZE_DRIVER = textwrap.dedent(
    """
    import resource, sys
    from dermstudy.cli import main
    resource.setrlimit(resource.RLIMIT_FSIZE, (12_000, resource.RLIM_INFINITY))
    sys.exit(main(["--workspace", sys.argv[1], "study", "create", "s2", "--size", "32",
                   "--entities", "mel", "--real-per-entity", "1", "--synthetic-per-entity", "1"]))
    """
)


def test_the_cli_names_the_size_limit_in_one_line_and_keeps_no_case_files(closed_study):
    cases_before = {p.name for p in (closed_study / "cases").rglob("*.png")}
    done = subprocess.run(
        [sys.executable, "-c", CLI_FSIZE_DRIVER, str(closed_study)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("dermstudy: error: writing the workspace failed")
    assert "File too large (EFBIG)" in done.stderr and "Traceback" not in done.stderr
    with Workspace.open(closed_study) as ws:
        assert [r[0] for r in ws.conn.execute("SELECT name FROM studies")] == ["s1"]
    assert {p.name for p in (closed_study / "cases").rglob("*.png")} == cases_before
