"""The workspace store's repositories: one way to find and list studies, and guarded writes."""

from __future__ import annotations

import pytest

from dermstudy.analysis.data import AnalysisInputError, load_study
from dermstudy.reading import open_reading
from dermstudy.reading.session import ReadingError
from dermstudy.workspace.studies import (
    StudyRepository,
    UnknownStudyError,
    find_study,
    list_studies,
)
from dermstudy.workspace.training_runs import TrainingRunRepository
from tests.fixtures.sample_studies import CaseSpec, VoteSpec, insert_study

CASES = [
    CaseSpec("a1", "mel", "real"),
    CaseSpec("a2", "nv", "synthetic"),
    CaseSpec("p1", "nv", "real", practice=True),
]


def test_find_study_by_name_or_id_and_the_same_error_everywhere(workspace):
    first = insert_study(workspace, "first", CASES[:1], [VoteSpec("A", "a1", "mel", "real")])
    assert find_study(workspace, "first")["id"] == first
    assert find_study(workspace, str(first))["name"] == "first"  # a numeric id also finds it
    message = f"no study named 'nope' in {workspace.root} (studies: first)"
    with pytest.raises(UnknownStudyError) as found:
        find_study(workspace, "nope")
    assert str(found.value) == message
    # The analysis and the reader window keep their own error class, with the same message.
    with pytest.raises(AnalysisInputError) as analysis:
        load_study(workspace, "nope")
    with pytest.raises(ReadingError) as reading:
        open_reading(workspace.root, "nope", "dr-a")
    assert str(analysis.value) == str(reading.value) == message


def test_an_empty_workspace_says_so(workspace):
    with pytest.raises(UnknownStudyError, match=r"\(this workspace has no studies\)$"):
        find_study(workspace, "x")
    assert list_studies(workspace) == []


def test_list_studies_counts_cases_and_readers(workspace):
    study_id = insert_study(
        workspace, "s", CASES, [VoteSpec("A", "a1", "mel", "real")], readers=["A", "B"]
    )
    [listing] = list_studies(workspace)
    assert listing["id"] == study_id and listing["name"] == "s"
    assert (listing["cases"], listing["practice_cases"], listing["readers"]) == (2, 1, 2)
    assert StudyRepository(workspace).reader_names(study_id) == ["A", "B"]
    # Practice cases first, then scored ones in position order (what a reader session sees).
    assert [c.code for c in StudyRepository(workspace).cases(study_id)] == ["p1", "a1", "a2"]


def test_training_run_update_refuses_unknown_columns(workspace):
    with pytest.raises(ValueError, match="dataset_hash"):
        TrainingRunRepository(workspace).update("run-x", dataset_hash="forged")
