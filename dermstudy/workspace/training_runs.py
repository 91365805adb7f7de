"""Repository for ``training_runs``: one row per GLIDE fine-tuning run (its folder holds the files).

``dermstudy.training.runs`` owns the run folder, its log and checkpoints and turns a
:class:`StoredRun` into its ``RunRecord`` (with the parsed training config).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dermstudy.workspace.repository import Repository

# Columns ``update`` may set (the rest are fixed when the run is created).
UPDATABLE = frozenset({"status", "step", "total_steps", "last_checkpoint", "message", "updated_at"})


@dataclass(frozen=True)
class StoredRun:
    id: str
    kind: str
    folder: str
    status: str
    options: dict[str, Any]  # the training config with the model's ``glide_options``
    dataset_hash: str
    image_count: int
    step: int
    total_steps: int
    last_checkpoint: str | None
    message: str


@dataclass(frozen=True)
class RunSummary:
    """A line in a list of runs."""

    id: str
    kind: str
    status: str
    step: int
    total_steps: int


class TrainingRunRepository(Repository):
    def add(
        self,
        run_id: str,
        kind: str,
        folder: str,
        options: dict[str, Any],
        dataset_hash: str,
        image_count: int,
        split_id: int | None,
        init_model: str | None,
        version: dict[str, str],
        total_steps: int,
        now: str,
    ) -> None:
        """Record a new run as ``running`` (and an audit line ``training.start``)."""
        with self.ws.transaction():
            self.conn.execute(
                "INSERT INTO training_runs (id, kind, folder, status, options, dataset_hash,"
                " image_count, split_id, init_model, version, step, total_steps, created_at,"
                " updated_at) VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
                (
                    run_id,
                    kind,
                    folder,
                    json.dumps(options),
                    dataset_hash,
                    image_count,
                    split_id,
                    init_model,
                    json.dumps(version),
                    total_steps,
                    now,
                    now,
                ),
            )
            self.ws.audit("training.start", run_id, {"kind": kind, "dataset_hash": dataset_hash})

    def get(self, run_id: str) -> StoredRun | None:
        row = self.conn.execute(
            "SELECT id, kind, folder, status, options, dataset_hash, image_count, step, total_steps,"
            " last_checkpoint, message FROM training_runs WHERE id = ?",
            (run_id,),
        ).fetchone()
        if row is None:
            return None
        return StoredRun(*row[:4], json.loads(row[4]), *row[5:])

    def ids(self) -> list[str]:
        """Run ids, oldest first."""
        return self.column("SELECT id FROM training_runs ORDER BY created_at")

    def summaries(self) -> list[RunSummary]:
        """Every run, newest first."""
        return [
            RunSummary(*row)
            for row in self.conn.execute(
                "SELECT id, kind, status, step, total_steps FROM training_runs"
                " ORDER BY created_at DESC"
            )
        ]

    def update(self, run_id: str, **fields: Any) -> None:
        unknown = set(fields) - UPDATABLE
        if unknown:  # column names go into the statement: only known ones
            raise ValueError(f"training_runs has no updatable column(s) {sorted(unknown)}")
        assignments = ", ".join(f"{key} = ?" for key in fields)
        with self.ws.transaction():
            self.conn.execute(
                f"UPDATE training_runs SET {assignments} WHERE id = ?", [*fields.values(), run_id]
            )
