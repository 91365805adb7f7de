"""Issue 12 item 11: files written by a killed or failed import / study creation, whose rows were
never committed, are removed at the next open (or close) — but never while another process or
workspace object might still name them."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dermstudy.study.builder import StudyError
from dermstudy.workspace import Workspace
from tests.foundation.conftest import jpeg_bytes, make_row, write_ham_folder
from tests.study.conftest import make_study

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="no flock: nothing is swept")

# Imports a HAM10000 folder and is killed right after the image files are written, before the
# database commit (dataset import calls os.sync() exactly there).
KILLED_IMPORT = textwrap.dedent(
    """
    import os, signal, sys
    from dermstudy.datasets import ham10000
    from dermstudy.workspace import Workspace
    ws = Workspace.open(sys.argv[1])
    ham10000.os.sync = lambda: os.kill(os.getpid(), signal.SIGKILL)
    ham10000.import_ham10000(ws, sys.argv[2])
    """
)


def _files(root: Path, folder: str) -> set[str]:
    return {p.name for p in (root / folder).rglob("*") if p.is_file()}


def test_files_of_an_import_killed_before_its_commit_are_removed_at_the_next_open(tmp_path):
    rows = [make_row(i, "nv") for i in range(4)]
    ham = write_ham_folder(tmp_path / "ham", rows)
    for i, row in enumerate(rows):
        (ham / f"{row['image_id']}.jpg").write_bytes(jpeg_bytes(i))
    root = tmp_path / "ws"
    Workspace.open(root).close()
    done = subprocess.run(
        [sys.executable, "-c", KILLED_IMPORT, str(root), str(ham)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert len(_files(root, "images")) == 4  # written, but no row names them
    conn = sqlite3.connect(root / "dermstudy.db")
    assert conn.execute("SELECT COUNT(*) FROM images").fetchone()[0] == 0
    conn.close()

    with Workspace.open(root):
        assert _files(root, "images") == set()
    assert not list((root / "pending").glob("*.list"))


def test_case_files_of_a_failed_study_creation_are_removed(library, monkeypatch):
    make_study(library, "kept", entities=["mel"], real_per_entity=1, synthetic_per_entity=1)
    kept = _files(library.root, "cases")

    def fail(*_args, **_kwargs):
        raise StudyError("the audit failed (test)")

    monkeypatch.setattr("dermstudy.study.builder.audit_drawn", fail)
    with pytest.raises(StudyError):
        make_study(library, "lost", entities=["nv"], real_per_entity=1, synthetic_per_entity=1)
    assert len(_files(library.root, "cases")) == len(kept) + 2  # the failed run's case files
    root = library.root
    library.close()  # alone with the workspace: its own list is swept
    assert _files(root, "cases") == kept


def test_nothing_is_swept_while_another_workspace_object_is_open(tmp_path):
    root = tmp_path / "ws"
    writer = Workspace.open(root)
    _sha, relative = writer.store_blob(b"not yet named by a row", ".bin", folder="images")
    other = Workspace.open(root)  # e.g. another panel or process: must not take the file away
    other.close()
    assert (root / relative).exists()
    writer.close()  # now alone, and still no row names it
    assert not (root / relative).exists()


def test_files_named_by_rows_and_files_of_other_folders_are_kept(library):
    make_study(library, "s1", entities=["mel"], real_per_entity=1, synthetic_per_entity=1)
    images, cases = _files(library.root, "images"), _files(library.root, "cases")
    _sha, other = library.store_blob(b"a model file", ".bin", folder="models")
    root = library.root
    library.close()
    with Workspace.open(root):
        assert _files(root, "images") == images and _files(root, "cases") == cases
        assert (root / other).exists()
