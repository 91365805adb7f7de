"""Images that must not break an import: decompression bombs are skipped as bad rows, and 16-bit
grey PNGs keep their grey levels (Pillow's plain convert("RGB") clips them to white)."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from dermstudy.cli import main
from dermstudy.datasets.ham10000 import import_ham10000
from dermstudy.datasets.images import to_rgb
from dermstudy.study.blinding import blind_image
from tests.foundation.conftest import jpeg_bytes, make_row, write_ham_folder


def bomb_png(width: int = 30000, height: int = 30000) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels (900 M by default)."""
    buffer = io.BytesIO()
    Image.new("L", (8, 8)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    ihdr = bytes(data[12:16]) + struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(ihdr) & 0xFFFFFFFF)
    return bytes(data)


def grey16_png(seed: int = 0) -> tuple[bytes, np.ndarray]:
    rng = np.random.default_rng(seed)
    values = rng.integers(8000, 40000, (30, 40), dtype=np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(values).save(buffer, "PNG")
    return buffer.getvalue(), values


def _folder(tmp_path, extra: dict[str, bytes]):
    rows = [make_row(i, "nv") for i in range(3)]
    extra_rows = [make_row(10 + i, "mel") for i in range(len(extra))]
    root = write_ham_folder(tmp_path / "ham", rows + extra_rows)
    for i, row in enumerate(rows):
        (root / f"{row['image_id']}.jpg").write_bytes(jpeg_bytes(i))
    for row, (suffix, data) in zip(extra_rows, extra.items(), strict=True):
        (root / f"{row['image_id']}{suffix}").write_bytes(data)
    return root


def test_a_decompression_bomb_is_a_skipped_row_not_an_aborted_import(workspace, tmp_path):
    root = _folder(tmp_path, {".png": bomb_png()})
    summary = import_ham10000(workspace, root)
    assert summary.imported_total == 3
    [skipped] = summary.skipped
    assert skipped.image_id == "ISIC_0000010" and "decompression bomb" in skipped.reason


def test_an_image_just_above_pillows_limit_is_refused_before_decoding(
    workspace, tmp_path, monkeypatch
):
    # Between the limit and twice the limit Pillow only warns and would decode the whole image.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 40 * 30)  # the other images are 40 x 30
    root = _folder(tmp_path, {".jpg": jpeg_bytes(9, (60, 40))})
    summary = import_ham10000(workspace, root)
    assert summary.imported_total == 3
    [skipped] = summary.skipped
    assert skipped.image_id == "ISIC_0000010" and "decompression bomb" in skipped.reason


def test_the_cli_reports_a_bomb_row_and_exits_normally(tmp_path, capsys):
    root = _folder(tmp_path, {".png": bomb_png()})
    code = main(["--workspace", str(tmp_path / "ws"), "dataset", "import", str(root)])
    out = capsys.readouterr()
    assert code == 0 and "Traceback" not in out.err
    assert "decompression bomb" in out.out and "imported: 3" in out.out


def test_a_16_bit_grey_png_keeps_its_grey_levels(workspace, tmp_path):
    data, values = grey16_png()
    root = _folder(tmp_path, {".png": data})
    summary = import_ham10000(workspace, root)
    assert summary.imported_total == 4 and not summary.skipped
    with Image.open(io.BytesIO(data)) as image:
        rgb = np.asarray(to_rgb(image), dtype=np.float64)
    expected = values / 257.0
    assert np.abs(rgb[..., 0] - expected).max() <= 0.5
    # A study case made from it is grey like the source, not white.
    case = np.asarray(Image.open(io.BytesIO(blind_image(data, 32, harmonise="none"))))
    assert case.shape == (32, 32, 3)
    assert case.mean() == pytest.approx(expected.mean(), abs=6)
    assert case.max() < 200
