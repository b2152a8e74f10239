"""``datagen eval score|squad|report``: the thin I/O shell around the pure scoring modules.

Module-level imports stay light (stdlib and ``datagen.errors``) so ``datagen --help`` is fast and
never breaks; everything else is imported when a command runs. Every output (``--json``,
``--items``, ``--plot``, ``--md``) is checked by ``datagen.output.check_target`` before any work,
so an existing file is kept unless ``--force``; summaries go to stderr, data to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import nullcontext
from pathlib import Path

from datagen.errors import EXIT_GATE_FAIL, EXIT_OK, InputError, UsageError
from datagen.extras import require

PROGRESS_MIN = 20_000  # show a progress bar from this many items on


def _console():
    from rich.console import Console

    return Console(stderr=True)


def _check_outputs(args: argparse.Namespace, options: tuple[str, ...]) -> None:
    """The --force policy for each output option given, and no two options on one path."""
    from datagen.output import check_target

    seen: dict[str, str] = {}
    for option in options:
        path = getattr(args, option.lstrip("-").replace("-", "_"), None)
        if not path:
            continue
        key = path if path == "-" else str(Path(path).resolve())
        if key in seen:
            raise UsageError(f"{option} and {seen[key]} are both {path}; give each output its own path")
        seen[key] = option
        check_target(path, args.force, option=option)


def _check_plot(args: argparse.Namespace) -> None:
    if getattr(args, "plot", None):
        require("--plot", "matplotlib")


def _write_json(path: str, data: dict) -> None:
    from datagen.output import atomic_open

    with atomic_open(path) as handle:
        json.dump(data, handle, ensure_ascii=False, indent=2)
        handle.write("\n")


def _write_plot(path: str, by_type: dict, title: str, caption: str | None = None) -> None:
    from datagen.eval.report import plot_accuracy

    from datagen.output import atomic_open

    with atomic_open(path, "wb") as handle:
        plot_accuracy(by_type, handle, title, caption)


def _read_json_file(path: str, option: str):
    try:
        with open(path, encoding="utf-8-sig") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise InputError("no such file", path=path, field=None, hint=f"check {option}") from None
    except IsADirectoryError:
        raise InputError("is a directory, not a file", path=path) from None
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", path=path) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start + 1})", path=path) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg})", path=path, line=exc.lineno) from None


class _Progress:
    """A rich progress bar on stderr, started on the first tick (the total is known then)."""

    def __init__(self) -> None:
        self.bar = None
        self.task = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("score"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,}"),
                                TimeRemainingColumn(), transient=True, console=_console())
            self.bar.start()
            self.task = self.bar.add_task("score", total=total)
        self.bar.update(self.task, completed=done)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def run_score(args: argparse.Namespace) -> int:
    from datagen.eval.scoring import check_template, score_files

    from datagen.output import atomic_open

    check_template(args.template)
    _check_plot(args)
    _check_outputs(args, ("--json", "--items", "--plot"))
    progress = _Progress() if sys.stderr.isatty() and not args.quiet else None
    try:
        with atomic_open(args.items) if args.items else nullcontext() as handle:
            result = score_files(args.gold, args.pred, args.template, allow_pickle=args.allow_pickle,
                                 by_order=args.by_order, allow_partial=args.allow_partial,
                                 bad_pred=args.bad_pred, items=handle, progress=progress)
    finally:
        if progress is not None:
            progress.stop()
    report = result.report
    if args.json:
        _write_json(args.json, report)
    if args.plot:
        if not report["by_type"]:
            raise UsageError("nothing to plot (no item has an exact gold answer)", field="--plot")
        _write_plot(args.plot, report["by_type"], f"Accuracy by type ({Path(args.pred).name})")
    if not args.quiet:
        _print_score(result, args)
    return EXIT_OK


def _print_score(result, args) -> None:
    from datagen.eval.metric import percent
    from rich.table import Table

    board, report = result.board, result.report
    console = _console()
    langs = board.langs
    o = board.overall
    by_type, by_lang, by_type_lang = board.by_type, board.by_lang, board.by_type_lang
    elapsed = report["seconds"]
    rate = o.n / max(elapsed, 1e-9)
    table = Table(title=f"datagen eval score: {o.n:,} items in {elapsed:.2f} s ({rate:,.0f}/s)")
    table.add_column("type")
    for lang in langs:
        table.add_column(f"{lang} strict", justify="right")
    table.add_column("n", justify="right")
    table.add_column("strict", justify="right")
    table.add_column("lenient", justify="right")

    def cell(tally) -> str:
        return f"{percent(tally.strict / tally.n)} ({tally.n:,})" if tally and tally.n else "—"

    for t in board.types:
        tally = by_type[t]
        table.add_row(t, *(cell(by_type_lang.get((t, lang))) for lang in langs), f"{tally.n:,}",
                      percent(tally.strict / tally.n), percent(tally.lenient / tally.n))
    if o.n:
        table.add_row("all", *(cell(by_lang.get(lang)) for lang in langs), f"{o.n:,}",
                      percent(o.strict / o.n), percent(o.lenient / o.n), style="bold")
    table.caption = ("strict: exact judging; lenient: the gold's number string appears in the output "
                     "(contest-compatible)")
    console.print(table)
    if board.by_type_bucket:
        buckets = Table(title="strict accuracy by type and difficulty")
        for column in ("type", "difficulty", "n", "strict", "lenient"):
            buckets.add_column(column, justify="left" if column in ("type", "difficulty") else "right")
        for t, rows in report["by_type_difficulty"].items():
            for bucket, row in rows.items():
                buckets.add_row(t, bucket, f"{row['n']:,}", percent(row["strict"]), percent(row["lenient"]))
        console.print(buckets)
    if board.unjudged:
        console.print(f"[yellow]{board.unjudged:,} items have no exact gold answer (contest rows that "
                      "could not be re-derived and have no boxed number): counted apart, not in any "
                      "accuracy[/yellow]")
    counts = result.gold.counts
    if counts.get("solution"):
        console.print(f"{counts['solution']:,} gold answers were read from the solution's \\boxed{{}} "
                      "(rows the exact re-derivation does not cover)")
    missed = o.n - o.extracted
    if missed:
        console.print(f"{missed:,} outputs had no result to extract")
    if result.rejects:
        first = result.rejects[0]
        console.print(f"[yellow]{len(result.rejects):,} prediction rows could not be read and were scored as "
                      f"empty outputs (--bad-pred collect); first: {first}[/yellow]")
    skipped = report["without_prediction"]
    if skipped:
        console.print(f"[yellow]{skipped:,} of {len(result.gold.items):,} gold items have no prediction and "
                      "were left out (--allow-partial)[/yellow]")
    written = [p for p in (args.json, args.items, args.plot) if p and p != "-"]
    if written:
        console.print("wrote " + ", ".join(f"[bold]{p}[/bold]" for p in written))


def read_squad_predictions(path: str, protocol: list, every: list, allow_pickle: bool = False) -> dict[str, str]:
    """{qid: answer}: a JSON object {qid: answer} as is; generations (JSON Lines, .npy) by id, or
    by order: one per paragraph (MindFormers' protocol) or one per question.

    Every text is cut like a generation (``generation_answer``): echo, end token, first line.
    """
    from datagen.eval.predictions import read_predictions
    from datagen.eval.squad import generation_answer

    p = Path(path)
    if p.suffix == ".json":
        data = _read_json_file(path, "--pred")
        if isinstance(data, dict):
            bad = next((k for k, v in data.items() if not isinstance(v, str)), None)
            if bad is not None:
                raise InputError("the answer must be a string", path=path, field=f"id {bad!r}")
            return {str(k): generation_answer(v) for k, v in data.items()}
    preds = read_predictions(path, allow_pickle=allow_pickle)
    if preds and all(pred.id is not None for pred in preds):
        return {pred.id: generation_answer(pred.output) for pred in preds}
    for order in (protocol, every):
        if len(preds) == len(order):
            return {q[0]: generation_answer(pred.output) for q, pred in zip(order, preds)}
    raise InputError(
        f"{len(preds):,} predictions without ids match neither the {len(protocol):,} paragraphs "
        f"(MindFormers' protocol: the first question of each) nor the {len(every):,} questions of the gold "
        "(matched by order)", path=path,
    )


def run_squad(args: argparse.Namespace) -> int:
    from datagen.eval.squad import CJK, OFFICIAL, Retention, evaluate, protocol_questions, questions

    gate_metric = args.gate_metric
    if args.legacy_metric:
        print(f"datagen eval squad: warning: --metric is now --gate-metric (using {args.legacy_metric})",
              file=sys.stderr)
        gate_metric = args.legacy_metric
    if not 0 < args.gate <= 1:
        raise UsageError(f"expected a fraction in (0, 1], got {args.gate}", field="--gate")
    _check_outputs(args, ("--json",))
    dataset = _read_json_file(args.gold, "--gold")
    if not isinstance(dataset, dict) or not isinstance(dataset.get("data"), list):
        raise InputError("field 'data' is missing (expected SQuAD v1.1 JSON)", path=args.gold)
    try:
        protocol = protocol_questions(dataset)
        every = list(questions(dataset))
    except (KeyError, TypeError) as exc:
        raise InputError(f"malformed SQuAD entry (field {exc} missing or wrong)", path=args.gold) from None
    predictions = read_squad_predictions(args.pred, protocol, every, args.allow_pickle)
    scores = {}
    if gate_metric == "mindformers":
        from datagen.eval.squad import emf1_metric, mindformers_score

        if not args.quiet:
            print("loading MindFormers' EmF1Metric (about 10 s) ...", file=sys.stderr, flush=True)
        metric = emf1_metric()
        pairs = [(predictions.get(q.qid, ""), q.truths[0] if q.truths else "") for q in protocol]
        answered = sum(1 for q in protocol if q.qid in predictions)
        scores["mindformers"] = mindformers_score(pairs, metric, answered)
    scores["official"] = evaluate(dataset, predictions, OFFICIAL, among=protocol)
    scores["cjk"] = evaluate(dataset, predictions, CJK, among=protocol)
    chosen = scores[gate_metric]
    retention = Retention(chosen.f1, chosen.em, args.base_f1, args.base_em, args.gate)
    result = {
        "gold": args.gold, "pred": args.pred,
        "protocol": "qas[0] of each paragraph, answers[0] (MindFormers' SQuAD eval)",
        "mindformers": scores["mindformers"].as_dict() if "mindformers" in scores else None,
        "official": scores["official"].as_dict(),
        "cjk": scores["cjk"].as_dict(),
        "gate": retention.as_dict(gate_metric),
        "diagnostics": [name for name in ("mindformers", "official", "cjk") if name != gate_metric],
    }
    if args.json:
        _write_json(args.json, result)
    if not args.quiet:
        _print_squad(scores, gate_metric, retention, chosen, args)
    return EXIT_OK if retention.passed else EXIT_GATE_FAIL


def _print_squad(scores: dict, gate_metric: str, retention, chosen, args) -> None:
    from rich.table import Table

    console = _console()
    table = Table(title=f"datagen eval squad: {chosen.total:,} questions (first of each paragraph), "
                        f"{chosen.answered:,} answered")
    for column in ("metric", "F1", "EM", "role"):
        table.add_column(column, justify="right" if column in ("F1", "EM") else "left")
    for name, s in scores.items():
        role = "the gate" if name == gate_metric else "diagnostic"
        table.add_row(name, f"{s.f1:.3f}", f"{s.em:.3f}", role, style="bold" if name == gate_metric else None)
    console.print(table)
    if gate_metric != "mindformers":
        console.print(f"[yellow]the gate uses the {gate_metric} numbers (--gate-metric), not MindFormers' "
                      "EmF1Metric, which the contest's gate is[/yellow]")
    unanswered = chosen.total - chosen.answered
    if unanswered:
        console.print(f"[yellow]{unanswered:,} questions have no prediction and score 0[/yellow]")
    style = "green" if retention.passed else "red"
    console.print(f"[{style}]{retention.line()}[/{style}] ({gate_metric})")
    if args.json and args.json != "-":
        console.print(f"wrote [bold]{args.json}[/bold]")


def _fraction(text: str, option: str) -> float:
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise UsageError(f"expected a number like 0.7161 or 71.61%, got {text!r}", field=option) from None
    if not 0 <= value <= 1:
        raise UsageError(f"{text} is not in [0, 1] (write a percentage with a % sign)", field=option)
    return value


def run_report(args: argparse.Namespace) -> int:
    from datagen.eval.report import (
        ReportError,
        accuracy_from_score,
        build_report,
        gate_caption,
        markdown,
        ratio_from_params,
    )

    from datagen.output import atomic_open

    _check_plot(args)
    _check_outputs(args, ("--md", "--json", "--plot"))
    try:
        if args.params:
            ratio = ratio_from_params(_read_json_file(args.params, "--params"), args.params)
        elif args.ratio is not None:
            ratio = {"trainable": None, "total": None, "ratio": _fraction(args.ratio, "--ratio")}
        else:
            raise UsageError("give the LoRA ratio: --params PARAMS.json (from 'datagen train params --json') "
                             "or --ratio R")
        score = _read_json_file(args.score, "--score") if args.score else None
        if args.accuracy is not None:
            accuracy = _fraction(args.accuracy, "--accuracy")
        elif score is not None:
            accuracy, _ = accuracy_from_score(score, args.score, args.metric)
        else:
            raise UsageError("give the accuracy: --score REPORT.json (from 'datagen eval score --json') "
                             "or --accuracy A")
        squad = _read_json_file(args.squad, "--squad") if args.squad else None
        if squad is not None and not (isinstance(squad, dict) and isinstance(squad.get("gate"), dict)):
            raise InputError("field 'gate' is missing (expected 'datagen eval squad --json' output; "
                             "re-run it if this file is from an older version)", path=args.squad)
    except ReportError as exc:
        raise InputError(str(exc)) from None
    report = build_report(ratio, accuracy, args.metric if args.accuracy is None else "given", score, squad)
    text = markdown(report)
    if args.md:
        with atomic_open(args.md) as handle:
            handle.write(text)
    if args.json:
        _write_json(args.json, report)
    if args.plot:
        by_type = report.get("by_type") or {}
        if not by_type:
            raise UsageError("nothing to plot: give --score REPORT.json (accuracy by type)", field="--plot")
        _write_plot(args.plot, by_type, f"Accuracy by type — score {report['score']:.4f}", gate_caption(report))
    if not args.quiet:
        if args.md != "-" and args.json != "-":
            sys.stdout.write(text)
            sys.stdout.flush()
        written = [p for p in (args.md, args.json, args.plot) if p and p != "-"]
        if written:
            print("wrote " + ", ".join(written), file=sys.stderr)
    return EXIT_OK


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "eval",
        help="score predictions: accuracy by type, SQuAD retention, contest score",
        description="Score model predictions: held-out accuracy by type, SQuAD retention, contest score.",
    )
    evsub = parser.add_subparsers(dest="action", metavar="SUBCOMMAND")
    parser.set_defaults(handler=lambda args: (parser.print_help(), 2)[1])

    p = evsub.add_parser(
        "score",
        help="held-out accuracy by type and language, strict and contest-lenient",
        description="Extract each prediction's answer (zh or en) and judge it exactly against the gold.",
    )
    p.add_argument("--gold", required=True, help="held-out JSON Lines: records with 'answer', or contest "
                   "{problem, solution} rows (re-derived exactly); the first bad row stops the run")
    p.add_argument("--pred", required=True, help="predictions: MindFormers .npy, JSON Lines {id, output}, "
                   "or a JSON object {id: output}")
    p.add_argument("--json", metavar="REPORT.json", help="write the full report (every grouping) as JSON "
                   "('-': stdout)")
    p.add_argument("--items", metavar="ITEMS.jsonl",
                   help="write one line per item: id, strict, lenient, extracted")
    p.add_argument("--plot", metavar="PNG", help="write a bar chart of accuracy by type (needs the plot extra)")
    p.add_argument("--template", default="auto",
                   help="prompt template whose echo to remove (raw, alpaca, zh_prefix, alpaca_zh; "
                        "default auto: whichever the output echoes)")
    p.add_argument("--allow-pickle", action="store_true",
                   help="allow loading a pickled .npy (MindFormers' format); unpickling can run code, "
                        "so only for files you trust")
    p.add_argument("--by-order", action="store_true",
                   help="match predictions to gold by order even if both have ids")
    p.add_argument("--allow-partial", action="store_true",
                   help="score only the gold items that have a prediction (e.g. a smoke run's first N) "
                        "instead of refusing a count mismatch")
    p.add_argument("--bad-pred", choices=("stop", "collect"), default="stop",
                   help="a prediction row that cannot be read: stop with its file and line (default), or "
                        "collect it (listed in --json) and score it as an empty output")
    p.add_argument("--force", action="store_true", help="replace existing --json/--items/--plot files")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or tables")
    p.set_defaults(handler=run_score)

    q = evsub.add_parser(
        "squad",
        help="SQuAD retention gate on MindFormers' EmF1Metric (official and CJK F1/EM as diagnostics)",
        description="SQuAD F1/EM with MindFormers' own EmF1Metric on its protocol (the contest's gate), "
                    "the official and a CJK-aware variant beside it, and the retention gate against the "
                    "base model. Exit code 1 when the gate fails.",
    )
    q.add_argument("--pred", required=True,
                   help="JSON object {qid: answer}, JSON Lines {id, output}, or MindFormers .npy")
    q.add_argument("--gold", required=True, help="SQuAD v1.1 JSON (dev-v1.1.json)")
    q.add_argument("--base-f1", type=float, default=59.870, help="base model F1 (default 59.870)")
    q.add_argument("--base-em", type=float, default=44.170, help="base model EM (default 44.170)")
    q.add_argument("--gate", type=float, default=0.90, help="fraction of the base to keep (default 0.90)")
    q.add_argument("--gate-metric", choices=("mindformers", "official", "cjk"), default="mindformers",
                   help="the numbers the gate uses (default mindformers: EmF1Metric, needs the mindspore "
                        "extra); official or cjk gate without MindFormers, on numbers the contest does "
                        "not use")
    q.add_argument("--metric", dest="legacy_metric", choices=("official", "cjk"), help=argparse.SUPPRESS)
    q.add_argument("--json", metavar="SQUAD.json", help="write the scores and the gate as JSON ('-': stdout)")
    q.add_argument("--allow-pickle", action="store_true",
                   help="allow loading a pickled .npy of generations (matched by order); "
                        "unpickling can run code, so only for files you trust")
    q.add_argument("--force", action="store_true", help="replace an existing --json file")
    q.add_argument("-q", "--quiet", action="store_true", help="no summary")
    q.set_defaults(handler=run_squad)

    r = evsub.add_parser(
        "report",
        help="contest score (1 - ratio) x 0.3 + accuracy x 0.7, as markdown, JSON and a chart",
        description="Combine the LoRA parameter ratio, the arithmetic accuracy and the SQuAD gate "
                    "into the contest score (markdown on stdout).",
    )
    r.add_argument("--score", metavar="REPORT.json", help="'datagen eval score --json' output")
    r.add_argument("--accuracy", help="accuracy instead of --score (0.7161 or 71.61%%)")
    r.add_argument("--metric", choices=("strict", "lenient"), default="strict",
                   help="which accuracy of --score counts (default strict)")
    r.add_argument("--params", metavar="PARAMS.json", help="'datagen train params --json' output "
                   "(trainable, total, ratio)")
    r.add_argument("--ratio", help="trainable / total instead of --params (0.000637 or 0.0637%%)")
    r.add_argument("--squad", metavar="SQUAD.json", help="'datagen eval squad --json' output")
    r.add_argument("--md", metavar="REPORT.md", help="write the markdown report")
    r.add_argument("--json", metavar="REPORT.json", help="write the report as JSON ('-': stdout)")
    r.add_argument("--plot", metavar="PNG", help="write a bar chart of accuracy by type with the gate's "
                   "verdict (needs --score and the plot extra)")
    r.add_argument("--force", action="store_true", help="replace existing --md/--json/--plot files")
    r.add_argument("-q", "--quiet", action="store_true", help="print nothing")
    r.set_defaults(handler=run_report)
