"""Benchmark: FID Inception feature throughput (CPU, and CUDA when present) and the quality table.

Prints JSON lines:

* ``inception``: images/s of :class:`dermstudy.quality.features.InceptionFeatures` (resize to 299 +
  forward) on 600 x 450 HAM10000 images, per device, at batch size 16, after one warm-up batch.
* ``table``: a workspace with ``--per-entity`` real and as many synthetic images (blurred and noised
  copies of other real images) for each of the 7 entities, then :func:`compute_quality` with every
  metric (cold feature cache), timed by phase. ``--per-entity 100`` is the issue's 7 x 100 table;
  on a loaded 2-core CPU that is long (about 1,400 Inception passes plus the real pool), so the
  default is smaller and the line also gives ``estimated_7x100_seconds``: the measured
  non-Inception time scaled to 7 x 100 plus 1,400 images at the measured Inception rate.

``--source DIR`` (a HAM10000-layout folder, e.g. ``../shared/ham10000-200x150``) builds the table's
workspace from that folder instead: per entity a seeded sample of ``--per-entity`` images is imported
as real, and ``--per-entity`` OTHER images of the entity, unmodified, are imported as "synthetic".
An entity with fewer than twice that many images (df: 115, vasc: 142 in HAM10000) is topped up
with transposed / rotated / mirrored versions of its "synthetic" images (never of its real ones).
That gives the issue's 7 x 100 table from real data; the line says how many images were distinct.

Every line names the CPU and the load average (at the start and at the end). Usage::

    nice -n 10 python bench/quality.py [--images 16] [--per-entity 6] [--threads 2]
    python bench/quality.py --source ../shared/ham10000-200x150 --per-entity 100 --images 32
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from machine import cpu_name, load_average
from PIL import Image, ImageFilter

from dermstudy.datasets.ham10000 import import_ham10000
from dermstudy.datasets.synthetic import import_synthetic
from dermstudy.quality.features import InceptionFeatures, WeightsMissing
from dermstudy.quality.report import QualityOptions, compute_quality
from dermstudy.workspace import Workspace

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "ham10000-sample"


def machine() -> dict:
    return {
        "cpu": cpu_name(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average": load_average(),
    }


def bench_inception(images: list[Image.Image], device: str) -> dict:
    extractor = InceptionFeatures(device)
    extractor(images[:2])  # warm-up (TorchScript optimisation passes, allocator)
    if device == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for start in range(0, len(images), 16):
        extractor(images[start : start + 16])
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    return {
        "bench": "inception",
        "device": device,
        "images": len(images),
        "seconds": round(seconds, 2),
        "images_per_second": round(len(images) / seconds, 2),
        **machine(),
    }


def make_workspace(root: Path, per_entity: int) -> Workspace:
    ws = Workspace.open(root)
    import_ham10000(ws, SAMPLE)
    rng = random.Random(0)
    files = []
    out = root.parent / "synthetic"
    out.mkdir(exist_ok=True)
    for (entity,) in ws.conn.execute("SELECT DISTINCT entity FROM images ORDER BY entity"):
        paths = [
            ws.root / f
            for (f,) in ws.conn.execute(
                "SELECT file FROM images WHERE entity = ? AND kind = 'real'", (entity,)
            )
        ]
        for i in range(per_entity):
            im = Image.open(rng.choice(paths)).convert("RGB").resize((256, 256))
            x = np.asarray(im.filter(ImageFilter.GaussianBlur(1.5)), dtype=np.float32)
            x += np.random.default_rng(i).normal(0, 6, x.shape)
            path = out / f"{entity}_{i:04d}.png"
            Image.fromarray(x.clip(0, 255).astype(np.uint8)).save(path)
            files.append((path, entity))
    import_synthetic(ws, files, "bench")
    return ws


VARIANTS = [
    Image.Transpose.FLIP_LEFT_RIGHT,
    Image.Transpose.FLIP_TOP_BOTTOM,
    Image.Transpose.ROTATE_180,
    Image.Transpose.ROTATE_90,
    Image.Transpose.ROTATE_270,
    Image.Transpose.TRANSPOSE,
    Image.Transpose.TRANSVERSE,
]


def make_workspace_from_folder(root: Path, source: Path, per_entity: int) -> tuple[Workspace, dict]:
    """Real: ``per_entity`` images per entity; "synthetic": ``per_entity`` other real images."""
    with open(source / "HAM10000_metadata.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    by_entity: dict[str, list[dict]] = {}
    for row in rows:
        by_entity.setdefault(row["dx"], []).append(row)
    images = {p.stem: p for p in (source / "images").glob("*.jpg")}
    ham = root.parent / "ham"
    (ham / "images").mkdir(parents=True)
    out = root.parent / "synthetic"
    out.mkdir()
    real_rows, files, distinct = [], [], {}
    for entity, entity_rows in sorted(by_entity.items()):
        entity_rows = sorted(entity_rows, key=lambda r: r["image_id"])
        random.Random(0).shuffle(entity_rows)
        real, other = entity_rows[:per_entity], entity_rows[per_entity : 2 * per_entity]
        real_rows += real
        for row in real:
            (ham / "images" / f"{row['image_id']}.jpg").symlink_to(images[row["image_id"]])
        distinct[entity] = len(other)
        for i in range(per_entity):
            row = other[i % len(other)]
            path = out / f"{entity}_{i:04d}.png"
            with Image.open(images[row["image_id"]]) as im:
                im = im.convert("RGB")
                if i >= len(other):  # top-up: a transposed version of an unused image
                    im = im.transpose(VARIANTS[(i // len(other) - 1) % len(VARIANTS)])
                im.save(path)
            files.append((path, entity))
    with open(ham / "HAM10000_metadata.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(real_rows)
    ws = Workspace.open(root)
    import_ham10000(ws, ham)
    import_synthetic(ws, files, "bench-real-as-synthetic")
    return ws, {"source": str(source), "distinct_synthetic_per_entity": distinct}


def bench_table(per_entity: int, inception_rate: float | None, source: Path | None) -> dict:
    load_start = load_average()
    with tempfile.TemporaryDirectory(prefix="dermstudy-bench-quality-") as tmp:
        info: dict = {"source": str(SAMPLE), "synthetic": "blurred, noised copies of real images"}
        if source is None:
            ws = make_workspace(Path(tmp) / "ws", per_entity)
        else:
            ws, info = make_workspace_from_folder(Path(tmp) / "ws", source, per_entity)
            info["synthetic"] = (
                "other real images of the entity, unmodified (topped up: transposed)"
            )
        phases: dict[str, float] = {}
        last = [time.perf_counter()]

        def progress(event) -> None:
            # The work before an event belongs to that event's phase ("<entity>: <phase>").
            phase = event.message.split(": ")[-1] if event.message else ""
            now = time.perf_counter()
            phases[phase] = phases.get(phase, 0.0) + now - last[0]
            last[0] = now

        options = QualityOptions(max_real=per_entity, classifier=None, is_splits=1)
        started = time.perf_counter()
        report = compute_quality(ws, options, progress)
        seconds = time.perf_counter() - started
        ws.close()
    n_real = sum(r.n_real for r in report.rows)
    n_syn = sum(r.n_synthetic for r in report.rows)
    inception_seconds = phases.get("fid-inception-2015-12-05", 0.0)
    line = {
        "bench": "table",
        "entities": len(report.rows),
        "real_images": n_real,
        "synthetic_images": n_syn,
        "seconds": round(seconds, 1),
        "inception_seconds": round(inception_seconds, 1),
        "skipped": sorted(report.skipped),
        "near_copies": report.overall.near_copies,
        **info,
        "load_average_start": load_start,
        **machine(),
    }
    if inception_rate and per_entity < 100:
        other = (seconds - inception_seconds) * (100 / per_entity)
        line["estimated_7x100_seconds"] = round(other + 1400 / inception_rate, 0)
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=16, help="images for the throughput")
    parser.add_argument("--per-entity", type=int, default=6, help="images per entity and side")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--source", type=Path, help="HAM10000-layout folder for the table")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    paths = sorted((SAMPLE / "images").glob("*.jpg"))[: args.images]
    images = [Image.open(p).convert("RGB") for p in paths]
    rate = None
    try:
        for device in ["cpu"] + (["cuda"] if torch.cuda.is_available() else []):
            line = bench_inception(images, device)
            rate = line["images_per_second"] if device == "cpu" else rate
            print(json.dumps(line), flush=True)
        if not torch.cuda.is_available():
            print(json.dumps({"bench": "inception", "device": "cuda", "skipped": "no CUDA"}))
    except WeightsMissing as exc:
        print(json.dumps({"bench": "inception", "skipped": str(exc)}))
    print(json.dumps(bench_table(args.per_entity, rate, args.source)), flush=True)


if __name__ == "__main__":
    main()
