"""End to end: tiny random GLIDE checkpoints written by our code → ``dermstudy generate``."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest

from dermstudy.cli import main
from dermstudy.generation import GenerateSettings, GenerationError, generate_images
from dermstudy.glide import create_model, randomize_parameters, save_checkpoint
from dermstudy.jobs import CancelToken
from tests.fixtures.tiny_glide import TINY_BASE, TINY_UP

FAST = ["--base-steps", "4", "--upsample-steps", "3"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    base = save_checkpoint(folder / "base.pt", randomize_parameters(create_model(TINY_BASE), 1))
    up = save_checkpoint(folder / "upsample.pt", randomize_parameters(create_model(TINY_UP), 2))
    return base, up


def _rows(ws_dir):
    conn = sqlite3.connect(ws_dir / "dermstudy.db")
    conn.row_factory = sqlite3.Row
    images = [dict(r) for r in conn.execute("SELECT * FROM images ORDER BY id")]
    model_rows = [dict(r) for r in conn.execute("SELECT * FROM models ORDER BY id")]
    conn.close()
    return images, model_rows


def _generate(ws_dir, models, *extra):
    base, up = models
    return main(["--workspace", str(ws_dir), "generate", "--base", str(base), "--upsampler", str(up),
                 "--progress", "none", *FAST, *extra])  # fmt: skip


def test_generate_end_to_end_with_provenance(tmp_path, models) -> None:
    ws = tmp_path / "ws"
    assert _generate(ws, models, "--entity", "mel", "--count", "2", "--seed", "5") == 0
    images, model_rows = _rows(ws)
    assert len(images) == 2 and len(model_rows) == 2
    base_sha = hashlib.sha256(models[0].read_bytes()).hexdigest()
    assert {m["kind"] for m in model_rows} == {"glide-base", "glide-upsample"}
    assert base_sha in {m["sha256"] for m in model_rows}
    for row, seed in zip(images, (5, 6), strict=True):
        assert (row["kind"], row["entity"], row["source"], row["format"]) == (
            "synthetic", "mel", "generated", "png")  # fmt: skip
        assert (row["width"], row["height"]) == (64, 64)
        data = (ws / row["file"]).read_bytes()
        assert (
            data[:8] == b"\x89PNG\r\n\x1a\n" and hashlib.sha256(data).hexdigest() == row["sha256"]
        )
        prov = json.loads(row["provenance"])
        assert prov["seed"] == seed and prov["prompt"] == "a dermoscopic image of melanoma"
        assert prov["base"]["sha256"] == base_sha and prov["base"]["steps"] == "4"
        assert prov["upsampler"]["steps"] == "3" and prov["temperature"] == 0.997
        assert (prov["sampler"], prov["guidance"], prov["dtype"]) == ("ddpm", 3.0, "fp32")
        assert prov["time"] and prov["seconds"] >= 0


def test_each_seed_alone_reproduces_its_image(tmp_path, models) -> None:
    assert _generate(tmp_path / "a", models, "--entity", "bcc", "--count", "3", "--seed", "40") == 0
    assert _generate(tmp_path / "b", models, "--entity", "bcc", "--seed", "41") == 0
    first, _ = _rows(tmp_path / "a")
    alone, _ = _rows(tmp_path / "b")
    assert alone[0]["sha256"] == first[1]["sha256"]
    assert len({r["sha256"] for r in first}) == 3


def test_cancel_keeps_finished_images(tmp_path, models) -> None:
    base, up = models
    cancel = CancelToken()

    def progress(event) -> None:
        if event.data.get("event") == "image":
            cancel.cancel()

    settings = GenerateSettings(entity="nv", count=3, seed=1, base=base, upsampler=up,
                                base_steps="4", upsample_steps="3")  # fmt: skip
    result = generate_images(tmp_path / "ws", settings, progress, cancel)
    assert result.cancelled and len(result.image_ids) == 1
    images, _ = _rows(tmp_path / "ws")
    assert [r["id"] for r in images] == result.image_ids


def test_no_upsample_fast_sampler_and_json_progress(tmp_path, models, capsys) -> None:
    base, _ = models
    code = main(["--workspace", str(tmp_path / "ws"), "generate", "--entity", "df", "--base", str(base),
                 "--no-upsample", "--sampler", "dpm++2m", "--base-steps", "logsnr5", "--progress", "json",
                 "--seed", "3"])  # fmt: skip
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[-1]["event"] == "done" and lines[-1]["images"] == 1
    assert any(line.get("event") == "image" for line in lines)
    images, _ = _rows(tmp_path / "ws")
    prov = json.loads(images[0]["provenance"])
    assert (images[0]["width"], prov["upsampler"], prov["base"]["sampler"]) == (16, None, "dpm++2m")


def test_bad_inputs_give_one_line_errors(tmp_path, models, capsys, monkeypatch) -> None:
    base, up = models
    monkeypatch.setenv("DERMSTUDY_MODELS", str(tmp_path / "empty"))
    monkeypatch.setenv("DERMSTUDY_DEMO_MODELS", str(tmp_path / "empty"))
    ws = str(tmp_path / "ws")
    cases = [
        (["--entity", "mel"], "no base model"),
        (["--entity", "mel", "--base", str(up), "--upsampler", str(up)], "needed here"),
        (["--prompt", "a cat", "--base", str(base), "--no-upsample"], "needs --entity"),
        (["--entity", "xyz", "--base", str(base)], "unknown entity"),
        (
            ["--entity", "mel", "--base", str(base), "--no-upsample", "--base-steps", "ddim999"],
            "steps",
        ),
        (
            [
                "--entity",
                "mel",
                "--base",
                str(base),
                "--no-upsample",
                "--dtype",
                "fp16",
                "--device",
                "cpu",
            ],
            "CUDA",
        ),
    ]
    for args, message in cases:
        assert main(["--workspace", ws, "generate", "--progress", "none", *args]) == 2, args
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], (args, err)


def test_missing_prompt_and_entity() -> None:
    with pytest.raises(GenerationError, match="--entity CODE or --prompt"):
        generate_images("unused", GenerateSettings())


def test_ctrl_c_in_a_subprocess_keeps_finished_images(tmp_path, models) -> None:
    import os
    import signal
    import subprocess
    import sys

    base, up = models
    ws = tmp_path / "ws"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dermstudy", "--workspace", str(ws), "generate", "--entity", "vasc",
         "--count", "200", "--seed", "1", "--base", str(base), "--upsampler", str(up), *FAST,
         "--progress", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    lines = []
    for line in proc.stdout:
        lines.append(json.loads(line))
        if lines[-1].get("event") == "image":
            proc.send_signal(signal.SIGINT)
            break
    rest, _ = proc.communicate(timeout=120)
    lines += [json.loads(line) for line in rest.splitlines()]
    assert proc.returncode == 130
    summary = lines[-1]
    assert summary["event"] == "done" and summary["cancelled"] and 1 <= summary["images"] < 200
    images, _ = _rows(ws)
    assert [r["id"] for r in images] == summary["image_ids"]


def test_the_provenance_reproduce_line_finds_and_checks_the_exact_files(
    tmp_path, models, monkeypatch, capsys
) -> None:
    import shlex
    import shutil

    base, up = models
    ws = tmp_path / "ws"
    (ws / "models").mkdir(parents=True)  # model files inside the workspace: named relative to it
    shutil.copy(base, ws / "models" / "b.pt")
    shutil.copy(up, ws / "models" / "u.pt")
    args = ["--entity", "akiec", "--seed", "5", "--base", str(ws / "models" / "b.pt"),
            "--upsampler", str(ws / "models" / "u.pt"), "--base-steps", "3",
            "--upsample-steps", "2"]  # fmt: skip
    assert main(["--workspace", str(ws), "generate", *args]) == 0
    first, _ = _rows(ws)
    line = json.loads(first[0]["provenance"])["reproduce"]
    assert "--base models/b.pt --base-sha256 " in line
    assert "--upsampler models/u.pt --upsampler-sha256 " in line
    monkeypatch.chdir(tmp_path)  # another folder: the workspace-relative names still resolve
    replay = shlex.split(line)[1:]
    assert main(["--workspace", str(ws), *replay]) == 0
    again, _ = _rows(ws)
    assert again[-1]["sha256"] == first[0]["sha256"]  # the same bytes again
    shutil.copy(base, ws / "models" / "u.pt")  # another file under the recorded name
    assert main(["--workspace", str(ws), *replay]) == 2
    assert "SHA-256 is" in capsys.readouterr().err
