"""The Classifier panel's data: its form as :class:`AblationSettings`, one ablation run's loss
curves, Table 3 and per-seed rows.

:func:`ablation_settings` turns the form's values into the run's settings (checked by the settings
object, its messages in the form's words); the child process runs their ``to_argv``.

:class:`AblationView` follows a run, live from the ``… --progress json`` child's events (an
``epoch`` adds a point to the curves, a ``seed_done`` means the run's ``result.json`` has grown) or
from a stored ``result.json``; the table functions turn that result into header and cell strings.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dermstudy.classifier.ablation import run_folder_at, table3
from dermstudy.classifier.figures import curves_of
from dermstudy.classifier.settings import AblationSettings, AblationSettingsError
from dermstudy.ui.messages import in_gui_terms

Curves = dict[str, dict[int, list[dict]]]  # arm → seed → the epoch events, in order

SEED_HEADERS = ["arm", "seed", "train", "synthetic\n%", "accuracy", "macro\nF1", "best\nepoch"]

# The command-line flags the settings' checks name, and the form's label for each.
FLAG_LABELS = {
    "--seeds": "Seeds",
    "--epochs": "Most epochs",
    "--patience": "Patience",
    "--image-size": "Image size",
    "--threads": "CPU threads",
    "--split": "Test split",
    "--device": "Device",
    "--model": "Model",
    "--protocol": "Protocol",
}

# What an event asks the panel to do (see :meth:`AblationView.on_event`).
REDRAW = "redraw"  # the curves changed
RELOAD = "reload"  # the run's result.json changed: read it again, refresh the tables


def ablation_settings(
    arms: Sequence[str], split: str = "", name: str = "", **values: Any
) -> AblationSettings:
    """The form's run: the arms ticked, the split chosen ("" for the default), the run name as
    typed ("" for automatic) and every other field under its settings name. A form that no run
    can use raises ValueError in the form's words."""
    if not arms:  # the settings' empty arms mean all four; the form asks for a choice
        raise ValueError("Choose at least one arm.")
    settings = AblationSettings(
        arms=tuple(arms), split=split or None, name=name.strip() or None, **values
    )
    try:
        settings.validate()
    except AblationSettingsError as exc:
        raise ValueError(in_gui_terms(str(exc), FLAG_LABELS)) from None
    return settings


def child_arguments(settings: AblationSettings) -> list[str]:
    """The child process's command line: the settings' own, with JSON-lines progress."""
    return [*settings.to_argv(), "--progress", "json"]


@dataclass(frozen=True)
class TextTable:
    """A table as the panel shows it: header texts and rows of cell texts."""

    headers: list[str]
    rows: list[list[str]]


@dataclass
class AblationView:
    """The run the panel shows: its name, the loss curves so far and its last read result."""

    run_name: str | None = None
    curves: Curves = field(default_factory=dict)
    result: dict[str, Any] | None = None

    def on_event(self, event: dict[str, Any]) -> str | None:
        """Take one progress event of a running ablation: :data:`REDRAW`, :data:`RELOAD` or None."""
        kind = event.get("event")
        if kind == "epoch":
            seeds = self.curves.setdefault(event["arm"], {})
            seeds.setdefault(int(event["seed"]), []).append(event)
            return REDRAW
        if kind == "seed_done":
            self.run_name = event.get("run") or self.run_name
            return RELOAD
        if kind == "start":
            self.run_name = event.get("run")
        return None

    def reload(self, workspace_root: Path) -> bool:
        """Read the run's ``result.json`` again; False (keeping the last result) when there is
        none yet or it cannot be read."""
        if not self.run_name:
            return False
        path = run_folder_at(workspace_root, self.run_name) / "result.json"
        try:
            self.result = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return False
        return True

    def show_stored(self, workspace_root: Path, name: str) -> bool:
        """Switch to a finished (or stopped) run: its result and the curves it recorded."""
        self.run_name = name
        if not self.reload(workspace_root):
            return False
        self.curves = curves_of(self.result)
        return True


def stored_run_text(name: str, result: dict[str, Any]) -> str:
    """The status line for a stored run: its name, status, model and protocol."""
    return (
        f"Run {name}: {result['status']}, model {result['model']}, protocol "
        f"{result['options']['protocol']}."
    )


def table3_text(result: dict[str, Any] | None) -> TextTable:
    """The research's Table 3 (per class, mean ± sd over seeds); empty before any seed finished.
    Headers break after the arm's name: ``combined\\nf1-score``."""
    rows = table3(result) if result else []
    columns = list(rows[0]) if rows else []
    return TextTable(
        [column.replace(" ", "\n", 1) for column in columns],
        [[str(row.get(column, "")) for column in columns] for row in rows],
    )


def seed_rows(result: dict[str, Any] | None) -> list[list[str]]:
    """One row per finished arm × seed, in the order of :data:`SEED_HEADERS`."""
    return [
        [
            arm,
            str(s["seed"]),
            str(s["n_train"]),
            f"{100 * s['train_synthetic_share']:.0f}",
            f"{s['accuracy']:.3f}",
            f"{s['report']['macro avg']['f1-score']:.3f}",
            f"{s['best_epoch']} of {len(s['history'])}",
        ]
        for arm, data in (result or {}).get("arms", {}).items()
        for s in data.get("seeds", [])
    ]
