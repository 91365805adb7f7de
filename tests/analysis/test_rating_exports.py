"""Study ratings exported for iMRMC, the Iowa program / RJafroc (.lrc), JAFROC and MRMCaov: our
readers understand the upstream example files, and every file we write reads back unchanged."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dermstudy.analysis import mrmc
from dermstudy.analysis import rating_exports as rx
from tests.conftest import DATA
from tests.fixtures.sample_studies import CaseSpec, VoteSpec, insert_study

MRMC = DATA / "mrmc"


def _by_truth(r: mrmc.Ratings) -> np.ndarray:
    """Scores with normal cases first then abnormal, each in file order (the .lrc keeps no ids)."""
    order = np.concatenate([np.flatnonzero(~r.truth), np.flatnonzero(r.truth)])
    return r.scores[:, :, order]


@pytest.mark.parametrize(
    ("reader", "example", "csv"),
    [
        (rx.read_imrmc, "vandyke.imrmc", "vandyke.csv"),
        (rx.read_lrc, "vandyke.lrc", "vandyke.csv"),
    ],
)
def test_upstream_examples_read_as_the_csv(reader, example, csv):
    ours = reader(MRMC / example)
    ref = mrmc.read_ratings_csv(MRMC / csv)
    assert ours.shape == ref.shape
    assert np.array_equal(_by_truth(ours), _by_truth(ref))


def test_upstream_jafroc_workbook_gives_the_franken_aucs():
    """franken1.xlsx leaves rating-1 entries out; read as 'below every rating' (RJafroc's -Inf)
    they rank exactly as the 1s of franken.csv, so every AUC agrees."""
    ours = rx.read_jafroc(MRMC / "franken1.xlsx")
    ref = mrmc.read_ratings_csv(MRMC / "franken.csv")
    assert ours.shape == ref.shape
    np.testing.assert_allclose(mrmc.wilcoxon_aucs(ours), mrmc.wilcoxon_aucs(ref), rtol=1e-14)


@pytest.mark.parametrize("fmt", list(rx.FORMATS))
def test_round_trip(tmp_path, fmt):
    ref = mrmc.read_ratings_csv(MRMC / "franken.csv")
    path = rx.write(ref, fmt, tmp_path / f"out{rx.FORMATS[fmt]}")
    back = rx.read(path, fmt)
    assert back.shape == ref.shape
    assert back.readers == ref.readers and back.modalities == ref.modalities
    assert np.array_equal(_by_truth(back), _by_truth(ref))
    if fmt != "lrc":
        assert back.cases == ref.cases


CASES = [CaseSpec(f"c{i}", "nv", "synthetic" if i % 2 else "real") for i in range(1, 9)]


def _votes(reader, scales):
    return [
        VoteSpec(reader, f"c{i}", "nv", "ai" if s >= 4 else "real", s, 3, 5.0)
        for i, s in enumerate(scales, start=1)
        if s is not None
    ]


def test_study_export_through_the_cli(workspace, tmp_path, capsys):
    from dermstudy.cli import main

    votes = (
        _votes("ann", [5, 1, 4, 2, 3, 3, 5, 1])
        + _votes("bob", [4, 2, 2, 1, 5, 2, 4, 3])
        + _votes("cy", [5, 1, None, 2, 3, 3, 5, 1])  # one case unanswered: left out
    )
    insert_study(workspace, "pilot", CASES, votes)
    out = tmp_path / "pilot.imrmc"
    argv = ["--workspace", str(workspace.root), "study", "export-ratings", "pilot"]
    assert main([*argv, "--format", "imrmc", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["readers"] == ["ann", "bob"]
    assert summary["left_out"] == ["cy (1 of 8 cases unanswered)"]
    back = rx.read_imrmc(out)
    assert back.readers == ["ann", "bob"]
    assert back.truth.tolist() == [True, False] * 4  # c1 synthetic, c2 real, ...
    assert back.scores[0, 0].tolist() == [5, 1, 4, 2, 3, 3, 5, 1]
    # what the file says is what `dermstudy mrmc` analyses
    csv_out = tmp_path / "pilot.csv"
    assert main([*argv, "--format", "mrmcaov-csv", "--out", str(csv_out)]) == 0
    capsys.readouterr()
    assert main(["mrmc", str(csv_out), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert [a["auc"] for a in res["reader_aucs"]] == pytest.approx(
        mrmc.wilcoxon_aucs(back)[0].tolist()
    )


def test_study_export_needs_two_complete_readers(workspace, capsys):
    from dermstudy.cli import main

    insert_study(workspace, "solo", CASES, _votes("ann", [5, 1, 4, 2, 3, 3, 5, 1]))
    code = main(
        ["--workspace", str(workspace.root), "study", "export-ratings", "solo", "--format", "lrc"]
    )
    assert code == 2
    assert "only 1 reader(s) answered every case" in capsys.readouterr().err
