"""Issue 12 item 5 / issue 11 item 2: every path that writes answers applies the study's rules."""

from __future__ import annotations

import shutil
import sqlite3

import pytest

from dermstudy.reading import Answer, ReadingError, open_reading
from dermstudy.reading.answers import InvalidAnswerError
from dermstudy.reading.merge import IncomingAnswer, merge_answers
from dermstudy.reading.votes_import import import_votes
from dermstudy.reading.workspace_store import WorkspaceStore
from dermstudy.study.builder import StudyError
from dermstudy.study.package import export_package, import_results
from dermstudy.study.queries import answer_key, find_study
from dermstudy.workspace.votes import VoteRuleError, check_reader_name


def _votes(ws):
    return ws.conn.execute(
        "SELECT entity, ai_scale, ai_vote, entity_confidence FROM votes"
    ).fetchall()


@pytest.fixture
def confident(new_study, library):
    """A five-point study that asks for the entity confidence."""
    new_study("c", real_per_entity=1, synthetic_per_entity=1, entities=["mel", "nv"],
              entity_confidence=True)  # fmt: skip
    return library


def test_votes_import_refuses_binary_votes_and_missing_confidence(confident, tmp_path):
    a, b, c, _d = [k["case"] for k in answer_key(confident, "c")]
    path = tmp_path / "v.csv"
    path.write_text(
        f"case,entity,ai_or_real,entity_confidence\n{a},mel,ai,3\n{b},nv,4,\n{c},nv,4,2\n"
    )
    result = import_votes(confident, find_study(confident, "c"), "r1", path)
    assert not result.imported and [line for line, _m in result.errors] == [2, 3]
    assert "five-point" in result.errors[0][1] and "confidence" in result.errors[1][1]
    assert _votes(confident) == []
    skipped = import_votes(confident, find_study(confident, "c"), "r1", path, skip_invalid=True)
    assert skipped.inserted == 1 and _votes(confident) == [("nv", 4, "ai", 2)]


def test_the_vote_writer_refuses_what_the_study_forbids_on_the_workspace_path(confident):
    store = WorkspaceStore(confident.root, "c", "r1")
    try:
        with pytest.raises(InvalidAnswerError, match="confidence"):
            store.save_answer(store.cases[0], Answer("mel", ai_scale=2), None)
    finally:
        store.close()
    assert _votes(confident) == []


def test_merging_refuses_what_the_study_forbids_and_writes_nothing(confident):
    """``votes import`` and ``study import-results`` check the rules before merging; the merge
    itself goes through the vote writer, which refuses on its own (all or nothing)."""
    a, b, *_ = [k["case"] for k in answer_key(confident, "c")]
    incoming = [
        IncomingAnswer(a, Answer("mel", ai_scale=2, entity_confidence=3), None, "first"),
        IncomingAnswer(b, Answer("nv", ai_scale=4), None, "second: no confidence"),
    ]
    with pytest.raises(InvalidAnswerError, match="confidence"):
        merge_answers(confident, find_study(confident, "c"), "r1", incoming, "file-import")
    assert _votes(confident) == []
    assert confident.conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 0


@pytest.mark.parametrize(
    ("settings", "forbidden", "message", "allowed"),
    [
        ({"entity_confidence": True}, Answer("mel", ai_vote="ai", entity_confidence=3),
         "five-point", Answer("mel", ai_scale=4, entity_confidence=3)),
        ({"entity_confidence": True}, Answer("mel", ai_scale=4), "asks for the entity confidence",
         Answer("mel", ai_scale=4, entity_confidence=3)),
        ({"answer_scale": "binary"}, Answer("mel", ai_scale=2), "binary",
         Answer("mel", ai_vote="real")),
        ({}, Answer("mel", ai_scale=2, entity_confidence=4), "does not collect",
         Answer("mel", ai_scale=2)),
    ],
)  # fmt: skip
def test_reading_a_package_refuses_what_the_study_forbids(
    library, new_study, tmp_path, settings, forbidden, message, allowed
):
    """The package path: the exported study's rules travel in the package and are applied before
    anything reaches the answers file beside it."""
    new_study("pk", real_per_entity=1, synthetic_per_entity=1, entities=["mel"], **settings)
    out = tmp_path / "p.zip"
    export_package(library, "pk", out)
    with open_reading(out, None, "remote") as s:
        with pytest.raises(InvalidAnswerError, match=message):
            s.submit(0, forbidden)
        assert s.current == 0 and s.first_unanswered() == 0
        s.submit(0, allowed)
    conn = sqlite3.connect(out.with_name("p.zip.answers.sqlite"))
    try:
        rows = conn.execute(
            "SELECT entity, ai_scale, ai_vote, entity_confidence FROM answers"
        ).fetchall()
        history = conn.execute("SELECT COUNT(*) FROM history").fetchone()[0]
    finally:
        conn.close()
    expected = (allowed.entity, allowed.ai_scale, allowed.ai_vote, allowed.entity_confidence)
    assert rows == [expected] and history == 0


@pytest.mark.parametrize(
    "name",
    ["", " dr x ", "x" * 65, "dr\nx", "dr\u202ex", "=cmd|' /C calc'!A0", "+1", "@x", "-x", "a  b"],
)
def test_reader_names_outside_the_documented_set_are_refused(name):
    with pytest.raises(VoteRuleError):
        check_reader_name(name)


@pytest.mark.parametrize("name", ["Dr. A. O'Neil-Smith", "Müller", "reader_7", "李"])
def test_sensible_reader_names_pass(name):
    assert check_reader_name(name) == name


@pytest.fixture
def package(library, new_study, tmp_path):
    new_study("nb", real_per_entity=1, synthetic_per_entity=1, entities=["mel"], allow_back=False)
    out = tmp_path / "p.zip"
    export_package(library, "nb", out)
    with open_reading(out, None, "remote") as s:
        for i in range(s.total):
            s.submit(i, Answer("mel", ai_scale=2))
    return out, out.with_name("p.zip.answers.sqlite")


def _tamper(sidecar, *statements):
    conn = sqlite3.connect(sidecar)
    with conn:
        for sql, args in statements:
            conn.execute(sql, args)
    conn.close()


@pytest.mark.parametrize(
    ("statements", "message"),
    [
        ([("UPDATE answers SET reader = ?", ("=HYPERLINK(1)",)),
          ("UPDATE sessions SET reader = ?", ("=HYPERLINK(1)",))], "reader name"),
        ([("UPDATE answers SET entity_confidence = 3", ())], "does not collect"),
        ([("UPDATE answers SET ai_scale = NULL, ai_vote = 'ai'", ())], "five-point"),
        ([("INSERT INTO history (at, reader, code, old, new) VALUES ('t', 'remote', 'X', '{}', '{}')",
           ())], "does not let readers go back"),
    ],
)  # fmt: skip
def test_import_results_applies_the_studys_rules(library, package, statements, message):
    _out, sidecar = package
    _tamper(sidecar, *statements)
    with pytest.raises(StudyError, match=message):
        import_results(library, "nb", sidecar)
    assert _votes(library) == []


def test_answers_of_a_reader_without_a_session_are_merged_not_dropped(library, package, tmp_path):
    _out, sidecar = package
    copy = tmp_path / "copy.sqlite"
    shutil.copy(sidecar, copy)
    _tamper(copy, ("PRAGMA foreign_keys = OFF", ()), ("DELETE FROM sessions", ()))
    result = import_results(library, "nb", copy)
    assert result.to_dict()["inserted"] == 2 and len(_votes(library)) == 2


def test_reading_refuses_a_formula_reader_name(library, package):
    out, _sidecar = package
    with pytest.raises(ReadingError, match="must start with a letter or digit"):
        open_reading(out, None, "=1+1")


def test_reading_a_package_leaves_only_the_answers_file_beside_it(library, package):
    """Issue 13.3: no stray .lock or -journal files beside a package after reading."""
    out, _sidecar = package
    with open_reading(out, None, "second") as s:
        s.submit(0, Answer("mel", ai_scale=3))
    beside = sorted(p.name for p in out.parent.iterdir() if p.name.startswith(("p.", ".p.")))
    assert beside == ["p.zip", "p.zip.answers.sqlite"]


def test_a_symlinked_answers_file_cannot_open_a_second_session(library, package, tmp_path):
    """Issue 12 item 12: the reading lock is keyed by the resolved path."""
    out, sidecar = package
    link = tmp_path / "link.sqlite"
    link.symlink_to(sidecar)
    with (
        open_reading(out, None, "third", answers=sidecar),
        pytest.raises(ReadingError, match="already open"),
    ):
        open_reading(out, None, "third", answers=link)
