"""In-study comparisons: detection per generation setting (with its OR test) on a small study with
two known settings, and the model-vs-readers test."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from dermstudy.analysis import inside, mrmc, roc
from dermstudy.analysis.data import load_study
from dermstudy.analysis.report import build_report
from tests.conftest import DATA
from tests.fixtures.sample_studies import CaseSpec, VoteSpec, insert_study

# 6 real cases r1..r6; synthetic g1..g4 made with guidance 3, h1..h4 with guidance 7
REAL = [f"r{i}" for i in range(1, 7)]
G3 = [f"g{i}" for i in range(1, 5)]
G7 = [f"h{i}" for i in range(1, 5)]
SCALES = {  # reader -> AI scale per case in REAL + G3 + G7 order
    "ann": [1, 2, 1, 3, 2, 1, 5, 4, 4, 2, 2, 3, 1, 2],
    "bob": [2, 1, 1, 2, 4, 1, 4, 5, 3, 4, 3, 1, 2, 4],
    "cy": [1, 1, 2, 1, 3, 2, 5, 5, 4, 3, 1, 2, 3, 2],
}


def insert_settings_study(workspace, drop=None, base=None) -> None:
    """Study ``settings``: 6 real cases and two generation settings (guidance 3 vs 7), three
    readers on the five-point scale (``drop``: a (reader, case) left unanswered)."""
    cases = [CaseSpec(c, "nv", "real") for c in REAL]
    cases += [CaseSpec(c, "nv", "synthetic") for c in G3 + G7]
    votes = [
        VoteSpec(reader, case, "nv", "ai" if s >= 4 else "real", s, 3, 4.0)
        for reader, scales in SCALES.items()
        for case, s in zip(REAL + G3 + G7, scales, strict=True)
        if (reader, case) != drop
    ]
    insert_study(workspace, "settings", cases, votes)
    with workspace.transaction():
        for case in G3 + G7:
            prov = {"guidance": 3.0 if case in G3 else 7.0, "base": base or {"file": "base.pt"}}
            workspace.conn.execute(
                "UPDATE images SET provenance = ? WHERE id = (SELECT image_id FROM cases "
                "WHERE code = ?)",
                (json.dumps(prov), case),
            )


def _study(workspace, drop=None):
    insert_settings_study(workspace, drop)
    return load_study(workspace, "settings")


def test_detection_per_setting_by_hand(workspace):
    data = _study(workspace)
    det = build_report(data, n_resamples=100, by="guidance")["detection_by_setting"]
    assert det["key"] == "guidance" and det["n_real_cases"] == 6
    g3, g7 = det["groups"]
    assert (g3["value"], g7["value"]) == ("3.0", "7.0")
    assert (g3["n_cases"], g3["n_answers"]) == (4, 12)
    # called AI (scale >= 4): guidance 3: ann 3, bob 3, cy 3 of 4 each -> 9/12
    assert g3["share_called_ai"] == pytest.approx(9 / 12)
    assert g7["share_called_ai"] == pytest.approx(1 / 12)
    assert g3["mean_rating"] == pytest.approx(np.mean([5, 4, 4, 2, 4, 5, 3, 4, 5, 5, 4, 3]))
    for reader, scales in SCALES.items():
        real, s3 = scales[:6], scales[6:10]
        assert g3["reader_aucs"][reader] == pytest.approx(
            roc_auc_score([0] * 6 + [1] * 4, real + s3)
        )
    test = det["test"]
    assert test["settings"] == ["3.0", "7.0"] and test["readers"] == ["ann", "bob", "cy"]
    assert test["rrrc"]["differences"][0]["difference"] == pytest.approx(
        g3["mean_reader_auc"] - g7["mean_reader_auc"]
    )
    assert 0 < test["rrrc"]["p"] < 1
    # one key aliases another: --by model reads base.file
    assert (
        build_report(data, n_resamples=100, by="model")["detection_by_setting"]["groups"][0][
            "value"
        ]
        == "base.pt"
    )


def test_detection_test_variances_are_delong(workspace):
    """Var(Error) is the mean DeLong variance of the six (setting, reader) AUCs; settings covary
    only through the shared real cases (Cov1 from the real cases' structural components)."""
    data = _study(workspace)
    res = inside._group_test(data.answers, {"3.0": G3, "7.0": G7}, REAL, 0.05)
    y = np.r_[np.zeros(6), np.ones(4)].astype(bool)
    variances, cov1 = [], []
    for scales in SCALES.values():
        real, s3, s7 = scales[:6], scales[6:10], scales[10:]
        variances += [roc.delong_auc_ci(y, real + s3)[1], roc.delong_auc_ci(y, real + s7)[1]]
        _, _, v01_3 = roc.delong_components(y, real + s3)
        _, _, v01_7 = roc.delong_components(y, real + s7)
        cov1.append(np.cov(v01_3, v01_7)[0, 1] / 6)
    assert res["components"]["var_error"] == pytest.approx(np.mean(variances), rel=1e-12)
    assert res["components"]["cov1"] == pytest.approx(np.mean(cov1), rel=1e-12)


def test_no_test_when_a_setting_has_one_case(workspace):
    data = _study(workspace)
    det = inside.detection_by_setting(
        data.answers, {**data.provenance, "h1": {"guidance": 9.0}}, "guidance"
    )
    values = [g["value"] for g in det["groups"]]
    assert values == ["3.0", "7.0", "9.0"]
    assert det["test"]["settings"] == ["3.0", "7.0"]  # the one-case setting is left out
    det = inside.detection_by_setting(data.answers, {}, "guidance")
    assert det["groups"][0]["value"] == "(not recorded)"
    assert det["test"]["note"].startswith("no test")


def test_model_vs_readers_equals_or_with_the_model_as_every_reader_s_second_modality():
    """Hillis's single-treatment analysis of reader - model differences is algebraically the OR
    RRRC comparison with a second 'modality' in which every reader gives the model's ratings."""
    ratings = mrmc.read_ratings_csv(DATA / "mrmc" / "vandyke.csv")
    readers = ratings.scores[0]
    model = ratings.scores[1, 0]
    res = inside.model_vs_readers(ratings.truth, readers, model)
    both = mrmc.Ratings(
        ratings.readers,
        ["readers", "model"],
        ratings.cases,
        ratings.truth,
        np.stack([readers, np.tile(model, (len(readers), 1))]),
    )
    rrrc = mrmc.analyse(both)["analysis"]["rrrc"]
    [diff] = rrrc["differences"]
    assert res["difference"] == pytest.approx(diff["difference"], rel=1e-12)
    assert res["t"] ** 2 == pytest.approx(rrrc["f"], rel=1e-10)
    assert res["df"] == pytest.approx(rrrc["ddf"], rel=1e-10)
    assert res["p"] == pytest.approx(rrrc["p"], rel=1e-10)
    assert (res["ci_low"], res["ci_high"]) == pytest.approx((diff["ci_low"], diff["ci_high"]))


def test_design_trail_has_seed_and_each_reader_s_order(workspace, tmp_path):
    from dermstudy.reading import Answer, open_reading
    from dermstudy.reports.excel import write_workbook
    from dermstudy.reports.tables import all_tables
    from dermstudy.study.builder import StudyDesign, create_study
    from tests.fixtures.sample_images import add_sample_images

    add_sample_images(workspace, 3, 3, seed=3)
    design = StudyDesign.with_counts(
        "trail", ["mel", "nv"], 2, 2, seed=11, practice=1, display_size=32, order="per-reader"
    )
    create_study(workspace, design)
    seen = {}
    for reader in ("ann", "bob"):
        with open_reading(workspace.root, "trail", reader) as session:
            seen[reader] = [session.case_code(i) for i in range(session.total)]
            session.submit(0, Answer(entity="mel", ai_scale=3))
    report = build_report(load_study(workspace, "trail"), n_resamples=100)
    trail = report["design_trail"]
    assert trail["seed"] == 11
    assert [s["reader"] for s in trail["sessions"]] == ["ann", "bob"]
    for session in trail["sessions"]:
        assert session["case_order"] == seen[session["reader"]]
        assert session["case_order"][0] in trail["practice_cases"]  # practice block first
    table = next(t for t in all_tables(report) if t.name == "case_orders")
    assert len(table.rows) == sum(len(v) for v in seen.values())
    write_workbook(tmp_path / "r.xlsx", [table], [])


def test_diagnosis_real_vs_synthetic_and_fooling_cases_by_hand(workspace):
    from tests.analysis.tiny import make_tiny_study

    make_tiny_study(workspace, readers="AB")
    report = build_report(load_study(workspace, "tiny"), n_resamples=100)
    diag = report["diagnosis_real_vs_synthetic"]
    by_reader = {r["reader"]: r for r in diag["readers"]}
    # A: real c1 c3 c5 right (c7 missing) -> 3/3; synthetic c2, c8 right, c4, c6 wrong -> 2/4
    assert (by_reader["A"]["accuracy_real"], by_reader["A"]["accuracy_synthetic"]) == (1.0, 0.5)
    assert (by_reader["B"]["accuracy_real"], by_reader["B"]["accuracy_synthetic"]) == (1.0, 0.75)
    # differences -0.5, -0.25: mean -0.375, SE 0.125 -> t(1) = -3, p = 1 - 2/pi * atan(3)
    assert diag["paired_t"]["t"] == pytest.approx(-3.0)
    assert diag["paired_t"]["p"] == pytest.approx(1 - 2 / np.pi * np.arctan(3))
    fool = report["fooling_cases"]
    assert [e["case"] for e in fool["synthetic_called_real"]] == ["c2", "c6"]
    assert [e["case"] for e in fool["real_called_ai"]] == ["c5"]
    assert fool["real_called_ai"][0]["votes_wrong"] == 1
    assert fool["real_called_ai"][0]["n_votes"] == 2
