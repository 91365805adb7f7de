"""Import of synthetic images generated elsewhere (another machine, another tool).

Either a folder of images that all show one entity, or a CSV with columns ``file,entity`` (file paths
relative to the CSV). Images are recorded with provenance ``imported`` and the given source label.
Valid files are imported in one transaction; bad ones are reported by file name.
"""

from __future__ import annotations

import csv
import json
import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dermstudy.datasets.images import IMAGE_SUFFIXES, BadImageError, read_and_check, remove_files
from dermstudy.entities import CODES, UnknownEntityError, parse_entity
from dermstudy.errors import DermstudyError
from dermstudy.jobs import Cancelled, CancelToken, Progress, ProgressEvent, no_progress
from dermstudy.workspace import Workspace, now_iso
from dermstudy.workspace.core import sha256_bytes
from dermstudy.workspace.images import ImageRepository

SOURCE = "imported"


class SyntheticImportError(DermstudyError):
    """The import cannot start (no such folder, bad CSV header); nothing was imported."""


@dataclass
class SyntheticImportSummary:
    source_label: str
    imported: dict[str, int] = field(default_factory=dict)
    already_present: int = 0
    skipped: list[dict] = field(default_factory=list)
    cancelled: bool = False

    def to_dict(self) -> dict:
        return {**asdict(self), "imported_total": sum(self.imported.values())}

    def to_text(self) -> str:
        lines = [f"Synthetic import (source {self.source_label!r})"]
        if self.cancelled:
            lines.append("  CANCELLED: nothing was imported")
        lines.append(f"  imported: {sum(self.imported.values())}")
        lines += [f"    {c:<6} {self.imported[c]}" for c in CODES if self.imported.get(c)]
        lines.append(f"  already in the workspace: {self.already_present}")
        lines.append(f"  skipped: {len(self.skipped)}")
        lines += [f"    {s['file']}: {s['reason']}" for s in self.skipped]
        return "\n".join(lines)


def files_from_folder(folder: Path, entity: str) -> list[tuple[Path, str]]:
    if not folder.is_dir():
        raise SyntheticImportError(f"{folder}: not a folder")
    code = parse_entity(entity)
    return [
        (p, code)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    ]


def files_from_csv(csv_path: Path) -> tuple[list[tuple[Path, str]], list[dict]]:
    """Rows of a ``file,entity`` CSV; bad rows come back as skipped entries with their line."""
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip().lower() for h in reader.fieldnames or []]
            reader.fieldnames = header
            if "file" not in header or "entity" not in header:
                raise SyntheticImportError(
                    f"{csv_path}: needs the columns file,entity (found {', '.join(header) or 'none'})"
                )
            rows = [(reader.line_num, row) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SyntheticImportError(f"{csv_path}: cannot read CSV ({exc})") from exc
    files, skipped = [], []
    for line, row in rows:
        name = (row.get("file") or "").strip()
        try:
            files.append((csv_path.parent / name, parse_entity(row.get("entity") or "")))
        except UnknownEntityError as exc:
            skipped.append({"file": f"{csv_path.name} line {line} ({name})", "reason": str(exc)})
    return files, skipped


def import_synthetic(
    ws: Workspace,
    files: list[tuple[Path, str]],
    source_label: str = "external",
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
    skipped: list[dict] | None = None,
) -> SyntheticImportSummary:
    """Record each (image file, entity code) as a synthetic image with provenance ``imported``."""
    summary = SyntheticImportSummary(source_label=source_label, skipped=list(skipped or []))
    known = ImageRepository(ws).kinds_by_hash()
    records, new_blobs = [], []
    try:
        for done, (path, code) in enumerate(files, start=1):
            if cancel is not None:
                cancel.raise_if_cancelled()
            _stage(ws, path, code, source_label, known, records, new_blobs, summary)
            progress(ProgressEvent(done, len(files), "importing synthetic images"))
        os.sync()
        with ws.transaction():
            if records:
                ws.db["images"].insert_all(records)
            ws.audit(
                "library.import_synthetic",
                source_label,
                {"imported": len(records), "skipped": len(summary.skipped)},
            )
    except Cancelled:
        remove_files(new_blobs)
        summary.cancelled = True
        return summary
    except BaseException:
        remove_files(new_blobs)
        raise
    summary.imported = dict(Counter(r["entity"] for r in records))
    return summary


def _stage(ws, path, code, source_label, known, records, new_blobs, summary) -> None:
    try:
        checked = read_and_check(path)
    except BadImageError as exc:
        summary.skipped.append({"file": str(path), "reason": str(exc)})
        return
    digest = sha256_bytes(checked.data)
    if digest in known:
        if known[digest] == "synthetic":
            summary.already_present += 1
        else:
            summary.skipped.append(
                {"file": str(path), "reason": "identical to a real image in the workspace"}
            )
        return
    relative = ws.relative_blob_path(digest, checked.suffix)
    if not ws.path_of(relative).exists():
        ws.store_blob(checked.data, checked.suffix, fsync=False)
        new_blobs.append(ws.path_of(relative))
    known[digest] = "synthetic"
    records.append(
        {
            "sha256": digest,
            "file": relative,
            "kind": "synthetic",
            "entity": code,
            "width": checked.width,
            "height": checked.height,
            "format": checked.format,
            "source": SOURCE,
            "source_id": None,
            "lesion_id": None,
            "provenance": json.dumps(
                {
                    "origin": "imported",
                    "source": source_label,
                    "original_file": path.name,
                    "imported_at": now_iso(),
                },
                sort_keys=True,
            ),
            "created_at": now_iso(),
        }
    )
