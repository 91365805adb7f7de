"""Plain-text view of a study report, for the terminal (``dermstudy report`` without ``--json``)."""

from __future__ import annotations

import textwrap
from typing import Any

from dermstudy.reports.display import fmt
from dermstudy.reports.tables import Table, all_tables


def format_value(value: Any, decimals: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return fmt(value) if decimals else f"{value:.4g}"
    return str(value)


# Longer text cells (methods, audit warnings) wrap onto more lines, so one long value does not push
# every number of its column hundreds of characters to the right.
MAX_CELL_WIDTH = 100


def format_table(
    table: Table, max_rows: int | None = None, columns: list[int] | None = None
) -> str:
    """A fixed-width rendering of one table, with its title and notes."""
    cols = columns if columns is not None else list(range(len(table.header)))
    rows = table.rows if max_rows is None else table.rows[:max_rows]
    cells = [[table.header[c] for c in cols]]
    cells += [[format_value(row[c], c in table.decimal_columns) for c in cols] for row in rows]
    wrapped = [[_wrap(v) for v in row] for row in cells]
    widths = [max(len(line) for r in wrapped for line in r[i]) for i in range(len(cols))]
    lines = [table.title, "=" * len(table.title)]
    for k, row in enumerate(wrapped):
        for depth in range(max(len(cell) for cell in row)):
            parts = [cell[depth] if depth < len(cell) else "" for cell in row]
            lines.append(
                "  ".join(
                    v.ljust(w) if i == 0 or not _numeric(v) else v.rjust(w)
                    for i, (v, w) in enumerate(zip(parts, widths, strict=True))
                ).rstrip()
            )
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    if max_rows is not None and len(table.rows) > max_rows:
        lines.append(f"... {len(table.rows) - max_rows} more rows")
    lines += [f"note: {n}" for n in table.notes]
    return "\n".join(lines)


def _wrap(text: str) -> list[str]:
    if len(text) <= MAX_CELL_WIDTH:
        return [text]
    return textwrap.wrap(text, MAX_CELL_WIDTH, break_on_hyphens=False) or [""]


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# Columns shown in the terminal for the wide report tables (the workbook has them all).
_REPORT_COLUMNS = [0, 2, 3, 4, 5, 6, 7, 8, 9]


def render_text(report: dict[str, Any]) -> str:
    """The report's tables as text, in workbook order (without the raw answers)."""
    parts = []
    for table in all_tables(report):
        if table.name in ("entity", "ai_vs_real"):
            parts.append(format_table(table, columns=_REPORT_COLUMNS))
        elif table.name == "subsets":
            parts.append(format_table(table, columns=[0, *[c + 1 for c in _REPORT_COLUMNS]]))
        elif table.name == "study":
            table.rows = [r for r in table.rows if not str(r[0]).startswith("method:")]
            parts.append(format_table(table))
        elif table.name == "missing":
            parts.append(format_table(table, max_rows=20))
        elif table.image_column is not None:  # no pictures in a terminal
            shown = [c for c in range(len(table.header)) if c != table.image_column]
            parts.append(format_table(table, columns=shown))
        else:
            parts.append(format_table(table))
    return "\n\n".join(parts) + "\n"
