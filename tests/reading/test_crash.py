"""Kill a reading process mid-study (SIGKILL): every confirmed answer survives, the database is sound."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from dermstudy.reading import open_reading
from dermstudy.study.package import export_package

# The child plays a reader: it submits answers as fast as it can and prints a line only after
# submit() has returned, i.e. after the answer was confirmed to the reader.
READER_SCRIPT = textwrap.dedent(
    """
    import sys
    from dermstudy.reading import Answer, open_reading

    source, study, answers = sys.argv[1], sys.argv[2] or None, sys.argv[3] or None
    session = open_reading(source, study, "crash-reader", answers=answers)
    entities = ["mel", "nv", "akiec", "bkl", "bcc", "df", "vasc"]
    for i in range(session.total):
        answer = Answer(entities[i % 7], ai_scale=i % 5 + 1)
        session.submit(i, answer)
        print("confirmed", session.case_code(i), answer.entity, answer.ai_scale, flush=True)
    print("done", flush=True)
    """
)

KILL_AFTER = 6


def _run_and_kill(tmp_path, source, study, answers) -> list[tuple[str, str, int]]:
    script = tmp_path / "reader.py"
    script.write_text(READER_SCRIPT)
    child = subprocess.Popen(
        [sys.executable, str(script), str(source), study or "", str(answers or "")],
        stdout=subprocess.PIPE,
        text=True,
    )
    confirmed = []
    killed = False
    try:
        for line in child.stdout:  # after the kill, this drains what the child had printed
            parts = line.split()
            assert parts[0] == "confirmed", f"reader finished before it was killed: {line!r}"
            confirmed.append((parts[1], parts[2], int(parts[3])))
            if len(confirmed) == KILL_AFTER and not killed:
                os.kill(child.pid, signal.SIGKILL)  # it keeps submitting: the kill lands mid-work
                killed = True
    finally:
        child.kill()
        child.wait(timeout=30)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    return confirmed


def _check_sqlite(path) -> None:
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


@pytest.mark.parametrize("where", ["workspace", "package"])
def test_kill_mid_study_loses_no_confirmed_answer(new_study, library, tmp_path, where):
    new_study(real_per_entity=3, synthetic_per_entity=3)  # 42 cases: far more than KILL_AFTER
    if where == "workspace":
        source, study, answers, db = library.root, "s1", None, library.root / "dermstudy.db"
        library.close()  # only the child touches the database while it runs
    else:
        source = tmp_path / "pkg.zip"
        export_package(library, "s1", source)
        study, answers = None, tmp_path / "answers.sqlite"
        db = answers
    confirmed = _run_and_kill(tmp_path, source, study, answers)

    _check_sqlite(db)
    with open_reading(source, study, "crash-reader", answers=answers) as session:
        stored = {
            session.case_code(i): session.answer(i)
            for i in range(session.total)
            if session.answer(i) is not None
        }
        for code, entity, scale in confirmed:
            assert stored[code].entity == entity and stored[code].ai_scale == scale
        # At most one answer may have been committed after the last printed line.
        assert len(confirmed) <= len(stored) <= len(confirmed) + 1
        assert session.current == session.first_unanswered() == len(stored)
