"""Held-out splits: by lesion, stratified by entity, stored once, readable by other modules."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dermstudy.datasets.splits import SplitError, create_split, get_split, split_image_ids
from dermstudy.entities import CODES
from tests.training.conftest import add_real_images


def _lesion_of(ws, image_id):
    return ws.conn.execute("SELECT lesion_id FROM images WHERE id = ?", (image_id,)).fetchone()[0]


def test_no_lesion_on_both_sides_and_every_entity_on_both(workspace):
    # Images 0/1 (mel), 2/3 (mel)... share lesions pairwise; 4 images per entity = 2 lesions each.
    lesions = {i: f"L{i // 2}" for i in range(28)}
    add_real_images(workspace, per_entity=4, lesions=lesions)
    split = create_split(workspace, "holdout", 0.3, seed=5)
    test = split_image_ids(workspace, split.id, "test")
    train = split_image_ids(workspace, split.id, "train")
    assert not test & train
    assert len(test | train) == 28
    test_lesions = {_lesion_of(workspace, i) for i in test}
    train_lesions = {_lesion_of(workspace, i) for i in train}
    assert not test_lesions & train_lesions
    for code in CODES:
        assert split.counts["test"][code] == 2
        assert split.counts["train"][code] == 2


def test_fraction_is_respected_and_seed_changes_assignment(workspace):
    add_real_images(workspace, per_entity=10)
    a = create_split(workspace, "a", 0.2, seed=1)
    b = create_split(workspace, "b", 0.2, seed=2)
    a_test = split_image_ids(workspace, a.id, "test")
    assert len(a_test) == 14  # 2 of 10 lesions per entity
    assert a_test != split_image_ids(workspace, b.id, "test")
    again = create_split(workspace, "a2", 0.2, seed=1)
    assert split_image_ids(workspace, again.id, "test") == a_test


def test_names_are_unique_and_splits_never_change(real_workspace):
    split = create_split(real_workspace, "s", 0.5)
    with pytest.raises(SplitError, match="already exists"):
        create_split(real_workspace, "s", 0.5)
    with pytest.raises(Exception, match="never changes"):
        real_workspace.conn.execute(
            "UPDATE split_members SET side = 'train' WHERE split_id = ?", (split.id,)
        )
    with pytest.raises(SplitError, match="between 0 and 1"):
        create_split(real_workspace, "t", 1.0)
    with pytest.raises(SplitError, match="no split named"):
        get_split(real_workspace, "missing")


def test_cli_split_create_and_show(real_workspace):
    root = str(real_workspace.root)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "dermstudy",
            "--workspace",
            root,
            "split",
            "create",
            "cli",
            "--test-fraction",
            "0.5",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(run.stdout)
    assert sum(data["counts"]["test"].values()) == 7
    bad = subprocess.run(
        [sys.executable, "-m", "dermstudy", "--workspace", root, "split", "show", "nope"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "no split named 'nope'" in bad.stderr
    assert "Traceback" not in bad.stderr
