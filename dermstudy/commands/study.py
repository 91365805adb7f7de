"""``dermstudy study …``: create, list, show, answer key, reader packages and merging their results."""

from __future__ import annotations

import argparse
from pathlib import Path

from dermstudy.commands._common import UserError, open_workspace, print_json
from dermstudy.entities import UnknownEntityError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("study", help="blinded reader studies: create, inspect, package")
    sub = parser.add_subparsers(dest="study_command", metavar="ACTION", required=True)
    _register_create(sub)

    lst = sub.add_parser("list", help="list the workspace's studies")
    lst.add_argument("--json", action="store_true", help="print JSON")
    lst.set_defaults(handler=run_list)

    show = sub.add_parser("show", help="a study's design, case counts and reader progress")
    show.add_argument("name", metavar="NAME")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=run_show)

    key = sub.add_parser("key", help="the answer key (coordinators only: reveals the truth)")
    key.add_argument("name", metavar="STUDY")
    key.add_argument("--json", action="store_true", help="print a JSON list of cases")
    key.set_defaults(handler=run_key)

    exp = sub.add_parser(
        "export-package", help="write a reader package (blinded images, settings, no truth)"
    )
    exp.add_argument("name", metavar="STUDY")
    exp.add_argument("--out", required=True, metavar="FILE", help="package file to write (.zip)")
    exp.set_defaults(handler=run_export_package)

    imp = sub.add_parser(
        "import-results", help="merge a package's answers file back (idempotent, never overwrites)"
    )
    imp.add_argument("name", metavar="STUDY")
    imp.add_argument(
        "file", metavar="FILE", help="the .answers.sqlite file, or the package beside it"
    )
    imp.add_argument("--json", action="store_true", help="print JSON")
    imp.set_defaults(handler=run_import_results)

    iset = sub.add_parser(
        "image-set", help="store a named image set (e.g. to keep out of studies with --exclude-set)"
    )
    iset.add_argument("set_name", metavar="NAME")
    iset.add_argument(
        "file",
        metavar="FILE",
        help="text file, one reference a line: image id (ISIC_…), lesion id (HAM_…) or SHA-256",
    )
    iset.add_argument("--description", default="")
    iset.set_defaults(handler=run_image_set)


def _register_create(sub: argparse._SubParsersAction) -> None:
    create = sub.add_parser("create", help="draw, blind and freeze a new study")
    create.add_argument("name", metavar="NAME")
    create.add_argument("--real-per-entity", type=int, default=10, metavar="N")
    create.add_argument("--synthetic-per-entity", type=int, default=10, metavar="N")
    create.add_argument(
        "--entities", help="comma-separated entity codes or names (default: all seven)"
    )
    create.add_argument(
        "--count",
        action="append",
        default=[],
        metavar="ENTITY=REAL,SYNTHETIC",
        help="per-entity override, e.g. --count df=5,5 (repeatable)",
    )
    create.add_argument("--exclude-set", action="append", default=[], metavar="NAME")
    create.add_argument(
        "--exclude-split",
        action="append",
        default=[],
        metavar="NAME[:PART]",
        help="keep one side of a stored split (default: its train side) out of the pools, whole lesions",
    )
    create.add_argument(
        "--synthetic-filter",
        action="append",
        default=[],
        metavar="KEY=PATTERN",
        help="only synthetic images whose source/provenance KEY matches PATTERN (glob; repeatable)",
    )
    create.add_argument(
        "--synthetic-source", metavar="PATTERN", help="shorthand for --synthetic-filter source=…"
    )
    create.add_argument(
        "--all-images-per-lesion",
        action="store_true",
        help="allow several images of one lesion (default: at most one per lesion)",
    )
    create.add_argument("--size", type=int, default=256, help="display size in pixels (square)")
    create.add_argument("--seed", type=int, help="random seed (default: a random one, recorded)")
    create.add_argument("--order", choices=["same", "per-reader"], default="same")
    create.add_argument(
        "--allow-back",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="readers may go back and change answers (default: yes)",
    )
    create.add_argument("--scale", choices=["five-point", "binary"], default="five-point")
    create.add_argument(
        "--entity-confidence", action="store_true", help="also ask a 1-5 confidence for the entity"
    )
    create.add_argument(
        "--practice", type=int, default=0, metavar="N", help="unscored practice cases"
    )
    create.add_argument("--json", action="store_true", help="print the new study as JSON")
    create.set_defaults(handler=run_create)


def _design_from_args(args: argparse.Namespace):
    from dermstudy.study.builder import StudyDesign
    from dermstudy.study.pools import PoolError, PoolOptions, parse_filter

    try:
        entities = [e for e in (args.entities or "").split(",") if e.strip()] or None
        overrides = dict(_parse_count(text) for text in args.count)
        filters = [parse_filter(f) for f in args.synthetic_filter]
        if args.synthetic_source:
            filters.append(("source", args.synthetic_source))
        pools = PoolOptions(
            exclude_sets=tuple(args.exclude_set),
            exclude_splits=tuple(args.exclude_split),
            synthetic_filters=tuple(filters),
            one_per_lesion=not args.all_images_per_lesion,
        )
        return StudyDesign.with_counts(
            args.name,
            entities,
            args.real_per_entity,
            args.synthetic_per_entity,
            overrides,
            seed=args.seed,
            display_size=args.size,
            order=args.order,
            allow_back=args.allow_back,
            answer_scale=args.scale,
            entity_confidence=args.entity_confidence,
            practice=args.practice,
            pools=pools,
        )
    except (PoolError, UnknownEntityError) as exc:
        raise UserError(str(exc)) from None


def _parse_count(text: str) -> tuple[str, tuple[int, int]]:
    from dermstudy.entities import parse_entity

    entity, _, pair = text.partition("=")
    try:
        real, synthetic = (int(x) for x in pair.split(","))
    except ValueError:
        raise UserError(f"--count {text!r}: expected ENTITY=REAL,SYNTHETIC, e.g. df=5,5") from None
    return parse_entity(entity), (real, synthetic)


def run_create(args: argparse.Namespace) -> int:
    from dermstudy.jobs import Cancelled, CancelToken, TextProgressBar
    from dermstudy.study.builder import StudyError, create_study
    from dermstudy.study.queries import study_summary

    design = _design_from_args(args)
    with open_workspace(args, create=False) as ws:
        try:
            create_study(
                ws, design, progress=TextProgressBar(label="blinding"), cancel=CancelToken()
            )
        except (StudyError, Cancelled) as exc:
            raise UserError(str(exc) or "cancelled; nothing was created") from None
        summary = study_summary(ws, design.name)
    if args.json:
        print_json(summary)
    else:
        print(_summary_text(summary))
    return 0


def run_list(args: argparse.Namespace) -> int:
    from dermstudy.study.queries import list_studies

    with open_workspace(args, create=False) as ws:
        studies = list_studies(ws)
    if args.json:
        print_json(studies)
        return 0
    if not studies:
        print("no studies yet (create one with: dermstudy study create NAME)")
    for s in studies:
        practice = f" + {s['practice_cases']} practice" if s["practice_cases"] else ""
        print(
            f"{s['name']}: {s['cases']} cases{practice}, {s['readers']} reader(s), "
            f"{s['finished_readers']} finished, created {s['created_at'][:16]}"
        )
    return 0


def run_show(args: argparse.Namespace) -> int:
    from dermstudy.study.builder import StudyError
    from dermstudy.study.queries import study_summary

    with open_workspace(args, create=False) as ws:
        try:
            summary = study_summary(ws, args.name)
        except StudyError as exc:
            raise UserError(str(exc)) from None
    if args.json:
        print_json(summary)
    else:
        print(_summary_text(summary))
    return 0


def _summary_text(s: dict) -> str:
    reading = s["reading"]
    lines = [
        f"Study {s['name']!r} (created {s['created_at'][:19]}, seed {s['seed']})",
        f"  {s['cases']} scored cases + {s['practice_cases']} practice, "
        f"{reading.get('display_size')}x{reading.get('display_size')} PNG",
        f"  answers: {reading.get('answer_scale')} AI/real scale, "
        f"entity confidence {'on' if reading.get('entity_confidence') else 'off'}, "
        f"going back {'allowed' if reading.get('allow_back') else 'not allowed'}, "
        f"order {reading.get('order')}",
        "  cases per entity (real + synthetic):",
    ]
    lines += [f"    {code:<6} {c['real']:>3} + {c['synthetic']}" for code, c in s["counts"].items()]
    lines.append(f"  readers: {len(s['readers']) or 'none yet'}")
    for r in s["readers"]:
        state = "finished" if r["finished_at"] else "in progress"
        lines.append(f"    {r['reader']}: {r['answered']}/{s['cases']} answered, {state}")
    return "\n".join(lines)


def run_key(args: argparse.Namespace) -> int:
    from dermstudy.study.builder import StudyError
    from dermstudy.study.queries import answer_key

    with open_workspace(args, create=False) as ws:
        try:
            key = answer_key(ws, args.name)
        except StudyError as exc:
            raise UserError(str(exc)) from None
        with ws.transaction():
            ws.audit("study.key", args.name, {"format": "json" if args.json else "text"})
    if args.json:
        print_json(key)
        return 0
    print(f"{'case':<10} {'entity':<6} {'source':<10} {'origin':<12} practice")
    for k in key:
        origin = k["source_id"] or k["provenance"].get("source") or k["image_source"]
        print(
            f"{k['case']:<10} {k['entity']:<6} {k['source']:<10} {origin!s:<12} "
            f"{'yes' if k['practice'] else ''}"
        )
    return 0


def run_export_package(args: argparse.Namespace) -> int:
    from dermstudy.study.builder import StudyError
    from dermstudy.study.package import export_package

    with open_workspace(args, create=False) as ws:
        try:
            summary = export_package(ws, args.name, Path(args.out))
        except StudyError as exc:
            raise UserError(str(exc)) from None
    print(f"wrote {summary['file']} ({summary['cases']} cases, sha256 {summary['sha256'][:12]}…)")
    return 0


def run_import_results(args: argparse.Namespace) -> int:
    from dermstudy.study.builder import StudyError
    from dermstudy.study.package import import_results

    with open_workspace(args, create=False) as ws:
        try:
            result = import_results(ws, args.name, Path(args.file))
        except StudyError as exc:
            raise UserError(str(exc)) from None
    if args.json:
        print_json(result.to_dict())
    else:
        print(result.to_text())
    return 1 if result.conflicts else 0


def run_image_set(args: argparse.Namespace) -> int:
    from dermstudy.study.image_sets import ImageSetError, create_image_set

    path = Path(args.file)
    try:
        refs = [line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines()]
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read ({exc})") from None
    with open_workspace(args, create=False) as ws:
        try:
            count = create_image_set(ws, args.set_name, [r for r in refs if r], args.description)
        except ImageSetError as exc:
            raise UserError(str(exc)) from None
    print(f"image set {args.set_name!r}: {count} image(s)")
    return 0
