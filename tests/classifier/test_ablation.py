"""The ablation: held-out test set never trained on, arms' pools, the result file, Table 3, CLI."""

from __future__ import annotations

import json
import math

import openpyxl
import pytest

from dermstudy.classifier.ablation import (
    AblationError,
    AblationOptions,
    partition,
    resolve_pools,
    run_ablation,
    summarise,
    table3,
)
from dermstudy.classifier.train import TrainOptions
from dermstudy.cli import main
from dermstudy.datasets.splits import create_split, split_image_ids
from dermstudy.workspace import Workspace
from tests.classifier.conftest import add_images

FAST = TrainOptions(image_size=16, epochs=2, patience=5, threads=1)


def _kinds(ws):
    return dict(ws.conn.execute("SELECT id, kind FROM images").fetchall())


def _lesions(ws, ids):
    rows = ws.conn.execute("SELECT id, lesion_id FROM images").fetchall()
    lesion = dict(rows)
    return {lesion[i] for i in ids if lesion[i]}


def test_held_out_test_set_is_the_split_test_side_and_never_trained_on(ablation_ws):
    ws = ablation_ws
    split = create_split(ws, "gl", 0.25, seed=2)
    options = AblationOptions(seeds=2, train=FAST)
    pools = resolve_pools(ws, options)
    assert pools.split == "gl"  # the newest split is reused, no new one made
    test_side = split_image_ids(ws, split.id, "test")
    kinds = _kinds(ws)
    tests = []
    for arm in ("original", "synthetic", "combined", "combined-matched"):
        for seed in (0, 1):
            part = partition(pools, arm, "held-out", seed, options)
            tests.append(part.test)
            assert set(part.test) == test_side
            assert all(kinds[i] == "real" for i in part.test)
            trained = set(part.train) | set(part.val)
            assert not trained & test_side
            assert not _lesions(ws, trained) & _lesions(ws, test_side)
            assert not set(part.train) & set(part.val)
            assert not _lesions(ws, part.train) & _lesions(ws, part.val)
            if arm == "synthetic":
                assert all(kinds[i] == "synthetic" for i in trained)
            if arm == "original":
                assert all(kinds[i] == "real" for i in trained)
            if arm == "combined-matched":
                assert len(trained) == len(pools.real_train)
                assert any(kinds[i] == "synthetic" for i in trained)
    assert all(t == tests[0] for t in tests)


def test_without_a_split_one_is_created_and_stored(ablation_ws):
    pools = resolve_pools(ablation_ws, AblationOptions(train=FAST))
    assert pools.split == "classifier-held-out"
    again = resolve_pools(ablation_ws, AblationOptions(train=FAST))
    assert [im.id for im in again.real_test] == [im.id for im in pools.real_test]


def test_paper_protocol_splits_each_arm_pool_at_random(ablation_ws):
    options = AblationOptions(protocol="paper", train=FAST)
    pools = resolve_pools(ablation_ws, options)
    kinds = _kinds(ablation_ws)
    part = partition(pools, "synthetic", "paper", 0, options)
    everything = part.train + part.val + part.test
    assert len(everything) == len(set(everything)) == len(pools.synthetic)
    assert all(kinds[i] == "synthetic" for i in part.test)  # as published: tested on its own kind
    assert len(part.test) == math.ceil(0.2 * len(pools.synthetic))  # sklearn rounds up
    other = partition(pools, "synthetic", "paper", 1, options)
    assert other.test != part.test


def test_arms_needing_synthetic_images_are_refused_without_them(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    add_images(ws, "real", 4)
    with pytest.raises(AblationError, match="no synthetic images"):
        resolve_pools(ws, AblationOptions(arms=("original", "combined"), train=FAST))
    ws.close()


def test_a_run_writes_results_checkpoints_and_table3(ablation_ws):
    options = AblationOptions(arms=("original", "combined"), seeds=2, train=FAST, name="t")
    events = []
    result = run_ablation(ablation_ws.root, options, progress=events.append)
    folder = ablation_ws.root / "classifier" / "t"
    stored = json.loads((folder / "result.json").read_text())
    assert stored["status"] == "finished" and stored["model"] == "paper-cnn"
    partitions = json.loads((folder / "partitions.json").read_text())
    for key, part in partitions.items():
        assert not set(part["test"]) & (set(part["train"]) | set(part["val"])), key
    for arm in ("original", "combined"):
        seeds = result["arms"][arm]["seeds"]
        assert [s["seed"] for s in seeds] == [0, 1]
        for s in seeds:
            assert (folder / s["checkpoint"]).is_file()
            assert len(s["history"]) == 2 and {"train_loss", "val_loss"} <= set(s["history"][0])
            assert sum(map(sum, s["confusion"])) == s["n_test"]
        accs = [s["accuracy"] for s in seeds]
        assert result["arms"][arm]["summary"]["accuracy"]["mean"] == pytest.approx(sum(accs) / 2)
    rows = result["table3"]
    assert [r["class"] for r in rows][-3:] == ["accuracy", "macro avg", "weighted avg"]
    assert len(rows) == 10 and "combined f1-score" in rows[0] and "original support" in rows[0]
    assert all(list(row) == list(rows[0]) for row in rows)  # one set of columns
    mean = result["arms"]["combined"]["summary"]["accuracy"]["mean"]
    assert rows[7]["combined f1-score"] == f"{mean:.2f} ± " + rows[7]["combined f1-score"][-4:]
    epochs = [e for e in events if e.data.get("event") == "epoch"]
    assert len(epochs) == 2 * 2 * 2
    assert (folder / "curves.png").is_file()


def test_summary_sd_over_seeds():
    def seed(acc, support=3):
        cells = {"precision": acc, "recall": acc, "f1-score": acc, "support": support}
        report = {row: dict(cells) for row in ("mel", "nv", "akiec", "bkl", "bcc", "df", "vasc")}
        report["macro avg"] = dict(cells)
        report["weighted avg"] = dict(cells)
        return {"accuracy": acc, "report": report, "confusion": [[1] * 7] * 7}

    summary = summarise([seed(0.5), seed(0.7)])
    assert summary["accuracy"]["mean"] == pytest.approx(0.6)
    assert summary["accuracy"]["sd"] == pytest.approx(0.1414213, rel=1e-5)
    assert summary["confusion_sum"][0][0] == 2
    # Paper protocol: each seed's random test set has its own support; Table 3 shows the range.
    result = {
        "options": {"arms": ["original"]},
        "arms": {"original": {"summary": summarise([seed(0.5, 3), seed(0.7, 5), seed(0.6, 4)])}},
    }
    assert [row["original support"] for row in table3(result)][:2] == ["3–5", "3–5"]
    same = {"original": {"summary": summary}}
    assert table3({**result, "arms": same})[0]["original support"] == 3


def test_cli_json_and_xlsx(ablation_ws, tmp_path, capsys):
    xlsx = tmp_path / "t3.xlsx"
    code = main(
        ["--workspace", str(ablation_ws.root), "classifier", "ablation", "--arms", "synthetic",
         "--seeds", "1", "--epochs", "1", "--image-size", "16", "--threads", "1", "--name", "c",
         "--json", "--xlsx", str(xlsx)]
    )  # fmt: skip
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["name"] == "c" and list(data["arms"]) == ["synthetic"]
    assert data["arms"]["synthetic"]["seeds"][0]["n_test"] == len(
        resolve_pools(ablation_ws, AblationOptions(train=FAST)).real_test
    )
    book = openpyxl.load_workbook(xlsx)
    assert {"Table 3", "synthetic", "Seeds", "Curves"} <= set(book.sheetnames)
    assert main(["--workspace", str(ablation_ws.root), "classifier", "show", "c"]) == 0
    assert "synthetic f1-score" in capsys.readouterr().out


def test_cli_bad_input_is_one_line_and_exit_2(ablation_ws, capsys):
    code = main(["--workspace", str(ablation_ws.root), "classifier", "ablation", "--arms", "bogus"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown arm" in err[0]
    assert main(["--workspace", str(ablation_ws.root), "classifier", "show", "nope"]) == 2
