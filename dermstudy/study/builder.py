"""Creating a study: draw cases from the pools (seeded), blind them, and freeze them in the workspace.

What to draw is a :class:`~dermstudy.study.design.StudyDesign` (the settings object, re-exported
here). The drawing depends only on the seed, the design and the workspace's images, so the same seed
on the same workspace draws the same images in the same base order. The whole design, the seed and the
per-reader ``order_key`` are stored in ``studies.settings``; cases are written in one transaction and
can never change afterwards (the ``cases_frozen`` trigger).

``studies.settings`` JSON: ``uid`` (random, ties reader packages to the study), ``order_key``,
``reading`` (:class:`~dermstudy.reading.ReadingSettings`), ``design`` (entities, counts, pools),
``blinding`` (format, mode, size, crop, filter), ``created_by``.
"""

from __future__ import annotations

import random
import secrets
import uuid
from dataclasses import dataclass

from dermstudy import __version__
from dermstudy.jobs import CancelToken, Progress, ProgressEvent, no_progress
from dermstudy.study.audit import AuditResult, audit_features, image_features
from dermstudy.study.blinding import (
    BLINDED_FORMAT,
    BLINDED_MODE,
    BLINDED_SUFFIX,
    DEFAULT_HARMONISE,
    JPEG_QUALITY,
    SOFTEN_NOISE,
    SOFTEN_SIGMA,
    BlindingError,
    blind_image,
    new_case_code,
    new_secret,
)
from dermstudy.study.design import StudyDesign as StudyDesign
from dermstudy.study.design import StudyError as StudyError
from dermstudy.study.pools import Pool, PoolError, build_pool, excluded_image_ids
from dermstudy.workspace import Workspace, now_iso
from dermstudy.workspace.images import ImageRepository
from dermstudy.workspace.studies import StudyRepository


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
