"""The per-entity quality table: selections, features (cached), every metric, memorisation.

:func:`compute_quality` is the one job behind ``dermstudy quality`` and the Quality panel
(``fn(..., progress, cancel)``, :mod:`dermstudy.jobs`). Per entity it compares the selected
synthetic images with the real images of the same entity; the overall row averages the pixel metrics
over entities and computes FID/KID/IS on all selected images pooled. A metric whose weights are
missing is skipped with the reason in ``report.skipped``; the others are still computed.

Memorisation: for every synthetic image, its nearest real image of the same entity by pixel RMSE on
64 x 64 centre crops (all selected real images) and by cosine distance of Inception pool features
(the real images the FID uses); flagged as a near-copy when either distance is at or below its
threshold (:data:`PIXEL_COPY_RMSE`, :data:`FEATURE_COPY_COSINE`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from dermstudy.datasets.images import to_rgb
from dermstudy.entities import CODES
from dermstudy.errors import DermstudyError
from dermstudy.files import atomic_path
from dermstudy.jobs import CancelToken, Progress, ProgressEvent, no_progress
from dermstudy.quality import metrics
from dermstudy.quality.features import (
    ClassifierFeatures,
    FeatureExtractor,
    InceptionFeatures,
    InceptionLogits,
    PixelFeatures,
    WeightsMissing,
    find_classifier_checkpoint,
    is_weights_path,
)
from dermstudy.workspace import Workspace
from dermstudy.workspace.quality_images import LibraryImage, QualityImages

# Below this many images per side, FID is strongly biased (upwards) and KID's spread is wide.
MIN_DISTANCE_IMAGES = 50
# Near-copy thresholds, calibrated on the HAM10000 sample (see README "Image quality"): distinct
# real lesions of one entity are never this close; a lightly blurred and noised copy always is.
PIXEL_COPY_RMSE = 0.02
FEATURE_COPY_COSINE = 0.05


class QualityError(DermstudyError, ValueError):
    """The selection is empty or an option is invalid; the message says which."""


@dataclass(frozen=True)
class QualityOptions:
    synthetic_filters: tuple[tuple[str, str], ...] = ()
    real_filters: tuple[tuple[str, str], ...] = ()
    entities: tuple[str, ...] = ()
    seed: int = 0
    pixel_size: int = 256
    max_real: int = 200
    inception: bool = True
    is_splits: int = 10
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    classifier: str | None = "auto"  # a checkpoint path, "auto" (newest in the workspace) or None
    device: str = "cpu"
    batch_size: int = 16
    pixel_copy_rmse: float = PIXEL_COPY_RMSE
    feature_copy_cosine: float = FEATURE_COPY_COSINE

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["synthetic_filters"] = [f"{k}={v}" for k, v in self.synthetic_filters]
        data["real_filters"] = [f"{k}={v}" for k, v in self.real_filters]
        data["entities"] = list(self.entities)
        return data


@dataclass
class QualityRow:
    """One line of the table (an entity, or ``overall``); None where a metric was not computed."""

    entity: str
    n_synthetic: int
    n_real: int
    n_pairs: int = 0
    ssim: float | None = None
    psnr: float | None = None
    mse: float | None = None
    fid: float | None = None
    is_mean: float | None = None
    is_std: float | None = None
    kid_mean: float | None = None
    kid_std: float | None = None
    kid_subset_size: int | None = None
    cls_fd: float | None = None
    cls_kid_mean: float | None = None
    cls_kid_std: float | None = None
    near_copies: int = 0
    # Memorisation: the closest any synthetic image comes to a real image of the entity.
    min_pixel_rmse: float | None = None
    min_feature_cosine: float | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class NearestReal:
    """One synthetic image's nearest real image(s) and whether it looks like a copy."""

    entity: str
    synthetic_id: int
    synthetic_path: str
    pixel_real_id: int
    pixel_real_path: str
    pixel_rmse: float
    feature_real_id: int | None = None
    feature_real_path: str | None = None
    feature_cosine: float | None = None
    near_copy: bool = False


@dataclass
class QualityReport:
    rows: list[QualityRow]
    overall: QualityRow
    memorisation: list[NearestReal]
    skipped: dict[str, str]
    notes: list[str]
    options: dict[str, Any]
    extractors: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": [asdict(r) for r in self.rows],
            "overall": asdict(self.overall),
            "memorisation": [asdict(m) for m in self.memorisation],
            "skipped": self.skipped,
            "notes": self.notes,
            "options": self.options,
            "extractors": self.extractors,
        }


# -- feature cache -------------------------------------------------------------------------------


class FeatureCache:
    """Features per (extractor, image SHA-256) under ``<workspace>/cache/features/``: re-runs and
    the panel after the CLI skip the expensive network passes."""

    def __init__(self, root: Path, extractor: FeatureExtractor) -> None:
        self.folder = root / "cache" / "features" / extractor.name
        self.extractor = extractor

    def _path(self, sha256: str) -> Path:
        return self.folder / sha256[:2] / f"{sha256}.npy"

    def features(
        self,
        images: Sequence[LibraryImage],
        batch_size: int,
        tick: Callable[[int], None],
        cancel: CancelToken,
    ) -> np.ndarray:
        out: dict[str, np.ndarray] = {}
        todo = []
        for image in images:
            path = self._path(image.sha256)
            if path.is_file():
                out[image.sha256] = np.load(path)
                tick(1)
            else:
                todo.append(image)
        for start in range(0, len(todo), batch_size):
            cancel.raise_if_cancelled()
            batch = todo[start : start + batch_size]
            feats = self.extractor([_open(im) for im in batch])
            for image, row in zip(batch, feats, strict=True):
                out[image.sha256] = row
                with atomic_path(self._path(image.sha256)) as tmp:
                    np.save(tmp, row.astype(np.float32))
            tick(len(batch))
        if not images:
            return np.zeros((0, 0))
        return np.stack([np.asarray(out[im.sha256], dtype=np.float64) for im in images])


def _open(image: LibraryImage) -> Image.Image:
    with Image.open(image.path) as im:
        return to_rgb(im)


# -- the job -------------------------------------------------------------------------------------


def _sample(images: list[LibraryImage], limit: int, seed: int) -> list[LibraryImage]:
    if limit <= 0 or len(images) <= limit:
        return images
    chosen = random.Random(seed).sample(range(len(images)), limit)
    return [images[i] for i in sorted(chosen)]


def _extractors(ws: Workspace, options: QualityOptions, skipped: dict[str, str]):
    inception = logits = classifier = None
    if options.inception:
        try:
            inception = InceptionFeatures(options.device)
        except WeightsMissing as exc:
            skipped["fid"] = skipped["kid"] = str(exc)
        if inception is not None:
            try:
                logits = InceptionLogits(is_weights_path(), inception)
            except WeightsMissing as exc:
                skipped["is"] = str(exc)
        else:
            skipped["is"] = skipped["fid"]
    else:
        skipped["fid"] = skipped["kid"] = skipped["is"] = "Inception metrics turned off"
    if options.classifier:
        checkpoint = (
            find_classifier_checkpoint(ws.root)
            if options.classifier == "auto"
            else Path(options.classifier)
        )
        if checkpoint is None:
            skipped["classifier"] = (
                "classifier distance skipped: no classifier checkpoint in this workspace "
                "(train one, or pass --classifier FILE)"
            )
        else:
            try:
                classifier = ClassifierFeatures(checkpoint)
            except WeightsMissing as exc:
                skipped["classifier"] = str(exc)
    else:
        skipped["classifier"] = "classifier distance turned off"
    return inception, logits, classifier


def compute_quality(
    workspace: Workspace | Path | str,
    options: QualityOptions,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> QualityReport:
    """The full table; opens its own workspace connection when given a path (worker threads)."""
    cancel = cancel or CancelToken()
    if isinstance(workspace, Workspace):
        return _compute(workspace, options, progress, cancel)
    with Workspace.open(workspace, create=False) as ws:
        return _compute(ws, options, progress, cancel)


def _compute(
    ws: Workspace, options: QualityOptions, progress: Progress, cancel: CancelToken
) -> QualityReport:
    library = QualityImages(ws.conn, ws.root)
    entities = list(options.entities) or [
        e for e in CODES if e in library.entities_with("synthetic")
    ]
    if not entities:
        raise QualityError(f"no synthetic images in {ws.root}: import or generate some first")
    selections = []
    for entity in entities:
        synthetic = library.select("synthetic", entity, options.synthetic_filters)
        real_all = library.select("real", entity, options.real_filters)
        selections.append(
            (entity, synthetic, real_all, _sample(real_all, options.max_real, options.seed))
        )
    if not any(s for _, s, _, _ in selections):
        raise QualityError("no synthetic image matches the selection")

    skipped: dict[str, str] = {}
    inception, logits, classifier = _extractors(ws, options, skipped)
    pixels = PixelFeatures(64)
    networks = [x for x in (inception, classifier) if x is not None]
    total = sum(
        min(len(s), len(r)) + len(s) + len(ra) + len(networks) * (len(s) + len(r))
        for _, s, ra, r in selections
    )
    done = 0

    def tick(n: int, message: str = "") -> None:
        nonlocal done
        done += n
        progress(ProgressEvent(done, total, message))

    rows: list[QualityRow] = []
    memorisation: list[NearestReal] = []
    pooled: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {}
    pooled_logits: list[np.ndarray] = []
    for entity, synthetic, real_all, real in selections:
        row = QualityRow(entity, len(synthetic), len(real))
        if real is not real_all:
            row.notes.append(f"{len(real)} of {len(real_all)} real images (seeded sample)")
        rows.append(row)
        if not synthetic or not real:
            row.notes.append("needs synthetic and real images")
            continue
        _pixel_metrics(
            row, synthetic, real, options, lambda n, e=entity: tick(n, f"{e}: pixels"), cancel
        )
        feats: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for extractor in networks:
            cache = FeatureCache(ws.root, extractor)
            label = f"{entity}: {extractor.name}"
            f_syn = cache.features(
                synthetic, options.batch_size, lambda n, m=label: tick(n, m), cancel
            )
            f_real = cache.features(real, options.batch_size, lambda n, m=label: tick(n, m), cancel)
            feats[extractor.name] = (f_syn, f_real)
            pooled.setdefault(extractor.name, ([], []))
            pooled[extractor.name][0].append(f_syn)
            pooled[extractor.name][1].append(f_real)
        if inception is not None:
            f_syn, f_real = feats[inception.name]
            row.fid, row.kid_mean, row.kid_std, row.kid_subset_size = _distances(
                f_syn, f_real, options, row.notes, "FID"
            )
            if logits is not None:
                entity_logits = logits(f_syn)
                pooled_logits.append(entity_logits)
                row.is_mean, row.is_std = _is(entity_logits, options, row.notes)
        if classifier is not None:
            f_syn, f_real = feats[classifier.name]
            row.cls_fd, row.cls_kid_mean, row.cls_kid_std, _ = _distances(
                f_syn, f_real, options, row.notes, "classifier FD"
            )
        nearest = _nearest(
            entity,
            synthetic,
            real_all,
            real,
            pixels,
            feats.get(inception.name) if inception else None,
            options,
            lambda n, e=entity: tick(n, f"{e}: memorisation"),
            cancel,
        )
        row.near_copies = sum(n.near_copy for n in nearest)
        row.min_pixel_rmse = min((n.pixel_rmse for n in nearest), default=None)
        row.min_feature_cosine = min(
            (n.feature_cosine for n in nearest if n.feature_cosine is not None), default=None
        )
        memorisation.extend(nearest)

    overall = _overall(rows, pooled, pooled_logits, inception, classifier, options)
    overall.near_copies = sum(r.near_copies for r in rows)
    for key in ("min_pixel_rmse", "min_feature_cosine"):
        values = [getattr(r, key) for r in rows if getattr(r, key) is not None]
        setattr(overall, key, min(values) if values else None)
    notes = [
        metrics.WEAK_PAIRING_NOTE,
        f"Pairing: {metrics.PAIRING_RULE} (size={options.pixel_size}, seed={options.seed}).",
        f"PSNR and MSE on pixel values in {metrics.PIXEL_RANGE}.",
        f"FID/KID below {MIN_DISTANCE_IMAGES} images per side are flagged: FID is strongly biased "
        "for small sets; KID is unbiased, read it with its std.",
        f"Near-copy: nearest real image at pixel RMSE <= {options.pixel_copy_rmse} (64 x 64) or "
        f"Inception cosine distance <= {options.feature_copy_cosine}.",
    ]
    extractors = {"pixels": pixels.name}
    if inception is not None:
        extractors["inception"] = f"{inception.name} ({inception.path})"
    if classifier is not None:
        extractors["classifier"] = f"{classifier.name} ({classifier.checkpoint})"
    progress(ProgressEvent(total, total, "done"))
    return QualityReport(rows, overall, memorisation, skipped, notes, options.to_dict(), extractors)


def _pixel_metrics(row, synthetic, real, options, tick, cancel) -> None:
    pairs = metrics.pair_indices(len(synthetic), len(real), options.seed)
    scores = []
    for s, r in pairs:
        cancel.raise_if_cancelled()
        a = metrics.square_resize(_open(synthetic[s]), options.pixel_size)
        b = metrics.square_resize(_open(real[r]), options.pixel_size)
        scores.append(metrics.pixel_scores(a, b))
        tick(1)
    row.n_pairs = len(scores)
    row.ssim = float(np.mean([x.ssim for x in scores]))
    row.psnr = float(np.mean([x.psnr for x in scores]))
    row.mse = float(np.mean([x.mse for x in scores]))


def _distances(f_syn, f_real, options, notes, label):
    n = min(len(f_syn), len(f_real))
    if n < 2:
        notes.append(f"{label}/KID need at least 2 images per side")
        return None, None, None, None
    if n < MIN_DISTANCE_IMAGES and not any(label in x for x in notes):
        notes.append(f"{label}/KID on {n} < {MIN_DISTANCE_IMAGES} images: small-sample bias")
    fid = metrics.frechet_distance(f_syn, f_real)
    kid = metrics.kernel_inception_distance(
        f_syn, f_real, options.kid_subsets, options.kid_subset_size, seed=options.seed
    )
    return fid, kid.mean, kid.std, kid.subset_size


def _is(entity_logits, options, notes):
    if len(entity_logits) < options.is_splits:
        notes.append(f"IS needs at least {options.is_splits} images ({options.is_splits} splits)")
        return None, None
    order = np.random.RandomState(options.seed).permutation(len(entity_logits))
    score = metrics.inception_score(entity_logits[order], options.is_splits)
    return score.mean, score.std


def _nearest(entity, synthetic, real_all, real, pixels, inception_feats, options, tick, cancel):
    cancel.raise_if_cancelled()
    p_real = []
    for start in range(0, len(real_all), 64):
        cancel.raise_if_cancelled()
        batch = real_all[start : start + 64]
        p_real.append(pixels([_open(im) for im in batch]))
        tick(len(batch))
    p_real_arr = np.concatenate(p_real)
    p_syn = pixels([_open(im) for im in synthetic])
    tick(len(synthetic))
    rmse = np.sqrt(
        np.maximum(
            (p_syn**2).sum(1)[:, None] + (p_real_arr**2).sum(1)[None, :] - 2 * p_syn @ p_real_arr.T,
            0.0,
        )
        / p_syn.shape[1]
    )
    cos = None
    if inception_feats is not None:
        f_syn, f_real = inception_feats
        a = f_syn / np.linalg.norm(f_syn, axis=1, keepdims=True)
        b = f_real / np.linalg.norm(f_real, axis=1, keepdims=True)
        cos = 1.0 - a @ b.T
    out = []
    for i, image in enumerate(synthetic):
        j = int(np.argmin(rmse[i]))
        item = NearestReal(
            entity,
            image.id,
            str(image.path),
            real_all[j].id,
            str(real_all[j].path),
            float(rmse[i, j]),
        )
        if cos is not None:
            k = int(np.argmin(cos[i]))
            item.feature_real_id = real[k].id
            item.feature_real_path = str(real[k].path)
            item.feature_cosine = float(cos[i, k])
        item.near_copy = item.pixel_rmse <= options.pixel_copy_rmse or (
            item.feature_cosine is not None and item.feature_cosine <= options.feature_copy_cosine
        )
        out.append(item)
    return out


def _overall(rows, pooled, pooled_logits, inception, classifier, options) -> QualityRow:
    done = [r for r in rows if r.ssim is not None]
    overall = QualityRow("overall", sum(r.n_synthetic for r in rows), sum(r.n_real for r in rows))
    overall.n_pairs = sum(r.n_pairs for r in rows)
    if done:
        # The research's order: averaged per entity, then over entities.
        overall.ssim = float(np.mean([r.ssim for r in done]))
        overall.psnr = float(np.mean([r.psnr for r in done]))
        overall.mse = float(np.mean([r.mse for r in done]))
    for extractor, is_inception in ((inception, True), (classifier, False)):
        if extractor is None or extractor.name not in pooled:
            continue
        f_syn = np.concatenate(pooled[extractor.name][0])
        f_real = np.concatenate(pooled[extractor.name][1])
        fd, kid, kid_std, size = _distances(
            f_syn, f_real, options, overall.notes, "FID" if is_inception else "classifier FD"
        )
        if is_inception:
            overall.fid, overall.kid_mean, overall.kid_std, overall.kid_subset_size = (
                fd,
                kid,
                kid_std,
                size,
            )
        else:
            overall.cls_fd, overall.cls_kid_mean, overall.cls_kid_std = fd, kid, kid_std
    if pooled_logits:
        overall.is_mean, overall.is_std = _is(np.concatenate(pooled_logits), options, overall.notes)
    overall.notes.insert(0, "pixel metrics: mean over entities; FID/KID/IS: all images pooled")
    return overall
