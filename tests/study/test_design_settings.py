"""StudyDesign as the study-creation settings object: defaults, checks, argv and JSON forms."""

from __future__ import annotations

import json

import pytest

from dermstudy.cli import build_parser
from dermstudy.entities import CODES
from dermstudy.study.builder import StudyDesign, StudyError
from dermstudy.study.pools import PoolOptions


def _parse(argv: list[str]) -> StudyDesign:
    return StudyDesign.from_args(build_parser().parse_args(argv))


def test_the_bare_command_line_is_the_designs_defaults():
    design = _parse(["study", "create", "pilot"])
    assert design == StudyDesign.with_counts("pilot")
    assert list(design.counts) == list(CODES) and design.counts["mel"] == (10, 10)
    assert design.answer_scale == "five-point" and design.display_size == 256


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": " x"}, "study name"),
        ({"counts": {}}, "at least one entity"),
        ({"counts": {"mel": (-1, 2)}}, "negative"),
        ({"counts": {"mel": (0, 0)}}, "at least one case"),
        ({"display_size": 8}, "display size"),
        ({"order": "random"}, "order"),
        ({"answer_scale": "ten-point"}, "answer scale"),
        ({"practice": -1}, "practice"),
        ({"harmonise": "blur"}, "harmonisation"),
    ],
)
def test_validation_names_the_bad_choice(change, message):
    StudyDesign(name="ok", counts={"mel": (1, 1)}).validate()
    values = {"name": "ok", "counts": {"mel": (1, 1)}, **change}
    with pytest.raises(StudyError, match=message):
        StudyDesign(**values).validate()


def test_a_bad_count_is_one_clear_error():
    with pytest.raises(StudyError, match="ENTITY=REAL,SYNTHETIC"):
        _parse(["study", "create", "x", "--count", "df=5"])


ODD = StudyDesign(
    name="reader study 2",
    counts={"mel": (3, 4), "df": (0, 2), "vasc": (5, 0)},
    seed=-7,
    display_size=320,
    order="per-reader",
    allow_back=False,
    answer_scale="binary",
    entity_confidence=True,
    practice=2,
    pools=PoolOptions(
        exclude_sets=("seen", "bad"),
        exclude_splits=("held:test",),
        synthetic_filters=(("source", "glide*"), ("model", "ab12*")),
        one_per_lesion=False,
    ),
    harmonise="jpeg",
)


@pytest.mark.parametrize("design", [StudyDesign.with_counts("plain"), ODD])
def test_argv_and_json_round_trip(design):
    argv = design.to_argv()
    assert argv[:3] == ["study", "create", design.name]
    assert _parse(argv) == design
    assert StudyDesign.from_json(json.loads(json.dumps(design.to_json()))) == design


@pytest.mark.parametrize(
    "data",
    [
        {"name": "x"},
        {"name": "x", "counts": {"zzz": [1, 1]}},
        {"name": "x", "counts": {}, "colour": 1},
    ],
)
def test_json_refuses_a_malformed_design(data):
    with pytest.raises(StudyError, match="study design"):
        StudyDesign.from_json(data)
