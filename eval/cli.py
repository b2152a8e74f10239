"""``datagen eval score|squad|report``: the thin I/O shell around the pure scoring modules.

Module-level imports stay light (stdlib only) so ``datagen --help`` is fast and never breaks;
everything else is imported when a command runs.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path

PROGRESS_MIN = 20_000  # show a progress bar from this many items on


def _usage_error():
    from datagen.cli import UsageError

    return UsageError


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr)


def _write_json(path: str, data: dict, option: str) -> None:
    from datagen.output import OutputError, atomic_open

    try:
        with atomic_open(path) as handle:
            json.dump(data, handle, ensure_ascii=False, indent=2)
            handle.write("\n")
    except OutputError as exc:
        raise _usage_error()(f"{option}: {exc}") from None


def _write_plot(path: str, by_type: dict, title: str, option: str) -> None:
    from datagen.output import OutputError, atomic_open
    from eval.report import plot_accuracy

    if not by_type:
        raise _usage_error()(f"{option}: nothing to plot (no accuracy by type)")
    try:
        with atomic_open(path, "wb") as handle:
            plot_accuracy(by_type, handle, title)
    except OutputError as exc:
        raise _usage_error()(f"{option}: {exc}") from None


def _read_json_file(path: str, option: str):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as exc:
        raise _usage_error()(f"{option}: cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise _usage_error()(f"{option}: {path}:{exc.lineno}: not valid JSON ({exc.msg})") from None


def score_items(gold_items, outputs, template: str, show_progress: bool):
    """Yield (item, verdict) in gold order, with a progress bar on long runs."""
    from eval.score import score_output

    progress = None
    if show_progress:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        progress = Progress(TextColumn("score"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,}"),
                            TimeRemainingColumn(), transient=True)
        progress.start()
        task = progress.add_task("score", total=len(gold_items))
    try:
        for k, (item, output) in enumerate(zip(gold_items, outputs), 1):
            yield item, score_output(output, item, template)
            if progress and k % 2048 == 0:
                progress.update(task, completed=k)
    finally:
        if progress:
            progress.stop()


def run_score(args: argparse.Namespace) -> int:
    from curricula.templates import TEMPLATES
    from datagen.output import OutputError, atomic_open
    from eval.gold import read_gold
    from eval.metric import Scoreboard
    from eval.predictions import align, read_predictions

    if args.template != "auto" and args.template not in TEMPLATES:
        raise _usage_error()(f"--template: unknown template {args.template!r} "
                             f"(choose from auto, {', '.join(TEMPLATES)})")
    started = time.perf_counter()
    # the items are acyclic: cyclic GC passes over 100k+ of them only cost time
    gc.disable()
    try:
        gold = read_gold(args.gold)
        preds = read_predictions(args.pred, allow_pickle=args.allow_pickle)
    finally:
        gc.enable()
    outputs = align([item.id for item in gold.items], preds, str(args.gold), str(args.pred),
                    by_order=args.by_order, partial=args.allow_partial)
    items = gold.items
    if args.allow_partial:
        kept = [(item, out) for item, out in zip(items, outputs) if out is not None]
        items, outputs = [k[0] for k in kept], [k[1] for k in kept]
    skipped = len(gold.items) - len(items)
    board = Scoreboard()
    show = sys.stderr.isatty() and not args.quiet and len(items) >= PROGRESS_MIN
    verdicts = score_items(items, outputs, args.template, show)
    dumps = json.dumps
    try:
        with atomic_open(args.items) if args.items else _null() as handle:
            for item, verdict in verdicts:
                board.add(item.type, item.lang, item.bucket, verdict.strict, verdict.lenient,
                          verdict.extracted is not None)
                if handle is not None:
                    handle.write(dumps({
                        "id": item.id if item.id is not None else f"line-{item.line}",
                        "type": item.type, "lang": item.lang,
                        "answer": item.gold.answer if item.gold else None,
                        "strict": verdict.strict, "lenient": verdict.lenient, "extracted": verdict.extracted,
                    }, ensure_ascii=False) + "\n")
    except OutputError as exc:
        raise _usage_error()(f"--items: {exc}") from None
    elapsed = time.perf_counter() - started
    report = {"gold": str(args.gold), "pred": str(args.pred), **board.as_dict(), "sources": gold.counts,
              "without_prediction": skipped, "seconds": round(elapsed, 3)}
    if args.json:
        _write_json(args.json, report, "--json")
    if args.plot:
        _write_plot(args.plot, report["by_type"], f"Accuracy by type ({Path(args.pred).name})", "--plot")
    if not args.quiet:
        _print_score(board, gold, elapsed, args)
        if skipped:
            _console().print(f"[yellow]{skipped:,} of {len(gold.items):,} gold items have no prediction and "
                             "were left out (--allow-partial)[/yellow]")
    return 0


class _null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _print_score(board, gold, elapsed: float, args) -> None:
    from rich.table import Table

    from eval.metric import percent

    console = _console()
    langs = board.langs
    o = board.overall
    by_type, by_lang, by_type_lang = board.by_type, board.by_lang, board.by_type_lang
    n = o.n
    rate = n / max(elapsed, 1e-9)
    table = Table(title=f"datagen eval score: {n:,} items in {elapsed:.2f} s ({rate:,.0f}/s)")
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
        buckets.add_column("type")
        buckets.add_column("difficulty")
        buckets.add_column("n", justify="right")
        buckets.add_column("strict", justify="right")
        buckets.add_column("lenient", justify="right")
        for t, rows in board.as_dict()["by_type_difficulty"].items():
            for bucket, row in rows.items():
                buckets.add_row(t, bucket, f"{row['n']:,}", percent(row["strict"]), percent(row["lenient"]))
        console.print(buckets)
    if board.unjudged:
        console.print(f"[yellow]{board.unjudged:,} items have no exact gold answer (contest rows that "
                      "could not be re-derived and have no boxed number): counted apart, not in any "
                      "accuracy[/yellow]")
    if gold.counts.get("solution"):
        console.print(f"{gold.counts['solution']:,} gold answers were read from the solution's \\boxed{{}} "
                      "(rows the exact re-derivation does not cover)")
    missed = o.n - o.extracted
    if missed:
        console.print(f"{missed:,} outputs had no number to extract")
    written = [p for p in (args.json, args.items, args.plot) if p]
    if written:
        console.print("wrote " + ", ".join(f"[bold]{p}[/bold]" for p in written))


def read_squad_predictions(path: str, dataset: dict, allow_pickle: bool = False) -> dict[str, str]:
    """{qid: answer}: the official JSON object as is; generations (JSON Lines, .npy) answer part only.

    Generations are matched by id, or by the gold's question order when they have none.
    """
    from eval.predictions import read_predictions
    from eval.squad import generation_answer, questions

    p = Path(path)
    if p.suffix == ".json":
        data = _read_json_file(path, "--pred")
        if isinstance(data, dict):
            bad = next((k for k, v in data.items() if not isinstance(v, str)), None)
            if bad is not None:
                raise _usage_error()(f"--pred: {path}: id {bad!r}: the answer must be a string")
            return {str(k): v for k, v in data.items()}
    preds = read_predictions(path, allow_pickle=allow_pickle)
    if preds and all(pred.id is not None for pred in preds):
        return {pred.id: generation_answer(pred.output) for pred in preds}
    qids = [qid for qid, _ in questions(dataset)]
    if len(preds) != len(qids):
        short = "predictions" if len(preds) < len(qids) else "gold"
        raise _usage_error()(
            f"{path} has {len(preds):,} predictions without ids and the gold has {len(qids):,} questions "
            f"(matched by order): the {short} side is short by {abs(len(qids) - len(preds)):,}"
        )
    return {qid: generation_answer(pred.output) for qid, pred in zip(qids, preds)}


def run_squad(args: argparse.Namespace) -> int:
    from eval.squad import CJK, OFFICIAL, Retention, evaluate

    UsageError = _usage_error()
    if not 0 < args.gate <= 1:
        raise UsageError(f"--gate: expected a fraction in (0, 1], got {args.gate}")
    dataset = _read_json_file(args.gold, "--gold")
    if not isinstance(dataset, dict) or not isinstance(dataset.get("data"), list):
        raise UsageError(f"--gold: {args.gold}: field 'data' is missing (expected SQuAD v1.1 JSON)")
    try:
        predictions = read_squad_predictions(args.pred, dataset, args.allow_pickle)
        scores = {v.name: evaluate(dataset, predictions, v) for v in (OFFICIAL, CJK)}
    except (KeyError, TypeError) as exc:
        raise UsageError(f"--gold: {args.gold}: malformed SQuAD entry (field {exc} missing or wrong)") \
            from None
    chosen = scores[args.metric]
    retention = Retention(chosen.f1, chosen.em, args.base_f1, args.base_em, args.gate)
    result = {
        "gold": args.gold, "pred": args.pred,
        **{name: s.as_dict() for name, s in scores.items()},
        "retention_metric": args.metric,
        "retention": retention.as_dict(),
    }
    if args.json:
        _write_json(args.json, result, "--json")
    if not args.quiet:
        from rich.table import Table

        console = _console()
        table = Table(title=f"datagen eval squad: {chosen.total:,} questions, {chosen.answered:,} answered")
        for column in ("variant", "F1", "EM"):
            table.add_column(column, justify="left" if column == "variant" else "right")
        for name, s in scores.items():
            table.add_row(name, f"{s.f1:.3f}", f"{s.em:.3f}")
        console.print(table)
        unanswered = chosen.total - chosen.answered
        if unanswered:
            console.print(f"[yellow]{unanswered:,} questions have no prediction and score 0[/yellow]")
        style = "green" if retention.passed else "red"
        console.print(f"[{style}]{retention.line()}[/{style}] ({args.metric} metric)")
        if args.json:
            console.print(f"wrote [bold]{args.json}[/bold]")
    return 0


def _fraction(text: str, option: str) -> float:
    UsageError = _usage_error()
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise UsageError(f"{option}: expected a number like 0.7161 or 71.61%, got {text!r}") from None
    if not 0 <= value <= 1:
        raise UsageError(f"{option}: {text} is not in [0, 1] (write a percentage with a % sign)")
    return value


def run_report(args: argparse.Namespace) -> int:
    from datagen.output import OutputError, atomic_open
    from eval.report import ReportError, accuracy_from_score, build_report, markdown, ratio_from_params

    UsageError = _usage_error()
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
        if squad is not None and not isinstance(squad.get("retention"), dict):
            raise UsageError(f"--squad: {args.squad}: field 'retention' is missing "
                             "(expected 'datagen eval squad --json' output)")
    except ReportError as exc:
        raise UsageError(str(exc)) from None
    report = build_report(ratio, accuracy, args.metric if args.accuracy is None else "given", score, squad)
    text = markdown(report)
    try:
        if args.md:
            with atomic_open(args.md) as handle:
                handle.write(text)
    except OutputError as exc:
        raise UsageError(f"--md: {exc}") from None
    if args.json:
        _write_json(args.json, report, "--json")
    if args.plot:
        _write_plot(args.plot, report.get("by_type") or {}, f"Accuracy by type — score {report['score']:.4f}",
                    "--plot")
    if not args.quiet:
        sys.stdout.write(text)
        sys.stdout.flush()
        written = [p for p in (args.md, args.json, args.plot) if p]
        if written:
            print("wrote " + ", ".join(written), file=sys.stderr)
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "eval",
        help="score predictions: accuracy by type, SQuAD retention, contest score",
        description="Score model predictions: held-out accuracy by type, SQuAD retention, contest score.",
    )
    evsub = parser.add_subparsers(dest="eval_command", metavar="SUBCOMMAND")
    parser.set_defaults(handler=lambda args: (parser.print_help(), 2)[1])

    p = evsub.add_parser(
        "score",
        help="held-out accuracy by type and language, strict and contest-lenient",
        description="Extract each prediction's answer (zh or en) and judge it exactly against the gold.",
    )
    p.add_argument("--gold", required=True, help="held-out JSON Lines: records with 'answer', or contest "
                   "{problem, solution} rows (re-derived exactly)")
    p.add_argument("--pred", required=True, help="predictions: MindFormers .npy, JSON Lines {id, output}, "
                   "or a JSON object {id: output}")
    p.add_argument("--json", metavar="REPORT.json", help="write the full report (every grouping) as JSON")
    p.add_argument("--items", metavar="ITEMS.jsonl",
                   help="write one line per item: id, strict, lenient, extracted")
    p.add_argument("--plot", metavar="PNG", help="write a bar chart of accuracy by type")
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
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or tables")
    p.set_defaults(handler=run_score)

    q = evsub.add_parser(
        "squad",
        help="SQuAD v1.1 F1/EM (official and CJK-aware) and the retention gate",
        description="SQuAD v1.1 F1 and EM with the official semantics, a CJK-aware variant, and the "
                    "retention check against the base model.",
    )
    q.add_argument("--pred", required=True,
                   help="JSON object {qid: answer} (official), JSON Lines {id, output}, or MindFormers .npy")
    q.add_argument("--gold", required=True, help="SQuAD v1.1 JSON (dev-v1.1.json)")
    q.add_argument("--base-f1", type=float, default=59.870, help="base model F1 (default 59.870)")
    q.add_argument("--base-em", type=float, default=44.170, help="base model EM (default 44.170)")
    q.add_argument("--gate", type=float, default=0.90, help="fraction of the base to keep (default 0.90)")
    q.add_argument("--metric", choices=("official", "cjk"), default="official",
                   help="which variant the retention gate uses (default official)")
    q.add_argument("--json", metavar="SQUAD.json", help="write the scores and the retention verdict as JSON")
    q.add_argument("--allow-pickle", action="store_true",
                   help="allow loading a pickled .npy of generations (matched by question order); "
                        "unpickling can run code, so only for files you trust")
    q.add_argument("-q", "--quiet", action="store_true")
    q.set_defaults(handler=run_squad)

    r = evsub.add_parser(
        "report",
        help="contest score (1 - ratio) x 0.3 + accuracy x 0.7, as markdown, JSON and a chart",
        description="Combine the LoRA parameter ratio, the arithmetic accuracy and the SQuAD result "
                    "into the contest score.",
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
    r.add_argument("--json", metavar="REPORT.json", help="write the report as JSON")
    r.add_argument("--plot", metavar="PNG", help="write a bar chart of accuracy by type (needs --score)")
    r.add_argument("-q", "--quiet", action="store_true", help="print nothing")
    r.set_defaults(handler=run_report)
