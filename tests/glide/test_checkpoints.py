"""Checkpoint loading: formats, prefixes, dtypes, and one clear message for every bad file."""

from __future__ import annotations

import pytest
import torch

from dermstudy.glide import CheckpointError, create_model, load_checkpoint, save_checkpoint
from dermstudy.glide import checkpoints as ckpt


@pytest.fixture
def small_file(tmp_path, base_model):
    return save_checkpoint(tmp_path / "small.pt", base_model)


def _forward(model, vectors):
    fw = vectors["forward"]
    with torch.no_grad():
        return model(fw["x"], fw["timesteps"], fw["tokens"], fw["mask"])


def test_own_format_round_trip_keeps_options_and_outputs(small_file, base_vectors) -> None:
    loaded = load_checkpoint(small_file, kind="base")
    assert loaded.format == ckpt.FORMAT and loaded.kind == "base"
    assert loaded.options["num_channels"] == base_vectors["options"]["num_channels"]
    out = _forward(loaded.model, base_vectors)
    assert (out - base_vectors["forward"]["output"]).abs().max() < 1e-4


def test_bare_fp16_state_dict_with_compile_and_ddp_prefixes(
    tmp_path, base_vectors, monkeypatch
) -> None:
    # Bare files get the default options of their kind; make the small vector options the default.
    monkeypatch.setattr(ckpt, "default_options", lambda kind: dict(base_vectors["options"]))
    state = {f"_orig_mod.module.{k}": v for k, v in base_vectors["state_dict"].items()}
    assert next(iter(state.values())).dtype == torch.float16
    torch.save(state, tmp_path / "bare.pt")
    loaded = load_checkpoint(tmp_path / "bare.pt", kind="base")
    assert loaded.format == "bare" and loaded.source_dtypes == ["float16"]
    assert all(p.dtype == torch.float32 for p in loaded.model.parameters())
    out = _forward(loaded.model, base_vectors)
    assert (out - base_vectors["forward"]["output"]).abs().max() < 1e-4


def test_bf16_autocast_forward_is_close_to_fp32(base_model, base_vectors) -> None:
    reference = _forward(base_model, base_vectors)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = _forward(base_model, base_vectors)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    rel = (out - reference).abs().max() / reference.abs().max()
    assert 0 < rel < 5e-2


def test_wrong_kind_names_both_kinds(small_file) -> None:
    with pytest.raises(CheckpointError, match=r"small\.pt: is a base .* but an upsampler"):
        load_checkpoint(small_file, kind="upsample")


def test_bare_file_of_other_architecture_lists_keys(tmp_path, base_vectors) -> None:
    torch.save(dict(base_vectors["state_dict"]), tmp_path / "other.pt")
    with pytest.raises(
        CheckpointError, match=r"other\.pt: does not match the default base .*missing key"
    ):
        load_checkpoint(tmp_path / "other.pt")


def test_different_width_reports_first_shape_mismatch(tmp_path, base_vectors) -> None:
    options = dict(base_vectors["options"])
    state = {
        k: v.clone() for k, v in create_model({**options, "num_channels": 64}).state_dict().items()
    }
    torch.save(
        {"format": ckpt.FORMAT, "options": options, "state_dict": state}, tmp_path / "wide.pt"
    )
    with pytest.raises(
        CheckpointError,
        match=r"wide\.pt: .*time_embed\.0\.weight has shape \[256, 64\], expected \[128, 32\]",
    ):
        load_checkpoint(tmp_path / "wide.pt")


def test_truncated_file(tmp_path, small_file) -> None:
    (tmp_path / "cut.pt").write_bytes(small_file.read_bytes()[:20000])
    with pytest.raises(CheckpointError, match=r"cut\.pt: damaged or truncated"):
        load_checkpoint(tmp_path / "cut.pt")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"just some text\n", "not a PyTorch checkpoint"),
    ],
)
def test_not_a_checkpoint(tmp_path, content, message) -> None:
    (tmp_path / "x.pt").write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(tmp_path / "x.pt")


class _Payload:
    pass


def test_pickled_objects_are_refused_not_executed(tmp_path) -> None:
    torch.save({"x": _Payload()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="refused - the file holds Python objects"):
        load_checkpoint(tmp_path / "evil.pt")


def test_non_glide_tensors_and_latent_mode(tmp_path) -> None:
    torch.save({"fc.weight": torch.zeros(2, 2)}, tmp_path / "resnet.pt")
    with pytest.raises(CheckpointError, match="not a GLIDE checkpoint"):
        load_checkpoint(tmp_path / "resnet.pt")
    latent = {
        "input_blocks.0.0.weight": torch.zeros(8, 4, 3, 3),
        "clip_to_time.weight": torch.zeros(2),
    }
    torch.save(latent, tmp_path / "latent.pt")
    with pytest.raises(CheckpointError, match="latent-mode"):
        load_checkpoint(tmp_path / "latent.pt")


def test_missing_file_and_vector_file(tmp_path) -> None:
    with pytest.raises(CheckpointError, match="no such file"):
        load_checkpoint(tmp_path / "absent.pt")
    from pathlib import Path

    vectors = Path(__file__).resolve().parents[1] / "data" / "glide" / "schedules.pt"
    with pytest.raises(CheckpointError, match="test-vector file"):
        load_checkpoint(vectors)


def test_cli_reports_bad_file_in_one_line(tmp_path, capsys) -> None:
    from dermstudy.cli import main

    (tmp_path / "bad.pt").write_text("nope")
    assert main(["glide", "info", str(tmp_path / "bad.pt")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.pt" in err[0] and "Traceback" not in err[0]


def test_fp16_torso_follows_the_reference_dtype_table(base_vectors) -> None:
    model = create_model(base_vectors["options"])
    model.load_state_dict(base_vectors["state_dict"])
    model.eval()
    reference = _forward(model, base_vectors)
    model.convert_to_fp16()
    dtypes = {k: v.dtype for k, v in model.state_dict().items()}
    half = ["input_blocks.0.0.weight", "input_blocks.1.0.in_layers.2.weight", "token_embedding.weight",
            "transformer.resblocks.0.attn.c_qkv.weight", "transformer_proj.weight"]  # fmt: skip
    full = ["positional_embedding", "padding_embedding", "time_embed.0.weight", "out.2.weight",
            "input_blocks.1.0.emb_layers.1.weight", "input_blocks.1.0.in_layers.0.weight",
            "transformer.resblocks.0.ln_1.weight", "final_ln.weight"]  # fmt: skip
    assert all(dtypes[k] == torch.float16 for k in half)
    assert all(dtypes[k] == torch.float32 for k in full)
    out = _forward(model, base_vectors)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    assert (out - reference).abs().max() / reference.abs().max() < 1e-2


def test_bf16_checkpoint_load_uses_a_bf16_torso(small_file, base_vectors) -> None:
    reference = _forward(load_checkpoint(small_file).model, base_vectors)
    loaded = load_checkpoint(small_file, dtype=torch.bfloat16)
    assert loaded.model.input_blocks[0][0].weight.dtype == torch.bfloat16
    assert loaded.model.time_embed[0].weight.dtype == torch.float32
    out = _forward(loaded.model, base_vectors)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    assert 0 < (out - reference).abs().max() / reference.abs().max() < 5e-2


def test_full_size_bare_state_dicts_are_recognised_by_keys_and_shapes(tmp_path) -> None:
    from pathlib import Path

    from dermstudy.glide import default_options

    def meta_state(kind):
        with torch.device("meta"):
            return create_model(default_options(kind)).state_dict()

    path = Path("base.pt")
    base, up = meta_state("base"), meta_state("upsample")
    assert ckpt.detect_kind(path, base) == "base" and ckpt.detect_kind(path, up) == "upsample"
    ckpt.compare_state(
        path, base, ckpt.strip_prefixes({f"module.{k}": v for k, v in base.items()}), "x"
    )
    with pytest.raises(CheckpointError, match="missing key"):
        ckpt.compare_state(path, base, up, "default base architecture")
    narrow = dict(base)
    narrow["token_embedding.weight"] = torch.empty(50257, 256, device="meta")
    with pytest.raises(CheckpointError, match=r"token_embedding\.weight has shape \[50257, 256\]"):
        ckpt.compare_state(path, base, narrow, "default base architecture")


def test_loaded_weights_do_not_follow_the_file(small_file, base_vectors) -> None:
    loaded = load_checkpoint(small_file, kind="base")
    before = _forward(loaded.model, base_vectors)
    # Overwrite the file in place with other weights, then truncate it: the running model must
    # keep the weights it loaded (no memory mapping of the file behind its parameters).
    other = create_model(loaded.options)
    with torch.no_grad():
        for p in other.parameters():
            p.fill_(0.5)
    save_checkpoint(small_file.with_name("other.pt"), other)
    small_file.write_bytes(small_file.with_name("other.pt").read_bytes())
    assert torch.equal(_forward(loaded.model, base_vectors), before)
    with open(small_file, "r+b") as handle:
        handle.truncate(100)
    assert torch.equal(_forward(loaded.model, base_vectors), before)
