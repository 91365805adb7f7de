"""Check this GLIDE implementation against reference test vectors and state_dict manifests.

Accepts any directory of files in the ``glide-vectors/1`` format (model vectors with text branch,
forward pass and sampling trace; schedules; tokenizer cases) and manifest JSON files (full-size
models' ordered keys and shapes). Nothing here is tied to particular files: options, tolerances,
samplers, respacings and prompts are all read from the vectors.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from dermstudy.glide.diffusion import Diffusion
from dermstudy.glide.model import create_model
from dermstudy.glide.pipeline import Stage, text_conditioning, uncond_conditioning
from dermstudy.glide.sampling import Conditioning, GuidedDenoiser, ReplayNoise, quantize_low_res
from dermstudy.glide.tokenizer import default_tokenizer

VECTOR_FORMAT = "glide-vectors/1"
PACKAGED_MANIFESTS = Path(__file__).resolve().parent / "manifests"
_SCHEDULE_FIELDS = (
    "betas",
    "alphas_cumprod",
    "alphas_cumprod_prev",
    "posterior_variance",
    "posterior_log_variance_clipped",
    "posterior_mean_coef1",
    "posterior_mean_coef2",
)


@dataclass
class CheckResult:
    """One comparison: ``max_abs_diff`` (relative for schedules, mismatches for exact checks)."""

    vector: str
    check: str
    max_abs_diff: float
    tolerance: float
    passed: bool
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _result(vector: str, check: str, diff: float, tol: float, detail: str = "") -> CheckResult:
    passed = bool(diff == diff and diff <= tol)  # NaN never passes
    return CheckResult(vector, check, float(diff), float(tol), passed, detail)


def _max_abs(a: torch.Tensor, b: torch.Tensor) -> float:
    if tuple(a.shape) != tuple(b.shape):
        return float("inf")
    return (a.double() - b.double().to(a.device)).abs().max().item() if a.numel() else 0.0


# -- directory walk --------------------------------------------------------------------------------


def verify_directory(
    directory: str | Path, device: str = "cpu", include_packaged_manifests: bool = True
) -> list[CheckResult]:
    """Every vector file and manifest in ``directory`` (plus the packaged manifests if none there)."""
    directory = Path(directory)
    if not directory.is_dir():
        return [CheckResult(str(directory), "read", float("inf"), 0.0, False, "not a folder")]
    results: list[CheckResult] = []
    manifests_seen = False
    files = sorted(p for p in directory.iterdir() if p.suffix in (".pt", ".json"))
    for path in files:
        file_results = list(verify_file(path, device))
        if any(r.check.startswith("manifest") for r in file_results):
            manifests_seen = True
        results += file_results
    if not files:
        results.append(
            CheckResult(str(directory), "read", float("inf"), 0.0, False, "no vector files found")
        )
    if include_packaged_manifests and not manifests_seen:
        for path in sorted(PACKAGED_MANIFESTS.glob("*.json")):
            results += verify_manifest(path)
    return results


def verify_file(path: Path, device: str = "cpu") -> Iterator[CheckResult]:
    name = path.name
    try:
        if path.suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
        else:
            data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any unreadable file is one failed check, never a crash
        yield CheckResult(name, "read", float("inf"), 0.0, False, f"unreadable: {exc}"[:200])
        return
    if not isinstance(data, dict):
        yield CheckResult(name, "read", float("inf"), 0.0, False, "not a vector or manifest file")
        return
    if "state_dict" in data and isinstance(data["state_dict"], list):
        yield from verify_manifest(path, data)
        return
    if data.get("format") != VECTOR_FORMAT:
        yield CheckResult(
            name, "read", float("inf"), 0.0, False, f"unknown format {data.get('format')!r}"
        )
        return
    kind = data.get("kind")
    if kind == "tokenizer":
        yield from verify_tokenizer(name, data)
    elif kind == "schedules":
        yield from verify_schedules(name, data)
    elif kind in ("base", "upsample"):
        yield from verify_model_vectors(name, data, device)
    else:
        yield CheckResult(name, "read", float("inf"), 0.0, False, f"unknown kind {kind!r}")


# -- manifests -------------------------------------------------------------------------------------


def verify_manifest(path: Path, data: dict | None = None) -> list[CheckResult]:
    """Build the manifest's model on the meta device; compare ordered keys, shapes, parameter count."""
    data = data if data is not None else json.loads(path.read_text(encoding="utf-8"))
    label = f"{path.name}"
    with torch.device("meta"):
        model = create_model(data["options"])
    ours = [(k, list(v.shape)) for k, v in model.state_dict().items()]
    ref = [(e["key"], list(e["shape"])) for e in data["state_dict"]]
    mismatches = sum(a != b for a, b in zip(ours, ref, strict=False)) + abs(len(ours) - len(ref))
    detail = f"{len(ours)} keys (reference {len(ref)})"
    if mismatches:
        first = next(((a, b) for a, b in zip(ours, ref, strict=False) if a != b), None)
        detail += f"; first difference: ours {first[0]} vs reference {first[1]}" if first else ""
    params = sum(v.numel() for v in model.state_dict().values())
    results = [_result(label, "manifest.keys_and_shapes", mismatches, 0, detail)]
    if "parameters" in data:
        results.append(
            _result(
                label,
                "manifest.parameters",
                abs(params - int(data["parameters"])),
                0,
                f"{params:,} parameters (reference {int(data['parameters']):,})",
            )
        )
    return results


# -- tokenizer and schedules -----------------------------------------------------------------------


def verify_tokenizer(name: str, data: dict) -> Iterator[CheckResult]:
    tokenizer = default_tokenizer()
    wrong = []
    if int(data.get("n_vocab", tokenizer.n_vocab)) != tokenizer.n_vocab:
        wrong.append(f"n_vocab {tokenizer.n_vocab} != {data['n_vocab']}")
    for case in data["cases"]:
        ids = tokenizer.encode(case["text"])
        tokens, mask = tokenizer.padded_tokens_and_mask(ids, int(case["text_ctx"]))
        if ids != case["encoded"] or tokens != case["tokens"] or mask != case["mask"]:
            wrong.append(repr(case["text"])[:60])
    yield _result(
        name,
        "tokenizer.cases",
        len(wrong),
        0,
        f"{len(data['cases'])} cases" + (f"; wrong: {', '.join(wrong[:3])}" if wrong else ""),
    )


def verify_schedules(name: str, data: dict) -> Iterator[CheckResult]:
    tolerance = float(data.get("tolerance", {}).get("relative", 1e-10))
    for entry in data["schedules"]:
        yield from _compare_schedule(name, entry, tolerance)


def _compare_schedule(
    name: str, entry: dict, tolerance: float, prefix: str = "schedule"
) -> Iterator[CheckResult]:
    label = f"{prefix}[{entry.get('noise_schedule')},{entry.get('respacing')!r}]"
    ours = Diffusion.create(
        entry["noise_schedule"], int(entry.get("diffusion_steps", 1000)), entry.get("respacing", "")
    )
    if not torch.equal(ours.timestep_map, entry["timestep_map"].to(torch.int64)):
        yield _result(name, f"{label}.timestep_map", float("inf"), 0, "kept timesteps differ")
        return
    worst = 0.0
    for field_name in _SCHEDULE_FIELDS:
        if field_name not in entry:
            continue
        a, b = getattr(ours, field_name), entry[field_name].to(torch.float64)
        both_zero = (a == 0) & (b == 0)
        rel = ((a - b).abs() / b.abs()).masked_fill(both_zero, 0.0)
        worst = max(worst, float(rel.max()) if rel.numel() else 0.0)
    yield _result(
        name, label, worst, tolerance, f"{len(ours.timestep_map)} steps, max relative difference"
    )


# -- model vectors ---------------------------------------------------------------------------------


def verify_model_vectors(name: str, data: dict, device: str = "cpu") -> Iterator[CheckResult]:
    tol = data.get("tolerance", {})
    try:
        model = create_model(data["options"])
        model.load_state_dict(data["state_dict"], strict=True)
    except Exception as exc:
        yield CheckResult(
            name, "load_state_dict", float("inf"), 0, False, str(exc).splitlines()[0][:200]
        )
        return
    yield CheckResult(
        name, "load_state_dict", 0.0, 0.0, True, f"{len(data['state_dict'])} keys, strict"
    )
    model = model.to(device).eval()
    dev = torch.device(device)

    if "text" in data and model.xf_width:
        text = data["text"]
        with torch.no_grad():
            xf_proj, xf_out = model.get_text_emb(text["tokens"].to(dev), text["mask"].to(dev))
        yield _result(
            name, "text.xf_proj", _max_abs(xf_proj, text["xf_proj"]), tol.get("text", 1e-4)
        )
        yield _result(name, "text.xf_out", _max_abs(xf_out, text["xf_out"]), tol.get("text", 1e-4))

    if "forward" in data:
        fw = data["forward"]
        out = _forward(model, fw, dev)
        yield _result(name, "forward", _max_abs(out, fw["output"]), tol.get("forward", 1e-4))
        yield from _reduced_precision(name, data, fw, dev)

    if "schedule" in data:
        entry = dict(data["schedule"])
        entry.setdefault("noise_schedule", data["options"]["noise_schedule"])
        entry.setdefault("diffusion_steps", data["options"].get("diffusion_steps", 1000))
        entry.setdefault("respacing", data.get("trace", {}).get("respacing", ""))
        yield from _compare_schedule(name, entry, 1e-10)

    if "trace" in data:
        yield from _verify_trace(name, model, data, dev, tol)


def _forward(model: torch.nn.Module, fw: dict, dev: torch.device) -> torch.Tensor:
    """The model's output on a vector file's ``forward`` inputs."""
    low_res = fw.get("low_res")
    with torch.no_grad():
        return model(
            fw["x"].to(dev),
            fw["timesteps"].to(dev),
            fw["tokens"].to(dev),
            fw["mask"].to(dev),
            low_res=low_res.to(dev) if low_res is not None else None,
        )


# Relative tolerances for the mixed-precision torsos (spec §9.12: fp16 ~1e-3, bf16 ~1e-2 per
# element; the max over a whole output is looser).
_REDUCED = {"bf16": (torch.bfloat16, 5e-2), "fp16": (torch.float16, 1e-2)}


def _reduced_precision(name: str, data: dict, fw: dict, dev: torch.device) -> Iterator[CheckResult]:
    """bf16 (and on CUDA fp16) forward against the float32 reference: relative max difference."""
    for label, (dtype, tol) in _REDUCED.items():
        if dtype == torch.float16 and dev.type != "cuda":
            continue
        model = create_model(data["options"])
        model.load_state_dict(data["state_dict"], strict=True)
        model = model.to(dev).eval()
        model.convert_torso(dtype)
        out = _forward(model, fw, dev)
        finite = bool(torch.isfinite(out).all())
        rel = (
            _max_abs(out, fw["output"]) / float(fw["output"].abs().max())
            if finite
            else float("inf")
        )
        yield _result(name, f"forward.{label}", rel, tol, "relative to max |output|")


def _verify_trace(
    name: str, model, data: dict, dev: torch.device, tol: dict
) -> Iterator[CheckResult]:
    trace = data["trace"]
    options = data["options"]
    diffusion = Diffusion.from_options(options, trace["respacing"])
    expected_t = diffusion.timestep_map.flip(0)
    yield _result(
        name,
        "trace.timesteps",
        float((expected_t != trace["timesteps"]).sum())
        if len(expected_t) == len(trace["timesteps"])
        else float("inf"),
        0,
        f"{trace['sampler']} {trace['respacing']!r}",
    )
    prompt = trace.get("prompt")
    if prompt is not None:
        ctx = int(options["text_ctx"])
        batch = int(trace["tokens"].shape[0])
        # The conditioning the pipeline builds from the prompt must be the reference's.
        cond = text_conditioning([prompt] * batch, ctx, "cpu")
        uncond = uncond_conditioning(batch, ctx, "cpu")
        wrong = int((cond.tokens != trace["tokens"]).sum() + (cond.mask != trace["mask"]).sum())
        if "uncond_tokens" in trace:
            wrong += int((uncond.tokens != trace["uncond_tokens"]).sum())
            wrong += int((uncond.mask != trace["uncond_mask"]).sum())
        yield _result(name, "trace.tokens", wrong, 0, f"prompt {prompt!r}")

    low_res = trace.get("low_res")
    if low_res is not None and "low_res_unquantised" in trace:
        yield _result(
            name,
            "trace.low_res_quantisation",
            _max_abs(quantize_low_res(trace["low_res_unquantised"]), low_res),
            1e-6,
        )
    scale = trace.get("guidance_scale")
    stage = Stage(model, options, diffusion, trace["sampler"])
    cond = Conditioning(
        trace["tokens"].to(dev),
        trace["mask"].to(dev),
        low_res.to(dev) if low_res is not None else None,
    )
    uncond = None
    if scale is not None:
        uncond = Conditioning(trace["uncond_tokens"].to(dev), trace["uncond_mask"].to(dev))
    denoiser = stage.denoiser(cond, uncond, scale)
    states: list[torch.Tensor] = []
    pred: list[torch.Tensor] = []

    def record(event: dict) -> None:
        states.append(event["x"].cpu())
        pred.append(event["pred_xstart"].cpu())

    step_noise = trace.get("step_noise")
    noise = ReplayNoise([n.to(dev) for n in step_noise] if step_noise is not None else [])
    final = stage.run(
        denoiser,
        trace["initial_noise"].to(dev),
        noise,
        temperature=float(trace.get("temperature", 1.0)),
        clip_denoised=bool(trace.get("clip_denoised", True)),
        eta=float(trace.get("eta", 0.0)),
        callback=record,
    ).cpu()
    step_tol = tol.get("trace_step", 1e-3)
    ref_states = trace["states"]
    amp_x0, amp_x = _amplification(diffusion)
    yield _scaled_steps(name, "trace.states", states, ref_states, step_tol, amp_x)
    if "pred_xstart" in trace:
        yield _scaled_steps(name, "trace.pred_xstart", pred, trace["pred_xstart"], step_tol, amp_x0)
    if trace["sampler"] in ("ddpm", "ddim"):
        yield from _teacher_forced(name, trace, denoiser, diffusion, dev, step_tol, amp_x0, amp_x)
    if "final" in trace:
        yield _result(name, "trace.final", _max_abs(final, trace["final"]), tol.get("final", 1e-3))


def _amplification(diffusion: Diffusion) -> tuple[list[float], list[float]]:
    """Per sampling step (t from high to low): how much an ε error grows in x̂0, and in the state.

    x̂0 = (x − √(1−ᾱ)·ε)/√ᾱ multiplies an ε error by √(1/ᾱ − 1) (about 320 at t = 997 of the cosine
    schedule); the next state takes x̂0 with the factor √ᾱ_prev. float32 rounding in ε (~1e-6,
    different on every CPU) is therefore legitimately 1e-3 in x̂0 at the first steps, so each
    step's tolerance is scaled by its factor (never below 1).
    """
    a = diffusion.alphas_cumprod.tolist()
    a_prev = diffusion.alphas_cumprod_prev.tolist()
    x0 = [max(1.0, (1 / a[k] - 1) ** 0.5) for k in reversed(range(len(a)))]
    x = [max(1.0, (a_prev[k] ** 0.5) * (1 / a[k] - 1) ** 0.5) for k in reversed(range(len(a)))]
    return x0, x


def _scaled_steps(
    name: str, check: str, ours: list, ref: list, tol: float, amp: list[float]
) -> CheckResult:
    """Worst per-step difference divided by its scaled tolerance (pass: at most 1)."""
    if len(ours) != len(ref):
        return _result(name, check, float("inf"), 1.0, f"{len(ours)} steps, expected {len(ref)}")
    ratios = [_max_abs(a, b) / (tol * f) for a, b, f in zip(ours, ref, amp, strict=True)]
    worst = max(range(len(ratios)), key=lambda i: ratios[i]) if ratios else 0
    raw = _max_abs(ours[worst], ref[worst]) if ratios else float("inf")
    return _result(
        name,
        check,
        ratios[worst] if ratios else float("inf"),
        1.0,
        f"{len(ref)} steps; worst at step {worst}: {raw:.2g} against {tol:g} x amplification "
        f"{amp[worst]:.3g} (values are difference / scaled tolerance)",
    )


def _teacher_forced(
    name: str,
    trace: dict,
    denoiser: GuidedDenoiser,
    diffusion: Diffusion,
    dev: torch.device,
    tol: float,
    amp_x0: list[float],
    amp_x: list[float],
) -> Iterator[CheckResult]:
    """Each step run from the reference's previous state: an error is found where it first
    appears instead of being carried and amplified through the rest of the trace."""
    refs = [trace["initial_noise"] * float(trace.get("temperature", 1.0)), *trace["states"]]
    step_noise = trace.get("step_noise")
    step_noise = [] if step_noise is None else list(step_noise)
    clip = bool(trace.get("clip_denoised", True))
    eta = float(trace.get("eta", 0.0))
    K = diffusion.num_timesteps
    ratios_x, ratios_x0 = [], []
    for step, k in enumerate(reversed(range(K))):
        x = refs[step].to(dev)
        kk = torch.full((x.shape[0],), k, dtype=torch.long, device=dev)
        out = diffusion.p_mean_variance(denoiser(x, kk), x, kk, clip)
        x0 = out["pred_xstart"]
        if trace["sampler"] == "ddpm":
            z = step_noise[step].to(dev) if step < len(step_noise) else torch.zeros_like(x)
            nxt = out["mean"] + (k != 0) * torch.exp(0.5 * out["log_variance"]) * z
        else:
            eps = diffusion.eps_from_xstart(x, kk, x0)
            a_bar = diffusion.gather(diffusion.alphas_cumprod, kk, x)
            a_prev = diffusion.gather(diffusion.alphas_cumprod_prev, kk, x)
            sigma = eta * ((1 - a_prev) / (1 - a_bar)).sqrt() * (1 - a_bar / a_prev).sqrt()
            nxt = x0 * a_prev.sqrt() + (1 - a_prev - sigma**2).sqrt() * eps
            if eta > 0 and k != 0 and step < len(step_noise):
                nxt = nxt + sigma * step_noise[step].to(dev)
        ratios_x.append(_max_abs(nxt.cpu(), refs[step + 1]) / (tol * amp_x[step]))
        if "pred_xstart" in trace:
            ratios_x0.append(_max_abs(x0.cpu(), trace["pred_xstart"][step]) / (tol * amp_x0[step]))
    for check, ratios in (
        ("trace.teacher_forced", ratios_x),
        ("trace.teacher_forced_x0", ratios_x0),
    ):
        if not ratios:
            continue
        first_bad = next((i for i, r in enumerate(ratios) if r > 1), None)
        where = (
            "no step over its tolerance"
            if first_bad is None
            else f"first error at step {first_bad}"
        )
        yield _result(name, check, max(ratios), 1.0, f"{len(ratios)} steps, {where}")


def summarize(results: list[CheckResult]) -> dict[str, Any]:
    failed = [r for r in results if not r.passed]
    return {"checks": len(results), "passed": len(results) - len(failed), "failed": len(failed)}
