"""The Studies and Reading panels' data: the New-study form as a ``StudyDesign`` (and back), the
study list and one study's details and readers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dermstudy.arguments import same_named_fields
from dermstudy.entities import BY_CODE
from dermstudy.study.design import HARMONISE_JPEG, HARMONISE_NONE, HARMONISE_SOFTEN, StudyDesign
from dermstudy.ui.messages import STUDY_LABELS, in_gui_terms

# The New study dialog's reading choices: (label, the design's value).
ORDER_CHOICES = (
    ("Same order for every reader", "same"),
    ("Own order per reader", "per-reader"),
)
SCALE_CHOICES = (
    ("Five-point (definitely real … definitely AI)", "five-point"),
    ("Binary (real / AI)", "binary"),
)
# study.blinding's harmonisations (README, "Blinding and data integrity"): what every case image
# goes through so that real and generated images do not differ in format traces.
HARMONISE_CHOICES = (
    ("Soften: the same blur and fresh noise on every image (recommended)", HARMONISE_SOFTEN),
    ("JPEG: re-encode every image at one quality", HARMONISE_JPEG),
    ("None: resize only (format traces may tell real from AI)", HARMONISE_NONE),
)


@dataclass(frozen=True)
class NewStudyForm:
    """The New-study dialog's form as plain values: the texts as typed (lists comma-separated),
    the reading options under the design's own field names, one count pair for every entity."""

    name: str
    entities: tuple[str, ...]
    real_per_entity: int
    synthetic_per_entity: int
    seed: str  # "": a random one
    display_size: int
    order: str
    allow_back: bool
    answer_scale: str
    entity_confidence: bool
    practice: int
    exclude_sets: str
    exclude_splits: str
    synthetic_filters: str  # KEY=PATTERN, …
    one_per_lesion: bool
    harmonise: str

    @classmethod
    def from_design(cls, design: StudyDesign) -> NewStudyForm:
        """The form showing ``design`` (its first entity's counts stand for every entity's)."""
        real, synthetic = next(iter(design.counts.values()))
        pools = design.pools
        return cls(
            entities=tuple(design.counts),
            real_per_entity=real,
            synthetic_per_entity=synthetic,
            seed="" if design.seed is None else str(design.seed),
            exclude_sets=", ".join(pools.exclude_sets),
            exclude_splits=", ".join(pools.exclude_splits),
            synthetic_filters=", ".join(
                f"{key}={pattern}" for key, pattern in pools.synthetic_filters
            ),
            one_per_lesion=pools.one_per_lesion,
            **same_named_fields(cls, design, skip=("seed",)),
        )

    @classmethod
    def defaults(cls) -> NewStudyForm:
        """The empty form: no name, every other value the design's default."""
        return cls.from_design(StudyDesign.with_counts(""))

    def design(self) -> StudyDesign:
        """The ``StudyDesign`` the form describes; raises ValueError with a readable message
        (``StudyDesign.validate`` checks the rest)."""
        from dermstudy.study.pools import PoolOptions, parse_filter

        name = self.name.strip()
        if not name:
            raise ValueError("give the study a name")
        seed = self.seed.strip()
        if seed and not seed.lstrip("-").isdigit():
            raise ValueError(f"seed must be a whole number, not {seed!r}")
        if not self.entities:
            raise ValueError("choose at least one entity")
        pools = PoolOptions(
            exclude_sets=_csv(self.exclude_sets),
            exclude_splits=_csv(self.exclude_splits),
            synthetic_filters=tuple(parse_filter(f) for f in _csv(self.synthetic_filters)),
            one_per_lesion=self.one_per_lesion,
        )
        return StudyDesign.with_counts(
            name,
            list(self.entities),
            self.real_per_entity,
            self.synthetic_per_entity,
            seed=int(seed) if seed else None,
            pools=pools,
            **same_named_fields(StudyDesign, self, skip=("name", "seed")),
        )


def _csv(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _minute(stamp: str | None, missing: str = "") -> str:
    """An ISO time stamp to the minute, with a space instead of the ``T``."""
    return (stamp or missing)[:16].replace("T", " ")


def study_list_rows(studies: list[dict[str, Any]]) -> list[list[object]]:
    """The Studies list: name, scored cases, readers, finished readers (from ``list_studies``)."""
    return [[s["name"], s["cases"], s["readers"], s["finished_readers"]] for s in studies]


@dataclass(frozen=True)
class StudyDetails:
    """One study as the Studies panel shows it (from ``study_summary``)."""

    title: str
    design_text: str
    count_rows: list[list[object]]  # entity, real, synthetic, total
    reader_rows: list[list[object]]  # reader, answered / cases, practice, started, finished


def study_details(summary: dict[str, Any]) -> StudyDetails:
    counts = [
        [BY_CODE[code].short_name, c["real"], c["synthetic"], c["real"] + c["synthetic"]]
        for code, c in summary["counts"].items()
    ]
    readers = [
        [
            r["reader"],
            f"{r['answered']} / {summary['cases']}",
            r["practice_answered"],
            _minute(r["started_at"]),
            _minute(r["finished_at"], "—"),
        ]
        for r in summary["readers"]
    ]
    return StudyDetails(
        title=f"{summary['name']} — {summary['cases']} scored cases",
        design_text=design_text(summary),
        count_rows=counts,
        reader_rows=readers,
    )


def reading_progress_rows(summary: dict[str, Any]) -> list[list[str]]:
    """The Reading panel's readers: name, answered / cases, finished (from ``study_summary``)."""
    return [
        [r["reader"], f"{r['answered']} / {summary['cases']}", _minute(r["finished_at"], "—")]
        for r in summary["readers"]
    ]


def design_text(summary: dict[str, Any]) -> str:
    """The study's reading settings, pools, creation time, blinding audit and warnings."""
    reading, design = summary["reading"], summary["design"]
    pools = design.get("pools", {})
    scale = "five-point scale" if reading.get("answer_scale") == "five-point" else "binary"
    parts = [
        f"Seed {summary['seed']}",
        f"{reading.get('display_size')} px",
        "own order per reader" if reading.get("order") == "per-reader" else "same order",
        "going back allowed" if reading.get("allow_back") else "no going back",
        scale,
    ]
    if reading.get("entity_confidence"):
        parts.append("with entity confidence")
    if summary.get("practice_cases"):
        parts.append(f"{summary['practice_cases']} practice cases")
    pool_parts = []
    if pools.get("exclude_sets"):
        pool_parts.append("excluding sets " + ", ".join(pools["exclude_sets"]))
    if pools.get("exclude_splits"):
        pool_parts.append("excluding splits " + ", ".join(pools["exclude_splits"]))
    if pools.get("synthetic_filters"):
        pool_parts.append("synthetic " + ", ".join(pools["synthetic_filters"]))
    if pools.get("one_per_lesion", True):
        pool_parts.append("one image per lesion")
    created = _minute(summary["created_at"])
    blinding = summary.get("blinding", {})
    harmonised = (
        f"\nImages harmonised: {blinding['harmonise']}" if blinding.get("harmonise") else ""
    )
    combined = (blinding.get("audit") or {}).get("combined")
    audit_text = (
        f"\nBlinding audit: real vs synthetic AUC {combined['auc']:.2f} "
        f"(chance threshold {combined['threshold']:.2f})"
        if combined
        else ""
    )
    warnings = "".join(
        f"\nWarning: {in_gui_terms(w, STUDY_LABELS)}" for w in summary.get("warnings", [])
    )
    return (
        " · ".join(parts)
        + f"\nPools: {'; '.join(pool_parts) or 'all images'}\nCreated {created}"
        + harmonised
        + audit_text
        + warnings
    )
