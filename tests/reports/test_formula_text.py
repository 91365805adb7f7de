"""Issue 12 item 6: text from users never reaches the workbook as a live formula."""

from __future__ import annotations

import openpyxl

from dermstudy.reports.excel import write_workbook
from dermstudy.reports.tables import Table

EVIL = "=cmd|' /C calc'!A0"


def test_formula_leading_text_is_written_as_text_in_every_kind_of_cell(tmp_path):
    table = Table(
        "readers",
        EVIL,
        ["reader", EVIL, "auc"],
        [[EVIL, "=1+1", 0.75], ["ok", None, 0.5]],
        notes=[EVIL],
        decimal_columns={2},
    )
    block = Table("confusion", "Confusion", ["truth", "mel"], [[EVIL, 1.0]], decimal_columns={1})
    path = write_workbook(tmp_path / "r.xlsx", [table], [block])
    book = openpyxl.load_workbook(path)
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value]
    texts = [c for c in cells if isinstance(c.value, str) and c.value.startswith("=")]
    assert len(texts) >= 6
    assert all(c.data_type == "s" for c in texts)  # 'f' would be a live formula
    assert {c.value for c in texts} == {EVIL, "=1+1"}  # the text itself is kept exactly
    numbers = [c for c in cells if isinstance(c.value, float)]
    assert numbers and all(c.number_format == "0.00" for c in numbers if c.value == 0.75)
