"""The Quality panel's data: the entity and overall rows, the memorisation pairs, notes and status.

Built from a :class:`~dermstudy.quality.report.QualityReport`. Every cell carries its text and the
value it sorts by (numbers as numbers, entities in the research's order, an empty value last), so
the panel's sortable tables only copy cells into items.
"""

from __future__ import annotations

from dataclasses import dataclass

from dermstudy.entities import CODES
from dermstudy.quality.report import NearestReal, QualityReport, QualityRow
from dermstudy.quality.tables import COLUMNS, cell, value

SortKey = float | int | str | None

MEMORISATION_SORT_COLUMN = 3  # pixel RMSE: the nearest pairs first


def two_lines(header: str) -> str:
    """A column header on two lines, broken at its first space or hyphen."""
    for sep, keep in ((" ", ""), ("-", "-")):
        if sep in header:
            head, tail = header.split(sep, 1)
            return f"{head}{keep}\n{tail}"
    return header


# Two-line headers: the 14 entity columns fit a 1366-px screen without scrolling sideways.
ENTITY_HEADERS = [two_lines(header) for _, header in COLUMNS]
MEMORISATION_HEADERS = [
    two_lines(header)
    for header in (
        "Entity",
        "Synthetic",
        "Real (pixels)",
        "Pixel RMSE",
        "Real (Inception)",
        "Cosine",
        "Near-copy",
    )
]


def sorts_before(mine: SortKey, theirs: SortKey) -> bool:
    """The tables' order: by number (text compared as text), an empty value after every other."""
    if mine is None or theirs is None:
        return mine is not None and theirs is None
    if isinstance(mine, str) or isinstance(theirs, str):
        return str(mine) < str(theirs)
    return mine < theirs


@dataclass(frozen=True)
class Cell:
    """One table cell: its text, the value it sorts by, and an optional tooltip."""

    text: str
    key: SortKey
    tooltip: str = ""
    label: bool = False  # a name that sorts by a number (entities in research order): left-aligned

    @property
    def right_aligned(self) -> bool:
        return isinstance(self.key, (int, float)) and not self.label


def entity_order(code: str) -> int:
    """Entities sort in the research's order (mel, nv, akiec, ...), not alphabetically."""
    return CODES.index(code) if code in CODES else len(CODES)


def quality_cells(row: QualityRow) -> list[Cell]:
    """One row of the per-entity table (or the overall line), column by column."""
    tooltip = "\n".join([cell(row, "entity"), *row.notes])
    entity = Cell(row.entity, entity_order(row.entity), tooltip, label=True)
    return [
        entity if key == "entity" else Cell(cell(row, key), value(row, key)) for key, _ in COLUMNS
    ]


def _text(number: int | float | None, spec: str = "") -> str:
    return "–" if number is None else format(number, spec)


def memorisation_cells(pair: NearestReal) -> list[Cell]:
    """One synthetic image's nearest real images, as the memorisation table shows them."""
    return [
        Cell(pair.entity, pair.entity),
        Cell(str(pair.synthetic_id), pair.synthetic_id),
        Cell(str(pair.pixel_real_id), pair.pixel_real_id),
        Cell(f"{pair.pixel_rmse:.4f}", pair.pixel_rmse),
        Cell(_text(pair.feature_real_id), pair.feature_real_id),
        Cell(_text(pair.feature_cosine, ".4f"), pair.feature_cosine),
        Cell("yes" if pair.near_copy else "", int(pair.near_copy)),
    ]


def pair_captions(pair: NearestReal) -> tuple[str, str]:
    """The captions over the synthetic image and its nearest real image (by pixels)."""
    flag = " — near-copy" if pair.near_copy else ""
    return (
        f"Synthetic image {pair.synthetic_id} ({pair.entity}){flag}",
        f"Nearest real image {pair.pixel_real_id}: pixel RMSE {pair.pixel_rmse:.4f}",
    )


def notes_text(report: QualityReport) -> str:
    """The Notes tab: the report's notes, skipped metrics, each row's notes, the feature models."""
    lines = [*report.notes]
    lines += [f"Skipped ({metric}): {reason}" for metric, reason in report.skipped.items()]
    for row in [*report.rows, report.overall]:
        lines += [f"{row.entity}: {note}" for note in row.notes]
    lines += [f"Features: {name}" for name in report.extractors.values()]
    return "\n\n".join(lines)


def status_text(report: QualityReport) -> str:
    """The one line beside the buttons once a report is shown."""
    copies = report.overall.near_copies
    return (
        f"{report.overall.n_synthetic} synthetic images, {len(report.rows)} entities; "
        f"{copies} near-cop{'y' if copies == 1 else 'ies'}."
    )
