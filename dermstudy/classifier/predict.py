"""A trained ablation model's predictions for a study's cases, stored in ``predictions``.

The report's Table 2 (reader versus model) reads that table; the model is named
``<model> <arm> (<run> seed <k>)`` so several runs or arms can sit side by side. Storing again
replaces that model's predictions for the study.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dermstudy.classifier.ablation import AblationError, load_result, run_folder
from dermstudy.classifier.model import load_checkpoint, predict_proba
from dermstudy.entities import CODES
from dermstudy.jobs import CancelToken, Progress, no_progress
from dermstudy.workspace import Workspace
from dermstudy.workspace.classifier_store import ClassifierStore


def predict_study(
    workspace: Path | str,
    study_name: str,
    run: str,
    arm: str = "original",
    seed: int = 0,
    model_name: str | None = None,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> dict[str, Any]:
    """Predict every scored case of ``study_name`` with ``run``'s ``arm``/``seed`` checkpoint."""
    from dermstudy.analysis.data import find_study
    from dermstudy.classifier.ablation import load_all_pixels

    with Workspace.open(workspace, create=False) as ws:
        result = load_result(ws, run)
        seeds = {s["seed"]: s for s in result["arms"].get(arm, {}).get("seeds", [])}
        if seed not in seeds:
            have = ", ".join(
                f"{a} seed {s['seed']}" for a, d in result["arms"].items() for s in d["seeds"]
            )
            raise AblationError(
                f"run {run!r} has no trained {arm} seed {seed} (it has: {have or 'none'})"
            )
        checkpoint = run_folder(ws, run) / seeds[seed]["checkpoint"]
        model, options = load_checkpoint(checkpoint)
        study = find_study(ws, study_name)
        store = ClassifierStore(ws)
        cases = store.study_cases(study["id"])
        if not cases:
            raise AblationError(f"study {study['name']!r} has no scored cases")
        images = sorted({c.image.id: c.image for c in cases}.values(), key=lambda im: im.id)
        rows, pixels, _labels = load_all_pixels(
            ws, images, int(options["image_size"]), progress, cancel
        )
        index = [rows[c.image.id] for c in cases]
        proba = predict_proba(model, pixels[index]).numpy()
        name = model_name or f"{result['model']} {arm} ({run} seed {seed})"
        stored = []
        for case, p in zip(cases, proba, strict=True):
            probabilities = {code: round(float(v), 6) for code, v in zip(CODES, p, strict=True)}
            stored.append((case.case_id, CODES[int(p.argmax())], probabilities))
        store.replace_predictions(study, name, stored, f"classifier:{run}/{arm}-seed{seed}")
        correct = sum(
            1 for case, (_, entity, _) in zip(cases, stored, strict=True)
            if entity == case.image.entity
        )  # fmt: skip
    return {
        "study": study["name"],
        "model": name,
        "cases": len(stored),
        "checkpoint": str(checkpoint),
        "accuracy_on_cases": correct / len(stored),
    }
