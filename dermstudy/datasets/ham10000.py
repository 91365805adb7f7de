"""HAM10000 import: metadata CSV + image files found anywhere below a folder → workspace images.

All valid rows are imported in one transaction; every invalid row is reported with its CSV line and
the reason, and a cancelled or failed import leaves the workspace as it was.
"""

from __future__ import annotations

import csv
import json
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dermstudy.datasets.images import (
    BadImageError,
    CheckedImage,
    find_image_files,
    read_and_check,
    remove_files,
)
from dermstudy.entities import CODES, UnknownEntityError, parse_entity
from dermstudy.errors import DermstudyError
from dermstudy.jobs import CancelToken, Progress, ProgressEvent, no_progress
from dermstudy.workspace import Workspace, now_iso
from dermstudy.workspace.core import sha256_bytes
from dermstudy.workspace.images import ImageRepository

SOURCE = "HAM10000"
METADATA_NAME = "HAM10000_metadata.csv"
REQUIRED_COLUMNS = ("lesion_id", "image_id", "dx", "dx_type", "age", "sex", "localization")
OPTIONAL_COLUMNS = ("dataset",)


class HamImportError(DermstudyError):
    """The import cannot start at all (no metadata file, missing columns); nothing was imported."""


@dataclass
class SkippedRow:
    line: int
    image_id: str
    reason: str
    file: str = ""


@dataclass
class ImportSummary:
    folder: str
    metadata: str
    rows: int = 0
    imported: dict[str, int] = field(default_factory=dict)
    already_present: int = 0
    skipped: list[SkippedRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    cancelled: bool = False

    @property
    def imported_total(self) -> int:
        return sum(self.imported.values())

    def to_dict(self) -> dict:
        data = asdict(self)
        data["imported_total"] = self.imported_total
        data["skipped_total"] = len(self.skipped)
        return data

    def to_text(self) -> str:
        lines = [f"HAM10000 import from {self.folder}", f"  metadata rows: {self.rows}"]
        if self.cancelled:
            lines.append("  CANCELLED: nothing was imported")
        lines.append(f"  imported: {self.imported_total}")
        for code in CODES:
            if self.imported.get(code):
                lines.append(f"    {code:<6} {self.imported[code]}")
        lines.append(f"  already in the workspace: {self.already_present}")
        lines.append(f"  skipped: {len(self.skipped)}")
        for reason, count in Counter(_reason_kind(s.reason) for s in self.skipped).most_common():
            lines.append(f"    {count} × {reason}")
        for skipped in self.skipped[:50]:
            lines.append(f"    line {skipped.line} ({skipped.image_id or '?'}): {skipped.reason}")
        if len(self.skipped) > 50:
            lines.append(f"    … and {len(self.skipped) - 50} more (use --json for all)")
        lines.extend(f"  warning: {w}" for w in self.warnings)
        return "\n".join(lines)


def _reason_kind(reason: str) -> str:
    return reason.split(":")[0]


@dataclass
class _Row:
    line: int
    values: dict[str, str]
    entity: str
    path: Path


def read_metadata(csv_path: Path) -> tuple[list[tuple[int, dict[str, str]]], list[str]]:
    """Rows of the metadata CSV with their 1-based file line numbers, and the header."""
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [name.strip() for name in (reader.fieldnames or [])]
            reader.fieldnames = header
            rows = [(reader.line_num, row) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise HamImportError(f"{csv_path}: cannot read the metadata CSV ({exc})") from exc
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise HamImportError(
            f"{csv_path}: missing column(s) {', '.join(missing)}; "
            f"expected {', '.join(REQUIRED_COLUMNS)} (found {', '.join(header) or 'no header'})"
        )
    return rows, header


def find_metadata(folder: Path) -> Path:
    direct = folder / METADATA_NAME
    if direct.is_file():
        return direct
    candidates = sorted(folder.rglob(METADATA_NAME))
    if not candidates:
        raise HamImportError(f"{folder}: no {METADATA_NAME} found in this folder or below it")
    return candidates[0]


def _validate_rows(
    rows: list[tuple[int, dict[str, str]]], files: dict[str, Path], summary: ImportSummary
) -> list[_Row]:
    valid: list[_Row] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        image_id = (row.get("image_id") or "").strip()
        if not image_id:
            summary.skipped.append(SkippedRow(line, "", "empty image_id"))
            continue
        if image_id in seen:
            summary.skipped.append(
                SkippedRow(
                    line, image_id, f"duplicate image_id: first seen on line {seen[image_id]}"
                )
            )
            continue
        seen[image_id] = line
        if not (row.get("lesion_id") or "").strip():
            summary.skipped.append(SkippedRow(line, image_id, "empty lesion_id"))
            continue
        dx = (row.get("dx") or "").strip()
        try:
            entity = parse_entity(dx)
        except UnknownEntityError:
            summary.skipped.append(
                SkippedRow(line, image_id, f"unknown dx code: {dx!r} (expected {', '.join(CODES)})")
            )
            continue
        path = files.get(image_id)
        if path is None:
            summary.skipped.append(
                SkippedRow(
                    line, image_id, f"missing image file: no {image_id}.jpg below the folder"
                )
            )
            continue
        valid.append(_Row(line, {k: (v or "").strip() for k, v in row.items() if k}, entity, path))
    return valid


def _provenance(row: _Row, folder: Path) -> dict:
    values = row.values
    age = values.get("age", "")
    provenance = {
        "dataset": SOURCE,
        "image_id": values["image_id"],
        "lesion_id": values["lesion_id"],
        "dx": values["dx"],
        "dx_type": values.get("dx_type", ""),
        "age": _float_or_none(age),
        "sex": values.get("sex", ""),
        "localization": values.get("localization", ""),
        "original_file": str(row.path.relative_to(folder)),
    }
    if values.get("dataset"):
        provenance["subset"] = values["dataset"]
    return provenance


def _float_or_none(text: str) -> float | None:
    """The number in ``text``; None where there is none (HAM10000 leaves some ages empty)."""
    try:
        return float(text)
    except ValueError:
        return None


def import_ham10000(
    ws: Workspace,
    folder: str | os.PathLike,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
    metadata: str | os.PathLike | None = None,
) -> ImportSummary:
    """Import a HAM10000-layout folder into ``ws``; see the module docstring for the guarantees."""
    folder = Path(folder).resolve()
    if not folder.is_dir():
        raise HamImportError(f"{folder}: not a folder")
    csv_path = Path(metadata) if metadata else find_metadata(folder)
    rows, _header = read_metadata(csv_path)
    summary = ImportSummary(folder=str(folder), metadata=str(csv_path), rows=len(rows))
    progress(ProgressEvent(0, len(rows), "scanning image files"))
    files, repeated = find_image_files(folder)
    for stem, paths in repeated[:20]:
        summary.warnings.append(f"{stem} found {len(paths)} times; using {paths[0]}")
    valid = _validate_rows(rows, files, summary)
    existing = _existing_hashes(ws)
    new_blobs: list[Path] = []
    pending: list[tuple[_Row, CheckedImage, str]] = []
    try:
        for done, (row, checked) in enumerate(_check_all(valid), start=1):
            if cancel is not None:
                cancel.raise_if_cancelled()
            if isinstance(checked, BadImageError):
                summary.skipped.append(
                    SkippedRow(
                        row.line, row.values["image_id"], f"corrupt image: {checked}", str(row.path)
                    )
                )
            else:
                _stage(ws, row, checked, existing, summary, pending, new_blobs)
            if done % 50 == 0 or done == len(valid):
                progress(ProgressEvent(done, len(valid), "checking and copying images"))
        os.sync()  # blobs reach the disk before the rows that name them are committed
        _commit(ws, pending, folder, summary)
    except BaseException as exc:
        remove_files(new_blobs)
        from dermstudy.jobs import Cancelled

        if isinstance(exc, Cancelled):
            summary.cancelled = True
            summary.imported = {}
            return summary
        raise
    return summary


def _check_all(rows: list[_Row]):
    """Decode images on a small thread pool (Pillow releases the GIL while decoding)."""

    def work(row: _Row) -> CheckedImage | BadImageError:
        try:
            return read_and_check(row.path)
        except BadImageError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=min(4, (os.cpu_count() or 2) + 1)) as pool:
        yield from zip(rows, pool.map(work, rows, chunksize=16), strict=True)


def _existing_hashes(ws: Workspace) -> dict[str, str]:
    """source_id → sha256 of HAM10000 images already in the workspace."""
    return ImageRepository(ws).hashes_of_source(SOURCE)


def _stage(ws, row, checked, existing, summary, pending, new_blobs) -> None:
    image_id = row.values["image_id"]
    digest = sha256_bytes(checked.data)
    if image_id in existing:
        if existing[image_id] == digest:
            summary.already_present += 1
        else:
            summary.skipped.append(
                SkippedRow(
                    row.line,
                    image_id,
                    "conflict: this image_id is already in the workspace with different content",
                    str(row.path),
                )
            )
        return
    relative = ws.relative_blob_path(digest, checked.suffix)
    if not ws.path_of(relative).exists():
        ws.store_blob(checked.data, checked.suffix, fsync=False)
        new_blobs.append(ws.path_of(relative))
    existing[image_id] = digest
    pending.append((row, checked, digest))


def _commit(ws: Workspace, pending, folder: Path, summary: ImportSummary) -> None:
    created = now_iso()
    records = [
        {
            "sha256": digest,
            "file": ws.relative_blob_path(digest, checked.suffix),
            "kind": "real",
            "entity": row.entity,
            "width": checked.width,
            "height": checked.height,
            "format": checked.format,
            "source": SOURCE,
            "source_id": row.values["image_id"],
            "lesion_id": row.values["lesion_id"],
            "provenance": json.dumps(_provenance(row, folder), sort_keys=True),
            "created_at": created,
        }
        for row, checked, digest in pending
    ]
    duplicates = _hashes_already_stored(ws, [r["sha256"] for r in records])
    keep = []
    for record, (row, _checked, _digest) in zip(records, pending, strict=True):
        if record["sha256"] in duplicates:
            summary.skipped.append(
                SkippedRow(
                    row.line,
                    row.values["image_id"],
                    f"duplicate content: identical to image {duplicates[record['sha256']]} "
                    "already in the workspace",
                    str(row.path),
                )
            )
        else:
            duplicates[record["sha256"]] = row.values["image_id"]
            keep.append(record)
    with ws.transaction():
        if keep:
            ws.db["images"].insert_all(keep, batch_size=500)
        ws.audit(
            "dataset.import",
            SOURCE,
            {
                "folder": str(folder),
                "imported": len(keep),
                "already_present": summary.already_present,
                "skipped": len(summary.skipped),
            },
        )
    summary.imported = dict(Counter(r["entity"] for r in keep))


def _hashes_already_stored(ws: Workspace, hashes: list[str]) -> dict[str, str]:
    return ImageRepository(ws).labels_of_hashes(hashes)
