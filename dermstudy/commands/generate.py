"""``dermstudy generate``: sample GLIDE images per entity or prompt into the workspace library."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

from dermstudy.jobs import CancelToken, JsonLinesProgress, TextProgressBar, no_progress


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "generate",
        help="generate synthetic images with GLIDE into the workspace",
        description=(
            "Samples 64x64 GLIDE images (and 256x256 with the upsampler) for an entity or prompt and "
            "stores them as synthetic images with full provenance. Ctrl-C stops after the current "
            "step and keeps every finished image. Each image's seed alone reproduces it."
        ),
    )
    what = p.add_argument_group("what to generate")
    what.add_argument("--entity", metavar="CODE", help="mel, nv, akiec, bkl, bcc, df or vasc")
    what.add_argument("--prompt", metavar="TEXT", help="custom prompt (label it with --entity)")
    what.add_argument("--count", type=int, default=1, metavar="N", help="number of images (1)")
    what.add_argument("--seed", type=int, default=None, help="seed of the first image (random)")
    how = p.add_argument_group("sampling")
    how.add_argument("--guidance", type=float, default=3.0, help="classifier-free guidance (3.0)")
    how.add_argument(
        "--sampler",
        default="ddpm",
        choices=["ddpm", "ddim", "dpm++2m"],
        help="ddpm = notebook recipe (base DDPM, upsampler DDIM); dpm++2m = fast",
    )
    how.add_argument(
        "--base-steps",
        default=None,
        metavar="SPEC",
        help='base respacing: "100" (default; dpm++2m: logsnr15), "fast27", "ddimN", '
        '"logsnrN" or section counts like "10,10,5"',
    )
    how.add_argument(
        "--upsample-steps",
        default=None,
        metavar="SPEC",
        help='upsampler respacing ("fast27"; dpm++2m: logsnr8)',
    )
    how.add_argument("--no-upsample", action="store_true", help="keep the 64x64 base images")
    how.add_argument(  # default: the pipeline's UPSAMPLE_TEMPERATURE (0.997), not imported here
        "--temperature", type=float, default=None, help="upsampler noise scale (0.997)"
    )
    run = p.add_argument_group("models and hardware")
    run.add_argument(
        "--base", type=Path, metavar="FILE", help="base model (default models/base.pt)"
    )
    run.add_argument(
        "--upsampler",
        type=Path,
        metavar="FILE",
        help="upsampler model (default models/upsample.pt)",
    )
    run.add_argument(
        "--base-sha256", metavar="HASH", help="refuse a base file with another SHA-256"
    )
    run.add_argument(
        "--upsampler-sha256", metavar="HASH", help="refuse an upsampler file with another SHA-256"
    )
    run.add_argument("--batch-size", type=int, default=1, metavar="N")
    run.add_argument("--device", default="auto", help="auto, cpu or cuda")
    run.add_argument(
        "--dtype",
        default="fp32",
        choices=["fp32", "bf16", "fp16"],
        help="fp32 (default); bf16 or fp16 (CUDA only) mixed precision as the reference's fp16 mode",
    )
    run.add_argument(
        "--progress",
        default="text",
        choices=["text", "json", "none"],
        help="text bar on stderr, JSON lines on stdout (for the GUI), or none",
    )
    p.set_defaults(handler=run_generate)


@contextlib.contextmanager
def _signals_cancel(cancel: CancelToken) -> Iterator[None]:
    """First Ctrl-C (or SIGTERM) asks the job to stop cleanly; a second Ctrl-C interrupts hard."""

    def on_signal(signum: int, _frame: object) -> None:
        if cancel.cancelled and signum == signal.SIGINT:
            raise KeyboardInterrupt
        cancel.cancel()
        print(
            "\ndermstudy: stopping after the current step (finished images are kept)…",
            file=sys.stderr,
        )

    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
            previous[sig] = signal.signal(sig, on_signal)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_generate(args: argparse.Namespace) -> int:
    from dermstudy.generation.job import GenerateSettings, generate_images
    from dermstudy.workspace.core import resolve_workspace_path

    settings = GenerateSettings(
        entity=args.entity,
        prompt=args.prompt,
        count=args.count,
        guidance=args.guidance,
        base_steps=args.base_steps,
        upsample_steps=args.upsample_steps,
        sampler=args.sampler,
        seed=args.seed,
        batch_size=args.batch_size,
        device=args.device,
        dtype=args.dtype,
        base=args.base,
        upsampler=args.upsampler,
        base_sha256=args.base_sha256,
        upsampler_sha256=args.upsampler_sha256,
        upsample=not args.no_upsample,
        **({} if args.temperature is None else {"temperature": args.temperature}),
    )
    if args.progress == "json":
        progress = JsonLinesProgress(sys.stdout)
    elif args.progress == "text":
        progress = TextProgressBar(sys.stderr, label="generate")
    else:
        progress = no_progress
    cancel = CancelToken()
    workspace = resolve_workspace_path(args.workspace)
    try:
        with _signals_cancel(cancel):
            result = generate_images(workspace, settings, progress, cancel)
    finally:
        if isinstance(progress, TextProgressBar):
            progress.close()
    summary = {
        "event": "done",
        "images": len(result.image_ids),
        "image_ids": result.image_ids,
        "seeds": result.seeds,
        "cancelled": result.cancelled,
        "seconds": round(result.seconds, 2),
        "workspace": str(workspace),
    }
    if args.progress == "json":
        print(json.dumps(summary), flush=True)
    else:
        state = "stopped early; kept" if result.cancelled else "stored"
        print(
            f"{state} {len(result.image_ids)} image(s) in {workspace} "
            f"(seeds {', '.join(map(str, result.seeds)) or '-'}) in {result.seconds:.1f} s"
        )
    return 130 if result.cancelled else 0
