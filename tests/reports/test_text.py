"""The terminal view: long text cells wrap, numbers keep a readable column."""

from __future__ import annotations

from dermstudy.reports.tables import Table
from dermstudy.reports.text import MAX_CELL_WIDTH, format_table


def test_a_long_text_value_wraps_instead_of_widening_its_column():
    warning = " ".join(f"feature{i} tells real from synthetic (AUC 0.8{i})" for i in range(12))
    table = Table("study", "Study", ["item", "value"], [["seed", 2026], ["warnings", warning]])
    lines = format_table(table).splitlines()
    assert max(len(line) for line in lines) <= len("warnings") + 2 + MAX_CELL_WIDTH
    seed_line = next(line for line in lines if line.startswith("seed"))
    assert len(seed_line) <= len("warnings") + 2 + MAX_CELL_WIDTH
    assert seed_line.endswith("2026")
    # Every word of the long value is kept, in order, on the lines that follow its label.
    start = next(k for k, line in enumerate(lines) if line.startswith("warnings"))
    shown = " ".join(line[len("warnings") + 2 :].strip() for line in lines[start:])
    assert shown.split() == warning.split()
    assert len(lines) - start > 1
