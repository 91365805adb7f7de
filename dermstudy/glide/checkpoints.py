"""Loading and saving GLIDE checkpoints, safely and with one clear message per bad file.

Formats recognised (always read with ``torch.load(..., weights_only=True)``, CPU map location):

* **bare state dicts** - the released ``base.pt`` / ``upsample.pt`` and fine-tunes made from them
  (glide-finetune writes ``model.state_dict()``): recognised by their keys and shapes, the options are
  the reference defaults of the detected kind;
* **dermstudy checkpoints** - ``{"format": "dermstudy-glide/1", "kind", "options", "state_dict", ...}``
  written by ``save_checkpoint``: the options travel with the weights.

Key prefixes from ``torch.compile`` (``_orig_mod.``) and DistributedDataParallel (``module.``) are
stripped. Tensors are cast on load, so fp16/bf16-stored weights load into a float32 model. Every
problem raises ``CheckpointError`` whose message names the file and what differs.
"""

from __future__ import annotations

import os
import pickle
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from dermstudy.errors import DermstudyError
from dermstudy.files import atomic_path, sha256_file
from dermstudy.glide.model import Text2ImUNet, create_model
from dermstudy.glide.options import (
    OptionsError,
    default_options,
    in_channels,
    model_kind,
    validate_options,
)

FORMAT = "dermstudy-glide/1"
_PREFIXES = ("_orig_mod.", "module.")
_IN_CHANNELS_TO_KIND = {3: "base", 6: "upsample", 7: "base-inpaint", 10: "upsample-inpaint"}


class CheckpointError(DermstudyError):
    """A file that cannot be used as the requested GLIDE model; the message says why."""


@dataclass
class LoadedModel:
    model: Text2ImUNet
    options: dict[str, Any]
    kind: str
    path: Path
    format: str  # "bare" or FORMAT
    source_dtypes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


sha256_of = sha256_file  # the name the glide API exports


# -- reading ---------------------------------------------------------------------------------------


def read_checkpoint_file(path: str | os.PathLike) -> Any:
    """``torch.load`` with weights_only=True, turning every failure into a ``CheckpointError``."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such file")
    if path.is_dir():
        raise CheckpointError(f"{path}: is a folder, not a checkpoint file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: the file is empty")
    with open(path, "rb") as handle:
        magic = handle.read(4)
    is_zip = _is_zip(path)
    if magic.startswith(b"PK") and not is_zip:
        raise CheckpointError(
            f"{path}: damaged or truncated file (incomplete zip archive) - copy or download it again"
        )
    if not is_zip and not magic.startswith(b"\x80"):
        raise CheckpointError(f"{path}: not a PyTorch checkpoint (unrecognised file format)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=is_zip)
    except pickle.UnpicklingError as exc:
        text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
        if "weights_only" in text.lower() or "unsupported" in text.lower():
            detail = next((ln.strip() for ln in text.splitlines() if "Unsupported" in ln), "")
            raise CheckpointError(
                f"{path}: refused - the file holds Python objects, not only tensors "
                f"(only safe weights_only loading is allowed){': ' + detail[:150] if detail else ''}"
            ) from None
        raise CheckpointError(f"{path}: not a PyTorch checkpoint ({_first_line(text)})") from None
    except RuntimeError as exc:
        text = str(exc)
        if "central directory" in text or "PytorchStreamReader" in text or "zip archive" in text:
            raise CheckpointError(
                f"{path}: damaged or truncated file (incomplete zip archive) - copy or download it again"
            ) from None
        raise CheckpointError(
            f"{path}: cannot be read as a PyTorch checkpoint ({_first_line(text)})"
        ) from None
    except (EOFError, OSError, ValueError, KeyError, AttributeError, TypeError, IndexError) as exc:
        raise CheckpointError(
            f"{path}: damaged or not a PyTorch checkpoint ({_first_line(str(exc)) or type(exc).__name__})"
        ) from None


def _first_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[0][:200] if lines else ""


def _is_zip(path: Path) -> bool:
    try:
        return zipfile.is_zipfile(path)
    except OSError:
        return False


def strip_prefixes(state_dict: dict[str, Any]) -> dict[str, Any]:
    """Remove ``_orig_mod.`` / ``module.`` prefixes (in any combination) from every key."""
    cleaned = {}
    for key, value in state_dict.items():
        changed = True
        while changed:
            changed = False
            for prefix in _PREFIXES:
                if key.startswith(prefix):
                    key = key[len(prefix) :]
                    changed = True
        cleaned[key] = value
    return cleaned


def split_checkpoint(
    path: Path, payload: Any
) -> tuple[dict[str, torch.Tensor], dict[str, Any] | None, str, dict]:
    """(state_dict, options or None, format, extra fields) of a loaded file."""
    if not isinstance(payload, dict):
        raise CheckpointError(
            f"{path}: not a GLIDE checkpoint (contains a {type(payload).__name__}, not a dict of tensors)"
        )
    if payload.get("format") == FORMAT:
        state = payload.get("state_dict")
        options = payload.get("options")
        if not isinstance(state, dict) or not isinstance(options, dict):
            raise CheckpointError(f"{path}: dermstudy checkpoint without state_dict/options")
        extra = {k: v for k, v in payload.items() if k not in ("state_dict", "options")}
        return strip_prefixes(state), dict(options), FORMAT, extra
    if "format" in payload and str(payload.get("format", "")).startswith("glide-vectors"):
        raise CheckpointError(f"{path}: is a test-vector file, not a model checkpoint")
    for wrapper in ("state_dict", "model", "ema"):
        if isinstance(payload.get(wrapper), dict) and not torch.is_tensor(payload.get(wrapper)):
            inner = payload[wrapper]
            if inner and all(torch.is_tensor(v) for v in inner.values()):
                return strip_prefixes(inner), None, "bare", {}
    tensors = {k: v for k, v in payload.items() if torch.is_tensor(v)}
    if not tensors or len(tensors) != len(payload):
        raise CheckpointError(f"{path}: not a GLIDE checkpoint (not a flat dict of tensors)")
    return strip_prefixes(tensors), None, "bare", {}


def detect_kind(path: Path, state: dict[str, torch.Tensor]) -> str:
    """base / upsample (/-inpaint) from the first convolution; refuses latent-mode and foreign files."""
    if any(k.startswith(("clip_to_time.", "clip_to_xf.")) for k in state):
        raise CheckpointError(
            f"{path}: a latent-mode GLIDE checkpoint (clip_to_time/clip_to_xf keys, different "
            f"architecture) - only pixel-space GLIDE models are supported"
        )
    first = state.get("input_blocks.0.0.weight")
    if first is None or first.ndim != 4:
        sample = ", ".join(list(state)[:3])
        raise CheckpointError(
            f"{path}: not a GLIDE checkpoint (no input_blocks.0.0.weight; keys start {sample})"
        )
    out = state.get("out.2.weight")
    if out is not None and out.shape[0] != 6:
        raise CheckpointError(
            f"{path}: the model outputs {out.shape[0]} channels, GLIDE outputs 6 "
            f"(a latent-mode or other diffusion model?)"
        )
    channels = int(first.shape[1])
    if channels not in _IN_CHANNELS_TO_KIND:
        raise CheckpointError(
            f"{path}: first convolution takes {channels} input channels; GLIDE models take 3 "
            f"(base), 6 (upsampler), 7 or 10 (inpainting)"
        )
    return _IN_CHANNELS_TO_KIND[channels]


def compare_state(
    path: Path, model_state: dict[str, torch.Tensor], state: dict[str, torch.Tensor], what: str
) -> None:
    """Raise one message listing missing/unexpected keys or the first shape mismatch."""
    missing = [k for k in model_state if k not in state]
    unexpected = [k for k in state if k not in model_state]
    parts = [
        f"{len(keys)} {kind} key(s), e.g. {', '.join(keys[:3])}"
        for kind, keys in (("missing", missing), ("unexpected", unexpected))
        if keys
    ]
    if parts:
        raise CheckpointError(f"{path}: does not match the {what}: " + "; ".join(parts))
    for key, param in model_state.items():
        if tuple(state[key].shape) != tuple(param.shape):
            raise CheckpointError(
                f"{path}: does not match the {what}: {key} has shape {list(state[key].shape)}, "
                f"expected {list(param.shape)} (different widths?)"
            )


def load_checkpoint(
    path: str | os.PathLike,
    kind: str | None = None,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> LoadedModel:
    """Load a GLIDE model from ``path``; ``kind`` ("base"/"upsample") is checked if given.

    ``dtype``: float32, or float16 / bfloat16 for the reference's mixed-precision torso (§4.1).
    """
    path = Path(path)
    payload = read_checkpoint_file(path)
    state, options, fmt, extra = split_checkpoint(path, payload)
    # A sparse tensor stands for a dense one with zero rows (the demo model stores only the rows of
    # its token embedding that its prompts use); the model always gets dense weights.
    state = {k: (v.to_dense() if v.is_sparse else v) for k, v in state.items()}
    file_kind = detect_kind(path, state)
    if options is None:
        options = default_options(file_kind)
    try:
        options = validate_options(options)
    except OptionsError as exc:
        raise CheckpointError(f"{path}: invalid options stored with the weights ({exc})") from None
    stored_kind = model_kind(options)
    if in_channels(options) != int(state["input_blocks.0.0.weight"].shape[1]):
        raise CheckpointError(
            f"{path}: options say {stored_kind} but the weights are a {file_kind} model"
        )
    if kind is not None and not stored_kind.startswith(kind):
        raise CheckpointError(
            f"{path}: is {_with_article(_describe(stored_kind))} checkpoint, but "
            f"{_with_article(_describe(kind))} model is needed here"
        )
    with torch.device("meta"):
        model = create_model(options)
    what = f"{'default ' if fmt == 'bare' else ''}{_describe(stored_kind)} architecture"
    compare_state(path, model.state_dict(), state, what)
    dtypes = sorted({str(t.dtype).replace("torch.", "") for t in state.values()})
    bad = [k for k, t in state.items() if not t.is_floating_point()]
    if bad:
        raise CheckpointError(f"{path}: {bad[0]} is not a floating-point tensor")
    # Copy into float32 memory this process owns: the file is memory-mapped, and adopting its
    # tensors would tie the running model to the file (an in-place overwrite would change the
    # weights; a truncation would kill the process with SIGBUS).
    model = model.to_empty(device="cpu").float()
    model.load_state_dict(state, strict=True)
    del state, payload
    model = model.to(device=device)
    if dtype in (torch.float16, torch.bfloat16):
        model.convert_torso(dtype)
    elif dtype != torch.float32:
        raise CheckpointError(f"unsupported dtype {dtype}")
    model.eval()
    _check_finite(path, model)
    return LoadedModel(model, options, stored_kind, path, fmt, dtypes, extra)


def _check_finite(path: Path, model: torch.nn.Module) -> None:
    for name, param in model.named_parameters():
        if not torch.isfinite(param).all():
            raise CheckpointError(f"{path}: parameter {name} contains NaN or infinite values")


def _describe(kind: str) -> str:
    names = {"base": "base (text-to-image)", "upsample": "upsampler (super-resolution)"}
    root = kind.replace("-inpaint", "")
    return names.get(root, root) + (" inpainting" if kind.endswith("inpaint") else "")


def _with_article(text: str) -> str:
    return ("an " if text[:1] in "aeiou" else "a ") + text


# -- writing ---------------------------------------------------------------------------------------


def save_checkpoint(
    path: str | os.PathLike,
    model: Text2ImUNet,
    options: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``{"format", "kind", "options", "state_dict", ...extra}`` (loads with weights_only)."""
    path = Path(path)
    options = validate_options(options or model.options)
    payload = {
        "format": FORMAT,
        "kind": model_kind(options),
        "options": options,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        **(extra or {}),
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def find_model_or_demo(kind: str) -> Path | None:
    """``models/<kind>.pt``, else the shipped demo model of that kind, else None."""
    from dermstudy.paths import demo_models_dir

    return find_default_model(kind) or find_default_model(kind, demo_models_dir())


def find_default_model(kind: str, directory: Path | None = None) -> Path | None:
    """``models/base.pt`` / ``models/upsample.pt`` if present (``models_dir()`` by default)."""
    from dermstudy.paths import models_dir

    folder = Path(directory) if directory else models_dir()
    candidate = folder / f"{kind}.pt"
    return candidate if candidate.is_file() else None
