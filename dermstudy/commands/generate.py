"""``dermstudy generate``: sample GLIDE images per entity or prompt into the workspace library."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
from collections.abc import Iterator

from dermstudy.commands import _common
from dermstudy.generation.settings import GenerateSettings
from dermstudy.jobs import CancelToken, JsonLinesProgress, TextProgressBar, no_progress


def register(subparsers: argparse._SubParsersAction) -> None:
    p = _common.add_settings_command(
        subparsers,
        "generate",
        GenerateSettings,
        run_generate,
        help="generate synthetic images with GLIDE into the workspace",
        description=(
            "Samples 64x64 GLIDE images (and 256x256 with the upsampler) for an entity or prompt and "
            "stores them as synthetic images with full provenance. Ctrl-C stops after the current "
            "step and keeps every finished image. Each image's seed alone reproduces it."
        ),
    )
    p.add_argument(
        "--progress",
        default="text",
        choices=["text", "json", "none"],
        help="text bar on stderr, JSON lines on stdout (for the GUI), or none",
    )


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
    from dermstudy.generation.job import generate_images
    from dermstudy.workspace.core import resolve_workspace_path

    settings = GenerateSettings.from_args(args)
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
