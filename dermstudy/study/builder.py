"""Creating a study: draw cases from the pools (seeded), blind them, and freeze them in the workspace.

The drawing depends only on the seed, the design and the workspace's images, so the same seed on the
same workspace draws the same images in the same base order. The whole design, the seed and the
per-reader ``order_key`` are stored in ``studies.settings``; cases are written in one transaction and
can never change afterwards (the ``cases_frozen`` trigger).

``studies.settings`` JSON: ``uid`` (random, ties reader packages to the study), ``order_key``,
``reading`` (:class:`~dermstudy.reading.ReadingSettings`), ``design`` (entities, counts, pools),
``blinding`` (format, mode, size, crop, filter), ``created_by``.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from dermstudy import __version__
from dermstudy.entities import CODES, parse_entity
from dermstudy.errors import DermstudyError
from dermstudy.jobs import CancelToken, Progress, ProgressEvent, no_progress
from dermstudy.reading.answers import ANSWER_SCALES, FIVE_POINT, ORDER_SAME, ORDERS, ReadingSettings
from dermstudy.study.audit import AuditResult, audit_features, image_features
from dermstudy.study.blinding import (
    BLINDED_FORMAT,
    BLINDED_MODE,
    BLINDED_SUFFIX,
    DEFAULT_HARMONISE,
    HARMONISATIONS,
    JPEG_QUALITY,
    SOFTEN_NOISE,
    SOFTEN_SIGMA,
    BlindingError,
    blind_image,
    new_case_code,
    new_secret,
)
from dermstudy.study.pools import (
    Pool,
    PoolError,
    PoolOptions,
    build_pool,
    excluded_image_ids,
    parse_filter,
)
from dermstudy.workspace import Workspace, now_iso
from dermstudy.workspace.images import ImageRepository
from dermstudy.workspace.studies import StudyRepository


class StudyError(DermstudyError, ValueError):
    """A study cannot be created or found; the message says which and why."""


@dataclass
class StudyDesign:
    """Everything a coordinator chooses when creating a study.

    ``counts`` maps entity code -> (real, synthetic) cases; build it with :meth:`with_counts`.
    """

    name: str
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)
    seed: int | None = None
    display_size: int = 256
    order: str = ORDER_SAME
    allow_back: bool = True
    answer_scale: str = FIVE_POINT
    entity_confidence: bool = False
    practice: int = 0
    pools: PoolOptions = field(default_factory=PoolOptions)
    harmonise: str = DEFAULT_HARMONISE

    @classmethod
    def with_counts(
        cls,
        name: str,
        entities: list[str] | None = None,
        real_per_entity: int = 10,
        synthetic_per_entity: int = 10,
        overrides: dict[str, tuple[int, int]] | None = None,
        **options: object,
    ) -> StudyDesign:
        codes = [parse_entity(e) for e in entities] if entities else list(CODES)
        counts = {code: (real_per_entity, synthetic_per_entity) for code in codes}
        for code, pair in (overrides or {}).items():
            counts[parse_entity(code)] = pair
        ordered = {code: counts[code] for code in CODES if code in counts}
        return cls(name=name, counts=ordered, **options)  # type: ignore[arg-type]

    def validate(self) -> None:
        if not self.name or self.name != self.name.strip() or len(self.name) > 100:
            raise StudyError("a study name must be 1-100 characters without surrounding spaces")
        if not self.counts:
            raise StudyError("a study needs at least one entity")
        for code, (real, synthetic) in self.counts.items():
            if real < 0 or synthetic < 0:
                raise StudyError(f"{code}: case counts cannot be negative")
        if sum(r + s for r, s in self.counts.values()) == 0:
            raise StudyError("a study needs at least one case")
        if not 16 <= self.display_size <= 4096:
            raise StudyError("display size must be between 16 and 4096 pixels")
        if self.order not in ORDERS:
            raise StudyError(f"order must be one of {', '.join(ORDERS)}")
        if self.answer_scale not in ANSWER_SCALES:
            raise StudyError(f"answer scale must be one of {', '.join(ANSWER_SCALES)}")
        if self.practice < 0:
            raise StudyError("practice cases cannot be negative")
        if self.harmonise not in HARMONISATIONS:
            raise StudyError(f"harmonisation must be one of {', '.join(HARMONISATIONS)}")

    # -- command line and JSON ------------------------------------------------------------------
    @classmethod
    def from_args(cls, args: argparse.Namespace) -> StudyDesign:
        """The design a parsed ``dermstudy study create`` command line asks for."""
        entities = [e for e in (args.entities or "").split(",") if e.strip()] or None
        overrides = dict(_parse_count(text) for text in args.count)
        filters = [parse_filter(f) for f in args.synthetic_filter]
        if args.synthetic_source:
            filters.append(("source", args.synthetic_source))
        if args.synthetic_model:
            filters.append(("model", args.synthetic_model))
        pools = PoolOptions(
            exclude_sets=tuple(args.exclude_set),
            exclude_splits=tuple(args.exclude_split),
            synthetic_filters=tuple(filters),
            one_per_lesion=not args.all_images_per_lesion,
        )
        return cls.with_counts(
            args.name,
            entities,
            args.real_per_entity,
            args.synthetic_per_entity,
            overrides,
            seed=args.seed,
            display_size=args.size,
            order=args.order,
            allow_back=args.allow_back,
            answer_scale=args.scale,
            entity_confidence=args.entity_confidence,
            practice=args.practice,
            pools=pools,
            harmonise=args.harmonise,
        )

    def to_argv(self) -> list[str]:
        """The ``dermstudy study create`` arguments that :meth:`from_args` reads back as this
        design (every entity's counts spelled out)."""
        argv = ["study", "create", self.name, "--entities", ",".join(self.counts)]
        for code, (real, synthetic) in self.counts.items():
            argv += ["--count", f"{code}={real},{synthetic}"]
        for name in self.pools.exclude_sets:
            argv += ["--exclude-set", name]
        for name in self.pools.exclude_splits:
            argv += ["--exclude-split", name]
        for key, pattern in self.pools.synthetic_filters:
            argv += ["--synthetic-filter", f"{key}={pattern}"]
        if not self.pools.one_per_lesion:
            argv.append("--all-images-per-lesion")
        if self.seed is not None:
            argv += ["--seed", str(self.seed)]
        argv += ["--size", str(self.display_size), "--harmonise", self.harmonise]
        argv += ["--order", self.order, "--scale", self.answer_scale]
        argv.append("--allow-back" if self.allow_back else "--no-allow-back")
        if self.entity_confidence:
            argv.append("--entity-confidence")
        return [*argv, "--practice", str(self.practice)]

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values: counts as ``{code: [real, synthetic]}``, filters as ``KEY=PATTERN``."""
        data = dataclasses.asdict(self)
        data["counts"] = {code: list(pair) for code, pair in self.counts.items()}
        data["pools"] = self.pools.to_dict()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StudyDesign:
        """A design from :meth:`to_json`'s form; a malformed one raises :class:`StudyError`."""
        try:
            values = dict(data)
            counts = {
                parse_entity(code): (int(real), int(synthetic))
                for code, (real, synthetic) in values.pop("counts").items()
            }
            pools = values.pop("pools", {})
            options = PoolOptions(
                exclude_sets=tuple(pools.get("exclude_sets", ())),
                exclude_splits=tuple(pools.get("exclude_splits", ())),
                synthetic_filters=tuple(
                    parse_filter(f) for f in pools.get("synthetic_filters", ())
                ),
                one_per_lesion=bool(pools.get("one_per_lesion", True)),
            )
            return cls(counts=counts, pools=options, **values)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise StudyError(f"study design: {exc}") from None

    def reading_settings(self) -> ReadingSettings:
        return ReadingSettings(
            answer_scale=self.answer_scale,
            allow_back=self.allow_back,
            entity_confidence=self.entity_confidence,
            display_size=self.display_size,
            practice=self.practice,
            order=self.order,
        )


def _parse_count(text: str) -> tuple[str, tuple[int, int]]:
    """``ENTITY=REAL,SYNTHETIC`` (``--count``) -> (code, (real, synthetic))."""
    entity, _, pair = text.partition("=")
    try:
        real, synthetic = (int(x) for x in pair.split(","))
    except ValueError:
        raise StudyError(f"--count {text!r}: expected ENTITY=REAL,SYNTHETIC, e.g. df=5,5") from None
    return parse_entity(entity), (real, synthetic)


@dataclass(frozen=True)
class DrawnCase:
    image_id: int
    practice: bool


def draw_cases(ws: Workspace, design: StudyDesign, seed: int) -> list[DrawnCase]:
    """The study's cases in base order (practice first): seeded, and a clear error on any shortfall."""
    try:
        excluded = excluded_image_ids(ws, design.pools)
        pools = {
            (code, kind): build_pool(ws, code, kind, design.pools, excluded)
            for code in design.counts
            for kind in ("real", "synthetic")
        }
    except PoolError as exc:
        raise StudyError(str(exc)) from None
    check_shortfall(pools, design.counts, design.pools.one_per_lesion)
    rng = random.Random(seed)
    taken: set[str] = set()
    scored: list[int] = []
    for code, (real, synthetic) in design.counts.items():
        scored += pools[(code, "real")].draw(rng, real, taken)
        scored += pools[(code, "synthetic")].draw(rng, synthetic, taken)
    rng.shuffle(scored)
    practice = draw_practice(rng, list(pools.values()), design.practice, taken)
    return [DrawnCase(i, True) for i in practice] + [DrawnCase(i, False) for i in scored]


def check_shortfall(
    pools: dict[tuple[str, str], Pool], counts: dict[str, tuple[int, int]], one_per_lesion: bool
) -> None:
    problems = []
    for code, (real, synthetic) in counts.items():
        for kind, wanted in (("real", real), ("synthetic", synthetic)):
            have = pools[(code, kind)].size
            if have < wanted:
                problems.append(
                    f"{code} {kind}: need {wanted}, pool has {have} (short by {wanted - have})"
                )
    if problems:
        hint = (
            " (pools count distinct lesions; --all-images-per-lesion lifts that)"
            if one_per_lesion
            else ""
        )
        raise StudyError("not enough images — " + "; ".join(problems) + hint)


def draw_practice(rng: random.Random, pools: list[Pool], n: int, taken: set[str]) -> list[int]:
    """``n`` practice images from what the scored draw left over (never a scored lesion)."""
    if n == 0:
        return []
    leftovers = Pool("any", "any")
    for pool in pools:
        for key, ids in pool.groups.items():
            if key not in taken:
                leftovers.groups[f"{pool.kind}:{key}"] = ids
    if leftovers.size < n:
        raise StudyError(
            f"not enough images left for {n} practice case(s): {leftovers.size} remain after drawing "
            "the scored cases"
        )
    return leftovers.draw(rng, n, set())


def create_study(
    ws: Workspace,
    design: StudyDesign,
    *,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> int:
    """Draw, blind and store a new study; returns its id. Nothing is written if anything fails.

    ``ws`` must have been opened on the calling thread (run this in a worker that opens its own
    Workspace). ``progress`` gets one event per blinded image; ``cancel`` is polled between images.
    """
    design.validate()
    if StudyRepository(ws).exists(design.name):
        raise StudyError(f"a study named {design.name!r} already exists (studies never change)")
    seed = design.seed if design.seed is not None else secrets.randbelow(2**31)
    drawn = draw_cases(ws, design, seed)
    secret = new_secret()
    blinded, features = blind_all(
        ws, drawn, design.display_size, progress, cancel, secret=secret, harmonise=design.harmonise
    )
    settings = study_settings(design, seed, drawn)
    settings["blinding"]["sources"] = source_sizes(ws, drawn, design.display_size)
    settings["blinding"]["audit"] = audit_drawn(ws, drawn, features).to_dict()
    return StudyRepository(ws).add(
        design.name,
        seed,
        settings,
        secret.hex(),
        [(case.image_id, case.practice, sha) for case, sha in zip(drawn, blinded, strict=True)],
        new_case_code,
        now_iso(),
    )


def blind_all(
    ws: Workspace,
    drawn: list[DrawnCase],
    size: int,
    progress: Progress,
    cancel: CancelToken | None,
    *,
    secret: bytes | None = None,
    harmonise: str = DEFAULT_HARMONISE,
) -> tuple[list[str], list[dict[str, float]]]:
    """Blind every drawn image into the ``cases`` store.

    Returns the blinded SHA-256s in order and each case file's audit features (computed here, while
    the bytes are in memory).
    """
    files = ImageRepository(ws).files([c.image_id for c in drawn])
    hashes, features = [], []
    for done, case in enumerate(drawn):
        if cancel is not None:
            cancel.raise_if_cancelled()
        path = ws.path_of(files[case.image_id])
        try:
            png = blind_image(path.read_bytes(), size, secret=secret, harmonise=harmonise)
        except (OSError, BlindingError) as exc:
            raise StudyError(f"image {case.image_id} ({files[case.image_id]}): {exc}") from None
        digest, _relative = ws.store_blob(png, BLINDED_SUFFIX, folder="cases")
        hashes.append(digest)
        features.append(image_features(png))
        progress(ProgressEvent(done + 1, len(drawn), "blinding case images"))
    return hashes, features


def image_kinds(ws: Workspace, image_ids: list[int]) -> dict[int, str]:
    return ImageRepository(ws).kinds(image_ids)


def audit_drawn(
    ws: Workspace, drawn: list[DrawnCase], features: list[dict[str, float]]
) -> AuditResult:
    """The blinding audit over every case a reader sees (practice cases included)."""
    kinds = image_kinds(ws, [c.image_id for c in drawn])
    return audit_features(features, [kinds[c.image_id] == "synthetic" for c in drawn])


def source_sizes(ws: Workspace, drawn: list[DrawnCase], size: int) -> dict[str, dict[str, int]]:
    """Per source kind: cases, how many were upscaled to the display size, smallest source side.

    Upscaling softens an image; if only one kind is upscaled, sharpness alone could give it away.
    """
    report: dict[str, dict[str, int]] = {}
    rows = ImageRepository(ws).kinds_and_short_sides([c.image_id for c in drawn])
    for kind, side in rows:
        entry = report.setdefault(kind, {"cases": 0, "upscaled": 0, "smallest_side": side})
        entry["cases"] += 1
        entry["upscaled"] += int(side < size)
        entry["smallest_side"] = min(entry["smallest_side"], side)
    return report


def blinding_warnings(settings: dict) -> list[str]:
    """Plain-language warnings about differences between real and synthetic sources."""
    audit = settings.get("blinding", {}).get("audit")
    return _upscale_warnings(settings) + (list(audit.get("warnings", [])) if audit else [])


def _upscale_warnings(settings: dict) -> list[str]:
    sources = settings.get("blinding", {}).get("sources", {})
    size = settings.get("blinding", {}).get("size")
    real, synthetic = sources.get("real"), sources.get("synthetic")
    if not real or not synthetic:
        return []
    share = {k: v["upscaled"] / v["cases"] for k, v in (("real", real), ("synthetic", synthetic))}
    if abs(share["real"] - share["synthetic"]) < 0.25:
        return []
    more = max(share, key=share.get)
    entry = sources[more]
    return [
        f"{entry['upscaled']} of {entry['cases']} {more} cases were upscaled to {size} px "
        f"(smallest source side {entry['smallest_side']} px) but only "
        f"{sources['synthetic' if more == 'real' else 'real']['upscaled']} of the other kind: "
        "readers may tell them apart by sharpness; consider a smaller --size or larger sources"
    ]


def study_settings(design: StudyDesign, seed: int, drawn: list[DrawnCase]) -> dict:
    return {
        "uid": uuid.uuid4().hex,
        "order_key": secrets.token_hex(16),
        "reading": design.reading_settings().to_dict(),
        "design": {
            "counts": {code: list(pair) for code, pair in design.counts.items()},
            "entities": list(design.counts),
            "pools": design.pools.to_dict(),
            "seed": seed,
            "scored_cases": sum(1 for c in drawn if not c.practice),
            "practice_cases": sum(1 for c in drawn if c.practice),
        },
        "blinding": {
            "format": BLINDED_FORMAT,
            "mode": BLINDED_MODE,
            "size": design.display_size,
            "crop": "centre-square",
            "filter": "lanczos",
            "png_compression": 0,
            "harmonise": design.harmonise,
            "harmonise_parameters": harmonise_parameters(design.harmonise),
            "dither": "secret per-study +-1 (HMAC-SHA-256 keyed; secret kept in the workspace only)",
        },
        "created_by": f"dermstudy {__version__}",
    }


def harmonise_parameters(harmonise: str) -> dict[str, float]:
    if harmonise == "soften":
        return {"blur_sigma_px": SOFTEN_SIGMA, "noise_sigma": SOFTEN_NOISE}
    if harmonise == "jpeg":
        return {"jpeg_quality": JPEG_QUALITY}
    return {}


def audit_study(ws: Workspace, name: str) -> AuditResult:
    """Re-run the blinding audit on a study's stored case files (as readers receive them)."""
    from dermstudy.study.queries import find_study

    study = find_study(ws, name)
    rows = [(r.blinded_sha256, r.kind) for r in StudyRepository(ws).key_rows(study["id"])]
    features = []
    for sha, _kind in rows:
        path = ws.path_of(ws.relative_blob_path(sha, BLINDED_SUFFIX, "cases"))
        try:
            features.append(image_features(path.read_bytes()))
        except OSError as exc:
            raise StudyError(f"case file {path} cannot be read ({exc.strerror or exc})") from None
    result = audit_features(features, [kind == "synthetic" for _sha, kind in rows])
    if ws.read_only:  # an archived workspace can still be audited; the run just is not logged
        return result
    with ws.transaction():
        ws.audit("study.audit", name, {"study_id": study["id"], **result.to_dict()})
    return result
