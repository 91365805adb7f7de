"""Issue 16: the fooling-cases gallery has thumbnails in the workbook, each anchored at its case's row."""

from __future__ import annotations

import io
import multiprocessing
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
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


def test_figures_drawn_beside_the_workbook_are_the_same(workspace, tmp_path, monkeypatch):
    """write_outputs draws the figures in a forked child where it can; the files and the
    workbook's figures are the same bytes as when drawn in this process."""
    from concurrent.futures import ProcessPoolExecutor

    from dermstudy.reports import bundle

    if not _may_fork_here("test_figures_drawn_beside_the_workbook_are_the_same"):
        return
    make_tiny_study(workspace, readers="AB")
    data = load_study(workspace, "tiny")
    report = build_report(data, n_resamples=50)
    outputs = {}
    for mode in ("here", "child"):
        pools = []

        def pool(mode=mode, pools=pools):
            if mode == "here":
                return None
            pools.append(ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")))
            return pools[-1]

        monkeypatch.setattr(bundle, "_figure_pool", pool)
        folder = tmp_path / mode
        timings = write_outputs(report, data, folder, xlsx_path=folder / "r.xlsx")
        assert ("figures_wait_s" in timings) == (mode == "child")
        book = load_workbook(folder / "r.xlsx")
        outputs[mode] = (
            {p.name: p.read_bytes() for p in sorted(folder.glob("*.png"))},
            [image._data() for image in book["Figures"]._images],
        )
    assert outputs["here"][0] and outputs["here"] == outputs["child"]


_FRESH = "DERMSTUDY_TEST_IN_FRESH_PROCESS"


def _may_fork_here(test_name: str) -> bool:
    """Whether this process may fork, as ``write_outputs`` and ``produce`` decide (never a threaded
    process). Earlier tests may have left threads here (Qt, torch): then ``test_name`` runs in a
    fresh process instead and this returns False; without fork on the platform the test skips."""
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    if threading.active_count() == 1:
        return True
    assert not os.environ.get(_FRESH), "threads are running even in a fresh test process"
    _run_in_fresh_process(test_name)
    return False


def _run_in_fresh_process(test_name: str) -> None:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    result = subprocess.run(
        [*command, f"{__file__}::{test_name}"],
        env={**os.environ, _FRESH: "1"},
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0 and "1 passed" in result.stdout, result.stdout[-3000:]


def test_no_figure_process_from_a_qt_process(monkeypatch):
    import sys
    import types

    from dermstudy.reports import bundle

    monkeypatch.setitem(sys.modules, "PySide6", types.ModuleType("PySide6"))
    assert bundle._figure_pool() is None
    monkeypatch.setenv("DERMSTUDY_SERIAL_OUTPUTS", "1")
    assert bundle._figure_pool() is None


def test_analysis_beside_the_workbook_gives_the_same_outputs(workspace, tmp_path, monkeypatch):
    """produce analyses in a forked child while this process writes the answers sheet, then the
    child draws the figures: JSON, figure files and workbook are the bytes of the serial path
    (all but the time stamps), with the sheets in the usual order."""
    import re
    import zipfile
    from concurrent.futures import ProcessPoolExecutor

    from dermstudy.reports import bundle, excel, tables

    if not _may_fork_here("test_analysis_beside_the_workbook_gives_the_same_outputs"):
        return
    make_tiny_study(workspace, readers="AB")
    _case_images(workspace)
    data = load_study(workspace, "tiny")
    stamp = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:\+00:00|Z)?")
    outputs = {}
    for mode in ("here", "child"):

        def pool(mode=mode):
            if mode == "here":
                return None
            return ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))

        monkeypatch.setattr(bundle, "_figure_pool", pool)
        folder = tmp_path / mode
        report, timings = bundle.produce(
            data,
            folder,
            analysis={"n_resamples": 50, "by": "model"},
            extra={"integrity": {"ok": True, "mode": "same in both"}},
            json_path=folder / "r.json",
            xlsx_path=folder / "r.xlsx",
        )
        # the child analysed (answers sheet first) and drew the figures; here did neither
        assert ("data_sheets_s" in timings) == (mode == "child")
        assert ("figures_wait_s" in timings) == (mode == "child")
        assert report["integrity"]["mode"] == "same in both"
        with zipfile.ZipFile(folder / "r.xlsx") as book:
            members = {n: stamp.sub(b"", book.read(n)) for n in book.namelist()}
        outputs[mode] = (
            stamp.sub(b"", (folder / "r.json").read_bytes()),
            {p.name: p.read_bytes() for p in sorted(folder.glob("*.png"))},
            members,
            load_workbook(folder / "r.xlsx").sheetnames,
        )
    assert outputs["here"][1] and outputs["here"] == outputs["child"]
    # the sheets in the order of the report's tables, as the serial workbook always had them
    taken: set[str] = set()
    expected = [
        excel.sheet_name(t, taken) for t in tables.all_tables(report, data.answers, data.cases)
    ]
    assert outputs["child"][3] == [*expected, "Confusion matrices", "Figures"]
    assert expected[:2] == ["Study", "Answers"]
