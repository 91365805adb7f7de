"""Training runs on disk and in the database: the run folder, its log, its checkpoints, its models.

A run is a folder ``<workspace>/runs/<id>/`` and one ``training_runs`` row::

    runs/<id>/log.jsonl            one JSON object per line: steps, checkpoints, previews, the end
    runs/<id>/checkpoints/step-00001000.pt   weights + options + optimiser + EMA + step + RNG states
    runs/<id>/checkpoints/last.pt  a copy of the newest checkpoint, written atomically
    runs/<id>/previews/step-00000500.png     one row per entity
    runs/<id>/final.pt, final-ema.pt          plain model files, also listed in ``models``

Every checkpoint is written to a temporary file, flushed to disk and renamed, so a crash or a full
disk never leaves a half-written file under a real name.
"""

from __future__ import annotations

import dataclasses
import io
import json
import platform
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from dermstudy.errors import DermstudyError
from dermstudy.glide.checkpoints import FORMAT, CheckpointError, read_checkpoint_file
from dermstudy.glide.options import model_kind
from dermstudy.training.config import TrainConfig
from dermstudy.workspace import Workspace, now_iso
from dermstudy.workspace.core import atomic_write_bytes, sha256_file
from dermstudy.workspace.models import register_model_file
from dermstudy.workspace.training_runs import StoredRun, TrainingRunRepository


class RunError(DermstudyError, ValueError):
    """A run cannot be created, found or resumed; the message says why."""


@dataclass(frozen=True)
class RunRecord(StoredRun):
    """A stored run with its training config parsed from the stored ``options``."""

    config: TrainConfig
    glide_options: dict[str, Any]  # the model's GLIDE options (its architecture)

    @classmethod
    def from_stored(cls, stored: StoredRun) -> RunRecord:
        return cls(
            **vars(stored),
            config=TrainConfig.from_dict(stored.options),
            glide_options=stored.options.get("glide_options", {}),
        )

    def to_dict(self) -> dict[str, Any]:
        """The stored fields, with ``options`` as the parsed config and the GLIDE options apart."""
        stored = {f.name: getattr(self, f.name) for f in dataclasses.fields(StoredRun)}
        return {**stored, "options": self.config.to_dict(), "glide_options": self.glide_options}


def version_info(device: torch.device) -> dict[str, str]:
    """What produced a run, without needing git."""
    from dermstudy import __version__

    info = {
        "dermstudy": __version__,
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "device": str(device),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
        info["cuda"] = str(torch.version.cuda)
    return info


def new_run_id(kind: str) -> str:
    return f"{kind}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(2)}"


def create_run(
    ws: Workspace,
    config: TrainConfig,
    glide_options: dict[str, Any],
    dataset_hash: str,
    image_count: int,
    split_id: int | None,
    init_model: str | None,
    total_steps: int,
    version: dict[str, str],
) -> RunRecord:
    run_id = new_run_id(config.kind)
    folder = f"runs/{run_id}"
    (ws.root / folder / "checkpoints").mkdir(parents=True)
    (ws.root / folder / "previews").mkdir()
    TrainingRunRepository(ws).add(
        run_id,
        config.kind,
        folder,
        {**config.to_dict(), "glide_options": glide_options},
        dataset_hash,
        image_count,
        split_id,
        init_model,
        version,
        total_steps,
        now_iso(),
    )
    return get_run(ws, run_id)


def get_run(ws: Workspace, run_id: str) -> RunRecord:
    stored = TrainingRunRepository(ws).get(run_id)
    if stored is None:
        raise RunError(f"no training run {run_id!r} in {ws.root}")
    return RunRecord.from_stored(stored)


def list_runs(ws: Workspace) -> list[RunRecord]:
    return [get_run(ws, run_id) for run_id in TrainingRunRepository(ws).ids()]


def update_run(ws: Workspace, run_id: str, **fields: Any) -> None:
    TrainingRunRepository(ws).update(run_id, **fields, updated_at=now_iso())


class RunLog:
    """Appends JSON lines to ``log.jsonl`` (one flushed line per record)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the run

    def write(self, record: dict[str, Any]) -> None:
        self._handle.write(json.dumps(record, default=float) + "\n")
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


def read_log(path: Path) -> list[dict[str, Any]]:
    """The records of a run log; a torn last line (crash mid-write) is skipped."""
    records = []
    if not path.exists():
        return records
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


# -- checkpoints -----------------------------------------------------------------------------------


def save_training_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Serialise in memory, then write atomically (temporary file, fsync, rename)."""
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write_bytes(path, buffer.getvalue(), fsync=True)


def training_payload(
    model: torch.nn.Module,
    options: dict[str, Any],
    training: dict[str, Any],
) -> dict[str, Any]:
    """A dermstudy checkpoint (loads as a model with ``load_checkpoint``) plus training state."""
    return {
        "format": FORMAT,
        "kind": model_kind(options),
        "options": options,
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "training": training,
    }


def read_training_checkpoint(path: Path, kind: str) -> dict[str, Any]:
    """Load a checkpoint written by a run and check it holds training state of ``kind``."""
    payload = read_checkpoint_file(path)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a dermstudy training checkpoint")
    if not isinstance(payload.get("training"), dict):
        raise CheckpointError(f"{path}: holds weights only, no optimiser state to resume from")
    stored = model_kind(payload.get("options") or {})
    if stored != kind:
        raise CheckpointError(
            f"{path}: is a {stored} checkpoint, but this run trains the {kind} model"
        )
    return payload


def register_model(
    ws: Workspace, path: Path, kind: str, name: str, options: dict[str, Any], run_id: str
) -> str:
    """List a finished model file in ``models`` so the Generator panel offers it; its SHA-256."""
    digest = sha256_file(path)
    register_model_file(ws, path, kind, name, options, origin=f"training:{run_id}", sha256=digest)
    return digest
