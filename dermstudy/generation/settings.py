"""The generation job's settings: one object that owns the defaults, the checks, the command line and
the JSON form of a ``dermstudy generate`` run.

The CLI parser is built from it (:meth:`GenerateSettings.add_arguments`) and reads it back
(:meth:`GenerateSettings.from_args`); the Generator panel fills one and runs the child process with
:meth:`GenerateSettings.to_argv`, and remembers its form with :meth:`GenerateSettings.to_json`. Torch-free
(the CLI imports it at start); the notebook's values come from ``glide.defaults``.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, ClassVar

from dermstudy.arguments import same_named_fields
from dermstudy.errors import DermstudyError
from dermstudy.glide.defaults import DEFAULT_GUIDANCE, RECIPES, UPSAMPLE_TEMPERATURE

SAMPLER_NAMES = tuple(RECIPES)  # ddpm (the notebook recipe), ddim, dpm++2m
DTYPE_NAMES = ("fp32", "bf16", "fp16")
_PATHS = ("base", "upsampler")


class GenerationError(DermstudyError):
    """Settings or model files that cannot be used; the message is meant for the user."""


@dataclass
class GenerateSettings:
    """One ``dermstudy generate`` run; the defaults are the notebook's."""

    # The values a run may use (inclusive): the checks below and the Generator panel's controls.
    GUIDANCE_LIMITS: ClassVar[tuple[float, float]] = (0.0, 30.0)
    TEMPERATURE_LIMITS: ClassVar[tuple[float, float]] = (0.001, 2.0)

    entity: str | None = None
    prompt: str | None = None
    count: int = 1
    guidance: float = DEFAULT_GUIDANCE
    base_steps: str | None = None  # None: the sampler's recipe (glide.defaults.RECIPES)
    upsample_steps: str | None = None
    sampler: str = "ddpm"
    seed: int | None = None
    batch_size: int = 1
    device: str = "auto"
    dtype: str = "fp32"
    base: Path | None = None
    upsampler: Path | None = None
    upsample: bool = True
    temperature: float = UPSAMPLE_TEMPERATURE
    base_sha256: str | None = None  # when given, the base file must have this hash
    upsampler_sha256: str | None = None

    # -- checks ------------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise :class:`GenerationError` for values no run can use (the device is checked at run
        time, where it is known)."""
        if self.count < 1:
            raise GenerationError("--count must be at least 1")
        if self.batch_size < 1:
            raise GenerationError("--batch-size must be at least 1")
        if self.sampler not in SAMPLER_NAMES:
            raise GenerationError(
                f"unknown sampler {self.sampler!r}; expected {', '.join(SAMPLER_NAMES)}"
            )
        if self.dtype not in DTYPE_NAMES:
            raise GenerationError(f"unknown dtype {self.dtype!r}; expected fp32, bf16 or fp16")
        for flag, value, (low, high) in (
            ("--guidance", self.guidance, self.GUIDANCE_LIMITS),
            ("--temperature", self.temperature, self.TEMPERATURE_LIMITS),
        ):
            if not low <= value <= high:
                raise GenerationError(f"{flag} must be between {low:g} and {high:g}, got {value:g}")

    # -- command line ------------------------------------------------------------------------
    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        """The ``dermstudy generate`` options, with this object's defaults."""
        d = GenerateSettings()
        what = parser.add_argument_group("what to generate")
        what.add_argument("--entity", metavar="CODE", help="mel, nv, akiec, bkl, bcc, df or vasc")
        what.add_argument("--prompt", metavar="TEXT", help="custom prompt (label it with --entity)")
        what.add_argument(
            "--count", type=int, default=d.count, metavar="N", help="number of images (1)"
        )
        what.add_argument("--seed", type=int, default=None, help="seed of the first image (random)")
        how = parser.add_argument_group("sampling")
        how.add_argument(
            "--guidance",
            type=float,
            default=d.guidance,
            help=f"classifier-free guidance ({d.guidance})",
        )
        how.add_argument(
            "--sampler",
            default=d.sampler,
            choices=list(SAMPLER_NAMES),
            help="ddpm = notebook recipe (base DDPM, upsampler DDIM); dpm++2m = fast",
        )
        how.add_argument(
            "--base-steps",
            default=None,
            metavar="SPEC",
            help='base respacing: "100" (default; dpm++2m: logsnr15), "fast27", "ddimN", '
            '"logsnrN" or section counts like "10,10,5"',
        )
        how.add_argument(
            "--upsample-steps",
            default=None,
            metavar="SPEC",
            help='upsampler respacing ("fast27"; dpm++2m: logsnr8)',
        )
        how.add_argument("--no-upsample", action="store_true", help="keep the 64x64 base images")
        how.add_argument(
            "--temperature",
            type=float,
            default=d.temperature,
            help=f"upsampler noise scale ({d.temperature})",
        )
        run = parser.add_argument_group("models and hardware")
        run.add_argument(
            "--base", type=Path, metavar="FILE", help="base model (default models/base.pt)"
        )
        run.add_argument(
            "--upsampler",
            type=Path,
            metavar="FILE",
            help="upsampler model (default models/upsample.pt)",
        )
        run.add_argument(
            "--base-sha256", metavar="HASH", help="refuse a base file with another SHA-256"
        )
        run.add_argument(
            "--upsampler-sha256",
            metavar="HASH",
            help="refuse an upsampler file with another SHA-256",
        )
        run.add_argument("--batch-size", type=int, default=d.batch_size, metavar="N")
        run.add_argument("--device", default=d.device, help="auto, cpu or cuda")
        run.add_argument(
            "--dtype",
            default=d.dtype,
            choices=list(DTYPE_NAMES),
            help="fp32 (default); bf16 or fp16 (CUDA only) mixed precision as the reference's "
            "fp16 mode",
        )

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> GenerateSettings:
        """The settings a parsed ``dermstudy generate`` command line asks for."""
        return cls(**same_named_fields(cls, args), upsample=not args.no_upsample)

    def to_argv(self) -> list[str]:
        """The ``dermstudy generate`` arguments that :meth:`from_args` reads back as these settings
        (the upsampler's options are left out when there is no upsampling)."""
        argv = ["generate"]
        if self.entity:
            argv += ["--entity", self.entity]
        argv += [
            "--count",
            str(self.count),
            "--guidance",
            repr(float(self.guidance)),
            "--sampler",
            self.sampler,
            "--batch-size",
            str(self.batch_size),
            "--device",
            self.device,
            "--dtype",
            self.dtype,
        ]
        if self.prompt:
            argv += ["--prompt", self.prompt]
        if self.base_steps:
            argv += ["--base-steps", self.base_steps]
        if self.seed is not None:
            argv += ["--seed", str(self.seed)]
        if self.base:
            argv += ["--base", str(self.base)]
        if self.base_sha256:
            argv += ["--base-sha256", self.base_sha256]
        if not self.upsample:
            return [*argv, "--no-upsample"]
        argv += ["--temperature", repr(float(self.temperature))]
        if self.upsample_steps:
            argv += ["--upsample-steps", self.upsample_steps]
        if self.upsampler:
            argv += ["--upsampler", str(self.upsampler)]
        if self.upsampler_sha256:
            argv += ["--upsampler-sha256", self.upsampler_sha256]
        return argv

    # -- JSON --------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """Plain JSON values (paths as strings)."""
        data = dataclasses.asdict(self)
        for name in _PATHS:
            data[name] = None if data[name] is None else str(data[name])
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GenerateSettings:
        """Settings from :meth:`to_json`'s form; keys it lacks keep their defaults, unknown keys or
        values of the wrong type raise :class:`GenerationError`."""
        if not isinstance(data, dict):
            raise GenerationError("generation settings must be a JSON object")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise GenerationError(f"unknown generation setting(s): {', '.join(unknown)}")
        defaults = cls()
        values: dict[str, Any] = {}
        for name, value in data.items():
            default = getattr(defaults, name)
            if name in _PATHS:
                value = None if value is None else Path(value)
            elif isinstance(default, bool):
                if not isinstance(value, bool):
                    raise GenerationError(f"generation setting {name}: expected true or false")
            elif isinstance(default, float):
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise GenerationError(f"generation setting {name}: expected a number")
                value = float(value)
            elif isinstance(default, int) or name == "seed":
                whole = isinstance(value, int) and not isinstance(value, bool)
                if not (whole or (name == "seed" and value is None)):
                    raise GenerationError(f"generation setting {name}: expected a whole number")
            elif value is not None and not isinstance(value, str):
                raise GenerationError(f"generation setting {name}: expected text")
            values[name] = value
        return cls(**values)
