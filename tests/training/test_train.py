"""The training job on a tiny model on CPU: learning, exact resume, checkpoints, refusals, NaN."""

from __future__ import annotations

import json

import pytest
import torch

from dermstudy.glide.checkpoints import CheckpointError, load_checkpoint
from dermstudy.jobs import CancelToken
from dermstudy.training.config import TrainConfig
from dermstudy.training.loop import step_batches, train
from dermstudy.training.runs import RunError, get_run, read_log
from tests.training.conftest import add_real_images

TINY = {
    "image_size": 16,
    "num_channels": 32,
    "num_res_blocks": 1,
    "channel_mult": "1,2",
    "attention_resolutions": "8",
    "num_head_channels": 32,
    "xf_width": 32,
    "xf_layers": 1,
    "xf_heads": 2,
    "text_ctx": 24,
}


def tiny_config(**overrides) -> TrainConfig:
    values = dict(
        kind="base",
        init="scratch",
        model_options=dict(TINY),
        steps=8,
        epochs=None,
        batch_size=4,
        lr=1e-3,
        uncond_p=0.2,
        ema=0.99,
        loss="hybrid",
        checkpoint_every=4,
        preview_every=0,
        preview_steps=2,
        seed=3,
        device="cpu",
    )
    values.update(overrides)
    return TrainConfig(**values)


def steps_of(folder):
    return [r for r in read_log(folder / "log.jsonl") if r["event"] == "step"]


def state_of(path):
    return load_checkpoint(path).model.state_dict()


def test_loss_decreases_on_a_fixed_image_set(real_workspace):
    result = train(real_workspace.root, tiny_config(steps=36, loss="mse", ema=0.0))
    assert result.status == "finished"
    losses = [r["loss"] for r in steps_of(result.folder)]
    assert len(losses) == 36
    assert sum(losses[-10:]) / 10 < 0.6 * sum(losses[:3]) / 3


def test_resume_reproduces_the_uninterrupted_run_exactly(real_workspace):
    config = tiny_config(preview_every=3, model_options={**TINY, "dropout": 0.1})
    straight = train(real_workspace.root, config)
    cancel = CancelToken()

    def stop_after_five(event):
        if event.data.get("event") == "step" and event.data["step"] == 5:
            cancel.cancel()

    first = train(real_workspace.root, config, progress=stop_after_five, cancel=cancel)
    assert first.status == "stopped" and first.step == 5
    assert get_run(real_workspace, first.run_id).last_checkpoint.endswith("step-00000005.pt")
    resumed = train(real_workspace.root, config, resume=first.run_id)
    assert resumed.status == "finished" and resumed.run_id == first.run_id and resumed.step == 8
    for name in ("final.pt", "final-ema.pt"):
        a, b = state_of(straight.folder / name), state_of(resumed.folder / name)
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a), name
    losses_a = [r["loss"] for r in steps_of(straight.folder)]
    losses_b = [r["loss"] for r in steps_of(resumed.folder)]
    assert losses_a == losses_b
    # Sanity: training changed the weights (so equality above is not trivial).
    start = state_of(resumed.folder / "checkpoints" / "step-00000005.pt")
    end = state_of(resumed.folder / "final.pt")
    assert not all(torch.equal(start[k], end[k]) for k in start)


def test_checkpoint_round_trip_and_models_table(real_workspace):
    result = train(real_workspace.root, tiny_config(steps=4, checkpoint_every=2))
    run = get_run(real_workspace, result.run_id)
    assert run.status == "finished" and run.step == 4
    payload = torch.load(real_workspace.root / run.last_checkpoint, weights_only=True)
    assert payload["training"]["step"] == 4
    assert payload["options"]["num_channels"] == 32
    loaded = load_checkpoint(real_workspace.root / run.last_checkpoint, kind="base")
    final = state_of(result.folder / "final.pt")
    assert all(torch.equal(loaded.model.state_dict()[k], final[k]) for k in final)
    rows = real_workspace.conn.execute(
        "SELECT kind, origin, path, options FROM models ORDER BY id"
    ).fetchall()
    assert [r[0] for r in rows] == ["glide-base", "glide-base"]  # raw and EMA weights
    assert all(r[1] == f"training:{result.run_id}" for r in rows)
    assert all((real_workspace.root / r[2]).exists() for r in rows)
    assert json.loads(rows[0][3])["image_size"] == 16
    # Only the newest checkpoints are kept.
    assert sorted(p.name for p in (result.folder / "checkpoints").iterdir()) == [
        "step-00000002.pt",
        "step-00000004.pt",
    ]


def test_resume_refuses_wrong_kind_changed_data_and_damaged_files(real_workspace):
    config = tiny_config(steps=4, checkpoint_every=1)
    cancel = CancelToken()

    def stop_at_two(event):
        if event.data.get("event") == "step" and event.data["step"] == 2:
            cancel.cancel()

    run = train(real_workspace.root, config, progress=stop_at_two, cancel=cancel)
    assert run.status == "stopped"
    with pytest.raises(RunError, match="trains the base model, not the upsample"):
        train(real_workspace.root, tiny_config(kind="upsample"), resume=run.run_id)
    record = get_run(real_workspace, run.run_id)
    checkpoint = real_workspace.root / record.last_checkpoint
    data = checkpoint.read_bytes()
    checkpoint.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="damaged or truncated"):
        train(real_workspace.root, config, resume=run.run_id)
    wider = {**TINY, "num_channels": 64, "num_head_channels": 64}
    other = train(real_workspace.root, tiny_config(steps=1, model_options=wider))
    checkpoint.write_bytes((other.folder / "checkpoints" / "step-00000001.pt").read_bytes())
    with pytest.raises(CheckpointError, match="written by another run"):
        train(real_workspace.root, config, resume=run.run_id)
    checkpoint.write_bytes(data)
    import fcntl

    with open(real_workspace.root / record.folder / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a live training process holds it
        with pytest.raises(RunError, match="being trained by another process"):
            train(real_workspace.root, config, resume=run.run_id)
    add_real_images(real_workspace, per_entity=1, start=100)
    with pytest.raises(RunError, match="training images changed"):
        train(real_workspace.root, config, resume=run.run_id)


def test_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(real_workspace):
    # An absurd learning rate blows the weights up after the first step.
    config = tiny_config(steps=6, lr=1e36, checkpoint_every=1, loss="mse", ema=0.0)
    result = train(real_workspace.root, config)
    assert result.status == "failed"
    assert "loss became" in result.message and "last good checkpoint" in result.message
    run = get_run(real_workspace, result.run_id)
    assert run.status == "failed" and run.step < 6
    assert (real_workspace.root / run.last_checkpoint).exists()
    assert not (result.folder / "final.pt").exists()
    assert not real_workspace.conn.execute("SELECT COUNT(*) FROM models").fetchone()[0]


def test_upsampler_trains_on_low_res_pairs_and_previews(real_workspace):
    options = {**TINY, "image_size": 32, "channel_mult": "1,1,2", "attention_resolutions": "8"}
    config = tiny_config(kind="upsample", model_options=options, steps=2, preview_every=2, ema=0.0)
    result = train(real_workspace.root, config)
    assert result.status == "finished"
    start = next(r for r in read_log(result.folder / "log.jsonl") if r["event"] == "start")
    assert start["enlarged_images"] == 14  # 40×30 sources, 32-px target: all upscaled, and said so
    previews = list((result.folder / "previews").glob("*.png"))
    assert len(previews) == 1
    assert load_checkpoint(result.folder / "final.pt", kind="upsample").options["super_res"]
    with pytest.raises(CheckpointError, match="upsampler"):
        load_checkpoint(result.folder / "final.pt", kind="base")


def test_upsampler_patch_training_uses_aligned_crops(real_workspace):
    from dermstudy.training.data import random_patches

    high = torch.arange(2 * 3 * 64 * 64, dtype=torch.int32).reshape(2, 3, 64, 64)
    low = high[:, :, ::4, ::4]  # each low pixel is the top-left target pixel of its 4x4 cell
    gen = torch.Generator().manual_seed(3)
    crops_high, crops_low = random_patches(high, low, 32, gen)
    assert crops_high.shape == (2, 3, 32, 32) and crops_low.shape == (2, 3, 8, 8)
    assert torch.equal(crops_high[:, :, ::4, ::4], crops_low)  # same area in both
    assert not torch.equal(crops_high[0], high[0, :, :32, :32]) or not torch.equal(
        crops_high[1], high[1, :, :32, :32]
    )  # crops move (seed 3 does not draw the corner twice)

    options = {**TINY, "image_size": 64, "channel_mult": "1,1,2,2", "attention_resolutions": ""}
    config = tiny_config(kind="upsample", model_options=options, steps=2, patch_size=32, ema=0.0)
    result = train(real_workspace.root, config)
    assert result.status == "finished"
    from dermstudy.training.config import ConfigError, resolve_config

    with pytest.raises(ConfigError, match="patch-size"):
        resolve_config("fast", {"kind": "base", "patch_size": 32})
    with pytest.raises(ConfigError, match="patch-size"):
        resolve_config("fast", {"kind": "upsample", "patch_size": 48})


def test_data_order_is_a_per_epoch_permutation_sharded_by_rank():
    config = TrainConfig(batch_size=2, seed=1, epochs=1)
    seen = []
    for step in range(1, 5):  # 7 images, world 2 -> padded to 8, 2 steps per epoch
        for rank in (0, 1):
            epoch, batches = step_batches(step, 7, config, world=2, rank=rank)
            seen.append((epoch, rank, [int(i) for b in batches for i in b]))
    epoch0 = [i for e, _, ids in seen if e == 0 for i in ids]
    assert len(epoch0) == 8 and set(epoch0) == set(range(7))
    r0 = {i for e, r, ids in seen if e == 0 and r == 0 for i in ids}
    r1 = {i for e, r, ids in seen if e == 0 and r == 1 for i in ids}
    assert len(r0) == 4 and len(r1) >= 3
    epoch1 = [i for e, _, ids in seen if e == 1 for i in ids]
    assert epoch1 != epoch0


def test_time_limit_stops_resumably(real_workspace):
    result = train(real_workspace.root, tiny_config(steps=50, time_limit_min=1e-6))
    assert result.status == "stopped" and result.step == 1
    assert "time limit" in result.message
    assert get_run(real_workspace, result.run_id).last_checkpoint.endswith("step-00000001.pt")


def test_a_stop_request_checkpoints_and_ends_without_a_preview(real_workspace):
    cancel = CancelToken()

    def stop_after_first_step(event) -> None:
        if (event.data or {}).get("event") == "step":
            cancel.cancel()

    config = tiny_config(steps=50, preview_every=4)
    result = train(real_workspace.root, config, progress=stop_after_first_step, cancel=cancel)
    assert result.status == "stopped" and result.step == 1
    assert get_run(real_workspace, result.run_id).status == "stopped"
    assert not list((result.folder / "previews").glob("*.png"))  # no slow preview on the way out


def test_every_command_line_option_reaches_the_config():
    from dermstudy.cli import build_parser
    from dermstudy.commands.train import config_from_args

    argv = (
        "train upsampler --preset fast --init scratch --num-channels 64 --epochs 3 --steps 7"
        " --batch-size 5 --lr 0.002 --weight-decay 0.01 --uncond-p 0.1 --precision fp16"
        " --grad-accum 3 --ema 0.5 --seed 9 --device cpu --freeze-text --loss mse --grad-clip 2"
        " --timestep-range trainer --no-channels-last --no-fused-adamw --entity mel --entity df"
        " --split held --checkpoint-every 11 --preview-every 12 --preview-steps 13"
        " --log-every 14 --time-limit 15 --patch-size 64"
    )
    config = config_from_args(build_parser().parse_args(argv.split()))
    assert config.kind == "upsample" and config.preset == "fast" and config.init == "scratch"
    assert config.model_options == {"num_channels": 64}
    assert (config.epochs, config.steps, config.batch_size) == (3, 7, 5)
    assert (config.lr, config.weight_decay, config.uncond_p, config.ema) == (0.002, 0.01, 0.1, 0.5)
    assert (config.precision, config.grad_accum, config.seed, config.device) == (
        "fp16",
        3,
        9,
        "cpu",
    )
    assert config.freeze_text and config.loss == "mse" and config.grad_clip == 2
    assert config.timestep_range == "trainer"
    assert not config.channels_last and not config.fused_adamw
    assert config.entities == ["mel", "df"] and config.split == "held"
    assert (config.checkpoint_every, config.preview_every, config.preview_steps) == (11, 12, 13)
    assert (config.log_every, config.time_limit_min, config.patch_size) == (14, 15, 64)
    paper = config_from_args(build_parser().parse_args(["train", "base"]))
    assert (paper.lr, paper.batch_size, paper.uncond_p, paper.precision) == (1e-5, 4, 0.0, "fp32")
    assert (paper.epochs, paper.loss, paper.ema, paper.weight_decay) == (60, "mse", 0.0, 0.0)


def test_fast_preset_adapts_to_the_device():
    from dermstudy.training.config import resolve_config

    gpu = resolve_config("fast", {"device": "auto"}, cuda_available=True)
    assert (gpu.precision, gpu.channels_last, gpu.batch_size, gpu.uncond_p) == (
        "bf16",
        True,
        32,
        0.2,
    )
    cpu = resolve_config("fast", {"device": "auto"}, cuda_available=False)
    assert (cpu.precision, cpu.channels_last) == ("fp32", False)
    asked = resolve_config("fast", {"device": "cpu", "precision": "bf16"}, cuda_available=False)
    assert asked.precision == "bf16"  # an explicit choice always wins


def test_split_entity_filter_and_frozen_text(real_workspace):
    from dermstudy.datasets.splits import create_split, split_image_ids

    split = create_split(real_workspace, "held", 0.5, seed=0)
    held_out = split_image_ids(real_workspace, split.id, "test")
    result = train(real_workspace.root, tiny_config(steps=1, split="held", ema=0.0))
    assert get_run(real_workspace, result.run_id).image_count == 14 - len(held_out) == 7

    only_mel = train(real_workspace.root, tiny_config(steps=1, entities=["mel"], ema=0.0))
    assert get_run(real_workspace, only_mel.run_id).image_count == 2

    frozen = train(
        real_workspace.root, tiny_config(steps=2, freeze_text=True, ema=0.0, init="scratch")
    )
    first = state_of(frozen.folder / "final.pt")
    # Three steps: the zero-initialised output layers (as the reference) pass no gradient to the
    # text branch in the first step.
    fresh = train(real_workspace.root, tiny_config(steps=3, ema=0.0, preview_every=0))
    unfrozen = state_of(fresh.folder / "final.pt")
    # Same seed, same initial weights: the frozen run's text weights stayed at their initial values.
    from dermstudy.training.loop import build_model

    initial = build_model(tiny_config())[0].state_dict()
    text = [k for k in initial if k.startswith(("transformer.", "token_embedding", "positional"))]
    assert text and all(torch.equal(first[k], initial[k]) for k in text)
    assert not all(torch.equal(unfrozen[k], initial[k]) for k in text)
    assert not torch.equal(first["input_blocks.0.0.weight"], initial["input_blocks.0.0.weight"])
