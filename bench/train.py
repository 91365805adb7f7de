"""Training-step benchmark for the GLIDE base model (64 px) and upsampler (256 px).

Prints one JSON object per configuration (stdout):

* ``reference``: what the published fine-tune ran - fp32, batch 4, plain noise MSE, AdamW (foreach).
* ``fast``: our fast path - bf16 autocast with fp32 master weights, fused AdamW, channels-last,
  SDPA attention (always on in the model), and the largest batch that fits (doubling until out of
  memory, on CUDA).

On CUDA the full-size models (random weights) are measured, with model FLOPs utilisation against
the GPU's dense bf16 peak (a base training step is about 3 x 238 GFLOP per image; the forward FLOPs
of each model are counted with ``torch.utils.flop_counter`` at batch 1). Without CUDA the same
configurations run on a tiny model, the full-size base model is timed for a couple of steps at batch
1 (``--full-cpu-steps``, 0 to skip), and one end-to-end ``train()`` run on a temporary workspace
measures the whole job (data cache, logging, checkpoints) on the tiny model.

    python bench/train.py                 # everything that fits this machine
    python bench/train.py --models base --full-cpu-steps 0
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dermstudy.glide import create_model, default_options, randomize_parameters
from dermstudy.glide.diffusion import Diffusion, mse_loss
from dermstudy.glide.tokenizer import default_tokenizer
from dermstudy.training.loop import peak_memory_mb

TINY = {
    "num_channels": 32,
    "num_res_blocks": 1,
    "attention_resolutions": "8",
    "num_head_channels": 32,
    "xf_width": 64,
    "xf_layers": 1,
    "xf_heads": 2,
    "text_ctx": 24,
}
# Dense bf16 tensor-core peaks (FLOP/s) by device-name fragment.
BF16_PEAK = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "4090": 165e12}


def peak_flops(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in BF16_PEAK.items() if k in name), None)


def forward_flops(model: torch.nn.Module, options: dict, device: torch.device) -> float:
    """FLOPs of one forward pass at batch 1 (counted by torch's flop counter)."""
    from torch.utils.flop_counter import FlopCounterMode

    batch = make_batch(options, 1, device)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(batch["xt"], batch["t"], batch["tokens"], batch["mask"], low_res=batch.get("low"))
    return float(counter.get_total_flops())


def make_batch(options: dict, batch: int, device: torch.device, channels_last=False) -> dict:
    size = int(options["image_size"])
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    tokens, mask = default_tokenizer().batch(
        ["a dermoscopic image of melanoma"] * batch, int(options["text_ctx"])
    )
    out = {
        "x0": (torch.rand(batch, 3, size, size, device=device) * 2 - 1).contiguous(
            memory_format=fmt
        ),
        "noise": torch.randn(batch, 3, size, size, device=device).contiguous(memory_format=fmt),
        "t": torch.randint(0, 999, (batch,), device=device),
        "tokens": tokens.to(device),
        "mask": mask.to(device),
    }
    out["xt"] = out["x0"]
    if options.get("super_res"):
        out["low"] = torch.rand(batch, 3, size // 4, size // 4, device=device) * 2 - 1
    return out


def time_steps(
    options: dict, device: torch.device, batch: int, fast: bool, steps: int, warmup: int
) -> dict:
    """Seconds per optimiser step of the trainer's step (q_sample, forward, MSE, backward, AdamW)."""
    torch.manual_seed(0)
    model = randomize_parameters(create_model(options), std=0.02).to(device).train()
    if fast:
        model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True if fast else None)
    diffusion = Diffusion.from_options(model.options, respacing="")
    data = make_batch(model.options, batch, device, channels_last=fast)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=fast)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def step() -> float:
        xt = diffusion.q_sample(data["x0"], data["t"], data["noise"])
        with autocast:
            out = model(xt, data["t"], data["tokens"], data["mask"], low_res=data.get("low"))
        loss = mse_loss(out.float(), data["noise"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    for _ in range(warmup):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    started = time.perf_counter()
    for _ in range(steps):
        loss = step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = (time.perf_counter() - started) / steps
    result = {
        "step_s": seconds,
        "images_per_s": batch / seconds,
        "peak_memory_mb": None if (peak := peak_memory_mb(device)) is None else round(peak, 1),
        "params": sum(p.numel() for p in model.parameters()),
        "loss": loss,
    }
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return result


def largest_batch(options: dict, device: torch.device, start: int, limit: int) -> int:
    """Double the batch until a fast step runs out of memory (CUDA only)."""
    best, batch = start, start
    while batch <= limit:
        try:
            time_steps(options, device, batch, True, steps=1, warmup=1)
            best = batch
            batch *= 2
        except torch.OutOfMemoryError:
            break
        finally:
            gc.collect()
            torch.cuda.empty_cache()
    return best


def emit(record: dict) -> None:
    print(json.dumps(record), flush=True)


def bench_model(kind: str, device: torch.device, args: argparse.Namespace) -> None:
    full = device.type == "cuda"
    options = default_options(kind)
    if not full:
        options.update(TINY)
    model_name = f"{kind} {'full-size' if full else 'tiny'} ({options['image_size']} px)"
    flops = None
    if full:
        # Random weights are drawn on the CPU (a CPU generator), then moved.
        probe = randomize_parameters(create_model(options), std=0.02).to(device)
        flops = forward_flops(probe, options, device)
        del probe
        gc.collect()
        torch.cuda.empty_cache()
    peak = peak_flops(device)
    fast_batch = largest_batch(options, device, 8, args.max_batch) if full else args.cpu_fast_batch
    # The middle row separates the batch-size effect from the precision effect.
    configs = (
        ("reference", 4, False),
        ("fp32, fast batch", fast_batch, False),
        ("fast", fast_batch, True),
    )
    for name, batch, fast in configs:
        steps = args.steps if full else args.cpu_steps
        result = time_steps(options, device, batch, fast, steps=steps, warmup=args.warmup)
        record = {
            "model": model_name,
            "config": name,
            "device": torch.cuda.get_device_name(device) if full else "cpu",
            "threads": torch.get_num_threads(),
            "batch": batch,
            "precision": "bf16-autocast" if fast else "fp32",
            "optimizer": "AdamW fused" if fast else "AdamW foreach",
            "channels_last": fast,
            **result,
        }
        if flops:
            record["gflop_per_image_step"] = round(3 * flops / 1e9, 1)
            if peak:
                record["mfu_vs_bf16_peak"] = round(3 * flops * result["images_per_s"] / peak, 4)
        emit(record)


def bench_full_base_cpu(args: argparse.Namespace) -> None:
    """A couple of fp32 steps of the full-size base model at batch 1 on the CPU."""
    options = default_options("base")
    result = time_steps(options, torch.device("cpu"), 1, False, steps=args.full_cpu_steps, warmup=1)
    emit(
        {
            "model": "base full-size (64 px)",
            "config": "reference-cpu",
            "device": "cpu",
            "threads": torch.get_num_threads(),
            "batch": 1,
            "precision": "fp32",
            **result,
            "epoch_hours_10015_images": round(10015 / result["images_per_s"] / 3600, 1),
        }
    )


def bench_end_to_end(args: argparse.Namespace) -> None:
    """The whole ``train()`` job on a temporary workspace (tiny model, 64 px, CPU)."""
    import io

    import numpy as np
    from PIL import Image

    from dermstudy.entities import CODES
    from dermstudy.training.config import resolve_config
    from dermstudy.training.loop import train
    from dermstudy.training.runs import read_log
    from dermstudy.workspace import Workspace, now_iso

    with tempfile.TemporaryDirectory() as tmp:
        with Workspace.open(Path(tmp) / "ws") as ws, ws.transaction():
            rng = np.random.default_rng(0)
            for i in range(56):
                buffer = io.BytesIO()
                Image.fromarray(rng.integers(0, 255, (150, 200, 3), dtype=np.uint8)).save(
                    buffer, "PNG"
                )
                sha, rel = ws.store_blob(buffer.getvalue(), ".png", fsync=False)
                ws.conn.execute(
                    "INSERT INTO images (sha256, file, kind, entity, width, height, format, source,"
                    " source_id, created_at) VALUES (?, ?, 'real', ?, 200, 150, 'PNG', 'bench', ?, ?)",
                    (sha, rel, CODES[i % 7], str(i), now_iso()),
                )
        config = resolve_config(
            "fast",
            {
                "kind": "base",
                "init": "scratch",
                "model_options": dict(TINY),
                "steps": args.cpu_steps * 2,
                "batch_size": args.cpu_fast_batch,
                "precision": "fp32",
                "channels_last": False,
                "device": "cpu",
                "preview_every": 0,
                "checkpoint_every": 10_000,
            },
        )
        started = time.perf_counter()
        result = train(Path(tmp) / "ws", config)
        wall = time.perf_counter() - started
        steps = [r for r in read_log(result.folder / "log.jsonl") if r["event"] == "step"]
        later = steps[len(steps) // 2 :]
        emit(
            {
                "model": "base tiny (64 px)",
                "config": "end-to-end train() (fast preset, fp32 on CPU)",
                "device": "cpu",
                "threads": torch.get_num_threads(),
                "batch": config.batch_size,
                "steps": len(steps),
                "wall_s": round(wall, 1),
                "images_per_s": sum(r["images"] for r in later) / sum(r["seconds"] for r in later),
            }
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="base,upsample")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, default=10, help="timed steps on CUDA")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--max-batch", type=int, default=256)
    parser.add_argument("--cpu-steps", type=int, default=5, help="timed steps of the tiny model")
    parser.add_argument("--cpu-fast-batch", type=int, default=16)
    parser.add_argument(
        "--full-cpu-steps",
        type=int,
        default=2,
        help="timed fp32 batch-1 steps of the full-size base on CPU (0 = skip)",
    )
    parser.add_argument("--no-end-to-end", action="store_true")
    args = parser.parse_args()
    if args.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False  # the reference step is honest fp32
    for kind in args.models.split(","):
        bench_model(kind.strip(), device, args)
    if device.type == "cpu":
        if args.full_cpu_steps:
            with contextlib.suppress(MemoryError, RuntimeError):
                bench_full_base_cpu(args)
        if not args.no_end_to_end:
            bench_end_to_end(args)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
