"""Issue 16: the fooling-cases gallery has thumbnails in the workbook, each anchored at its case's row."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from PIL import Image

from dermstudy.analysis.data import load_study
from dermstudy.analysis.report import build_report
from dermstudy.reports import gallery
from dermstudy.reports.bundle import write_outputs
from dermstudy.reports.excel import FIRST_DATA_ROW
from dermstudy.study.blinding import BLINDED_SUFFIX
from tests.analysis.tiny import make_tiny_study

# A distinct colour per case image, so a thumbnail found in the workbook tells which case it shows.
COLOURS = {"c2": (200, 30, 30), "c5": (30, 160, 40), "c6": (20, 40, 210)}


def _case_images(ws) -> None:
    """Write the blinded image of three tiny-study cases (the sample study has no files)."""
    rows = ws.conn.execute("SELECT code, blinded_sha256 FROM cases").fetchall()
    for code, sha in rows:
        if code in COLOURS:
            path = ws.path_of(ws.relative_blob_path(sha, BLINDED_SUFFIX, "cases"))
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (300, 200), COLOURS[code]).save(path)


def _dominant(png: bytes) -> tuple[int, int, int]:
    with Image.open(io.BytesIO(png)) as image:
        return image.convert("RGB").getpixel((image.width // 2, image.height // 2))


def _fooling_sheet(path):
    book = load_workbook(path)
    return next(
        book[n] for n in book.sheetnames if str(book[n]["A1"].value).startswith("Cases that fooled")
    )


def test_fooling_sheet_has_a_thumbnail_anchored_at_each_case_row(workspace, tmp_path):
    make_tiny_study(workspace, readers="AB")
    _case_images(workspace)
    data = load_study(workspace, "tiny")
    report = build_report(data, n_resamples=50)
    # the tiny study's gallery: synthetic c2, c6 called real; real c5 called AI
    assert gallery.gallery_cases(report) == ["c2", "c6", "c5"]
    thumbs = gallery.fooling_thumbnails(report, data.case_images)
    assert set(thumbs) == set(COLOURS)
    for png in thumbs.values():
        with Image.open(io.BytesIO(png)) as image:
            assert max(image.size) == gallery.THUMB_PX  # 300 x 200 -> 96 x 64

    path = tmp_path / "r.xlsx"
    write_outputs(report, data, None, xlsx_path=path)
    sheet = _fooling_sheet(path)
    header = [c.value for c in sheet[FIRST_DATA_ROW - 1]]
    case_col, image_col = header.index("case"), header.index("image")
    row_of = {
        sheet.cell(r, case_col + 1).value: r
        for r in range(FIRST_DATA_ROW, sheet.max_row + 1)
        if sheet.cell(r, case_col + 1).value
    }
    assert set(row_of) == {"c2", "c5", "c6"}
    found = {}
    for image in sheet._images:
        start = image.anchor._from  # zero-based row and column
        assert start.col == image_col
        found[start.row + 1] = _dominant(image._data())
    assert set(found) == set(row_of.values())
    for case, row in row_of.items():
        assert found[row] == COLOURS[case]  # the right picture at the right row
        assert sheet.row_dimensions[row].height >= 72  # 96 px tall fits the row


def test_gallery_without_images_still_writes_the_sheet(workspace, tmp_path):
    make_tiny_study(workspace, readers="AB")  # no image files at all
    data = load_study(workspace, "tiny")
    report = build_report(data, n_resamples=50)
    assert gallery.fooling_thumbnails(report, data.case_images) == {}
    path = tmp_path / "r.xlsx"
    write_outputs(report, data, None, xlsx_path=path)
    sheet = _fooling_sheet(path)
    assert sheet.cell(FIRST_DATA_ROW, 2).value == "c2"
    assert not sheet._images
