"""``dermstudy study …``: create, list, show, answer key, reader packages and merging their results."""

from __future__ import annotations

import argparse
from pathlib import Path

from dermstudy.commands import _common
from dermstudy.commands._common import (
    UserError,
    in_workspace,
    open_workspace,
    print_json,
    print_result,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    sub = _common.add_actions(
        subparsers, "study", "blinded reader studies: create, inspect, package"
    )
    _register_create(sub)

    lst = sub.add_parser("list", help="list the workspace's studies")
    _common.add_json_option(lst, "the list")
    lst.set_defaults(handler=run_list)

    show = sub.add_parser("show", help="a study's design, case counts and reader progress")
    show.add_argument("name", metavar="NAME")
    _common.add_json_option(show, "the study")
    show.set_defaults(handler=run_show)

    delete = sub.add_parser("delete", help="delete a study that has no answers yet")
    delete.add_argument("name", metavar="STUDY")
    delete.set_defaults(handler=run_delete)

    aud = sub.add_parser(
        "audit",
        help="blinding audit: can non-semantic image features tell real from synthetic cases?",
    )
    aud.add_argument("name", metavar="STUDY")
    _common.add_json_option(aud, "the audit")
    aud.set_defaults(handler=run_audit)

    ver = sub.add_parser(
        "verify", help="check the tamper-evident record (audit log and votes) of the workspace"
    )
    ver.add_argument("name", metavar="STUDY", nargs="?", help="(the check covers the workspace)")
    _common.add_json_option(ver)
    ver.set_defaults(handler=run_verify)

    key = sub.add_parser("key", help="the answer key (coordinators only: reveals the truth)")
    key.add_argument("name", metavar="STUDY")
    _common.add_json_option(key, "the cases")
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
    _common.add_json_option(imp)
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

    from dermstudy.commands._export_ratings import register_study_action

    register_study_action(sub)


def _register_create(sub: argparse._SubParsersAction) -> None:
    from dermstudy.study.design import StudyDesign

    create = _common.add_settings_command(
        sub, "create", StudyDesign, run_create, help="draw, blind and freeze a new study"
    )
    _common.add_json_option(create, "the new study")


def run_create(args: argparse.Namespace) -> int:
    from dermstudy.jobs import Cancelled, CancelToken, TextProgressBar
    from dermstudy.study.builder import create_study
    from dermstudy.study.design import StudyDesign
    from dermstudy.study.queries import study_summary

    design = StudyDesign.from_args(args)
    with open_workspace(args, create=False) as ws:
        try:
            create_study(
                ws, design, progress=TextProgressBar(label="blinding"), cancel=CancelToken()
            )
        except Cancelled as exc:
            raise UserError(str(exc) or "cancelled; nothing was created") from None
        summary = study_summary(ws, design.name)
    return print_result(args, summary, _summary_text)


def run_verify(args: argparse.Namespace) -> int:
    """Exit 0 when the record is intact, 1 (with the problems) when it has been altered."""
    from dermstudy.study.queries import find_study
    from dermstudy.workspace.integrity import verify

    with open_workspace(args, create=False) as ws:
        if args.name:
            find_study(ws, args.name)
        report = verify(ws.conn)
    if args.json:
        print_json(report.to_dict())
    else:
        print(report.message())
    return 0 if report.ok else 1


def run_audit(args: argparse.Namespace) -> int:
    from dermstudy.study.builder import audit_study

    return print_result(args, in_workspace(args, audit_study, args.name))


def run_list(args: argparse.Namespace) -> int:
    from dermstudy.study.queries import list_studies

    studies = in_workspace(args, list_studies)
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
    from dermstudy.study.queries import study_summary

    return print_result(args, in_workspace(args, study_summary, args.name), _summary_text)


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
    audit = s.get("blinding", {}).get("audit")
    if audit and audit.get("combined"):
        lines.append(
            f"  blinding audit: non-semantic real-vs-synthetic AUC {audit['combined']['auc']:.2f} "
            f"(chance threshold {audit['combined']['threshold']:.2f}; details: dermstudy study audit)"
        )
    lines += [f"  warning: {w}" for w in s.get("warnings", [])]
    lines.append(f"  readers: {len(s['readers']) or 'none yet'}")
    for r in s["readers"]:
        state = "finished" if r["finished_at"] else "in progress"
        lines.append(f"    {r['reader']}: {r['answered']}/{s['cases']} answered, {state}")
    return "\n".join(lines)


def run_delete(args: argparse.Namespace) -> int:
    from dermstudy.study.queries import delete_study

    removed = in_workspace(args, delete_study, args.name)
    print(f"deleted study {args.name!r} ({removed['cases']} cases, {removed['sessions']} sessions)")
    return 0


def run_key(args: argparse.Namespace) -> int:
    from dermstudy.study.queries import answer_key

    with open_workspace(args, create=False) as ws:
        key = answer_key(ws, args.name)
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
    from dermstudy.study.package import export_package

    summary = in_workspace(args, export_package, args.name, Path(args.out))
    print(f"wrote {summary['file']} ({summary['cases']} cases, sha256 {summary['sha256'][:12]}…)")
    return 0


def run_import_results(args: argparse.Namespace) -> int:
    from dermstudy.study.package import import_results

    result = in_workspace(args, import_results, args.name, Path(args.file))
    print_result(args, result)
    return 1 if result.conflicts else 0


def run_image_set(args: argparse.Namespace) -> int:
    from dermstudy.study.image_sets import create_image_set

    path = Path(args.file)
    try:
        refs = [line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines()]
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read ({exc})") from None
    with open_workspace(args, create=False) as ws:
        count = create_image_set(ws, args.set_name, [r for r in refs if r], args.description)
    print(f"image set {args.set_name!r}: {count} image(s)")
    return 0
