"""The reading-session state machine: answer, change, resume, finish, navigation rules, timing."""

from __future__ import annotations

import json
import time

import pytest

from dermstudy.reading import (
    Answer,
    InvalidAnswerError,
    NavigationError,
    ReadingError,
    SessionFinishedError,
    derive_ai_vote,
    open_reading,
)
from dermstudy.study.queries import answer_key


@pytest.fixture
def study(new_study, library):
    new_study(real_per_entity=1, synthetic_per_entity=1, entities=["mel", "nv"], practice=1)
    return library


def _open(ws, reader="dr-a", study="s1"):
    return open_reading(ws.root, study, reader)


def _votes(ws, reader="dr-a"):
    return ws.conn.execute(
        "SELECT c.code, v.entity, v.ai_scale, v.ai_vote FROM votes v JOIN sessions s "
        "ON s.id = v.session_id JOIN readers r ON r.id = s.reader_id JOIN cases c "
        "ON c.id = v.case_id WHERE r.name = ? ORDER BY v.id",
        (reader,),
    ).fetchall()


def test_answers_are_stored_with_derived_vote_and_session_advances(study):
    with _open(study) as s:
        assert (s.total, s.scored_total, s.current) == (5, 4, 0)
        assert s.is_practice(0) and not s.is_practice(1)
        assert s.position_label(0) == "Practice 1 of 1"
        assert s.position_label(1) == "Case 1 of 4"
        assert s.image_bytes(0)[:4] == b"\x89PNG"
        assert s.submit(0, Answer("melanoma", ai_scale=3)) == 1
        assert s.submit(1, Answer("nv", ai_scale=4)) == 2
        assert s.progress() == (2, 5)
        assert s.scored_progress() == (1, 4)
        codes = [s.case_code(0), s.case_code(1)]
    assert _votes(study) == [(codes[0], "mel", 3, "real"), (codes[1], "nv", 4, "ai")]


def test_derived_vote_rule():
    assert [derive_ai_vote(v) for v in range(1, 6)] == ["real", "real", "real", "ai", "ai"]
    with pytest.raises(InvalidAnswerError):
        Answer("mel", ai_scale=6)
    with pytest.raises(InvalidAnswerError):
        Answer("mel", ai_scale=5, ai_vote="real")
    with pytest.raises(InvalidAnswerError):
        Answer("not-an-entity", ai_scale=5)
    assert Answer("Nevus", ai_vote="ai").entity == "nv"


def test_resume_at_first_unanswered_after_reopen(study):
    with _open(study) as s:
        s.submit(0, Answer("mel", ai_scale=1))
        s.submit(1, Answer("nv", ai_scale=5))
        order = [s.case_code(i) for i in range(s.total)]
    with _open(study) as s:
        assert s.current == 2 == s.first_unanswered()
        assert [s.case_code(i) for i in range(s.total)] == order
        assert s.answer(1) == Answer("nv", ai_scale=5, seconds=s.answer(1).seconds)


def test_change_answer_keeps_history_in_audit_log(study):
    with _open(study) as s:
        s.submit(0, Answer("mel", ai_scale=1))
        s.submit(1, Answer("nv", ai_scale=5))
        assert s.back() == 1
        assert s.back() == 0
        s.submit(0, Answer("bcc", ai_scale=2))
        assert s.current == 1
        s.submit(1, Answer("nv", ai_scale=5))  # same choice: nothing written, no audit line
    rows = study.conn.execute(
        "SELECT subject, details FROM audit_log WHERE action = 'vote.change'"
    ).fetchall()
    assert len(rows) == 1
    details = json.loads(rows[0][1])
    assert details["old"]["entity"] == "mel" and details["new"]["entity"] == "bcc"
    assert _votes(study)[0][1] == "bcc"


def test_back_and_change_disallowed_when_study_says_so(new_study, library):
    new_study("strict", allow_back=False, real_per_entity=1, synthetic_per_entity=0)
    with _open(library, study="strict") as s:
        s.submit(0, Answer("mel", ai_scale=2))
        assert not s.can_go_back()
        with pytest.raises(NavigationError, match="not allowed"):
            s.back()
        with pytest.raises(NavigationError, match="not allowed"):
            s.go_to(0)
        with pytest.raises(NavigationError, match="not allowed"):
            s.submit(0, Answer("nv", ai_scale=2))
    assert _votes(library)[0][1] == "mel"


def test_cases_are_answered_in_order(study):
    with _open(study) as s:
        with pytest.raises(NavigationError, match="in order"):
            s.submit(2, Answer("mel", ai_scale=2))
        with pytest.raises(NavigationError):
            s.go_to(3)
        with pytest.raises(IndexError):
            s.image_bytes(99)
    assert _votes(study) == []


def test_finish_needs_all_answers_then_is_read_only(study):
    with _open(study) as s:
        with pytest.raises(ReadingError, match="5 case"):
            s.finish()
        for i in range(s.total):
            s.submit(i, Answer("df", ai_scale=(i % 5) + 1))
        assert s.all_answered and not s.finished
        s.finish()
        assert s.finished
        with pytest.raises(SessionFinishedError):
            s.submit(0, Answer("mel", ai_scale=1))
    with _open(study) as s:
        assert s.finished and s.first_unanswered() is None
    finished = study.conn.execute("SELECT finished_at FROM sessions").fetchone()[0]
    assert finished


def test_answer_must_fit_study_settings(new_study, library):
    new_study(
        "binary",
        answer_scale="binary",
        entity_confidence=True,
        real_per_entity=1,
        synthetic_per_entity=0,
    )
    with _open(library, study="binary") as s:
        with pytest.raises(InvalidAnswerError, match="binary"):
            s.submit(0, Answer("mel", ai_scale=4, entity_confidence=3))
        with pytest.raises(InvalidAnswerError, match="confidence"):
            s.submit(0, Answer("mel", ai_vote="ai"))
        s.submit(0, Answer("mel", ai_vote="ai", entity_confidence=3))
    row = library.conn.execute("SELECT ai_scale, ai_vote, entity_confidence FROM votes").fetchone()
    assert row == (None, "ai", 3)


def test_seconds_measured_without_pauses(study):
    with _open(study) as s:
        time.sleep(0.05)
        s.pause()
        time.sleep(0.2)
        assert s.paused
        s.resume()
        s.submit(0, Answer("mel", ai_scale=1))
        seconds = s.answer(0).seconds
        assert 0.04 <= seconds < 0.2
        s.submit(1, Answer("mel", ai_scale=1, seconds=12.5))
        assert s.answer(1).seconds == 12.5


def test_readers_have_own_sessions_and_per_reader_orders(new_study, library):
    new_study("po", order="per-reader", real_per_entity=3, synthetic_per_entity=3)
    with _open(library, "a", "po") as a, _open(library, "b", "po") as b:
        order_a = [a.case_code(i) for i in range(a.total)]
        order_b = [b.case_code(i) for i in range(b.total)]
        a.submit(0, Answer("mel", ai_scale=5))
        assert b.answer(order_b.index(order_a[0])) is None  # b never sees a's answer
        assert b.progress() == (0, b.total)
    assert sorted(order_a) == sorted(order_b) and order_a != order_b
    with _open(library, "a", "po") as again:
        assert [again.case_code(i) for i in range(again.total)] == order_a


def test_reader_api_exposes_no_truth(study):
    key = {k["case"]: k for k in answer_key(study, "s1")}
    with _open(study) as s:
        public = [name for name in dir(s) if not name.startswith("_")]
        for i in range(s.total):
            assert s.case_code(i) in key
        assert not any(
            word in name for name in public for word in ("entity", "source", "truth", "key")
        )
        assert set(s.settings.to_dict()) == {
            "answer_scale",
            "allow_back",
            "entity_confidence",
            "display_size",
            "practice",
            "order",
        }


def test_unknown_study_and_reader_name_errors(study):
    with pytest.raises(ReadingError, match=r"no study named 'nope'.*s1"):
        open_reading(study.root, "nope", "dr-a")
    with pytest.raises(ReadingError, match="reader name"):
        open_reading(study.root, "s1", "   ")


def test_preload_from_another_thread(study):
    import threading

    with _open(study) as s:
        worker = threading.Thread(target=s.preload, args=(1,))
        worker.start()
        worker.join()
        assert s.image_bytes(1)[:4] == b"\x89PNG"
        s.preload(99)  # out of range is a no-op


def test_no_back_study_skips_cases_answered_elsewhere(new_study, library, tmp_path):
    from dermstudy.reading.votes_import import import_votes
    from dermstudy.study.queries import find_study

    new_study("gaps", allow_back=False, real_per_entity=3, synthetic_per_entity=0, entities=["mel"])
    with _open(library, study="gaps") as s:
        second = s.case_code(1)
    votes = tmp_path / "v.csv"
    votes.write_text(f"case,entity,ai_or_real\n{second},mel,2\n")
    assert import_votes(library, find_study(library, "gaps"), "dr-a", votes).imported
    with _open(library, study="gaps") as s:
        assert s.current == 0
        assert s.submit(0, Answer("nv", ai_scale=1)) == 2  # case 2 was answered on paper
        assert s.progress() == (2, 3)
