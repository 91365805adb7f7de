"""The coordinator's Excel workbook (openpyxl): one sheet per table, confusion matrices, figures.

Every table sheet has its title and notes above a frozen, filterable header row; values keep full
precision and ratios are displayed with two decimals. The workbook is written in openpyxl's
write-only mode (fast for tens of thousands of answers) to a temporary file and renamed into place,
so a failure never leaves a half-written workbook.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.drawing.image import Image as XLImage
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.properties import PageSetupProperties

from dermstudy.files import atomic_path
from dermstudy.reports.tables import Table

HEADER_FILL = PatternFill("solid", fgColor="DDE6F0")
HEADER_FONT = Font(bold=True)
TITLE_FONT = Font(bold=True, size=13)
NOTE_FONT = Font(italic=True, color="555555")
HEADER_BORDER = Border(bottom=Side(style="thin", color="7F8FA6"))
DECIMAL_FORMAT = "0.00"
MAX_WIDTH = 60
# Largest figure on the Figures sheet (pixels at 96 dpi): fits a portrait A4 page, label included.
FIGURE_MAX_PX = (620, 860)
FIRST_DATA_ROW = 4  # title, notes, header, then data

SHEET_NAMES = {
    "study": "Study",
    "answers": "Answers",
    "entity": "Entity",
    "ai_vs_real": "AI vs real",
    "subsets": "Subsets",
    "readers": "Readers",
    "reader_summary": "Reader summary",
    "reader_averaged": "Reader-averaged AUC",
    "agreement": "Agreement",
    "missing": "Missing",
}


def sheet_name(table: Table, taken: set[str]) -> str:
    """A legal, unique Excel sheet name (31 characters, none of []:*?/\\)."""
    if table.name.startswith("model_"):  # one reader-vs-model sheet per classifier
        base = f"Model {table.name.removeprefix('model_')}"
    else:
        base = SHEET_NAMES.get(table.name) or table.title
    base = re.sub(r"[\[\]:*?/\\]", " ", base).strip()[:31] or "Sheet"
    name, k = base, 2
    while name.lower() in {t.lower() for t in taken}:
        suffix = f" {k}"
        name, k = base[: 31 - len(suffix)] + suffix, k + 1
    taken.add(name)
    return name


def _widths(table: Table) -> list[float]:
    """Column widths from the header and the first rows' text, capped."""
    widths = [len(str(h)) + 2 for h in table.header]
    for row in table.rows[:200]:
        for i, value in enumerate(row):
            if isinstance(value, float):
                text = "0.00" if i in table.decimal_columns else f"{value:.6g}"
            else:
                text = "" if value is None else str(value)
            widths[i] = max(widths[i], len(text) + 2)
    return [min(max(w, 8), MAX_WIDTH) for w in widths]


def _neutral(ws, value):
    """Text that starts with '=' as a text cell: openpyxl would otherwise write it as a live formula.

    Reader names, study names, notes and codes come from users (issue 12 item 6: a reader named
    ``=cmd|' /C calc'!A0`` became 140 formula cells). Every value the workbook writes passes here.
    """
    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(ws, value=value)
        cell.data_type = "s"
        return cell
    return value


def _styled(ws, value, *, font=None, fill=None, border=None, number_format=None, wrap=False):
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"  # see _neutral
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    if border is not None:
        cell.border = border
    if number_format is not None:
        cell.number_format = number_format
    if wrap:
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    return cell


# Printable width of an A4 page (default margins) in Excel column-width units (characters).
PORTRAIT_CHARS = 88
LANDSCAPE_CHARS = 130
MIN_PRINT_SCALE = 0.7  # never shrink text below 70 %: a wider sheet prints on more pages across


def print_layout(total_width: float) -> tuple[str, int]:
    """(orientation, pages across) for a sheet whose columns add up to ``total_width`` characters.

    Portrait when it fits at full size, landscape when it fits at no less than
    :data:`MIN_PRINT_SCALE`, else landscape over as many pages across as keep that scale.
    """
    if total_width <= PORTRAIT_CHARS:
        return "portrait", 1
    if total_width <= LANDSCAPE_CHARS / MIN_PRINT_SCALE:
        return "landscape", 1
    return "landscape", math.ceil(total_width * MIN_PRINT_SCALE / LANDSCAPE_CHARS)


def _print_setup(
    ws, total_width: float, last_col: int, last_row: int, orientation: str | None = None
) -> None:
    """A4, orientation and pages across by width, rows flowing down; print only the used area."""
    chosen, across = print_layout(total_width)
    orientation = orientation or chosen
    ws.page_setup.orientation = orientation
    ws.page_setup.paperSize = "9"  # A4
    ws.page_setup.fitToWidth = across
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    # Without a print area a spreadsheet program prints every cell it thinks is used (long notes
    # overflowing to the right, empty anchors of images): blank pages.
    ws.print_area = f"A1:{get_column_letter(max(last_col, 1))}{max(last_row, 1)}"


# A thumbnail cell: column width in characters and row height in points for THUMB_PX (96 px).
IMAGE_COL_WIDTH = 14.5
IMAGE_ROW_PT = 76


def write_table_sheet(wb: Workbook, table: Table, name: str) -> None:
    ws = wb.create_sheet(name)
    widths = _widths(table)
    if table.image_column is not None and table.images:
        widths[table.image_column] = IMAGE_COL_WIDTH
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    last_col = get_column_letter(len(table.header))
    ws.freeze_panes = f"A{FIRST_DATA_ROW}"
    last_row = FIRST_DATA_ROW - 1 + len(table.rows)
    ws.auto_filter.ref = f"A{FIRST_DATA_ROW - 1}:{last_col}{max(last_row, FIRST_DATA_ROW - 1)}"
    ws.print_title_rows = f"{FIRST_DATA_ROW - 1}:{FIRST_DATA_ROW - 1}"
    _print_setup(ws, sum(widths), len(table.header), max(last_row, FIRST_DATA_ROW - 1))
    ws.append([_styled(ws, table.title, font=TITLE_FONT)])
    ws.append([_styled(ws, "  ·  ".join(table.notes), font=NOTE_FONT)] if table.notes else [])
    ws.append(
        [
            _styled(ws, h, font=HEADER_FONT, fill=HEADER_FILL, border=HEADER_BORDER)
            for h in table.header
        ]
    )
    # One styled cell per decimal column, reused for every row: a write-only sheet serialises
    # each row as it is appended, and styling a fresh cell per value costs more than the write.
    decimal_cells = {
        i: _styled(ws, None, number_format=DECIMAL_FORMAT) for i in table.decimal_columns
    }
    # Only the columns that hold a text starting with "=" need _neutral (one pass to find them,
    # instead of a call per value: 28,000 answer rows have 364,000 values).
    formula_like = sorted(
        {
            i
            for row in table.rows
            for i, v in enumerate(row)
            if isinstance(v, str) and v.startswith("=")
        }
    )
    if table.image_column is not None:
        _add_row_images(ws, table)
    for row in table.rows:
        row = list(row)
        for i in formula_like:
            row[i] = _neutral(ws, row[i])
        for i, cell in decimal_cells.items():
            if isinstance(row[i], float):
                cell.value = row[i]
                row[i] = cell
        ws.append(row)


def _add_row_images(ws, table: Table) -> None:
    """Each row's picture in its image column, anchored at that row, the row made tall enough.

    Write-only sheets take row heights and images before the rows are appended.
    """
    column = get_column_letter(table.image_column + 1)
    for index, png in sorted(table.images.items()):
        row = FIRST_DATA_ROW + index
        ws.row_dimensions[row].height = IMAGE_ROW_PT
        image = XLImage(io.BytesIO(png))
        image.anchor = f"{column}{row}"
        ws.add_image(image)


def write_blocks_sheet(wb: Workbook, tables: list[Table], name: str) -> None:
    """Several small tables stacked on one sheet (the confusion matrices)."""
    ws = wb.create_sheet(name)
    n_cols = max(len(t.header) for t in tables)
    ws.column_dimensions["A"].width = 18
    for i in range(2, n_cols + 1):
        ws.column_dimensions[get_column_letter(i)].width = 11
    n_rows = sum(len(t.rows) + 3 for t in tables) - 1  # title, header, rows, blank between
    _print_setup(ws, 18 + 11 * (n_cols - 1), n_cols, n_rows)
    for table in tables:
        ws.append([_styled(ws, table.title, font=TITLE_FONT)])
        ws.append(
            [
                _styled(ws, h, font=HEADER_FONT, fill=HEADER_FILL, border=HEADER_BORDER)
                for h in table.header
            ]
        )
        for row in table.rows:
            ws.append(
                [
                    _styled(ws, v, number_format=DECIMAL_FORMAT)
                    if i in table.decimal_columns and isinstance(v, float)
                    else _neutral(ws, v)
                    for i, v in enumerate(row)
                ]
            )
        ws.append([])


def write_figures_sheet(wb: Workbook, figures_png: dict[str, bytes], name: str = "Figures") -> None:
    ws = wb.create_sheet(name)
    ws.column_dimensions["A"].width = 30
    # Each image is anchored at its own row. Default rows are 15 pt = 20 px in Excel but about
    # 17 px in LibreOffice, so space images by the smaller height to avoid overlaps anywhere.
    row = 3
    anchors = []
    for stem, png in figures_png.items():
        image = XLImage(io.BytesIO(png))
        # One figure per page: no wider than a portrait page and no taller than one.
        scale = min(1.0, FIGURE_MAX_PX[0] / image.width, FIGURE_MAX_PX[1] / image.height)
        image.width, image.height = int(image.width * scale), int(image.height * scale)
        anchors.append((row, stem, image))
        row += int(image.height / 17) + 4
    # Print area: as wide as the widest figure (columns past A are 64 px), as long as the last.
    widest = max((image.width for _r, _s, image in anchors), default=0)
    last_col = 1 + max(0, math.ceil((widest - 215) / 64))
    _print_setup(ws, 30 + 9 * (last_col - 1), last_col, row, orientation="portrait")
    ws.append([_styled(ws, "Figures", font=TITLE_FONT)])
    current = 2
    for row, stem, image in anchors:
        while current < row - 1:
            ws.append([])
            current += 1
        if current > 2:
            # A page break before each figure's label keeps label and figure on one page
            # (openpyxl's Break(id=n) breaks after row n; the label goes into row ``current``).
            ws.row_breaks.append(Break(id=current - 1))
        ws.append([_styled(ws, stem, font=HEADER_FONT)])
        current += 1
        image.anchor = f"A{row}"
        ws.add_image(image)


def write_workbook(
    path: Path,
    tables: list[Table],
    confusion: list[Table],
    figures_png: dict[str, bytes] | None = None,
) -> Path:
    """Write the workbook atomically; returns the path."""
    return finish_workbook(begin_workbook(tables, confusion), path, figures_png)


def begin_workbook(tables: list[Table], confusion: list[Table]) -> Workbook:
    """A write-only workbook with every table sheet written, the figures still to come (the
    figures can then be drawn while the tables are written, see :mod:`dermstudy.reports.bundle`)."""
    early = [t for t in tables if t.name in DATA_ONLY_TABLES]
    return continue_workbook(start_workbook(early), tables, confusion)


# Tables made from the study's data alone, not from the analysis (tables.data_tables): their sheets
# are written first, so that they can be written while the analysis runs (bundle.produce). The
# serial path writes them first too, so both give the same bytes (shared strings are numbered in
# the order they are written).
DATA_ONLY_TABLES = ("answers",)


@dataclass
class PartialWorkbook:
    """A write-only workbook with only the data-only sheets written (by table name)."""

    wb: Workbook
    written: dict[str, WriteOnlyWorksheet]


def start_workbook(early: list[Table]) -> PartialWorkbook:
    """A workbook with the data-only ``early`` tables written (before the report exists)."""
    wb = Workbook(write_only=True)
    written = {}
    for table in early:
        write_table_sheet(wb, table, sheet_name(table, set(_titles(written))))
        written[table.name] = wb._sheets[-1]
    return PartialWorkbook(wb, written)


def _titles(written: dict[str, WriteOnlyWorksheet]) -> list[str]:
    return [ws.title for ws in written.values()]


def continue_workbook(
    partial: PartialWorkbook, tables: list[Table], confusion: list[Table]
) -> Workbook:
    """Write the sheets of ``tables`` not yet written and the confusion matrices, then put every
    sheet in ``tables`` order (a write-only sheet is written as it is made: only the list of
    sheets can be reordered, which openpyxl numbers at save time)."""
    wb, written = partial.wb, partial.written
    taken: set[str] = set(_titles(written))
    ordered = []
    for table in tables:
        if table.name in written:
            ordered.append(written[table.name])
            continue
        write_table_sheet(wb, table, sheet_name(table, taken))
        ordered.append(wb._sheets[-1])
    if confusion:
        write_blocks_sheet(wb, confusion, "Confusion matrices")
        ordered.append(wb._sheets[-1])
    if len(ordered) != len(wb._sheets):
        raise ValueError("a sheet written before the report is not among its tables")
    wb._sheets[:] = ordered
    return wb


def finish_workbook(wb: Workbook, path: Path, figures_png: dict[str, bytes] | None = None) -> Path:
    """Add the Figures sheet to a :func:`begin_workbook` workbook and save it atomically."""
    if figures_png:
        write_figures_sheet(wb, figures_png)
    path = Path(path)
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return path
