"""``dermstudy classifier ablation|runs|show|predict``: the CNN ablation and its predictions."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from dermstudy.classifier.settings import AblationSettings
from dermstudy.commands import _common
from dermstudy.commands._common import UserError, open_workspace, print_json
from dermstudy.jobs import Cancelled, CancelToken, JsonLinesProgress, TextProgressBar


def register(subparsers: argparse._SubParsersAction) -> None:
    sub = _common.add_actions(
        subparsers, "classifier", "CNN ablation: original / synthetic / combined images"
    )

    abl = _common.add_settings_command(
        sub,
        "ablation",
        AblationSettings,
        run_ablation_command,
        help="train and test the arms over several seeds",
    )
    _common.add_json_option(abl)
    abl.add_argument("--xlsx", metavar="FILE", help="also write the tables to this workbook")
    _common.add_progress_option(abl)

    runs = sub.add_parser("runs", help="the workspace's classifier runs")
    _common.add_json_option(runs, "the list")
    runs.set_defaults(handler=run_list)

    show = sub.add_parser("show", help="Table 3 of one run")
    show.add_argument("run")
    _common.add_json_option(show, "the run")
    show.add_argument("--xlsx", metavar="FILE", help="write the run's workbook")
    show.set_defaults(handler=run_show)

    pred = sub.add_parser("predict", help="store a trained model's predictions for a study")
    pred.add_argument("study", help="study name")
    pred.add_argument("--run", required=True, help="classifier run (see `classifier runs`)")
    pred.add_argument("--arm", default="original")
    pred.add_argument("--seed", type=int, default=0)
    pred.add_argument("--model-name", help="name in the report (default: model, arm, run, seed)")
    _common.add_json_option(pred)
    pred.set_defaults(handler=run_predict)


def format_table3(result: dict) -> str:
    from dermstudy.classifier.ablation import table3

    rows = table3(result)
    if not rows:
        return "(no finished arm)"
    columns = list(rows[0])
    for row in rows:
        columns += [c for c in row if c not in columns]
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns)]
    for row in rows:
        lines.append("  ".join(str(row.get(c, "")).ljust(widths[c]) for c in columns))
    return "\n".join(lines)


def run_ablation_command(args: argparse.Namespace) -> int:
    from dermstudy.classifier.ablation import run_ablation
    from dermstudy.classifier.figures import write_xlsx

    options = AblationSettings.from_args(args).options()
    cancel = CancelToken()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: cancel.cancel())
    if args.progress == "json":
        progress = JsonLinesProgress(sys.stdout)
    else:
        bar = TextProgressBar(label="classifier")

        def progress(event):
            if event.data.get("event") == "seed_done":
                print(f"\n{event.message}", file=sys.stderr)
            else:
                bar(event)

    with open_workspace(args, create=False) as ws:
        workspace = ws.root
    try:
        result = run_ablation(workspace, options, progress=progress, cancel=cancel)
    except ValueError as exc:  # besides AblationError and SplitError: options the models refuse
        raise UserError(str(exc)) from None
    except Cancelled:
        print("dermstudy: classifier ablation cancelled (partial result kept)", file=sys.stderr)
        return 130
    if args.xlsx:
        write_xlsx(result, Path(args.xlsx))
    if args.json:
        print_json(result)
    elif args.progress == "text":
        print(format_table3(result))
        print(f"run {result['name']}: {workspace / 'classifier' / result['name']}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from dermstudy.classifier.ablation import list_runs, load_result

    with open_workspace(args, create=False) as ws:
        runs = []
        for name in list_runs(ws):
            r = load_result(ws, name)
            runs.append(
                {
                    "name": name,
                    "status": r["status"],
                    "model": r["model"],
                    "protocol": r["options"]["protocol"],
                    "arms": list(r["options"]["arms"]),
                    "seeds": r["options"]["seeds"],
                    "created_at": r["created_at"],
                }
            )
    if args.json:
        print_json(runs)
    else:
        for r in runs:
            print(
                f"{r['name']}  {r['status']:<9} {r['model']:<9} {r['protocol']:<8} "
                f"{' '.join(r['arms'])} × {r['seeds']} seed(s)"
            )
        if not runs:
            print("no classifier runs")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from dermstudy.classifier.ablation import load_result
    from dermstudy.classifier.figures import write_xlsx

    with open_workspace(args, create=False) as ws:
        result = load_result(ws, args.run)
    if args.xlsx:
        write_xlsx(result, Path(args.xlsx))
    if args.json:
        print_json(result)
    else:
        print(f"run {result['name']} ({result['status']}), model {result['model']}")
        print(format_table3(result))
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from dermstudy.classifier.predict import predict_study

    with open_workspace(args, create=False) as ws:
        workspace = ws.root
    summary = predict_study(workspace, args.study, args.run, args.arm, args.seed, args.model_name)
    if args.json:
        print_json(summary)
    else:
        print(
            f"stored {summary['cases']} predictions of {summary['model']!r} for study "
            f"{summary['study']!r} (accuracy on its cases {summary['accuracy_on_cases']:.3f})"
        )
    return 0
