"""Measure the demo model, choose its guidance scale, and make the shipped demo images.

Usage: python docs/demo/make_demo_images.py REAL_WORKSPACE [--guidance G ...] [--out DIR]

REAL_WORKSPACE is the workspace the base model was trained on (all HAM10000 200x150 images); its
64-px training cache is the reference set. Steps, each printed and written to ``--out``:

1. **Does the prompt matter, and which guidance?** A class-balanced logistic regression on simple
   colour and layout features (8x8 thumbnails in RGB plus per-channel mean and spread) is fitted on
   the real 64-px images; for each guidance scale, 8 base samples per entity (seeded) are classified,
   and the balanced accuracy (chance 1/7) says how well the entity prompt shows in the samples. The
   scale with the best balanced accuracy is chosen. The mean colour distance between the samples
   and the real images of their entity is printed beside it.
2. **The shipped images**: 10 per entity at 256 px with the chosen guidance and the fast sampler,
   into ``resources/demo/synthetic/`` with a manifest of their provenance.
3. **Memorisation**: each shipped image's nearest training image (64 px), in pixels (RMS over
   [0, 255]) and in HOG features (cosine distance); the closest pairs go into a figure.
4. Figures: a per-entity grid (generated next to real images) and the memorisation pairs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from dermstudy.entities import BY_CODE, CODES
from dermstudy.generation.job import GenerateSettings, generate_images
from dermstudy.paths import DEMO_DIR, PROJECT_ROOT, demo_models_dir
from dermstudy.workspace import Workspace

SAMPLER = "dpm++2m"


def real_pixels(workspace: Path) -> tuple[np.ndarray, np.ndarray]:
    """uint8 [N, 64, 64, 3] and entity index [N] of the training set (from the training cache)."""
    from dermstudy.training.data import load_pixels, select_images

    with Workspace.open(workspace) as ws:
        images, _ = select_images(ws)
        cache = load_pixels(ws, images, 64)
    return cache.high.permute(0, 2, 3, 1).numpy(), cache.entity_index.numpy()


def simple_features(pixels: np.ndarray) -> np.ndarray:
    """8x8 RGB thumbnails plus per-channel mean and standard deviation, in [0, 1]."""
    x = torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 255
    thumbs = torch.nn.functional.adaptive_avg_pool2d(x, 8).flatten(1)
    moments = torch.cat([x.mean((2, 3)), x.std((2, 3))], dim=1)
    return torch.cat([thumbs, moments], dim=1).numpy()


def hog_features(pixels: np.ndarray) -> np.ndarray:
    from skimage.feature import hog

    grey = pixels.mean(axis=3)
    return np.stack(
        [hog(g, orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2)) for g in grey]
    )


def sample(entity: str, count: int, seed: int, guidance: float, upsample: bool, ws: Path) -> list:
    models = demo_models_dir()
    settings = GenerateSettings(
        entity=entity,
        count=count,
        seed=seed,
        guidance=guidance,
        sampler=SAMPLER,
        batch_size=count if not upsample else 1,
        base=models / "base.pt",
        upsampler=models / "upsample.pt",
        upsample=upsample,
    )
    result = generate_images(ws, settings)
    with Workspace.open(ws) as w:
        return [(w.path_of(f), s) for f, s in zip(result.files, result.seeds, strict=True)]


def load_rgb(path: Path, size: int | None = None) -> np.ndarray:
    with Image.open(path) as image:
        image = image.convert("RGB")
        if size:
            image = image.resize((size, size), Image.Resampling.BICUBIC)
        return np.asarray(image)


def measure_guidance(real: np.ndarray, labels: np.ndarray, scales: list[float], tmp: Path) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(simple_features(real))
    clf = LogisticRegression(max_iter=2000, class_weight="balanced")
    clf.fit(scaler.transform(simple_features(real)), labels)
    centroids = np.stack([real[labels == k].reshape(-1, 3).mean(0) for k in range(len(CODES))])
    results = {}
    for g in scales:
        pixels, truth = [], []
        for k, code in enumerate(CODES):
            for path, _ in sample(code, 8, 100 + 10 * k, g, False, tmp / f"g{g}"):
                pixels.append(load_rgb(path))
                truth.append(k)
        pixels_arr = np.stack(pixels)
        predicted = clf.predict(scaler.transform(simple_features(pixels_arr)))
        colour = np.mean(
            [
                np.linalg.norm(pixels_arr[i].reshape(-1, 3).mean(0) - centroids[t])
                for i, t in enumerate(truth)
            ]
        )
        results[g] = {
            "balanced_accuracy": float(balanced_accuracy_score(truth, predicted)),
            "mean_colour_distance": float(colour),
        }
        print(f"guidance {g}: {results[g]}", flush=True)
    return results


def memorisation(shipped: list[dict], real: np.ndarray, folder: Path) -> list[dict]:
    real_f = real.astype(np.float32)
    real_hog = hog_features(real)
    real_hog /= np.linalg.norm(real_hog, axis=1, keepdims=True) + 1e-12
    rows = []
    for entry in shipped:
        small = load_rgb(folder / entry["file"], 64).astype(np.float32)
        rms = np.sqrt(((real_f - small) ** 2).mean(axis=(1, 2, 3)))
        h = hog_features(small[None].astype(np.uint8))[0]
        h /= np.linalg.norm(h) + 1e-12
        cosine = 1 - real_hog @ h
        rows.append(
            {
                "file": entry["file"],
                "nearest_pixels": int(rms.argmin()),
                "rms_pixels": float(rms.min()),
                "nearest_hog": int(cosine.argmin()),
                "cosine_hog": float(cosine.min()),
            }
        )
    # For scale: the same distances between real training images and their nearest other one.
    return rows


def real_to_real_baseline(real: np.ndarray, n: int = 70, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(real), n, replace=False)
    real_f = real.astype(np.float32)
    out = []
    for i in picks:
        rms = np.sqrt(((real_f - real_f[i]) ** 2).mean(axis=(1, 2, 3)))
        rms[i] = np.inf
        out.append(rms.min())
    return float(np.median(out))


def grid(shipped: list[dict], folder: Path, real_dir: Path, out: Path, per: int = 4) -> None:
    """Per entity: `per` generated images, then `per` real demo images (128 px tiles)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    meta = {}
    import csv

    with open(DEMO_DIR / "HAM10000_metadata.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            meta.setdefault(row["dx"], []).append(row["image_id"])
    fig, axes = plt.subplots(len(CODES), 2 * per, figsize=(2 * per * 1.1, len(CODES) * 1.15))
    for r, code in enumerate(CODES):
        gen = [e for e in shipped if e["entity"] == code][:per]
        real_ids = sorted(meta.get(code, []))[:per]
        tiles = [load_rgb(folder / e["file"], 128) for e in gen]
        tiles += [load_rgb(next(real_dir.glob(f"**/{i}.jpg")), 128) for i in real_ids]
        tiles += [np.full((128, 128, 3), 255, np.uint8)] * (2 * per - len(tiles))
        for c, ax in enumerate(axes[r]):
            ax.imshow(tiles[c])
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(code, rotation=0, labelpad=18, fontsize=9)
            if r == 0:
                ax.set_title("generated" if c < per else "real", fontsize=8)
    fig.suptitle("Demo model (left) and real HAM10000 demo images (right)", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def pairs_figure(mem: list[dict], shipped: list[dict], folder: Path, real, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    closest = sorted(mem, key=lambda m: m["rms_pixels"])[:6]
    fig, axes = plt.subplots(2, len(closest), figsize=(len(closest) * 1.3, 2.9))
    for c, m in enumerate(closest):
        axes[0, c].imshow(load_rgb(folder / m["file"], 64))
        axes[1, c].imshow(real[m["nearest_pixels"]])
        axes[0, c].set_title(f"RMS {m['rms_pixels']:.0f}", fontsize=7)
        for ax in axes[:, c]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("generated", fontsize=7)
    axes[1, 0].set_ylabel("nearest\ntraining", fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--guidance", type=float, nargs="*", default=[1.0, 2.0, 3.0, 5.0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "demo")
    parser.add_argument("--per-entity", type=int, default=10)
    args = parser.parse_args()
    real, labels = real_pixels(args.workspace)
    target = DEMO_DIR / "synthetic"
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        scores = measure_guidance(real, labels, args.guidance, tmp)
        chosen = max(scores, key=lambda g: scores[g]["balanced_accuracy"])
        print(f"chosen guidance: {chosen}", flush=True)
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        shipped, seconds = [], []
        for k, code in enumerate(CODES):
            started = time.perf_counter()
            made = sample(code, args.per_entity, 1000 * (k + 1), chosen, True, tmp / "ship")
            seconds.append((time.perf_counter() - started) / len(made))
            with Workspace.open(tmp / "ship") as ws:
                rows = {
                    r[0]: json.loads(r[1])
                    for r in ws.conn.execute("SELECT file, provenance FROM images")
                }
            for path, seed in made:
                name = f"{code}-{seed}.png"
                shutil.copy(path, target / name)
                rel = next(f for f in rows if Path(f).name == path.name)
                shipped.append(
                    {
                        "file": name,
                        "entity": code,
                        "sha256": path.stem,
                        "provenance": rows[rel],
                    }
                )
        (target / "manifest.json").write_text(json.dumps(shipped, indent=1) + "\n")
    mem = memorisation(shipped, real, target)
    baseline = real_to_real_baseline(real)
    report = {
        "guidance_scores": scores,
        "chosen_guidance": chosen,
        "sampler": SAMPLER,
        "seconds_per_256px_image": seconds,
        "memorisation": mem,
        "real_to_real_nearest_rms_median": baseline,
        "prompts": {code: BY_CODE[code].prompt for code in CODES},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "demo_model_report.json").write_text(json.dumps(report, indent=1) + "\n")
    grid(shipped, target, DEMO_DIR / "images", args.out / "demo_grid.png")
    pairs_figure(mem, shipped, target, real, args.out / "memorisation_pairs.png")
    print(json.dumps({k: v for k, v in report.items() if k != "memorisation"}, indent=1))
    rms = sorted(m["rms_pixels"] for m in mem)
    print(f"memorisation: closest RMS {rms[:5]}; real-to-real median {baseline:.1f}")


if __name__ == "__main__":
    main()
