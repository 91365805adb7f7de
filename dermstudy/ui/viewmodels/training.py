"""The Training panel's data: the choices its combos offer, a preset's form values, the demo
fine-tune offer, what keeps a run from starting, the form as a ``TrainConfig``, the list of runs and
a running job's progress (speed line, when to redraw, the bar after it ends).

Plain data and functions over ``TrainConfig``, the training runs store's summaries and the child
process's JSON events; the panel copies the results into its widgets.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dermstudy.entities import ENTITIES
from dermstudy.paths import models_dir
from dermstudy.training.config import LOSSES, PRECISIONS, TrainConfig, resolve_config
from dermstudy.ui.messages import in_gui_terms

# The data is TrainConfig's kind (training.config.KINDS), which also names the model file.
KIND_CHOICES = (("Base model (64 px)", "base"), ("Upsampler (64 → 256 px)", "upsample"))
PRESET_CHOICES = (("fast (recommended)", "fast"), ("paper (as published)", "paper"))
PRECISION_NAMES = PRECISIONS
LOSS_NAMES = LOSSES
DEVICE_NAMES = ("auto", "cpu", "cuda")
ENTITY_CHOICES = (("all seven entities", ""), *((e.short_name, e.code) for e in ENTITIES))

# A first fine-tune of the shipped demo model that finishes in minutes on a 2-core CPU.
DEMO_FINE_TUNE = {
    "steps": 60,
    "batch_size": 8,
    "lr": 1e-4,
    "ema": 0.99,
    "preview_every": 20,
    "checkpoint_every": 20,
}
DEMO_OFFER = (
    "Ready to fine-tune the shipped demo model: 60 steps of 8 images, a few minutes on a "
    "CPU. Put the public GLIDE weights into models/ for research runs."
)

# The command-line flags a child process may name in an error, and the form's label for each.
FLAG_LABELS = {
    "--init scratch": "Random initial weights",
    "--init": "Start from",
    "--model-options": "Model options",
    "--epochs": "Epochs",
    "--steps": "Steps",
    "--batch-size": "Batch size",
    "--lr": "Learning rate",
    "--uncond-p": "Empty-caption share",
    "--precision": "Precision",
    "--loss": "Loss",
    "--ema": "EMA rate",
    "--device": "Device",
    "--entity": "Images",
    "--split": "Hold out",
    "--preview-every": "Preview every",
    "--checkpoint-every": "Checkpoint every",
}
# Status lines that only say what keeps a run from starting (replaced once that is fixed).
_MISSING_PREFIXES = ("No model to start from", "“Start from”")


def gui_terms(message: str) -> str:
    """``message`` with every command-line flag replaced by the form field it comes from."""
    return in_gui_terms(message, FLAG_LABELS)


def _number(value: float) -> str:
    return f"{value:g}"


# -- what the form starts with -----------------------------------------------------------------
@dataclass(frozen=True)
class PresetFields:
    """The form fields a preset sets (the text fields as the form writes them)."""

    epochs: int
    batch_size: int
    lr: str
    uncond_p: str
    precision: str
    loss: str
    ema: str


def preset_fields(preset: str, cuda_available: bool | None = None) -> PresetFields:
    """``preset``'s values as ``resolve_config`` gives them (``fast`` adapted to a CPU)."""
    config = resolve_config(preset, {}, cuda_available)
    return PresetFields(
        epochs=int(config.epochs or 0),
        batch_size=int(config.batch_size),
        lr=_number(config.lr),
        uncond_p=_number(config.uncond_p),
        precision=config.precision,
        loss=config.loss,
        ema=_number(config.ema),
    )


def offers_demo_fine_tune(own_model: Path | None, model_or_demo: Path | None) -> bool:
    """Without a model of its own but with the shipped demo model, the form offers a short
    fine-tune of it (``DEMO_FINE_TUNE``), so a first user sees training work end to end."""
    return own_model is None and model_or_demo is not None


def demo_fine_tune_fields() -> dict[str, object]:
    """The form fields of the demo fine-tune (``TrainingForm`` names, texts as the form writes
    them); "Start from" stays empty: the default resolves to the demo model of the chosen kind."""
    return {
        **DEMO_FINE_TUNE,
        "lr": _number(DEMO_FINE_TUNE["lr"]),
        "ema": _number(DEMO_FINE_TUNE["ema"]),
    }


def split_choices(names: Sequence[str]) -> list[tuple[str, str]]:
    """The "Hold out" combo: nothing, or the test side of one of the workspace's splits."""
    return [("nothing (train on all)", ""), *((f"test side of split {n!r}", n) for n in names)]


# -- can a run start? ---------------------------------------------------------------------------
def missing_model(
    scratch: bool,
    init_text: str,
    kind: str,
    find: Callable[[str], Path | None] | None = None,
) -> str | None:
    """What keeps a new run from starting, in the form's own words (None: nothing).

    ``kind`` is TrainConfig's (``base`` or ``upsample``); ``find`` looks up the default model of
    a kind (``models/<kind>.pt`` or the demo model).
    """
    if scratch:
        return None
    text = init_text.strip()
    if text:
        return (
            None if Path(text).expanduser().is_file() else f"“Start from”: there is no file {text}."
        )
    if find is None:
        from dermstudy.glide.checkpoints import find_model_or_demo as find
    if find(kind) is None:
        return (
            f"No model to start from: put {kind}.pt into {models_dir()}, choose a checkpoint "
            "with “Browse…”, or tick “Random initial weights”."
        )
    return None


def status_after_check(current: str, missing: str | None) -> str:
    """The status line once the form was checked: what is missing, or "Ready." where it only
    said what was missing before; any other message stays."""
    if missing is not None:
        return missing
    return "Ready." if current.startswith(_MISSING_PREFIXES) else current


# -- the form as a run's configuration ----------------------------------------------------------
@dataclass
class TrainingForm:
    """The Training panel's form as plain values (the text fields as typed)."""

    preset: str = "fast"
    kind: str = "base"
    scratch: bool = False
    model_options: str = ""
    init: str = ""
    epochs: int = 60
    steps: int = 0  # 0: use epochs
    batch_size: int = 4
    lr: str = ""
    uncond_p: str = ""
    ema: str = ""
    precision: str = "fp32"
    loss: str = "hybrid"
    device: str = "auto"
    entity: str = ""  # "": all seven
    split: str = ""  # "": hold nothing out
    preview_every: int = 500
    checkpoint_every: int = 1000

    def overrides(self) -> dict[str, Any]:
        """What the form sets on top of its preset (raises ValueError naming the form's field)."""
        values: dict[str, Any] = {"kind": self.kind}
        if self.scratch:
            values["init"] = "scratch"
            if self.model_options.strip():
                values["model_options"] = _model_options(self.model_options.strip())
        elif self.init.strip():
            values["init"] = self.init.strip()
        if self.steps:
            values["steps"] = self.steps
        else:
            values["epochs"] = self.epochs
        for flag, name in (("--lr", "lr"), ("--uncond-p", "uncond_p"), ("--ema", "ema")):
            text = getattr(self, name)
            try:
                values[name] = float(text)
            except ValueError:
                raise ValueError(f"“{FLAG_LABELS[flag]}” must be a number, got {text!r}") from None
        values.update(
            batch_size=self.batch_size,
            precision=self.precision,
            loss=self.loss,
            device=self.device,
            preview_every=self.preview_every,
            checkpoint_every=self.checkpoint_every,
        )
        if self.entity:
            values["entities"] = [self.entity]
        if self.split:
            values["split"] = self.split
        return values

    def to_config(self) -> TrainConfig:
        """The run's configuration: the preset, then every field of the form."""
        return resolve_config(self.preset, self.overrides())

    def arguments(self) -> list[str]:
        """The ``dermstudy train`` arguments of :meth:`to_config`, with JSON-lines progress."""
        return [*self.to_config().to_argv(), "--progress", "json"]


def _model_options(text: str) -> dict:
    try:
        options = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"Model options are not valid JSON ({exc.msg})") from None
    if not isinstance(options, dict):
        raise ValueError('Model options must be a JSON object such as {"num_channels": 64}')
    return options


# -- runs ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunChoice:
    """One entry of the runs list (from the training runs store's summaries)."""

    id: str
    kind: str  # as stored: "base" or "upsample"
    status: str
    step: int
    total_steps: int | None

    @property
    def label(self) -> str:
        return f"{self.id} · {self.kind} · {self.status} · {self.step}/{self.total_steps}"

    def resume_arguments(self) -> list[str]:
        """The ``dermstudy train`` command line that continues this run."""
        kind = "upsampler" if self.kind == "upsample" else "base"
        return ["train", kind, "--resume", self.id, "--progress", "json"]


def run_choices(summaries: Sequence[Any]) -> list[RunChoice]:
    """The runs list, in the store's order (newest first)."""
    return [RunChoice(s.id, s.kind, s.status, s.step, s.total_steps) for s in summaries]


# -- a running job ------------------------------------------------------------------------------
def fmt_eta(seconds: float | None) -> str:
    """Seconds as m:ss or h:mm:ss; ``--`` when unknown."""
    if seconds is None or seconds != seconds:
        return "--"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def speed_text(event: dict[str, Any]) -> str:
    """The line under the loss curve for one ``step`` event."""
    return (
        f"step {event['step']:,}/{event.get('total', 0) or 0:,} · "
        f"{event.get('images_per_s', 0):.1f} images/s · ETA {fmt_eta(event.get('eta_s'))}"
    )


def preview_caption(step: int, path: Path) -> str:
    return f"step {step:,} · {path}"


@dataclass
class RunProgress:
    """What the panel follows of one run: its id, its logged steps and how it ended."""

    run_id: str | None = None
    records: list[dict[str, Any]] = field(default_factory=list)
    completed: bool = False

    def restart(self, run_id: str | None) -> None:
        """A new (or resumed) run: nothing logged yet, not finished."""
        self.run_id, self.records, self.completed = run_id, [], False

    def add_step(self, event: dict[str, Any]) -> bool:
        """Record a ``step`` event; True when the curve should be redrawn (redrawing costs
        ~50 ms: every step early on, then every tenth)."""
        self.records.append(event)
        return len(self.records) < 50 or len(self.records) % 10 == 0

    def earlier_steps(self, log: list[dict[str, Any]]) -> None:
        """A resumed run continues its curve: the steps it logged before."""
        self.records = [r for r in log if r.get("event") == "step"]

    def bar(self) -> tuple[int, int]:
        """The progress bar's (maximum, value) once the run has ended: full only for a run that
        finished; a failed or stopped one shows how far it got."""
        if self.completed:
            return 1, 1
        if self.records and self.records[-1].get("total"):
            return int(self.records[-1]["total"]), int(self.records[-1]["step"])
        return 1, 0
