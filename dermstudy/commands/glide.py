"""``dermstudy glide …``: check the GLIDE engine against reference vectors; inspect model files."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from dermstudy.commands import _common
from dermstudy.commands._common import UserError, print_json
from dermstudy.paths import PROJECT_ROOT

DEFAULT_VECTORS = PROJECT_ROOT / "tests" / "data" / "glide"


def register(subparsers: argparse._SubParsersAction) -> None:
    glide = subparsers.add_parser("glide", help="GLIDE engine tools (verify, info)")
    sub = glide.add_subparsers(dest="glide_command", metavar="ACTION")
    glide.set_defaults(handler=lambda args: _usage(glide))

    verify = sub.add_parser(
        "verify",
        help="reproduce reference test vectors and check full-size model structure",
        description=(
            "Runs every GLIDE test-vector file in DIR (.pt in glide-vectors/1 format, tokenizer "
            "cases, manifests) against this installation and prints per check the maximum absolute "
            "difference and pass/fail against the vector's tolerance. Exit code 1 on any failure."
        ),
    )
    verify.add_argument("directory", nargs="?", default=str(DEFAULT_VECTORS), metavar="DIR")
    _common.add_json_option(verify, "the results")
    verify.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    verify.set_defaults(handler=run_verify)

    info = sub.add_parser("info", help="describe a GLIDE checkpoint file (kind, format, dtypes)")
    info.add_argument("file")
    _common.add_json_option(info)
    info.set_defaults(handler=run_info)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA device is available")
    return name


def run_verify(args: argparse.Namespace) -> int:
    import torch

    from dermstudy.glide.verify import summarize, verify_directory

    directory = Path(args.directory)
    if not directory.is_dir():
        raise UserError(f"{directory}: no such folder of test vectors")
    device = _device(args.device)
    # Exact float32 arithmetic on GPUs: TF32 would exceed the 1e-4 forward tolerance.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    results = verify_directory(directory, device=device)
    summary = summarize(results)
    if args.json:
        print_json(
            {
                "directory": str(directory),
                "device": device,
                **summary,
                "results": [r.as_dict() for r in results],
            }
        )
    else:
        for r in results:
            status = "PASS" if r.passed else "FAIL"
            print(
                f"{status}  {r.vector:<24} {r.check:<46} {r.max_abs_diff:>10.3g}  "
                f"tol {r.tolerance:<8.3g} {r.detail}"
            )
        print(
            f"{summary['passed']}/{summary['checks']} checks passed on {device}"
            + ("" if not summary["failed"] else f"; {summary['failed']} FAILED")
        )
    return 0 if summary["failed"] == 0 else 1


def _public_release_match(model) -> str:
    """Which public GLIDE checkpoint (if any) has exactly this model's tensor names and shapes."""
    from dermstudy.glide.verify import PACKAGED_MANIFESTS

    ours = [(k, list(v.shape)) for k, v in model.state_dict().items()]
    for manifest_file in sorted(PACKAGED_MANIFESTS.glob("*.json")):
        manifest = json.loads(manifest_file.read_text())
        if ours == [(e["key"], e["shape"]) for e in manifest["state_dict"]]:
            return (
                f"{manifest_file.stem}.pt ({manifest['parameters']:,} parameters, "
                f"{len(ours)} tensors: every name and shape as released)"
            )
    return "none (not the public base or upsample architecture)"


def run_info(args: argparse.Namespace) -> int:
    from dermstudy.glide.checkpoints import load_checkpoint, sha256_of

    loaded = load_checkpoint(args.file)
    params = sum(p.numel() for p in loaded.model.parameters())
    data = {
        "file": str(loaded.path),
        "sha256": sha256_of(loaded.path),
        "kind": loaded.kind,
        "format": loaded.format,
        "stored_dtypes": loaded.source_dtypes,
        "parameters": params,
        "options": loaded.options,
        "public_release_shape": _public_release_match(loaded.model),
    }
    if args.json:
        print_json(data)
    else:
        for key, value in data.items():
            text = json.dumps(value) if isinstance(value, (dict, list)) else value
            print(f"{key:>14}: {text}", file=sys.stdout)
    return 0
