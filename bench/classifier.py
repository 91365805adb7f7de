"""Seconds per epoch of the classifier ablation's training loop on 10,000 images at 64×64.

Random uint8 pixels (the pixel values do not change the cost), the real loop
(:func:`dermstudy.classifier.train.train_classifier`: per-image torchvision augmentation, Adam,
batch 32) for ``--batches`` mini-batches, extrapolated to a full epoch of ``--images`` images; the
validation pass is timed separately on 10 % of the images. Prints one JSON object per
configuration (model × device × threads) with the CPU model and the load average.

    python bench/classifier.py                            # paper-cnn, CPU, 1 and 2 threads
    python bench/classifier.py --models paper-cnn resnet18 --devices cpu cuda
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from machine import cpu_name

from dermstudy.classifier.train import TrainOptions, train_classifier
from dermstudy.jobs import Cancelled, CancelToken


def measure(model: str, device: str, threads: int, images: int, batches: int, size: int) -> dict:
    torch.manual_seed(0)
    n = min(images, batches * 32)
    x = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8)
    y = torch.randint(0, 7, (n,))
    val_n = images // 10
    vx = torch.randint(0, 256, (val_n, 3, size, size), dtype=torch.uint8)
    vy = torch.randint(0, 7, (val_n,))
    options = TrainOptions(model=model, image_size=size, epochs=1, device=device, threads=threads)
    cancel = CancelToken()

    # One epoch over n images (n = batches × 32) then validation; epoch record has the seconds.
    start = time.monotonic()
    try:
        result = train_classifier(x, y, vx, vy, options, seed=0, cancel=cancel)
    except Cancelled:  # pragma: no cover
        raise
    total = time.monotonic() - start
    record = result.history[0]
    train_s = record["train_seconds"]
    val_s = record["seconds"] - train_s
    per_batch = train_s / (n / 32)
    return {
        "model": model,
        "device": device,
        "threads": threads or torch.get_num_threads(),
        "image_size": size,
        "measured_images": n,
        "validation_images": val_n,
        "seconds_measured_train": round(train_s, 2),
        "seconds_validation": round(val_s, 2),
        "seconds_per_epoch_extrapolated": round(per_batch * images / 32 + val_s, 1),
        "wall_s": round(total, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["paper-cnn"])
    parser.add_argument("--devices", nargs="+", default=["cpu"])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--batches", type=int, default=40, help="mini-batches actually timed")
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    print(
        json.dumps(
            {
                "cpu": cpu_name(),
                "cpus": os.cpu_count(),
                "load_average": os.getloadavg(),
                "torch": torch.__version__,
                "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            }
        ),
        flush=True,
    )
    for model in args.models:
        for device in args.devices:
            if device.startswith("cuda") and not torch.cuda.is_available():
                print(json.dumps({"model": model, "device": device, "skipped": "no CUDA"}))
                continue
            for threads in args.threads if device == "cpu" else [0]:
                row = measure(model, device, threads, args.images, args.batches, args.size)
                row["load_average_after"] = os.getloadavg()
                print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
