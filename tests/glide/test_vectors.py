"""Every shared reference vector reproduced within its stated tolerance."""

from __future__ import annotations

from pathlib import Path

import pytest

from dermstudy.glide.verify import verify_directory, verify_file

VECTORS = Path(__file__).resolve().parents[1] / "data" / "glide"

VECTOR_FILES = sorted(p for p in VECTORS.iterdir() if p.suffix in (".pt", ".json"))


def test_vector_files_were_copied() -> None:
    names = {p.name for p in VECTOR_FILES}
    assert {"base_small.pt", "upsample_small.pt", "schedules.pt", "tokenizer_cases.json"} <= names


_CACHE: dict = {}


def _results(path):
    """verify_file once per file per session (the traces take seconds)."""
    if path not in _CACHE:
        _CACHE[path] = list(verify_file(path))
    return _CACHE[path]


@pytest.mark.parametrize("path", VECTOR_FILES, ids=lambda p: p.name)
def test_vector_file_reproduced(path) -> None:
    results = _results(path)
    assert results, f"{path.name} produced no checks"
    failed = [
        f"{r.check}: {r.max_abs_diff:.3g} > {r.tolerance:.3g} {r.detail}"
        for r in results
        if not r.passed
    ]
    assert not failed, failed


def test_model_vectors_cover_text_forward_and_trace() -> None:
    checks = {r.check for r in _results(VECTORS / "base_small.pt")}
    assert {
        "text.xf_proj",
        "text.xf_out",
        "forward",
        "trace.states",
        "trace.pred_xstart",
        "trace.final",
    } <= checks
    checks = {r.check for r in _results(VECTORS / "upsample_small.pt")}
    assert {"forward", "trace.states", "trace.final", "trace.low_res_quantisation"} <= checks


def test_tampered_vector_fails(tmp_path, base_vectors) -> None:
    import torch

    bad = {k: v for k, v in base_vectors.items() if k != "trace"}  # keep the test fast
    bad["forward"] = dict(bad["forward"])
    bad["forward"]["output"] = bad["forward"]["output"] + 1e-3
    torch.save(bad, tmp_path / "bad.pt")
    results = {r.check: r for r in verify_file(tmp_path / "bad.pt")}
    assert not results["forward"].passed
    assert results["forward"].max_abs_diff == pytest.approx(1e-3, rel=0.05)


def test_trace_checks_scale_with_amplification_and_find_the_first_bad_step(tmp_path) -> None:
    import torch

    data = torch.load(VECTORS / "base_small.pt", weights_only=True)
    results = {r.check: r for r in _results(VECTORS / "base_small.pt")}
    assert (
        results["trace.teacher_forced"].passed
        and "no step over" in results["trace.teacher_forced"].detail
    )
    # A rounding-sized error where the first x0 prediction amplifies it is not a failure...
    noisy = dict(data, trace=dict(data["trace"]))
    pred = [p.clone() for p in noisy["trace"]["pred_xstart"]]
    pred[0] = pred[0] + 1.5e-3
    noisy["trace"]["pred_xstart"] = pred
    # ...but a real error in one late state is, and teacher forcing names that step.
    states = [s.clone() for s in noisy["trace"]["states"]]
    late = len(states) - 3
    states[late] = states[late] + 0.05
    noisy["trace"]["states"] = states
    torch.save(noisy, tmp_path / "noisy.pt")
    checks = {r.check: r for r in verify_file(tmp_path / "noisy.pt")}
    assert checks["trace.pred_xstart"].passed
    assert not checks["trace.teacher_forced"].passed
    assert f"first error at step {late}" in checks["trace.teacher_forced"].detail


def test_empty_directory_fails(tmp_path) -> None:
    results = verify_directory(tmp_path)
    assert any(not r.passed and r.check == "read" for r in results)


def test_cli_verify_exit_codes(tmp_path, capsys) -> None:
    import shutil

    from dermstudy.cli import main

    good = tmp_path / "good"
    good.mkdir()
    for name in ("schedules.pt", "tokenizer_cases.json", "manifest_base.json"):
        shutil.copy(VECTORS / name, good / name)
    assert main(["glide", "verify", str(good), "--json"]) == 0
    out = capsys.readouterr().out
    assert '"failed": 0' in out
    (good / "junk.json").write_text("{}")
    assert main(["glide", "verify", str(good)]) == 1
