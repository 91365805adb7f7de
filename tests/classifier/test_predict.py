"""`classifier predict`: a trained model's probabilities stored as the study's predictions."""

from __future__ import annotations

import json

import pytest

from dermstudy.analysis.data import find_study, load_cases, load_predictions
from dermstudy.classifier.ablation import AblationOptions, run_ablation
from dermstudy.classifier.train import TrainOptions
from dermstudy.cli import main
from dermstudy.entities import CODES
from tests.fixtures.sample_images import add_sample_images
from tests.study.conftest import make_study


@pytest.fixture
def study_ws(workspace):
    library = workspace
    add_sample_images(library, 4, 4, seed=1)
    make_study(library, "s1")
    options = AblationOptions(
        arms=("original",),
        seeds=1,
        train=TrainOptions(image_size=16, epochs=1, threads=1),
        name="r",
    )
    run_ablation(library.root, options)
    return library


def test_predict_stores_one_row_per_scored_case(study_ws, capsys):
    ws = study_ws
    code = main(
        ["--workspace", str(ws.root), "classifier", "predict", "s1", "--run", "r", "--json"]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    study_id = find_study(ws, "s1")["id"]
    preds = load_predictions(ws, study_id)  # what the report's Table 2 reads
    assert summary["cases"] == len(preds) == len(load_cases(ws, study_id))
    assert set(preds["model"]) == {"paper-cnn original (r seed 0)"}
    rows = ws.conn.execute("SELECT entity, probabilities FROM predictions").fetchall()
    for entity, text in rows:
        probabilities = json.loads(text)
        assert list(probabilities) == list(CODES)
        assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-4)
        assert entity == max(probabilities, key=probabilities.get)
    # predicting again replaces, never duplicates
    assert main(["--workspace", str(ws.root), "classifier", "predict", "s1", "--run", "r"]) == 0
    assert ws.conn.execute("SELECT COUNT(*) FROM predictions").fetchone()[0] == len(rows)


def test_predict_with_a_missing_arm_is_exit_2(study_ws, capsys):
    code = main(
        ["--workspace", str(study_ws.root), "classifier", "predict", "s1", "--run", "r",
         "--arm", "synthetic"]
    )  # fmt: skip
    assert code == 2
    assert "has no trained synthetic seed 0" in capsys.readouterr().err
