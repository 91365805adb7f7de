"""DistributedDataParallel on two CPU processes (gloo) via torchrun: both ranks end identical."""

from __future__ import annotations

import json
import subprocess
import sys

import torch

from dermstudy.glide.checkpoints import load_checkpoint
from tests.training.test_train import TINY


def test_two_gloo_ranks_train_to_identical_weights(real_workspace):
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
        "-m", "dermstudy", "--workspace", str(real_workspace.root),
        "train", "base", "--init", "scratch", "--model-options", json.dumps(TINY),
        "--steps", "4", "--batch-size", "2", "--lr", "1e-3", "--device", "cpu",
        "--uncond-p", "0.2", "--loss", "hybrid", "--preview-every", "0", "--progress", "json",
    ]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-2000:]
    events = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    start = next(e for e in events if e.get("event") == "start")
    assert start["world"] == 2
    steps = [e for e in events if e.get("event") == "step"]
    assert [e["step"] for e in steps] == [1, 2, 3, 4]  # rank 0 alone logs
    assert steps[0]["images"] == 4  # 2 per rank
    digests = next(e for e in events if e.get("event") == "models")["rank_weight_digests"]
    assert len(digests) == 2 and digests[0] == digests[1]
    rows = real_workspace.conn.execute("SELECT path FROM models").fetchall()
    final = load_checkpoint(real_workspace.root / rows[0][0]).model
    fresh = torch.load(real_workspace.root / rows[0][0], weights_only=True)["state_dict"]
    assert any(v.abs().sum() > 0 for k, v in fresh.items() if k.startswith("out.2"))
    assert final.options["num_channels"] == 32
