"""The Dataset panel's per-entity counts table and its one-line summary."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dermstudy.entities import ENTITIES


@dataclass(frozen=True)
class CountRow:
    """One row of the counts table: an entity (or the total, with an empty code)."""

    code: str
    name: str
    real: int
    synthetic: int

    @property
    def total(self) -> int:
        return self.real + self.synthetic

    def cells(self) -> list[str]:
        return [self.code, self.name, f"{self.real:,}", f"{self.synthetic:,}", f"{self.total:,}"]


@dataclass(frozen=True)
class DatasetCounts:
    """Seven entity rows in the research order, then the total row."""

    rows: list[CountRow]
    total: CountRow

    def summary_text(self, root: Path | str) -> str:
        return (
            f"{self.total.total:,} images in {root} — {self.total.real:,} real, "
            f"{self.total.synthetic:,} synthetic"
        )


def dataset_counts(by_entity: dict[str, dict[str, int]]) -> DatasetCounts:
    """From ``dataset_summary(ws)["by_entity"]`` (code → {"real", "synthetic"})."""
    rows = [
        CountRow(e.code, e.name, by_entity[e.code]["real"], by_entity[e.code]["synthetic"])
        for e in ENTITIES
    ]
    total = CountRow("", "Total", sum(r.real for r in rows), sum(r.synthetic for r in rows))
    return DatasetCounts(rows, total)
