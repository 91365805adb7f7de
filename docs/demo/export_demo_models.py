"""Export the demo GLIDE pair from two training runs into ``resources/demo/models/``.

Usage: python docs/demo/export_demo_models.py BASE_RUN_FOLDER UPSAMPLER_RUN_FOLDER

Takes each run's newest checkpoint, keeps its EMA weights (what a run's ``final-ema.pt`` holds),
stores them as float16 (half the size; dermstudy computes in float32 after loading) with the
run's GLIDE options, and writes ``training.json``: steps, images seen, the dataset hash, the last
logged losses and the commands (``docs/demo/train-*.sh``) that made them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from dermstudy.demo import reference_sample
from dermstudy.glide import create_model, load_checkpoint, save_checkpoint
from dermstudy.paths import PROJECT_ROOT, demo_models_dir


def newest_checkpoint(run: Path) -> Path:
    files = sorted((run / "checkpoints").glob("step-*.pt"))
    if not files:
        raise SystemExit(f"{run}: no checkpoint")
    return files[-1]


def _sparse_token_rows(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Keep only the token-embedding rows of the seven prompts and the padding token, sparse.

    The demo model never saw another token: those rows are still their random initial values
    (zero gradient, so Adam never moved them). Zeroing them changes nothing for the seven
    prompts or the empty caption, and stores 50,257 x 128 values as a few thousand (the
    loader turns the sparse tensor back into a dense one).
    """
    from dermstudy.entities import ENTITIES
    from dermstudy.glide.tokenizer import END_OF_TEXT, default_tokenizer

    tokenizer = default_tokenizer()
    used = {END_OF_TEXT} | {t for e in ENTITIES for t in tokenizer.encode(e.prompt)}
    key = "token_embedding.weight"
    dense = state[key]
    keep = torch.zeros(dense.shape[0], dtype=torch.bool)
    keep[sorted(used)] = True
    return {**state, key: (dense * keep[:, None].to(dense.dtype)).to_sparse()}


def _dataset_hash(run: Path) -> str:
    """SHA-256 over the run's ordered (image hash, caption) pairs, from its workspace record."""
    from dermstudy.training.runs import get_run
    from dermstudy.workspace import Workspace

    with Workspace.open(run.parents[1]) as ws:
        return get_run(ws, run.name).dataset_hash


def export(run: Path, kind: str, out: Path) -> dict:
    path = newest_checkpoint(run)
    payload = torch.load(path, map_location="cpu", weights_only=True)
    training = payload["training"]
    weights = training["ema"] or payload["state_dict"]
    model = create_model(payload["options"])
    model.load_state_dict(weights, strict=True)
    half = {k: v.half() for k, v in model.state_dict().items()}
    model_half = create_model(payload["options"])
    model_half.load_state_dict({k: v.float() for k, v in half.items()})
    target = out / f"{kind}.pt"
    save_checkpoint(target, model_half)
    # Store float16 tensors (save_checkpoint writes the model's dtype).
    stored = torch.load(target, map_location="cpu", weights_only=True)
    stored["state_dict"] = _sparse_token_rows(half)
    torch.save(stored, target)
    load_checkpoint(target, kind=kind)  # strict load check of what ships
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    start = next(r for r in log if r.get("event") == "start")
    steps = [r for r in log if r.get("event") == "step"]
    last = steps[-20:]
    return {
        "file": target.relative_to(PROJECT_ROOT).as_posix(),
        "run": run.name,
        "checkpoint": path.name,
        "steps": training["step"],
        "batch_size": training["config"]["batch_size"],
        "patch_size": training["config"].get("patch_size", 0),
        "images": start.get("images"),
        "dataset_sha256": _dataset_hash(run),
        "images_seen": training["step"] * training["config"]["batch_size"],
        "parameters": sum(v.numel() for v in half.values()),
        "options": payload["options"],
        "config": {
            k: training["config"][k]
            for k in ("lr", "ema", "uncond_p", "loss", "grad_clip", "seed", "precision")
        },
        "final_mse_mean_last_20_logged": sum(r["mse"] for r in last) / len(last),
        "first_mse_logged": steps[0]["mse"],
        "wall_seconds": round(steps[-1]["time"] - start["time"], 1),
        "command": f"docs/demo/train-{kind}.sh",
    }


def main() -> None:
    base_run, up_run = (Path(a) for a in sys.argv[1:3])
    out = demo_models_dir()
    out.mkdir(parents=True, exist_ok=True)
    record = {"base": export(base_run, "base", out), "upsample": export(up_run, "upsample", out)}
    (out / "training.json").write_text(json.dumps(record, indent=2) + "\n")
    settings = {"entity": "mel", "seed": 7, "steps": "logsnr5", "guidance": 3.0}
    pixels = reference_sample(out / "base.pt", **settings)
    torch.save(
        {"settings": settings, "pixels": torch.from_numpy(pixels)}, out / "reference_sample.pt"
    )
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
