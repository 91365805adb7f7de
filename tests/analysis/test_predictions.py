"""Importing classifier predictions and the reader-versus-model (Table 2) comparison."""

from __future__ import annotations

import pytest

from dermstudy.analysis.data import find_study, load_study
from dermstudy.analysis.predictions import PredictionsFileError, import_predictions
from dermstudy.analysis.report import build_report
from dermstudy.entities import CODES
from tests.analysis.tiny import make_tiny_study

# model: right on c1 c2 c3 c5 c7 c8, wrong on c4 (bkl) and c6 (bcc -> nv), all 8 cases
MODEL_ROWS = [
    ("c1", "mel"),
    ("c2", "mel"),
    ("c3", "nv"),
    ("c4", "bkl"),
    ("c5", "bcc"),
    ("c6", "nv"),
    ("c7", "df"),
    ("c8", "vasc"),
]


def _write_csv(path, rows, header="case,entity"):
    path.write_text(header + "\n" + "\n".join(",".join(r) for r in rows) + "\n")
    return path


def test_import_and_table2(workspace, tmp_path):
    make_tiny_study(workspace)
    study = find_study(workspace, "tiny")
    summary = import_predictions(
        workspace, study, "cnn", _write_csv(tmp_path / "p.csv", MODEL_ROWS)
    )
    assert summary["imported"] == 8 and summary["without_prediction"] == 0
    report = build_report(load_study(workspace, "tiny"))
    result = report["reader_vs_model"]["cnn"]
    assert result["model"]["accuracy"] == pytest.approx(6 / 8)
    rows = {r["row"]: r for r in result["table"]}
    assert list(rows) == [*CODES, "accuracy", "macro avg", "weighted avg"]
    # nv: model predicted nv for c3 (right) and c6 (wrong); true nv are c3, c4 -> P 1/2, R 1/2
    assert rows["nv"]["model_precision"] == pytest.approx(0.5)
    assert rows["nv"]["model_recall"] == pytest.approx(0.5)
    # the reader column is the pooled reader report (reader A: nv P 1/2, R 1/2 too; mel R 1)
    assert rows["mel"]["readers_recall"] == pytest.approx(1.0)
    assert rows["mel"]["readers_precision"] == pytest.approx(2 / 3)
    assert rows["accuracy"]["model_f1"] == pytest.approx(6 / 8)
    assert rows["accuracy"]["readers_f1"] == pytest.approx(5 / 7)
    assert rows["df"]["support"] == 1  # the model answered c7, the reader did not


def test_probabilities_give_rating_auc_and_argmax(workspace, tmp_path):
    make_tiny_study(workspace)
    study = find_study(workspace, "tiny")
    header = "case," + ",".join(f"p_{c}" for c in CODES)
    rows = []
    for case, entity in MODEL_ROWS:
        probs = ["0.9" if c == entity else "0.0167" for c in CODES]
        rows.append((case, *probs))
    import_predictions(workspace, study, "cnn", _write_csv(tmp_path / "p.csv", rows, header))
    report = build_report(load_study(workspace, "tiny"))
    model = report["reader_vs_model"]["cnn"]["model"]
    assert model["per_class"]["vasc"]["recall"] == 1.0  # argmax of the probabilities
    assert model["auc"]["mel"]["rating"] == pytest.approx(1.0)
    assert model["auc"]["mel"]["ci_method"] == "DeLong"


def test_reimport_replaces_and_bad_rows_are_named(workspace, tmp_path):
    make_tiny_study(workspace)
    study = find_study(workspace, "tiny")
    import_predictions(workspace, study, "cnn", _write_csv(tmp_path / "a.csv", MODEL_ROWS))
    import_predictions(workspace, study, "cnn", _write_csv(tmp_path / "b.csv", MODEL_ROWS[:3]))
    count = workspace.conn.execute("SELECT COUNT(*) FROM predictions").fetchone()[0]
    assert count == 3
    bad = _write_csv(tmp_path / "bad.csv", [("c1", "mel"), ("c2", "tumour")])
    with pytest.raises(PredictionsFileError, match=r"bad.csv: row 3: unknown entity 'tumour'"):
        import_predictions(workspace, study, "cnn", bad)
    unknown = _write_csv(tmp_path / "unknown.csv", [("zz", "mel")])
    with pytest.raises(PredictionsFileError, match=r"row 2: case 'zz' is not a scored case"):
        import_predictions(workspace, study, "cnn", unknown)
    practice = _write_csv(tmp_path / "practice.csv", [("p0", "mel")])
    with pytest.raises(PredictionsFileError, match="not a scored case"):
        import_predictions(workspace, study, "cnn", practice)
    # nothing was lost by the failed imports
    assert workspace.conn.execute("SELECT COUNT(*) FROM predictions").fetchone()[0] == 3
    probs = _write_csv(tmp_path / "p.csv", [("c1", "mel", "1.5")], "case,entity,mel")
    with pytest.raises(PredictionsFileError, match="probability columns missing"):
        import_predictions(workspace, study, "cnn", probs)


def test_partial_predictions_compare_readers_on_the_same_cases(workspace, tmp_path):
    make_tiny_study(workspace)
    study = find_study(workspace, "tiny")
    import_predictions(workspace, study, "cnn", _write_csv(tmp_path / "p.csv", MODEL_ROWS[:4]))
    result = build_report(load_study(workspace, "tiny"))["reader_vs_model"]["cnn"]
    assert result["model"]["missing"] == 4
    assert result["readers_scope"] == "the 4 cases with a model prediction"
    rows = {r["row"]: r for r in result["table"]}
    # reader A on c1..c4: mel mel nv mel vs truth mel mel nv nv -> 3/4
    assert rows["accuracy"]["readers_f1"] == pytest.approx(3 / 4)
