"""Counts of a workspace's images per entity, kind and source."""

from __future__ import annotations

from dermstudy.entities import BY_CODE, CODES
from dermstudy.workspace import Workspace
from dermstudy.workspace.images import ImageRepository


def dataset_summary(ws: Workspace) -> dict:
    """``{"total", "by_entity": {code: {"real", "synthetic"}}, "by_source": {...}, "lesions"}``."""
    by_entity = {code: {"real": 0, "synthetic": 0} for code in CODES}
    by_source: dict[str, dict[str, int]] = {}
    images = ImageRepository(ws)
    for entity, kind, source, count in images.counts():
        by_entity[entity][kind] += count
        by_source.setdefault(source, {code: 0 for code in CODES})[entity] += count
    total = sum(v["real"] + v["synthetic"] for v in by_entity.values())
    lesions = images.distinct_lesions()
    return {"total": total, "by_entity": by_entity, "by_source": by_source, "lesions": lesions}


def summary_text(summary: dict) -> str:
    lines = [f"{'entity':<8}{'real':>7}{'synthetic':>11}  name"]
    for code in CODES:
        counts = summary["by_entity"][code]
        lines.append(f"{code:<8}{counts['real']:>7}{counts['synthetic']:>11}  {BY_CODE[code].name}")
    real = sum(v["real"] for v in summary["by_entity"].values())
    synthetic = sum(v["synthetic"] for v in summary["by_entity"].values())
    lines.append(f"{'total':<8}{real:>7}{synthetic:>11}")
    lines.append(f"distinct lesions: {summary['lesions']}")
    for source, counts in sorted(summary["by_source"].items()):
        lines.append(f"source {source}: {sum(counts.values())} images")
    return "\n".join(lines)
