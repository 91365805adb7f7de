"""From a study made by the study builder and read through the reading session to the report."""

from __future__ import annotations

import pytest

from dermstudy.analysis.data import load_study
from dermstudy.analysis.report import build_report
from dermstudy.reading import Answer, open_reading
from dermstudy.study.builder import StudyDesign, create_study
from tests.fixtures.sample_images import add_sample_images


def test_report_of_a_study_read_in_the_reading_session(workspace):
    add_sample_images(workspace, 3, 3, seed=3)
    design = StudyDesign.with_counts(
        "e2e", ["mel", "nv"], 2, 2, seed=5, entity_confidence=True, practice=1, display_size=32
    )
    create_study(workspace, design)
    key = dict(
        workspace.conn.execute(
            "SELECT c.code, i.entity FROM cases c JOIN images i ON i.id = c.image_id "
            "WHERE c.practice = 0"
        ).fetchall()
    )
    with open_reading(workspace.root, "e2e", "dr-one") as session:
        answered = 0
        for i in range(session.total):
            code = session.case_code(i)
            if not session.is_practice(i) and answered == 7:
                continue  # leave the last scored case unanswered
            entity = key.get(code, "mel")
            session.submit(i, Answer(entity=entity, ai_scale=3, entity_confidence=4))
            answered += 0 if session.is_practice(i) else 1
    report = build_report(load_study(workspace, "e2e"))
    entity = report["entity"]
    assert (entity["n_expected"], entity["n_answered"], entity["missing"]) == (8, 7, 1)
    assert entity["accuracy"] == pytest.approx(1.0)  # answered with the key
    assert report["ai_vs_real"]["per_class"]["real"]["recall"] == pytest.approx(1.0)  # 3 -> real
    assert report["study"]["settings"]["reading"]["entity_confidence"] is True
    assert report["entity"]["auc"]["mel"]["rating"] is not None  # confidence was collected
