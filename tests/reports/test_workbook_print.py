"""Printing the workbook: print area, orientation and pages across per sheet; one figure per page."""

from __future__ import annotations

import itertools
import shutil
import subprocess

import pytest
from openpyxl import load_workbook
from openpyxl.utils import column_index_from_string

from dermstudy.analysis.data import load_study
from dermstudy.analysis.report import build_report
from dermstudy.reports.bundle import write_outputs
from dermstudy.reports.excel import (
    FIGURE_MAX_PX,
    LANDSCAPE_CHARS,
    MIN_PRINT_SCALE,
    PORTRAIT_CHARS,
    print_layout,
)
from tests.analysis.tiny import make_tiny_study


@pytest.fixture(scope="module")
def workbook(tmp_path_factory):
    from dermstudy.workspace import Workspace

    folder = tmp_path_factory.mktemp("print")
    with Workspace.open(folder / "ws") as ws:
        make_tiny_study(ws, readers="AB")
        data = load_study(ws, "tiny")
        report = build_report(data, n_resamples=50)
        path = folder / "report.xlsx"
        write_outputs(report, data, None, xlsx_path=path)
    return path


def test_print_layout_never_shrinks_text_below_the_limit():
    assert print_layout(40) == ("portrait", 1)
    assert print_layout(PORTRAIT_CHARS + 1) == ("landscape", 1)
    orientation, across = print_layout(600)
    assert orientation == "landscape" and across > 1
    for width in (100, 190, 300, 600, 1200):
        orientation, across = print_layout(width)
        page = PORTRAIT_CHARS if orientation == "portrait" else LANDSCAPE_CHARS
        assert min(1.0, across * page / width) >= MIN_PRINT_SCALE - 1e-9


def test_every_sheet_prints_only_its_used_area(workbook):
    wb = load_workbook(workbook)
    for ws in wb.worksheets:
        assert ws.print_area, ws.title
        area = ws.print_area.split("!")[-1].replace("$", "")
        first, last = area.split(":")
        assert first == "A1"
        last_col = column_index_from_string("".join(c for c in last if c.isalpha()))
        last_row = int("".join(c for c in last if c.isdigit()))
        if ws.title != "Figures":
            # No empty columns or rows inside the area: nothing prints as a blank page.
            assert last_col == ws.max_column and last_row == ws.max_row, ws.title
        assert int(ws.page_setup.paperSize) == 9 and ws.page_setup.fitToHeight == 0
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        widths = sum(
            (ws.column_dimensions[chr(64 + i)].width or 8.43)
            for i in range(1, min(last_col, 26) + 1)
        )
        if ws.title != "Figures":
            assert (ws.page_setup.orientation, int(ws.page_setup.fitToWidth)) == print_layout(
                widths
            ), ws.title


def test_each_figure_gets_a_page_of_its_own(workbook):
    ws = load_workbook(workbook)["Figures"]
    assert ws.page_setup.orientation == "portrait" and int(ws.page_setup.fitToWidth) == 1
    images = ws._images
    assert images
    starts = sorted(image.anchor._from.row + 1 for image in images)  # 1-based rows
    breaks = sorted(b.id for b in ws.row_breaks.brk)
    assert len(breaks) == len(images) - 1
    for image in images:
        shown = image.anchor.ext  # the size on the sheet, in EMU (9525 per pixel)
        assert shown.width / 9525 <= FIGURE_MAX_PX[0] + 1
        assert shown.height / 9525 <= FIGURE_MAX_PX[1] + 1
    # Between two page breaks there is exactly one figure.
    bounds = [0, *breaks, 10**6]
    for low, high in itertools.pairwise(bounds):
        assert sum(low < start <= high for start in starts) == 1


@pytest.mark.skipif(shutil.which("soffice") is None, reason="needs LibreOffice (soffice)")
def test_libreoffice_pdf_has_no_blank_pages_and_one_page_per_figure(workbook, tmp_path):
    PdfReader = pytest.importorskip("pypdf").PdfReader

    subprocess.run(
        ["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(workbook)],
        check=True,
        capture_output=True,
        timeout=240,
    )
    pages = [page.extract_text() for page in PdfReader(tmp_path / "report.pdf").pages]
    # Every printed page carries text: no print area spills onto an empty page, and no figure
    # runs over into a page of its own (that page would hold an image part but no caption).
    assert [n for n, text in enumerate(pages, 1) if not text.strip()] == []
    # Each figure's caption line appears on exactly one page, and no page holds two figures.
    captions = _figure_captions(workbook)
    assert captions
    pages_of = {c: [n for n, t in enumerate(pages) if c in t.splitlines()] for c in captions}
    assert all(len(found) == 1 for found in pages_of.values()), pages_of
    assert len({found[0] for found in pages_of.values()}) == len(captions)


def _figure_captions(path) -> list[str]:
    """The name written above each figure on the Figures sheet (the sheet title excluded)."""
    ws = load_workbook(path)["Figures"]
    return [
        row[0] for row in ws.iter_rows(min_row=2, values_only=True) if row and row[0] is not None
    ]
