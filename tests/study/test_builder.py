"""Study creation: counts, seeded reproducibility, shortfall errors, pools, frozen cases."""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter

import pytest

from dermstudy.entities import CODES
from dermstudy.study.builder import StudyError
from dermstudy.study.image_sets import ImageSetError, create_image_set
from dermstudy.study.pools import PoolError, PoolOptions, parse_filter
from dermstudy.study.queries import answer_key, study_summary
from tests.fixtures.sample_images import add_sample_images


def _drawn(ws, study_id):
    rows = ws.conn.execute(
        "SELECT c.image_id, i.entity, i.kind, c.practice FROM cases c JOIN images i "
        "ON i.id = c.image_id WHERE c.study_id = ? ORDER BY c.position",
        (study_id,),
    ).fetchall()
    return rows


def test_counts_per_entity_and_source(library, new_study):
    sid = new_study(real_per_entity=2, synthetic_per_entity=3, overrides={"df": (1, 0)})
    counts = Counter((entity, kind) for _i, entity, kind, _p in _drawn(library, sid))
    for code in CODES:
        expected = (1, 0) if code == "df" else (2, 3)
        assert counts[(code, "real")] == expected[0]
        assert counts[(code, "synthetic")] == expected[1]
    assert study_summary(library, "s1")["cases"] == 6 * 5 + 1


def test_entities_restrict_the_study(library, new_study):
    sid = new_study(entities=["mel", "Nevus"])
    entities = {entity for _i, entity, _k, _p in _drawn(library, sid)}
    assert entities == {"mel", "nv"}


def test_same_seed_draws_same_cases_in_same_order(library, new_study):
    a = new_study("a", seed=11)
    b = new_study("b", seed=11)
    c = new_study("c", seed=12)
    ids_a = [row[0] for row in _drawn(library, a)]
    assert ids_a == [row[0] for row in _drawn(library, b)]
    assert ids_a != [row[0] for row in _drawn(library, c)]
    stored = library.conn.execute("SELECT seed FROM studies WHERE id = ?", (a,)).fetchone()[0]
    assert stored == 11


def test_seed_is_chosen_and_recorded_when_not_given(library, new_study):
    sid = new_study()
    seed, settings = library.conn.execute(
        "SELECT seed, settings FROM studies WHERE id = ?", (sid,)
    ).fetchone()
    assert isinstance(seed, int)
    assert json.loads(settings)["design"]["seed"] == seed


def test_shortfall_names_entity_and_missing_count(library, new_study):
    with pytest.raises(StudyError) as err:
        new_study(real_per_entity=2, synthetic_per_entity=2, overrides={"vasc": (6, 2)})
    message = str(err.value)
    assert "vasc real: need 6, pool has 4 (short by 2)" in message
    assert "mel" not in message
    assert library.conn.execute("SELECT COUNT(*) FROM studies").fetchone()[0] == 0
    assert library.conn.execute("SELECT COUNT(*) FROM cases").fetchone()[0] == 0


def test_one_image_per_lesion_by_default(workspace):
    add_sample_images(workspace, {"mel": 6}, {"mel": 2}, images_per_lesion=3)  # 2 lesions
    design = {"entities": ["mel"], "display_size": 32}
    from dermstudy.study.builder import StudyDesign, create_study

    with pytest.raises(StudyError, match=r"mel real: need 3, pool has 2.*all-images-per-lesion"):
        create_study(
            workspace,
            StudyDesign.with_counts("x", real_per_entity=3, synthetic_per_entity=1, **design),
        )
    lifted = StudyDesign.with_counts(
        "y",
        real_per_entity=3,
        synthetic_per_entity=1,
        pools=PoolOptions(one_per_lesion=False),
        **design,
    )
    sid = create_study(workspace, lifted)
    assert len(_drawn(workspace, sid)) == 4
    one = StudyDesign.with_counts("z", real_per_entity=2, synthetic_per_entity=0, **design)
    sid = create_study(workspace, one)
    lesions = workspace.conn.execute(
        "SELECT i.lesion_id FROM cases c JOIN images i ON i.id = c.image_id WHERE c.study_id = ?",
        (sid,),
    ).fetchall()
    assert len(set(lesions)) == 2


def test_practice_cases_come_first_and_do_not_overlap(library, new_study):
    sid = new_study(practice=3)
    rows = _drawn(library, sid)
    assert [p for *_x, p in rows[:3]] == [1, 1, 1]
    assert all(p == 0 for *_x, p in rows[3:])
    assert len({r[0] for r in rows}) == len(rows)
    with pytest.raises(StudyError, match="practice"):
        new_study("too-many", real_per_entity=4, synthetic_per_entity=4, practice=1)


def test_exclude_named_set_keeps_its_images_out(library, new_study):
    real_mel = [
        r[0]
        for r in library.conn.execute(
            "SELECT source_id FROM images WHERE kind='real' AND entity='mel' ORDER BY id"
        )
    ]
    assert create_image_set(library, "held-out", real_mel[:2]) == 2
    with pytest.raises(ImageSetError, match="NOPE"):
        create_image_set(library, "bad", ["NOPE"])
    sid = new_study(entities=["mel"], pools=PoolOptions(exclude_sets=("held-out",)))
    used = {
        r[0]
        for r in library.conn.execute(
            "SELECT i.source_id FROM cases c JOIN images i ON i.id = c.image_id "
            "WHERE c.study_id = ? AND i.kind = 'real'",
            (sid,),
        )
    }
    assert used == set(real_mel[2:])
    with pytest.raises(StudyError, match="no image set named"):
        new_study("x", pools=PoolOptions(exclude_sets=("missing",)))


def test_synthetic_filter_by_provenance(library, new_study):
    sid = new_study(pools=PoolOptions(synthetic_filters=(parse_filter("source=run-a"),)))
    sources = {
        k["provenance"]["source"] for k in answer_key(library, "s1") if k["source"] == "synthetic"
    }
    assert sources == {"run-a"}
    assert sid
    with pytest.raises(StudyError, match="synthetic: need 3, pool has 2"):
        new_study(
            "x", synthetic_per_entity=3, pools=PoolOptions(synthetic_filters=(("source", "run-b"),))
        )
    with pytest.raises(PoolError):
        parse_filter("no-equals-sign")


def test_cases_are_frozen_and_names_unique(library, new_study):
    sid = new_study()
    with pytest.raises(sqlite3.IntegrityError, match="frozen"):
        library.conn.execute("UPDATE cases SET image_id = 1 WHERE study_id = ?", (sid,))
    with pytest.raises(StudyError, match="already exists"):
        new_study()


def test_case_codes_are_opaque(library, new_study):
    sid = new_study(real_per_entity=4, synthetic_per_entity=4)
    rows = library.conn.execute(
        "SELECT code, position FROM cases WHERE study_id = ? ORDER BY position", (sid,)
    ).fetchall()
    codes = [code for code, _pos in rows]
    assert all(re.fullmatch(r"[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}", c) for c in codes)
    assert len(set(codes)) == len(codes)
    assert codes != sorted(codes)  # codes carry no order (56 random codes are never sorted)


def test_exclude_split_train_side_by_lesion(workspace, tmp_path):
    from dermstudy.datasets.splits import create_split, split_image_ids
    from dermstudy.study.builder import StudyDesign, create_study

    add_sample_images(workspace, 8, 2, images_per_lesion=2)  # 4 lesions x 2 images per entity
    split = create_split(workspace, "held", test_fraction=0.5, seed=3)
    train = split_image_ids(workspace, split.id, "train")
    design = StudyDesign.with_counts(
        "s",
        real_per_entity=2,
        synthetic_per_entity=1,
        display_size=32,
        pools=PoolOptions(exclude_splits=("held",)),
    )
    sid = create_study(workspace, design)
    used = {r[0] for r in _drawn(workspace, sid)}
    assert used and not used & train
    with pytest.raises(StudyError, match="no split named 'nope'"):
        create_study(
            workspace, StudyDesign.with_counts("t", pools=PoolOptions(exclude_splits=("nope",)))
        )
    with pytest.raises(StudyError, match="side must be train or test"):
        create_study(
            workspace, StudyDesign.with_counts("u", pools=PoolOptions(exclude_splits=("held:dev",)))
        )


@pytest.mark.parametrize(
    ("key", "pattern", "file"),
    [
        ("model", "aaaa", "model-a.pt"),
        ("model", "model-b.pt", "model-b.pt"),
        ("base.file", "model-[b]*", "model-b.pt"),
    ],
)
def test_synthetic_filter_by_model(library, new_study, key, pattern, file):
    new_study(pools=PoolOptions(synthetic_filters=((key, pattern),)))
    files = {
        k["provenance"]["base"]["file"]
        for k in answer_key(library, "s1")
        if k["source"] == "synthetic"
    }
    assert files == {file}


def test_warns_when_only_one_kind_is_upscaled(library, new_study):
    # Only the upscaling warnings here (random-noise sample images also trip the blinding audit).
    new_study("small", display_size=40)  # real sources are 60x45, synthetic 64x64: none upscaled
    assert [w for w in study_summary(library, "small")["warnings"] if "upscaled" in w] == []
    new_study("large", display_size=48)  # 45 px real sides are upscaled, 64 px synthetic are not
    warnings = [w for w in study_summary(library, "large")["warnings"] if "upscaled" in w]
    assert len(warnings) == 1
    assert "14 of 14 real cases were upscaled to 48 px (smallest source side 45 px)" in warnings[0]
