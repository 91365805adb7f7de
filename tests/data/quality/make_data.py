"""Makes the quality test images (run once; kept for provenance, not run by the tests).

real/: three dermatofibroma images of distinct lesions, copied unchanged from the shared
ham10000-200x150 set (HAM10000, Tschandl et al. 2018, doi:10.1038/sdata.2018.161, CC BY-NC 4.0).
synthetic/: stand-ins for generated images: copy_a and copy_b are real/ images 1 and 2 with a
Gaussian blur (radius 1) and Gaussian noise (sd 4, seeded) added (near-copies, JPEG quality 92);
novel is a vascular-lesion image of another lesion, mirrored, blurred (radius 2) and brightened.
"""

import csv
import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

SHARED = Path("/work/shared/ham10000-200x150")
HERE = Path(__file__).parent
with open(SHARED / "HAM10000_metadata.csv") as handle:
    rows = list(csv.DictReader(handle))
seen, real = set(), []
for r in rows:
    if r["dx"] == "df" and r["lesion_id"] not in seen:
        seen.add(r["lesion_id"])
        real.append(r["image_id"])
    if len(real) == 3:
        break
vasc = next(r["image_id"] for r in rows if r["dx"] == "vasc")
for image_id in real:
    shutil.copy(SHARED / "images" / f"{image_id}.jpg", HERE / "real" / f"{image_id}.jpg")
for name, image_id, seed in (("copy_a", real[0], 1), ("copy_b", real[1], 2)):
    im = Image.open(SHARED / "images" / f"{image_id}.jpg").convert("RGB")
    x = np.asarray(im.filter(ImageFilter.GaussianBlur(1)), dtype=np.float32)
    x += np.random.default_rng(seed).normal(0, 4, x.shape)
    Image.fromarray(x.clip(0, 255).astype(np.uint8)).save(
        HERE / "synthetic" / f"{name}.jpg", quality=92
    )
im = (
    Image.open(SHARED / "images" / f"{vasc}.jpg")
    .convert("RGB")
    .transpose(Image.Transpose.FLIP_LEFT_RIGHT)
)
x = np.asarray(im.filter(ImageFilter.GaussianBlur(2)), dtype=np.float32) * 0.9 + 25
Image.fromarray(x.clip(0, 255).astype(np.uint8)).save(HERE / "synthetic" / "novel.jpg", quality=92)
print("real", real, "vasc", vasc)
