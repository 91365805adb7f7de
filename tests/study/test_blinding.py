"""Blinding: real and synthetic case files must be indistinguishable by format, size, mode, metadata."""

from __future__ import annotations

import io
import json
import struct
import zipfile

import numpy as np
from PIL import Image

from dermstudy.study.blinding import blind_image, centre_square
from dermstudy.study.package import export_package
from dermstudy.study.queries import answer_key


def png_chunks(data: bytes) -> list[str]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        chunks.append(data[pos + 4 : pos + 8].decode("ascii"))
        pos += 12 + length
    return chunks


def file_facts(data: bytes) -> tuple:
    with Image.open(io.BytesIO(data)) as image:
        facts = (image.format, image.mode, image.size, tuple(sorted(image.info)))
    kinds = tuple(dict.fromkeys(png_chunks(data)))
    return (*facts, kinds, len(data))


def test_real_and_synthetic_case_files_are_indistinguishable(library, new_study):
    new_study(real_per_entity=3, synthetic_per_entity=3, display_size=48)
    facts = {"real": set(), "synthetic": set()}
    for case in answer_key(library, "s1"):
        path = library.path_of(library.relative_blob_path(case["blinded_sha256"], ".png", "cases"))
        data = path.read_bytes()
        assert path.name == f"{case['blinded_sha256']}.png"  # named by content only
        facts[case["source"]].add(file_facts(data))
    # One identical fact set for every file of both kinds: PNG, RGB, 48x48, no info, same byte size.
    assert facts["real"] == facts["synthetic"]
    assert len(facts["real"]) == 1
    fmt, mode, size, info, chunks, _length = next(iter(facts["real"]))
    assert (fmt, mode, size, info) == ("PNG", "RGB", (48, 48), ())
    assert chunks == ("IHDR", "IDAT", "IEND")


def test_blinding_strips_exif_icc_and_text(library):
    source = library.conn.execute("SELECT file FROM images WHERE kind = 'real' LIMIT 1").fetchone()[
        0
    ]
    original = library.path_of(source).read_bytes()
    with Image.open(io.BytesIO(original)) as image:
        assert "icc_profile" in image.info and "exif" in image.info  # the fixture has both
    blinded = blind_image(original, 40)
    for marker in (b"DermaCam", b"eXIf", b"iCCP", b"tEXt", b"zTXt", b"iTXt", b"pHYs", b"gAMA"):
        assert marker not in blinded


def test_centre_crop_keeps_the_centre_content():
    pixels = np.zeros((40, 80, 3), dtype=np.uint8)
    pixels[:, 20:60] = 200  # the central 40x40 square is bright, the sides dark
    square = centre_square(Image.fromarray(pixels))
    assert square.size == (40, 40)
    assert np.asarray(square).min() == 200


def test_package_holds_no_truth(library, new_study, tmp_path):
    new_study(real_per_entity=2, synthetic_per_entity=2, practice=2, seed=99)
    out = tmp_path / "reader.zip"
    export_package(library, "s1", out)
    key = answer_key(library, "s1")
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        manifest_text = archive.read("manifest.json").decode()
        sizes = {archive.getinfo(n).file_size for n in names if n.startswith("cases/")}
        times = {archive.getinfo(n).date_time for n in names}
    assert sorted(names) == sorted(["manifest.json"] + [f"cases/{k['case']}.png" for k in key])
    assert len(sizes) == 1 and len(times) == 1
    manifest = json.loads(manifest_text)
    assert set(manifest) == {
        "format",
        "version",
        "study",
        "study_uid",
        "order_key",
        "reading",
        "cases",
    }
    assert all(set(c) == {"code", "practice", "sha256"} for c in manifest["cases"])
    lowered = manifest_text.lower()
    for word in ("synthetic", '"real"', "ham10000", "imported", "provenance", 'entity"', "seed"):
        assert word not in lowered
    for k in key:
        assert k["image_sha256"] not in manifest_text
        if k["source_id"]:
            assert k["source_id"] not in manifest_text
        assert f'"{k["entity"]}"' not in manifest_text
