"""Benchmark GLIDE sampling speed: full-size base + upsampler with random weights.

Prints one JSON line per configuration (device, dtype, batch, recipe):

* ``notebook``: base DDPM "100" with classifier-free guidance (2 rows per image per call) +
  upsampler DDIM "fast27" - the reference notebook's defaults;
* ``fast``: DPM-Solver++(2M), base "logsnr15" with guidance + upsampler "logsnr8".

By default the time of a few denoiser calls is measured per model and the full sampling time is
extrapolated from the step counts (``"measured": "extrapolated"``): a full notebook run takes many
minutes per image on a 2-core CPU. ``--full`` runs the real samplers end to end instead (sensible on
a GPU). On CUDA the lines include the model FLOPs utilisation (base ≈ 238 GFLOP per image per
forward, doubled by guidance; upsampler ≈ 1,281 GFLOP).

    python bench/sample.py                      # CPU: fp32 and bf16, batch 1
    python bench/sample.py --device cuda --dtypes fp32,bf16,fp16 --batches 1,2,4,8,16 --full
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import torch

from dermstudy.glide import Diffusion, create_model, default_options
from dermstudy.glide.pipeline import (
    DEFAULT_GUIDANCE,
    Stage,
    Text2ImPipeline,
    prepare_for_sampling,
    super_res_denoiser,
    text_denoiser,
)
from dermstudy.glide.pipeline import RECIPES as GEN_RECIPES

BASE_GFLOP = 238.0  # per image per forward pass (×2 with guidance)
UPSAMPLE_GFLOP = 1281.0
# The generation recipes of the two samplers (dermstudy.glide.pipeline.RECIPES).
RECIPES = {
    name: {"base": (sampler, GEN_RECIPES[sampler][0]),
           "upsample": (GEN_RECIPES[sampler][2], GEN_RECIPES[sampler][1])}
    for name, sampler in (("notebook", "ddpm"), ("fast", "dpm++2m"))
}  # fmt: skip
PROMPT = "a dermoscopic image of melanoma"
# Dense peak FLOP/s (tensor cores for half types, TF32 off for fp32) used for the MFU figure.
PEAKS = {"H100": {"fp32": 67e12, "bf16": 989e12, "fp16": 989e12},
         "H200": {"fp32": 67e12, "bf16": 989e12, "fp16": 989e12},
         "A100": {"fp32": 19.5e12, "bf16": 312e12, "fp16": 312e12}}  # fmt: skip
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def build(kind: str, device: torch.device, dtype: str, compile_model: bool) -> torch.nn.Module:
    # Eval mode and channels-last, as dermstudy generate runs the models.
    model = prepare_for_sampling(create_model(default_options(kind)).to(device))
    if dtype in ("fp16", "bf16"):
        model.convert_torso(DTYPES[dtype])  # the reference's mixed-precision split (spec §4.1)
    if compile_model:
        model = torch.compile(model)  # type: ignore[assignment]
    return model


def pipeline(base, up, recipe: dict) -> Text2ImPipeline:
    """The generation pipeline over these models (a compiled module samples with its parameters);
    half types are in the weights (convert_torso), so no per-call autocast."""
    return Text2ImPipeline(
        Stage(base, default_options("base"),
              Diffusion.from_options(default_options("base"), recipe["base"][1]), recipe["base"][0]),
        Stage(up, default_options("upsample"),
              Diffusion.from_options(default_options("upsample"), recipe["upsample"][1]),
              recipe["upsample"][0]),
        guidance=DEFAULT_GUIDANCE,
    )  # fmt: skip


def denoisers(pipe: Text2ImPipeline, batch: int, device) -> tuple:
    prompts = [PROMPT] * batch
    base_den = text_denoiser(pipe.base, prompts, pipe.effective_guidance)
    assert pipe.upsampler is not None
    low_res = torch.zeros(batch, 3, 64, 64, device=device)
    up_den = super_res_denoiser(pipe.upsampler, prompts, low_res)
    return base_den, pipe.base.diffusion, up_den, pipe.upsampler.diffusion


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_calls(denoiser, diffusion, shape, device, calls: int) -> tuple[float, float, float]:
    """(min wall, mean wall, min process CPU) seconds per denoiser call after one warm-up call.

    The minimum is the figure least disturbed by other processes on a shared machine; process CPU
    time hardly depends on them at all (run with ``--threads 1`` so no OpenMP spin-waiting is counted).
    """
    x = torch.randn(shape, device=device)
    k = torch.full((shape[0],), diffusion.num_timesteps - 1, dtype=torch.long, device=device)
    denoiser(x, k)
    walls, cpus = [], []
    for _ in range(calls):
        _sync(device)
        wall, cpu = time.perf_counter(), time.process_time()
        denoiser(x, k)
        _sync(device)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), sum(walls) / len(walls), min(cpus)


def time_full(pipe: Text2ImPipeline, batch: int, device) -> float:
    gen = torch.Generator(device=device).manual_seed(0)

    def noise(shape):
        return torch.randn(shape, generator=gen, device=device)

    _sync(device)
    started = time.perf_counter()
    pipe([PROMPT] * batch, noise)
    _sync(device)
    return time.perf_counter() - started


def peak_flops(device: torch.device, dtype: str) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for key, peaks in PEAKS.items():
        if key in name:
            return peaks[dtype]
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtypes", default="fp32,bf16")
    parser.add_argument("--batches", default="1")
    parser.add_argument("--recipes", default="notebook,fast")
    parser.add_argument("--calls", type=int, default=2, help="timed denoiser calls per model")
    parser.add_argument("--full", action="store_true", help="run the samplers end to end")
    parser.add_argument("--compile", action="store_true", help="torch.compile the models")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available()
                          else ("cpu" if args.device == "auto" else args.device))  # fmt: skip
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
    host = {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None}  # fmt: skip
    for dtype in args.dtypes.split(","):
        if dtype == "fp16" and device.type != "cuda":
            print(
                json.dumps({"dtype": "fp16", "device": device.type, "skipped": "fp16 needs CUDA"})
            )
            continue
        base = build("base", device, dtype, args.compile)
        up = build("upsample", device, dtype, args.compile)
        for batch in (int(b) for b in args.batches.split(",")):
            call_times = None
            for name in args.recipes.split(","):
                recipe = RECIPES[name]
                pipe = pipeline(base, up, recipe)
                base_den, base_diff, up_den, up_diff = denoisers(pipe, batch, device)
                seconds_mean = cpu_seconds = None
                if args.full:
                    seconds = time_full(pipe, batch, device)
                    measured = "full run"
                else:
                    if call_times is None:  # one measurement per (dtype, batch), reused per recipe
                        load_before = os.getloadavg()[0]
                        call_times = (
                            time_calls(base_den, base_diff, (batch, 3, 64, 64), device, args.calls),
                            time_calls(up_den, up_diff, (batch, 3, 256, 256), device, args.calls),
                            load_before,
                        )
                    seconds = (base_diff.num_timesteps * call_times[0][0]
                               + up_diff.num_timesteps * call_times[1][0])  # fmt: skip
                    seconds_mean = (base_diff.num_timesteps * call_times[0][1]
                                    + up_diff.num_timesteps * call_times[1][1])  # fmt: skip
                    cpu_seconds = (base_diff.num_timesteps * call_times[0][2]
                                   + up_diff.num_timesteps * call_times[1][2])  # fmt: skip
                    measured = (
                        f"extrapolated from the fastest of {args.calls} timed calls per model"
                    )
                gflop = batch * (2 * BASE_GFLOP * base_diff.num_timesteps
                                 + UPSAMPLE_GFLOP * up_diff.num_timesteps)  # fmt: skip
                peak = peak_flops(device, dtype)
                record = {
                    "recipe": name, "device": device.type, "dtype": dtype, "batch": batch,
                    "base": f"{recipe['base'][0]} {recipe['base'][1]} (guidance {DEFAULT_GUIDANCE})",
                    "upsample": f"{recipe['upsample'][0]} {recipe['upsample'][1]}",
                    "model_calls": [base_diff.num_timesteps, up_diff.num_timesteps],
                    "sec_per_image": round(seconds / batch, 2),
                    "images_per_s": round(batch / seconds, 4),
                    "measured": measured,
                    "sec_per_image_mean_calls": None if args.full else round(seconds_mean / batch, 2),
                    # CPU seconds of this process: nearly independent of other load. Single-threaded
                    # (--threads 1) divided by the core count estimates a quiet multi-core machine.
                    "cpu_sec_per_image": None if args.full else round(cpu_seconds / batch, 2),
                    "base_call_s": None if args.full else [round(v, 3) for v in call_times[0]],
                    "upsample_call_s": None if args.full else [round(v, 3) for v in call_times[1]],
                    "load_average": round(call_times[2], 2) if call_times and not args.full else None,
                    "mfu": round(gflop * 1e9 / seconds / peak, 4) if peak else None,
                    "compiled": args.compile, **host,
                }  # fmt: skip
                print(json.dumps(record), flush=True)
        del base, up


if __name__ == "__main__":
    main()
