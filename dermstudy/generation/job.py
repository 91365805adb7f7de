"""The generation job: sample GLIDE images per entity/prompt into the workspace library.

``generate_images(workspace_path, settings, progress, cancel)`` is Qt-free and follows the
``dermstudy.jobs`` protocol, so the CLI (text bar), the GUI (worker thread or a ``dermstudy generate
--progress json`` subprocess) and scripts share it. Every finished image is committed at once (PNG
stored by hash, ``images`` row with full provenance, ``models`` rows for the files used), so a cancel
or Ctrl-C keeps everything finished so far. Each image owns a generator seeded with its own seed, so
``--seed S --count 1`` reproduces image S of any earlier run, whatever the batch size.
"""

from __future__ import annotations

import io
import json
import secrets
import shlex
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from dermstudy import __version__
from dermstudy.entities import BY_CODE, ENTITIES, parse_entity
from dermstudy.generation.settings import GenerateSettings, GenerationError
from dermstudy.glide import (
    RECIPES,
    CheckpointError,
    Diffusion,
    LoadedModel,
    RespacingError,
    RowNoise,
    Stage,
    Text2ImPipeline,
    load_stage,
    sha256_of,
    to_uint8,
)
from dermstudy.glide.checkpoints import find_model_or_demo
from dermstudy.jobs import Cancelled, CancelToken, Progress, ProgressEvent, no_progress
from dermstudy.workspace import Workspace
from dermstudy.workspace.core import now_iso
from dermstudy.workspace.images import ImageRepository
from dermstudy.workspace.models import register_model_file

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
# Per sampler: (base steps, upsampler steps, upsampler sampler); the recipes live with the pipeline.
SAMPLER_DEFAULTS = RECIPES


@dataclass
class GenerateResult:
    image_ids: list[int] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    cancelled: bool = False
    seconds: float = 0.0


@dataclass
class _Stage:
    """One loaded model with its process and sampler."""

    loaded: LoadedModel
    sha256: str
    diffusion: Diffusion
    steps: str
    sampler: str

    @property
    def stage(self) -> Stage:
        return Stage(self.loaded.model, self.loaded.options, self.diffusion, self.sampler)


# -- settings ---------------------------------------------------------------------------------------


def resolve_prompt(settings: GenerateSettings) -> tuple[str, str]:
    """(entity code, prompt) from --entity and/or --prompt."""
    if settings.entity:
        try:
            code = parse_entity(settings.entity)
        except ValueError as exc:
            raise GenerationError(str(exc)) from None
        return code, settings.prompt or BY_CODE[code].prompt
    if settings.prompt:
        for entity in ENTITIES:
            if entity.prompt == settings.prompt.strip().lower():
                return entity.code, settings.prompt
        raise GenerationError(
            "a custom --prompt also needs --entity CODE (the library labels every image with one of "
            "the seven entities)"
        )
    raise GenerationError("give --entity CODE or --prompt TEXT")


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise GenerationError("--device cuda: no CUDA device is available (use cpu or auto)")
    if name not in ("cpu",) and not name.startswith("cuda"):
        raise GenerationError(f"unknown device {name!r}; expected auto, cpu or cuda")
    return torch.device(name)


def _validate(settings: GenerateSettings, device: torch.device) -> None:
    settings.validate()
    if settings.dtype == "fp16" and device.type != "cuda":
        raise GenerationError("fp16 needs a CUDA device; on the CPU use bf16 or fp32")


def model_reference(path: Path, workspace: Path) -> str:
    """How a provenance names a model file: relative to the workspace, the models folder or the
    project (in that order) when it lies inside one, else absolute; :func:`_model_path` finds it."""
    from dermstudy.paths import PROJECT_ROOT, models_dir

    resolved = Path(path).resolve()
    for root in (Path(workspace), models_dir(), PROJECT_ROOT):
        try:
            return resolved.relative_to(root.resolve()).as_posix()
        except ValueError:
            continue
    return str(resolved)


def _model_path(given: Path | None, kind: str, workspace: Path | None = None) -> Path:
    if given is not None:
        given = Path(given)
        if given.is_absolute() or given.exists():
            return given
        from dermstudy.paths import PROJECT_ROOT, models_dir

        roots = [Path(workspace)] if workspace else []
        for root in [*roots, models_dir(), PROJECT_ROOT]:
            if (root / given).is_file():
                return root / given
        return given
    found = find_model_or_demo(kind)
    if found is None:
        from dermstudy.paths import models_dir

        flag = "--base" if kind == "base" else "--upsampler"
        raise GenerationError(
            f"no {kind} model: put {kind}.pt into {models_dir()} (see models/README.md) or pass {flag} FILE"
        )
    return found


def _load_stage(
    path: Path, kind: str, steps: str, sampler: str, device, dtype, sha256: str | None = None
) -> _Stage:
    digest = sha256_of(path) if path.is_file() else ""
    if sha256 and digest and digest != sha256.lower():
        raise GenerationError(
            f"{path}: SHA-256 is {digest}, not the {sha256} asked for (another file of that name)"
        )
    try:
        loaded, stage = load_stage(path, kind, steps, sampler, device, DTYPES[dtype])
    except CheckpointError as exc:
        raise GenerationError(str(exc)) from None
    except RespacingError as exc:
        raise GenerationError(f"{kind} steps: {exc}") from None
    return _Stage(loaded, digest, stage.diffusion, steps, sampler)


# -- the job ----------------------------------------------------------------------------------------


def generate_images(
    workspace_path: str | Path,
    settings: GenerateSettings,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> GenerateResult:
    """Sample ``settings.count`` images into the workspace; returns what was stored.

    Cancelling (token or Ctrl-C turned into a cancel by the caller) stops at the next network call;
    every image finished before stays in the library.
    """
    cancel = cancel or CancelToken()
    started = time.monotonic()
    entity, prompt = resolve_prompt(settings)
    device = resolve_device(settings.device)
    _validate(settings, device)
    base_default, up_default, up_sampler = SAMPLER_DEFAULTS[settings.sampler]
    base = _load_stage(
        _model_path(settings.base, "base", Path(workspace_path)),
        "base",
        settings.base_steps or base_default,
        settings.sampler,
        device,
        settings.dtype,
        settings.base_sha256,
    )
    up = None
    if settings.upsample:
        up = _load_stage(
            _model_path(settings.upsampler, "upsample", Path(workspace_path)),
            "upsample",
            settings.upsample_steps or up_default,
            up_sampler,
            device,
            settings.dtype,
            settings.upsampler_sha256,
        )
    first_seed = settings.seed if settings.seed is not None else secrets.randbelow(2**31)
    seeds = [first_seed + i for i in range(settings.count)]
    steps_per_image = base.diffusion.num_timesteps + (up.diffusion.num_timesteps if up else 0)
    total = settings.count * steps_per_image
    result = GenerateResult()
    done = 0

    with Workspace.open(workspace_path) as ws:
        model_ids = {"base": _register_model(ws, base)}
        if up:
            model_ids["upsample"] = _register_model(ws, up)
        progress(ProgressEvent(0, total, "models loaded", {"event": "start", "seeds": seeds}))
        for start in range(0, len(seeds), settings.batch_size):
            batch_seeds = seeds[start : start + settings.batch_size]
            batch_started = time.monotonic()

            def on_step(
                event: dict, stage: str, n: int = len(batch_seeds), start: int = start
            ) -> None:
                nonlocal done
                done += n
                progress(
                    ProgressEvent(
                        done,
                        total,
                        f"images {start + 1}-{start + n}/{settings.count}: {stage} step "
                        f"{event['step'] + 1}/{event['total']}",
                    )
                )
                if cancel.cancelled:
                    raise Cancelled()

            try:
                images = _sample_batch(base, up, prompt, batch_seeds, settings, device, on_step)
            except Cancelled:
                result.cancelled = True
                break
            seconds = (time.monotonic() - batch_started) / len(batch_seeds)
            for seed, pixels in zip(batch_seeds, images, strict=True):
                image_id, relpath = _store_image(
                    ws,
                    pixels,
                    entity,
                    _provenance(
                        settings,
                        prompt,
                        entity,
                        seed,
                        batch_seeds,
                        base,
                        up,
                        device,
                        seconds,
                        ws.root,
                    ),
                )
                result.image_ids.append(image_id)
                result.files.append(relpath)
                result.seeds.append(seed)
                progress(
                    ProgressEvent(
                        done,
                        total,
                        f"image {len(result.image_ids)} stored",
                        {
                            "event": "image",
                            "image_id": image_id,
                            "file": str(ws.path_of(relpath)),
                            "seed": seed,
                        },
                    )
                )
    result.seconds = time.monotonic() - started
    return result


def _sample_batch(
    base: _Stage,
    up: _Stage | None,
    prompt: str,
    seeds: list[int],
    settings: GenerateSettings,
    device: torch.device,
    on_step,
) -> torch.Tensor:
    """uint8 NHWC images for one batch; each row's noise comes from its own seed."""
    pipeline = Text2ImPipeline(
        base.stage, up.stage if up else None, settings.guidance, settings.temperature
    )
    x = pipeline(
        [prompt] * len(seeds),
        RowNoise(seeds, device),
        callback=lambda stage, event: on_step(event, stage),
        check=_check_finite,
    )
    return to_uint8(x.float().cpu())


def _check_finite(x: torch.Tensor, stage: str) -> None:
    # NaN would be saved as black tiles (spec §8.7); refuse to store them.
    if not torch.isfinite(x).all():
        raise GenerationError(
            f"the {stage} produced NaN/inf values (try --dtype fp32); no image stored for this batch"
        )


# -- storing ----------------------------------------------------------------------------------------


def png_bytes(pixels: torch.Tensor) -> bytes:
    """PNG of one HWC uint8 image, without metadata."""
    buffer = io.BytesIO()
    Image.fromarray(pixels.numpy(), mode="RGB").save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def _provenance(
    settings: GenerateSettings,
    prompt: str,
    entity: str,
    seed: int,
    batch_seeds: list[int],
    base: _Stage,
    up: _Stage | None,
    device: torch.device,
    seconds: float,
    workspace: Path,
) -> dict[str, Any]:
    def stage(s: _Stage, **extra: Any) -> dict[str, Any]:
        return {
            "file": s.loaded.path.name,
            "path": model_reference(s.loaded.path, workspace),
            "sha256": s.sha256,
            "format": s.loaded.format,
            "sampler": s.sampler,
            "steps": s.steps,
            "timesteps": s.diffusion.num_timesteps,
            **extra,
        }

    return {
        "generator": "dermstudy-glide",
        "prompt": prompt,
        "entity": entity,
        "seed": seed,
        "sampler": settings.sampler,
        "guidance": settings.guidance,
        "base": stage(base, guidance=settings.guidance),
        "upsampler": stage(up, temperature=settings.temperature) if up else None,
        "temperature": settings.temperature if up else None,
        "dtype": settings.dtype,
        "device": device.type,
        "batch_size": settings.batch_size,
        # Bit-exact replay needs the same batch rows (batched kernels round differently).
        "batch_seeds": batch_seeds,
        "seconds": round(seconds, 3),
        "time": now_iso(),
        "dermstudy": __version__,
        "torch": torch.__version__,
        "reproduce": _reproduce_command(settings, entity, batch_seeds, base, up, workspace),
    }


def _reproduce_command(
    settings: GenerateSettings,
    entity: str,
    batch_seeds: list[int],
    base: _Stage,
    up: _Stage | None,
    workspace: Path,
) -> str:
    def model(flag: str, stage: _Stage) -> str:
        where = shlex.quote(model_reference(stage.loaded.path, workspace))
        return f"--{flag} {where} --{flag}-sha256 {stage.sha256}"

    parts = [
        "dermstudy generate",
        f"--entity {entity}",
        f"--seed {batch_seeds[0]}",
        f"--count {len(batch_seeds)}",
        f"--batch-size {len(batch_seeds)}",
        f"--sampler {settings.sampler}",
        f"--guidance {settings.guidance}",
        f"--base-steps {base.steps}",
        f"--dtype {settings.dtype}",
        model("base", base),
    ]
    if settings.prompt:
        parts.append(f"--prompt {json.dumps(settings.prompt)}")
    if up:
        parts.append(f"--upsample-steps {up.steps} --temperature {settings.temperature}")
        parts.append(model("upsampler", up))
    else:
        parts.append("--no-upsample")
    return " ".join(parts)


def _register_model(ws: Workspace, stage: _Stage) -> int:
    """Record the model file in the workspace's shared register (idempotent by hash)."""
    return register_model_file(
        ws,
        stage.loaded.path,
        stage.loaded.kind.replace("-inpaint", ""),
        stage.loaded.path.name,
        stage.loaded.options,
        origin="file",
        sha256=stage.sha256,
    )


def _store_image(
    ws: Workspace, pixels: torch.Tensor, entity: str, provenance: dict
) -> tuple[int, str]:
    height, width = int(pixels.shape[0]), int(pixels.shape[1])
    return store_generated_png(ws, png_bytes(pixels), width, height, entity, provenance)


def store_generated_png(
    ws: Workspace, data: bytes, width: int, height: int, entity: str, provenance: dict
) -> tuple[int, str]:
    """Record one generated PNG with its provenance; (image id, file). Idempotent by content."""
    digest, relpath = ws.store_blob(data, ".png")
    return ImageRepository(ws).add_generated(
        digest, relpath, entity, width, height, provenance, now_iso()
    )


def settings_dict(settings: GenerateSettings) -> dict[str, Any]:
    data = asdict(settings)
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in data.items()}
