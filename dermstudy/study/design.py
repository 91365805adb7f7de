"""Study creation's settings: :class:`StudyDesign` owns the defaults, the checks, the
``dermstudy study create`` options (:meth:`~StudyDesign.add_arguments`), the command line read back
(:meth:`~StudyDesign.from_args`) and written (:meth:`~StudyDesign.to_argv`), and the JSON form.

Light to import (the CLI builds its parser from it at start): the pool options, which need the
workspace, are imported only when a design is made. Drawing and blinding the cases is
:mod:`dermstudy.study.builder`.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dermstudy.arguments import same_named_fields
from dermstudy.entities import CODES, parse_entity
from dermstudy.errors import DermstudyError
from dermstudy.reading.answers import ANSWER_SCALES, FIVE_POINT, ORDER_SAME, ORDERS, ReadingSettings

if TYPE_CHECKING:
    from dermstudy.study.pools import PoolOptions

# The harmonisations study.blinding applies, named here (that module needs numpy and Pillow, too
# slow to load for building the parser at every start).
HARMONISE_NONE = "none"
HARMONISE_SOFTEN = "soften"
HARMONISE_JPEG = "jpeg"
HARMONISATIONS: tuple[str, ...] = (HARMONISE_SOFTEN, HARMONISE_JPEG, HARMONISE_NONE)
DEFAULT_HARMONISE = HARMONISE_SOFTEN
REAL_PER_ENTITY = 10
SYNTHETIC_PER_ENTITY = 10


class StudyError(DermstudyError, ValueError):
    """A study cannot be created or found; the message says which and why."""


def _no_pool_options() -> PoolOptions:
    from dermstudy.study.pools import PoolOptions

    return PoolOptions()


@dataclass
class StudyDesign:
    """Everything a coordinator chooses when creating a study.

    ``counts`` maps entity code -> (real, synthetic) cases; build it with :meth:`with_counts`.
    """

    name: str
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)
    seed: int | None = None
    display_size: int = 256
    order: str = ORDER_SAME
    allow_back: bool = True
    answer_scale: str = FIVE_POINT
    entity_confidence: bool = False
    practice: int = 0
    pools: PoolOptions = field(default_factory=_no_pool_options)
    harmonise: str = DEFAULT_HARMONISE

    @classmethod
    def with_counts(
        cls,
        name: str,
        entities: list[str] | None = None,
        real_per_entity: int = REAL_PER_ENTITY,
        synthetic_per_entity: int = SYNTHETIC_PER_ENTITY,
        overrides: dict[str, tuple[int, int]] | None = None,
        **options: object,
    ) -> StudyDesign:
        codes = [parse_entity(e) for e in entities] if entities else list(CODES)
        counts = {code: (real_per_entity, synthetic_per_entity) for code in codes}
        for code, pair in (overrides or {}).items():
            counts[parse_entity(code)] = pair
        ordered = {code: counts[code] for code in CODES if code in counts}
        return cls(name=name, counts=ordered, **options)  # type: ignore[arg-type]

    def validate(self) -> None:
        if not self.name or self.name != self.name.strip() or len(self.name) > 100:
            raise StudyError("a study name must be 1-100 characters without surrounding spaces")
        if not self.counts:
            raise StudyError("a study needs at least one entity")
        for code, (real, synthetic) in self.counts.items():
            if real < 0 or synthetic < 0:
                raise StudyError(f"{code}: case counts cannot be negative")
        if sum(r + s for r, s in self.counts.values()) == 0:
            raise StudyError("a study needs at least one case")
        if not 16 <= self.display_size <= 4096:
            raise StudyError("display size must be between 16 and 4096 pixels")
        if self.order not in ORDERS:
            raise StudyError(f"order must be one of {', '.join(ORDERS)}")
        if self.answer_scale not in ANSWER_SCALES:
            raise StudyError(f"answer scale must be one of {', '.join(ANSWER_SCALES)}")
        if self.practice < 0:
            raise StudyError("practice cases cannot be negative")
        if self.harmonise not in HARMONISATIONS:
            raise StudyError(f"harmonisation must be one of {', '.join(HARMONISATIONS)}")

    # -- command line and JSON ------------------------------------------------------------------
    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        """The ``dermstudy study create`` arguments (the name and every option), with this
        class's defaults; an option that sets a field keeps it under the field's name."""
        d = {f.name: f.default for f in dataclasses.fields(StudyDesign)}
        parser.add_argument("name", metavar="NAME")
        parser.add_argument("--real-per-entity", type=int, default=REAL_PER_ENTITY, metavar="N")
        parser.add_argument(
            "--synthetic-per-entity", type=int, default=SYNTHETIC_PER_ENTITY, metavar="N"
        )
        _add_pool_arguments(parser)
        parser.add_argument(
            "--size",
            dest="display_size",
            type=int,
            default=d["display_size"],
            metavar="SIZE",
            help="display size in pixels (square)",
        )
        parser.add_argument(
            "--harmonise",
            choices=list(HARMONISATIONS),
            default=d["harmonise"],
            help="common low-level treatment of every case so that compression traces, sharpness "
            f"and noise do not tell real from synthetic (default: {d['harmonise']}; see README)",
        )
        parser.add_argument(
            "--seed", type=int, help="random seed (default: a random one, recorded)"
        )
        parser.add_argument("--order", choices=list(ORDERS), default=d["order"])
        parser.add_argument(
            "--allow-back",
            action=argparse.BooleanOptionalAction,
            default=d["allow_back"],
            help="readers may go back and change answers (default: yes)",
        )
        parser.add_argument(
            "--scale", dest="answer_scale", choices=list(ANSWER_SCALES), default=d["answer_scale"]
        )
        parser.add_argument(
            "--entity-confidence",
            action="store_true",
            help="also ask a 1-5 confidence for the entity",
        )
        parser.add_argument(
            "--practice",
            type=int,
            default=d["practice"],
            metavar="N",
            help="unscored practice cases",
        )

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> StudyDesign:
        """The design a parsed ``dermstudy study create`` command line asks for."""
        entities = [e for e in (args.entities or "").split(",") if e.strip()] or None
        overrides = dict(_parse_count(text) for text in args.count)
        return cls.with_counts(
            args.name,
            entities,
            args.real_per_entity,
            args.synthetic_per_entity,
            overrides,
            pools=_pool_options_from_args(args),
            **same_named_fields(cls, args, skip=("name", "counts", "pools")),
        )

    def to_argv(self) -> list[str]:
        """The ``dermstudy study create`` arguments that :meth:`from_args` reads back as this
        design (every entity's counts spelled out)."""
        argv = ["study", "create", self.name, "--entities", ",".join(self.counts)]
        for code, (real, synthetic) in self.counts.items():
            argv += ["--count", f"{code}={real},{synthetic}"]
        for name in self.pools.exclude_sets:
            argv += ["--exclude-set", name]
        for name in self.pools.exclude_splits:
            argv += ["--exclude-split", name]
        for key, pattern in self.pools.synthetic_filters:
            argv += ["--synthetic-filter", f"{key}={pattern}"]
        if not self.pools.one_per_lesion:
            argv.append("--all-images-per-lesion")
        if self.seed is not None:
            argv += ["--seed", str(self.seed)]
        argv += ["--size", str(self.display_size), "--harmonise", self.harmonise]
        argv += ["--order", self.order, "--scale", self.answer_scale]
        argv.append("--allow-back" if self.allow_back else "--no-allow-back")
        if self.entity_confidence:
            argv.append("--entity-confidence")
        return [*argv, "--practice", str(self.practice)]

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values: counts as ``{code: [real, synthetic]}``, filters as ``KEY=PATTERN``."""
        data = dataclasses.asdict(self)
        data["counts"] = {code: list(pair) for code, pair in self.counts.items()}
        data["pools"] = self.pools.to_dict()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StudyDesign:
        """A design from :meth:`to_json`'s form; a malformed one raises :class:`StudyError`."""
        from dermstudy.study.pools import PoolOptions, parse_filter

        try:
            values = dict(data)
            counts = {
                parse_entity(code): (int(real), int(synthetic))
                for code, (real, synthetic) in values.pop("counts").items()
            }
            pools = values.pop("pools", {})
            options = PoolOptions(
                exclude_sets=tuple(pools.get("exclude_sets", ())),
                exclude_splits=tuple(pools.get("exclude_splits", ())),
                synthetic_filters=tuple(
                    parse_filter(f) for f in pools.get("synthetic_filters", ())
                ),
                one_per_lesion=bool(pools.get("one_per_lesion", True)),
            )
            return cls(counts=counts, pools=options, **values)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise StudyError(f"study design: {exc}") from None

    def reading_settings(self) -> ReadingSettings:
        """What the reader window follows: the fields of the same names."""
        return ReadingSettings(**same_named_fields(ReadingSettings, self))


# The options that say which entities and how many of each, and what the pools leave out:
# (flag, metavar, repeatable, help), in the order ``--help`` lists them.
_POOL_OPTIONS: tuple[tuple[str, str | None, bool, str | None], ...] = (
    ("--entities", None, False, "comma-separated entity codes or names (default: all seven)"),
    (
        "--count",
        "ENTITY=REAL,SYNTHETIC",
        True,
        "per-entity override, e.g. --count df=5,5 (repeatable)",
    ),
    ("--exclude-set", "NAME", True, None),
    (
        "--exclude-split",
        "NAME[:PART]",
        True,
        "keep one side of a stored split (default: its train side) out of the pools, whole lesions",
    ),
    (
        "--synthetic-filter",
        "KEY=PATTERN",
        True,
        "only synthetic images whose source/provenance KEY matches PATTERN (glob; repeatable)",
    ),
    ("--synthetic-source", "PATTERN", False, "shorthand for --synthetic-filter source=…"),
    (
        "--synthetic-model",
        "SHA|FILE",
        False,
        "only images generated by this checkpoint (SHA-256 prefix or file name glob)",
    ),
)


def _add_pool_arguments(parser: argparse.ArgumentParser) -> None:
    for flag, metavar, repeatable, help_text in _POOL_OPTIONS:
        many: dict[str, Any] = {"action": "append", "default": []} if repeatable else {}
        parser.add_argument(flag, metavar=metavar, help=help_text, **many)
    parser.add_argument(
        "--all-images-per-lesion",
        action="store_true",
        help="allow several images of one lesion (default: at most one per lesion)",
    )


def _pool_options_from_args(args: argparse.Namespace) -> PoolOptions:
    from dermstudy.study.pools import PoolOptions, parse_filter

    filters = [parse_filter(f) for f in args.synthetic_filter]
    if args.synthetic_source:
        filters.append(("source", args.synthetic_source))
    if args.synthetic_model:
        filters.append(("model", args.synthetic_model))
    return PoolOptions(
        exclude_sets=tuple(args.exclude_set),
        exclude_splits=tuple(args.exclude_split),
        synthetic_filters=tuple(filters),
        one_per_lesion=not args.all_images_per_lesion,
    )


def _parse_count(text: str) -> tuple[str, tuple[int, int]]:
    """``ENTITY=REAL,SYNTHETIC`` (``--count``) -> (code, (real, synthetic))."""
    entity, _, pair = text.partition("=")
    try:
        real, synthetic = (int(x) for x in pair.split(","))
    except ValueError:
        raise StudyError(f"--count {text!r}: expected ENTITY=REAL,SYNTHETIC, e.g. df=5,5") from None
    return parse_entity(entity), (real, synthetic)
