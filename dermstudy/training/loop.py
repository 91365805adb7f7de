"""The GLIDE fine-tuning job: one function, ``train``, run by the CLI, the panel and ``torchrun``.

Determinism is by construction rather than by saved generator state: the epoch permutation comes
from (seed, epoch) and every step's timesteps, noise, empty-caption draws and dropout from
(seed, step, rank). A resumed run therefore replays exactly the data and noise of an uninterrupted
one, and its weights match bit for bit (given the same device and thread count). The generator
states are still saved in every checkpoint for inspection.

Under ``torchrun`` (``WORLD_SIZE`` > 1) the model is wrapped in DistributedDataParallel (NCCL on
GPUs, gloo on CPUs); every step's global batch is cut into one shard per rank; only rank 0 writes
the log, checkpoints, previews and the database.
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from dermstudy.entities import BY_CODE, CODES
from dermstudy.errors import DermstudyError
from dermstudy.glide.checkpoints import (
    CheckpointError,
    compare_state,
    find_model_or_demo,
    load_checkpoint,
    save_checkpoint,
)
from dermstudy.glide.diffusion import Diffusion, hybrid_loss, mse_loss
from dermstudy.glide.model import create_model
from dermstudy.glide.options import (
    ARCHITECTURE_KEYS,
    OptionsError,
    architecture_of,
    default_options,
)
from dermstudy.glide.tokenizer import default_tokenizer
from dermstudy.jobs import CancelToken, Progress, ProgressEvent, no_progress
from dermstudy.locks import LockedError, acquire_exclusive
from dermstudy.memory import peak_rss_mb
from dermstudy.training import data as data_mod
from dermstudy.training import previews as preview_mod
from dermstudy.training import runs
from dermstudy.training.config import ConfigError, TrainConfig
from dermstudy.workspace import Workspace

KEEP_CHECKPOINTS = 2
_AUTOCAST = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


class NonFiniteLossError(DermstudyError, RuntimeError):
    """The loss became NaN or infinite; the run stops before the optimiser touches the weights."""


@dataclass
class TrainResult:
    run_id: str
    status: str  # finished | stopped | failed
    step: int
    total_steps: int
    folder: Path
    message: str = ""
    models: list[str] = field(default_factory=list)


# -- distributed -----------------------------------------------------------------------------------


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


def setup_distributed(device_pref: str) -> tuple[Dist, torch.device]:
    """Join the torchrun process group if there is one; choose the device once."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    ctx = Dist(int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0")))
    want_cuda = device_pref.startswith("cuda") or (
        device_pref == "auto" and torch.cuda.is_available()
    )
    if want_cuda and not torch.cuda.is_available():
        raise ConfigError("--device cuda was requested but no CUDA GPU is available")
    if want_cuda:
        index = ctx.local_rank if ctx.active or device_pref in ("auto", "cuda") else None
        device = torch.device("cuda", index) if index is not None else torch.device(device_pref)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    if ctx.active and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return ctx, device


def _any_true(ctx: Dist, flag: bool, device: torch.device) -> bool:
    if not ctx.active:
        return flag
    value = torch.tensor([1 if flag else 0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


# -- seeds and data order --------------------------------------------------------------------------


def derive_seed(*parts: Any) -> int:
    """A 63-bit seed from the run seed and a path of names/numbers (stable across Python runs)."""
    digest = hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def epoch_permutation(n: int, seed: int, epoch: int, world: int = 1) -> torch.Tensor:
    """The epoch's image order; padded by wrap-around to a multiple of ``world`` (as DDP does)."""
    generator = torch.Generator().manual_seed(derive_seed(seed, "epoch", epoch))
    perm = torch.randperm(n, generator=generator)
    pad = (-n) % world
    return torch.cat([perm, perm[:pad]]) if pad else perm


def steps_per_epoch(n: int, config: TrainConfig, world: int = 1) -> int:
    padded = n + (-n) % world
    return math.ceil(padded / (config.batch_size * world * config.grad_accum))


def total_steps(n: int, config: TrainConfig, world: int = 1) -> int:
    return (
        int(config.steps)
        if config.steps
        else int(config.epochs) * steps_per_epoch(n, config, world)
    )


def step_batches(
    step: int, n: int, config: TrainConfig, world: int = 1, rank: int = 0
) -> tuple[int, list[torch.Tensor]]:
    """(epoch, this rank's micro-batches of image indices) for optimiser step ``step`` (1-based).

    One step takes the next batch × world × grad_accum images of the epoch's permutation; rank r
    takes every world-th of them; the last step of an epoch is shorter (drop_last = False, as the
    trainer), never empty on any rank.
    """
    per_epoch = steps_per_epoch(n, config, world)
    epoch, within = divmod(step - 1, per_epoch)
    perm = epoch_permutation(n, config.seed, epoch, world)
    chunk_size = config.batch_size * world * config.grad_accum
    chunk = perm[within * chunk_size : (within + 1) * chunk_size]
    mine = chunk[rank::world]
    return epoch, list(mine.split(config.batch_size))


# -- model -----------------------------------------------------------------------------------------


def build_model(config: TrainConfig) -> tuple[nn.Module, dict[str, Any], str]:
    """(model, options, description of the initial weights) for a new run."""
    if config.init == "scratch":
        options = default_options(config.kind)
        options.update(config.model_options)
        torch.manual_seed(derive_seed(config.seed, "init"))
        try:
            model = create_model(options)
        except OptionsError as exc:
            raise ConfigError(f"--model-options: {exc}") from None
        return model, dict(model.options), "scratch"
    path = Path(config.init) if config.init else find_model_or_demo(config.kind)
    if path is None:
        raise ConfigError(
            f"no --init given and no {config.kind}.pt in the models folder; pass --init FILE "
            f"(e.g. the public GLIDE {config.kind}.pt) or --init scratch for random weights"
        )
    loaded = load_checkpoint(path, kind=config.kind)
    changed = [k for k in config.model_options if k in ARCHITECTURE_KEYS]
    if changed:
        raise ConfigError(
            f"--model-options cannot change the shape of an initial checkpoint ({', '.join(changed)});"
            " use --init scratch for a new architecture"
        )
    options = {**loaded.options, **config.model_options}
    model = loaded.model
    if config.model_options:
        fresh = create_model(options)
        fresh.load_state_dict(model.state_dict())
        model = fresh
    return model, dict(options), str(path)


def freeze_text(model: nn.Module) -> None:
    """Freeze the text encoder as glide-finetune's --freeze_transformer does (not final_ln)."""
    for name, param in model.named_parameters():
        if name.startswith(
            (
                "transformer.",
                "transformer_proj.",
                "token_embedding.",
                "positional_embedding",
                "padding_embedding",
            )
        ):
            param.requires_grad_(False)


def weights_digest(model: nn.Module) -> str:
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


class EMA:
    """Exponential moving average of the weights, with the usual warm-up min(rate, (1+n)/(10+n))."""

    def __init__(self, model: nn.Module, rate: float) -> None:
        self.rate = rate
        self.shadow = {k: v.detach().clone().float() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: nn.Module, updates: int) -> None:
        decay = min(self.rate, (1 + updates) / (10 + updates))
        state = model.state_dict()
        keys = [k for k in self.shadow if state[k].is_floating_point()]
        torch._foreach_lerp_(
            [self.shadow[k] for k in keys], [state[k].float() for k in keys], 1 - decay
        )

    def copy_to(self, model: nn.Module) -> None:
        model.load_state_dict(self.shadow)


def peak_memory_mb(device: torch.device) -> float | None:
    """Peak memory of the run in MiB: allocated on the GPU, else the process's peak RSS (None on
    Windows, which does not report it)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return peak_rss_mb()


# -- the job ---------------------------------------------------------------------------------------


@dataclass
class _State:
    """Everything the loop mutates, kept together so checkpoints capture all of it."""

    model: nn.Module  # unwrapped
    train_model: nn.Module  # DDP-wrapped or the same object
    options: dict[str, Any]
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    ema: EMA | None
    step: int = 0
    last_checkpoint: str | None = None
    checkpoints: list[str] = field(default_factory=list)


def train(
    workspace: str | os.PathLike,
    config: TrainConfig,
    resume: str | None = None,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
    extend_steps: int | None = None,
) -> TrainResult:
    """Fine-tune (or continue run ``resume``); returns how the run ended.

    Raises ``ConfigError``/``DataError``/``RunError``/``CheckpointError`` for problems the user can
    fix before any training happens. A NaN/inf loss ends the run as ``failed`` (last good
    checkpoint kept); a cancel ends it as ``stopped`` after writing a checkpoint to resume from.
    """
    cancel = cancel or CancelToken()
    ctx, device = setup_distributed(config.device)
    ws = Workspace.open(workspace, create=False)
    try:
        return _train(ws, ctx, device, config, resume, progress, cancel, extend_steps)
    finally:
        ws.close()
        if ctx.active and dist.is_initialized():
            dist.destroy_process_group()


@dataclass
class _Start:
    """What a new or resumed run starts from."""

    config: TrainConfig
    record: runs.RunRecord | None  # the run being resumed
    payload: dict[str, Any] | None  # its last checkpoint
    images: list[data_mod.TrainImage]
    split_id: int | None
    dataset_hash: str


def _load_start(ws: Workspace, config: TrainConfig, resume: str | None) -> _Start:
    """Select the images; for a resume, check the run, its checkpoint and its data still agree."""
    record = payload = None
    if resume:
        record = runs.get_run(ws, resume)
        if record.kind != config.kind:
            raise runs.RunError(
                f"run {resume} trains the {record.kind} model, not the {config.kind} model"
            )
        if not record.last_checkpoint:
            raise runs.RunError(f"run {resume} has no checkpoint yet; start a new run instead")
        config = record.config
        payload = runs.read_training_checkpoint(ws.root / record.last_checkpoint, config.kind)
    images, split_id = data_mod.select_images(ws, config.entities or None, config.split)
    ds_hash = data_mod.dataset_hash(images)
    if record is not None and record.dataset_hash != ds_hash:
        raise runs.RunError(
            f"run {record.id} cannot resume: the training images changed since it started "
            f"(dataset hash {ds_hash[:12]}… ≠ {record.dataset_hash[:12]}…); start a new run"
        )
    return _Start(config, record, payload, images, split_id, ds_hash)


def _initial_model(ws: Workspace, start: _Start) -> tuple[nn.Module, dict[str, Any], str]:
    """The model with its starting weights: the resumed checkpoint's, or from ``build_model``."""
    if start.payload is None:
        return build_model(start.config)
    record = start.record
    assert record is not None and record.last_checkpoint
    path = ws.root / record.last_checkpoint
    options = start.payload["options"]
    if start.payload["training"].get("run_id") != record.id:
        raise CheckpointError(f"{path}: was written by another run, not by {record.id}")
    if record.glide_options and architecture_of(options) != architecture_of(record.glide_options):
        theirs, ours = architecture_of(options), architecture_of(record.glide_options)
        diff = ", ".join(f"{k} {theirs[k]!r} ≠ {ours[k]!r}" for k in ours if theirs[k] != ours[k])
        raise CheckpointError(f"{path}: a different model shape than run {record.id} ({diff})")
    model = create_model(options)
    compare_state(
        path,
        model.state_dict(),
        start.payload["state_dict"],
        f"{start.config.kind} model of run {start.record.id}",
    )
    model.load_state_dict(start.payload["state_dict"])
    return model, options, "resume"


def _make_state(
    model: nn.Module, options: dict, config: TrainConfig, ctx: Dist, device: torch.device
) -> _State:
    """Place the model, and build the optimiser, loss scaler, EMA and DDP wrapper around it."""
    model.to(device)
    if config.channels_last:
        model.to(memory_format=torch.channels_last)
    model.train()
    if config.freeze_text:
        freeze_text(model)
    params = [p for p in model.parameters() if p.requires_grad]
    fused = config.fused_adamw and device.type in ("cuda", "cpu")
    optimizer = torch.optim.AdamW(
        params, lr=config.lr, weight_decay=config.weight_decay, fused=fused or None
    )
    scaler = torch.amp.GradScaler(device.type, enabled=config.precision == "fp16")
    ema = EMA(model, config.ema) if config.ema > 0 else None
    train_model: nn.Module = model
    if ctx.active:
        train_model = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    return _State(model, train_model, options, optimizer, scaler, ema)


def _lock_run(folder: Path) -> Any:
    """Hold an exclusive lock on the run folder while training (released even by a crash)."""
    try:
        return acquire_exclusive(folder / ".lock", f"training run {folder.name}")
    except LockedError:
        raise runs.RunError(f"{folder}: the run is being trained by another process") from None


def _train(
    ws: Workspace,
    ctx: Dist,
    device: torch.device,
    config: TrainConfig,
    resume: str | None,
    progress: Progress,
    cancel: CancelToken,
    extend_steps: int | None,
) -> TrainResult:
    start = _load_start(ws, config, resume)
    config, record = start.config, start.record
    if ctx.main and record is not None:
        lock = _lock_run(ws.root / record.folder)
    model, options, init_desc = _initial_model(ws, start)
    size = int(options["image_size"])
    low_size = size // 4 if options.get("super_res") else None

    # Rank 0 decodes and caches the pixels; the other ranks then read the cache.
    if ctx.main:
        pixels = data_mod.load_pixels(ws, start.images, size, low_size, progress, cancel)
    if ctx.active:
        dist.barrier()
    if not ctx.main:
        pixels = data_mod.load_pixels(ws, start.images, size, low_size)

    n = len(start.images)
    # Images whose centre square is smaller than the model's size are upscaled: say how many
    # (e.g. the 200×150 HAM10000 copy for the 256-px upsampler).
    enlarged = sum(1 for image in start.images if 0 < image.short_side < size)
    steps_total = max(total_steps(n, config, ctx.world), int(extend_steps or 0))
    state = _make_state(model, options, config, ctx, device)
    if start.payload is not None:
        _restore(state, start.payload)
        state.last_checkpoint = record.last_checkpoint

    # The run record and folder (rank 0 writes; the others learn the id).
    if ctx.main:
        if record is None:
            version = runs.version_info(device)
            record = runs.create_run(
                ws,
                config,
                options,
                start.dataset_hash,
                n,
                start.split_id,
                init_desc,
                steps_total,
                version,
            )
            lock = _lock_run(ws.root / record.folder)
        else:
            runs.update_run(ws, record.id, status="running", total_steps=steps_total, message="")
    shared = [record.id if record else None, record.folder if record else None]
    if ctx.active:
        dist.broadcast_object_list(shared, src=0)
    run_id, folder = shared[0], ws.root / shared[1]
    log = runs.RunLog(folder / "log.jsonl") if ctx.main else None

    def emit(event: str, message: str = "", **data: Any) -> None:
        if not ctx.main:
            return
        record_ = {"event": event, "run": run_id, "step": state.step, **data}
        assert log is not None
        log.write({"time": time.time(), **record_})
        progress(ProgressEvent(state.step, steps_total, message, record_))

    emit(
        "start",
        f"run {run_id}: {n} images, {steps_total} steps"
        + (f" ({enlarged} images enlarged to {size} px)" if enlarged else ""),
        folder=str(folder),
        images=n,
        enlarged_images=enlarged,
        total_steps=steps_total,
        resumed=start.payload is not None,
        world=ctx.world,
        device=str(device),
    )
    trainer = _Trainer(ws, ctx, device, config, state, pixels, run_id, folder, emit, steps_total)
    try:
        status, message = trainer.run(cancel)
    finally:
        if log is not None:
            log.close()
        if ctx.main:
            lock.close()
    return TrainResult(run_id, status, state.step, steps_total, folder, message, trainer.models)


def _restore(state: _State, payload: dict[str, Any]) -> None:
    training = payload["training"]
    state.optimizer.load_state_dict(training["optimizer"])
    if training.get("scaler"):
        state.scaler.load_state_dict(training["scaler"])
    if state.ema is not None:
        if not training.get("ema"):
            raise CheckpointError("the checkpoint has no EMA weights but the run uses EMA")
        # Checkpoints are read onto the CPU; the shadow lives where the weights live.
        live = state.model.state_dict()
        state.ema.shadow = {k: v.float().to(live[k].device) for k, v in training["ema"].items()}
    state.step = int(training["step"])
    state.checkpoints = list(training.get("checkpoints", []))


class _Trainer:
    """The step loop with its checkpoint/preview/finish duties (one instance per call)."""

    def __init__(self, ws, ctx, device, config, state, pixels, run_id, folder, emit, steps_total):
        self.ws, self.ctx, self.device, self.config = ws, ctx, device, config
        self.state, self.pixels, self.run_id, self.folder = state, pixels, run_id, folder
        self.emit, self.steps_total = emit, steps_total
        self.models: list[str] = []
        self.diffusion = Diffusion.from_options(state.options, respacing="")
        self.t_max = self.diffusion.num_timesteps - (1 if config.timestep_range == "trainer" else 0)
        self.autocast = _AUTOCAST[config.precision]
        tokenizer = default_tokenizer()
        ctx_len = int(state.options["text_ctx"])
        prompts = [BY_CODE[c].prompt for c in CODES] + [""]  # row 7 = the empty caption
        tokens, mask = tokenizer.batch(prompts, ctx_len)
        self.tokens, self.mask = tokens.to(device), mask.to(device)
        self.entities = preview_mod.preview_entities(config.entities)
        self._durations: list[float] = []

    # -- one step ------------------------------------------------------------------------------
    def _micro_batch(self, indices: torch.Tensor, step: int, micro: int) -> dict[str, torch.Tensor]:
        gen = torch.Generator().manual_seed(
            derive_seed(self.config.seed, "step", step, self.ctx.rank, micro)
        )
        b = len(indices)
        high = self.pixels.high[indices]
        low = self.pixels.low[indices] if self.pixels.low is not None else None
        if self.config.patch_size and low is not None:
            high, low = data_mod.random_patches(high, low, self.config.patch_size, gen)
        x0 = data_mod.to_model_range(high)
        caption = self.pixels.entity_index[indices].clone()
        caption[torch.rand(b, generator=gen) < self.config.uncond_p] = len(CODES)
        t = torch.randint(0, self.t_max, (b,), generator=gen)
        noise = torch.randn(x0.shape, generator=gen)
        batch = {"x0": x0, "t": t, "noise": noise, "caption": caption}
        if low is not None:
            batch["low_res"] = data_mod.to_model_range(low)
        fmt = torch.channels_last if self.config.channels_last else torch.contiguous_format
        return {
            k: (
                v.to(self.device).contiguous(memory_format=fmt)
                if v.ndim == 4
                else v.to(self.device)
            )
            for k, v in batch.items()
        }

    def _loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        x0, t, noise = batch["x0"], batch["t"], batch["noise"]
        xt = self.diffusion.q_sample(x0, t, noise)
        tokens, mask = self.tokens[batch["caption"]], self.mask[batch["caption"]]
        with torch.autocast(
            self.device.type, dtype=self.autocast, enabled=self.autocast is not None
        ):
            out = self.state.train_model(xt, t, tokens, mask, low_res=batch.get("low_res"))
        out = out.float()
        if self.config.loss == "mse":
            loss = mse_loss(out, noise)
            return loss, {"mse": loss.detach()}
        terms = hybrid_loss(self.diffusion, out, x0, xt, t, noise)
        loss = terms["loss"].mean()
        return loss, {"mse": terms["mse"].detach().mean(), "vlb": terms["vlb"].detach().mean()}

    def _step(self, step: int) -> dict[str, float]:
        st = self.state
        epoch, micro_batches = step_batches(
            step, len(self.pixels), self.config, self.ctx.world, self.ctx.rank
        )
        torch.manual_seed(derive_seed(self.config.seed, "dropout", step, self.ctx.rank))
        st.optimizer.zero_grad(set_to_none=True)
        shard = sum(len(m) for m in micro_batches)
        totals: dict[str, torch.Tensor] = {}
        for micro, indices in enumerate(micro_batches):
            batch = self._micro_batch(indices, step, micro)
            weight = len(indices) / shard
            last = micro == len(micro_batches) - 1
            sync = st.train_model.no_sync() if self.ctx.active and not last else _nullcontext()
            with sync:
                loss, terms = self._loss(batch)
                st.scaler.scale(loss * weight).backward()
            for key, value in {"loss": loss.detach(), **terms}.items():
                totals[key] = totals.get(key, 0) + value * weight
        keys = sorted(totals)
        stacked = torch.stack([torch.as_tensor(totals[k], dtype=torch.float32) for k in keys])
        if self.ctx.active:  # the logged loss is the mean over all ranks' shards
            stacked = stacked.to(self.device)
            dist.all_reduce(stacked)
            stacked = stacked / self.ctx.world
        totals = dict(zip(keys, stacked.cpu(), strict=True))
        if not bool(torch.isfinite(totals["loss"])):
            raise NonFiniteLossError(f"the loss became {float(totals['loss'])} at step {step}")
        grad_norm = None
        if self.config.grad_clip > 0:
            st.scaler.unscale_(st.optimizer)
            grad_norm = float(
                torch.nn.utils.clip_grad_norm_(
                    [p for p in st.model.parameters() if p.requires_grad], self.config.grad_clip
                )
            )
        st.scaler.step(st.optimizer)
        st.scaler.update()
        if st.ema is not None:
            st.ema.update(st.model, step)
        st.step = step
        values = {k: float(v) for k, v in totals.items()}
        values["epoch"] = epoch
        values["images"] = shard * self.ctx.world
        if grad_norm is not None:
            values["grad_norm"] = grad_norm
        return values

    # -- the loop ------------------------------------------------------------------------------
    def run(self, cancel: CancelToken) -> tuple[str, str]:
        st, config = self.state, self.config
        began, limit = time.monotonic(), config.time_limit_min * 60
        try:
            while st.step < self.steps_total:
                out_of_time = bool(limit) and time.monotonic() - began > limit
                if _any_true(self.ctx, cancel.cancelled or out_of_time, self.device):
                    self._checkpoint()
                    # A stop request (Stop, SIGTERM, Ctrl-C) ends at once: a preview would delay
                    # the exit, and a kill during it would leave the run marked "running".
                    if out_of_time and config.preview_every and st.step % config.preview_every:
                        self._preview()
                    why = "time limit reached" if out_of_time else "stopped"
                    return self._end(
                        "stopped", f"{why} at step {st.step}; resume with --resume {self.run_id}"
                    )
                started = time.perf_counter()
                values = self._step(st.step + 1)
                if self.device.type == "cuda":
                    torch.cuda.synchronize(self.device)
                self._log_step(values, time.perf_counter() - started)
                if st.step % config.checkpoint_every == 0 and st.step < self.steps_total:
                    self._checkpoint()
                if config.preview_every and st.step % config.preview_every == 0:
                    self._preview()
        except NonFiniteLossError as exc:
            where = st.last_checkpoint or "none was written yet"
            return self._end("failed", f"{exc}; training stopped, last good checkpoint: {where}")
        self._checkpoint()
        if config.preview_every and st.step % config.preview_every:
            self._preview()  # the last step's grid, unless the loop just made it
        self._finish_models()
        return self._end("finished", f"finished {st.step} steps")

    def _log_step(self, values: dict[str, float], seconds: float) -> None:
        self._durations = ([*self._durations, seconds])[-20:]
        mean = sum(self._durations) / len(self._durations)
        st = self.state
        if st.step % self.config.log_every and st.step != self.steps_total:
            return
        self.emit(
            "step",
            f"loss {values['loss']:.4f}",
            **values,
            lr=st.optimizer.param_groups[0]["lr"],
            images_per_s=values["images"] / mean,
            seconds=seconds,
            eta_s=(self.steps_total - st.step) * mean,
            memory_mb=peak_memory_mb(self.device),
        )

    def _checkpoint(self) -> None:
        st = self.state
        if not self.ctx.main or st.step == 0:
            return
        relative = f"{self.folder.relative_to(self.ws.root)}/checkpoints/step-{st.step:08d}.pt"
        if st.last_checkpoint == relative:
            return
        kept = [*st.checkpoints, relative][-KEEP_CHECKPOINTS:]
        training = {
            "run_id": self.run_id,
            "step": st.step,
            "config": self.config.to_dict(),
            "optimizer": st.optimizer.state_dict(),
            "scaler": st.scaler.state_dict() if st.scaler.is_enabled() else {},
            "ema": st.ema.shadow if st.ema is not None else {},
            "rng": {"torch": torch.get_rng_state(), **_cuda_rng(self.device)},
            "checkpoints": kept,
        }
        path = self.ws.root / relative
        runs.save_training_checkpoint(path, runs.training_payload(st.model, st.options, training))
        runs.update_run(self.ws, self.run_id, step=st.step, last_checkpoint=relative)
        # Older files go only after the database points at the new one.
        for old in st.checkpoints:
            if old not in kept:
                (self.ws.root / old).unlink(missing_ok=True)
        st.checkpoints, st.last_checkpoint = kept, relative
        self.emit("checkpoint", f"checkpoint at step {st.step}", path=str(path))

    def _preview(self) -> None:
        if not self.ctx.main:
            return
        st = self.state
        low = None
        if self.pixels.low is not None:
            first = [
                int((self.pixels.entity_index == CODES.index(c)).nonzero()[0])
                for c in self.entities
                if (self.pixels.entity_index == CODES.index(c)).any()
            ]
            low = data_mod.to_model_range(self.pixels.low[first])
        entities = (
            self.entities
            if low is None
            else [c for c in self.entities if (self.pixels.entity_index == CODES.index(c)).any()]
        )
        backup = None
        if st.ema is not None:
            backup = {k: v.detach().clone() for k, v in st.model.state_dict().items()}
            st.ema.copy_to(st.model)
        try:
            rows = preview_mod.sample_previews(
                st.model,
                st.options,
                entities,
                steps=self.config.preview_steps,
                guidance=self.config.preview_guidance if self.config.uncond_p > 0 else None,
                low_res=low,
                autocast_dtype=self.autocast,
            )
        finally:
            if backup is not None:
                st.model.load_state_dict(backup)
        title = f"step {st.step}" + (" EMA" if st.ema is not None else "")
        path = self.folder / "previews" / f"step-{st.step:08d}.png"
        preview_mod.save_preview(preview_mod.grid_image(rows, entities, title), path)
        self.emit("preview", f"preview at step {st.step}", path=str(path))

    def _finish_models(self) -> None:
        digests = []
        if self.ctx.active:
            gathered: list[str | None] = [None] * self.ctx.world
            dist.all_gather_object(gathered, weights_digest(self.state.model))
            digests = list(gathered)
        if not self.ctx.main:
            return
        st = self.state
        kind = self.config.kind
        final = save_checkpoint(self.folder / "final.pt", st.model, st.options)
        self.models.append(
            runs.register_model(
                self.ws, final, kind, f"{self.run_id} step {st.step}", st.options, self.run_id
            )
        )
        if st.ema is not None:
            ema_model = create_model(st.options)
            ema_model.load_state_dict(st.ema.shadow)
            path = save_checkpoint(self.folder / "final-ema.pt", ema_model, st.options)
            self.models.append(
                runs.register_model(
                    self.ws,
                    path,
                    kind,
                    f"{self.run_id} step {st.step} EMA",
                    st.options,
                    self.run_id,
                )
            )
        self.emit(
            "models",
            f"registered {len(self.models)} model(s)",
            models=self.models,
            rank_weight_digests=digests or [weights_digest(st.model)],
        )

    def _end(self, status: str, message: str) -> tuple[str, str]:
        if self.ctx.main:
            runs.update_run(
                self.ws, self.run_id, status=status, step=self.state.step, message=message
            )
            self.emit("end", message, status=status)
        return status, message


def _cuda_rng(device: torch.device) -> dict[str, Any]:
    return {"cuda": torch.cuda.get_rng_state(device)} if device.type == "cuda" else {}


class _nullcontext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
