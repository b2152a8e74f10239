"""``datagen audit``: check the contest file row by row, and keep every rejected row."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections import Counter
from pathlib import Path

from datagen.curricula.contest import SUB_VERDICTS, TooLarge, assess, classify, language
from datagen.curricula.leak import NGRAM

from datagen.errors import InputError, OutputError
from datagen.output import check_target, staged, write_json
from datagen.progress import PipeProgress, fit
from datagen.progress import console as stderr_console
from datagen.rows import Reject, RowReader, require_strings
from datagen.solve import check_size, solvable

# the families a row can be classified as (the re-solver's), then the rest
TYPES = [*solvable(), "competition", "unknown"]
OUTPUTS = ("records.jsonl", "rejects.jsonl", "summary.json")


def _digest(*parts: str) -> bytes:
    h = hashlib.blake2b(digest_size=12)
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.digest()


def audit_rows(path: str | Path, records, rejects, progress=None) -> dict:
    """Audit ``path``; write unique rows to ``records`` and bad rows to ``rejects`` (text streams).

    ``path`` is JSON Lines or one JSON list. Returns the summary. Never stops early: every
    line is counted somewhere. An input without a single row (0 bytes, only blank lines) is an
    ``InputError``: an audit of nothing is a mistake in the command, not a result.
    ``progress(line)`` is called with the line reached.
    """
    summary = Counter()
    by_type: Counter = Counter()
    by_verdict: Counter = Counter()
    by_sub_verdict: Counter = Counter()
    seen_rows: set[bytes] = set()
    seen_problems: dict[bytes, bytes] = {}
    reader = RowReader(path, check=require_strings("problem", "solution"), allow_empty=False)
    written = 0

    def flush_rejects() -> None:
        nonlocal written
        for reject in reader.rejects[written:]:
            rejects.write(json.dumps(reject.as_dict(), ensure_ascii=False) + "\n")
        written = len(reader.rejects)

    for item in reader:
        if progress:
            progress(item.line)
        if len(reader.rejects) > written:
            flush_rejects()
        problem, solution = item.data["problem"], item.data["solution"]
        try:
            check_size(solution)
            family, solved = classify(problem)
        except TooLarge as exc:  # kept with its line; 10**5000 is no contest problem
            summary["rejected"] += 1
            raw = json.dumps(item.data, ensure_ascii=False)
            reject = Reject(str(path), item.line, f"too large to check: {exc}", raw)
            rejects.write(json.dumps(reject.as_dict(), ensure_ascii=False) + "\n")
            continue
        summary["rows"] += 1
        by_type[family] += 1
        row_key = _digest(problem, solution)
        if row_key in seen_rows:
            summary["duplicates"] += 1
            continue
        seen_rows.add(row_key)
        problem_key, solution_key = _digest(problem), _digest(solution)
        earlier = seen_problems.setdefault(problem_key, solution_key)
        if earlier != solution_key:
            summary["problem_duplicates"] += 1
        judged, how = assess(solved, solution)
        by_verdict[judged] += 1
        by_sub_verdict[how] += 1
        if judged == "disagrees":
            summary["disagreements"] += 1
        record = {
            "id": f"contest-{item.line:07d}",
            "type": family,
            "lang": language(problem),
            "problem": problem,
            "answer": solved.answer if solved else None,
            "answer_policy": solved.answer_policy if solved else None,
            "solution": solution,
            "operands": list(solved.operands) if solved else None,
            "source": "contest",
            "line": item.line,
            "verdict": judged,
            "sub_verdict": how,
        }
        records.write(json.dumps(record, ensure_ascii=False) + "\n")
    flush_rejects()
    return {
        "input": str(path),
        "format": reader.format,
        "rows": summary["rows"],
        "rejected": reader.rejected + summary["rejected"],
        "blank": reader.blank,
        "duplicates": summary["duplicates"],
        "problem_duplicates": summary["problem_duplicates"],
        "unique": summary["rows"] - summary["duplicates"],
        "disagreements": summary["disagreements"],
        "by_type": {t: by_type[t] for t in TYPES if by_type[t]},
        "by_verdict": dict(sorted(by_verdict.items())),
        "by_sub_verdict": {
            how: by_sub_verdict[how]
            for kinds in SUB_VERDICTS.values() for how in kinds if by_sub_verdict[how]
        },
    }


def summary_table(summary: dict):
    from rich.table import Table

    table = Table(title=f"audit of {summary['input']}")
    table.add_column("measure")
    table.add_column("rows", justify="right")
    for key in ("rows", "unique", "duplicates", "problem_duplicates", "disagreements", "rejected", "blank"):
        table.add_row(key, f"{summary[key]:,}")
    for family, count in summary["by_type"].items():
        table.add_row(f"type {family}", f"{count:,}")
    for judged, count in summary["by_verdict"].items():
        table.add_row(f"verdict {judged}", f"{count:,}")
    for how, count in summary.get("by_sub_verdict", {}).items():
        table.add_row(f"  of which {how}", f"{count:,}")
    return table


def count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


def check_input(source: Path) -> None:
    """Say what is wrong with the input before any output is made."""
    if source.is_dir():
        raise InputError("is a directory, not a file (give the contest's train.json)", path=source)
    if not source.exists():
        raise InputError("no such file", path=source)


def check_out(out: Path, source: Path, force: bool) -> None:
    """The --force policy for the audit folder, which is replaced whole: never over other files."""
    check_target(out, force, directory=True)
    if out.is_dir():
        foreign = sorted(p.name for p in out.iterdir() if p.name not in OUTPUTS)
        if foreign:
            shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
            raise OutputError(f"{out} holds files audit did not write ({shown}); choose another folder",
                              field="--out")
    if out.resolve() in source.resolve().parents:
        raise OutputError(f"{out} holds the input {source}; choose another folder", field="--out")


def run(args: argparse.Namespace) -> int:
    if args.against:
        from datagen.curricula.decontam import run_against

        return run_against(args)
    source = Path(args.input)
    check_input(source)
    out = Path(args.out)
    check_out(out, source, args.force)
    if args.json is not None:
        check_target(args.json, args.force, option="--json")
    started = time.perf_counter()
    show = sys.stderr.isatty() and not args.quiet
    with staged(out, directory=True) as work:
        with open(work / "records.jsonl", "w", encoding="utf-8", newline="\n") as records, \
                open(work / "rejects.jsonl", "w", encoding="utf-8", newline="\n") as rejects:
            if show:
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    Progress,
                    TextColumn,
                    TimeRemainingColumn,
                )

                columns = (TextColumn("audit lines"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
                with Progress(*columns, transient=True) as bar:
                    total = count_lines(source)
                    task = bar.add_task("audit", total=total)
                    summary = audit_rows(source, records, rejects, lambda line: bar.update(task, completed=line))
            else:
                lines = PipeProgress("audit", None, "lines", quiet=args.quiet)
                summary = audit_rows(source, records, rejects, lines.update)
        summary["seconds"] = round(time.perf_counter() - started, 3)
        write_json(work / "summary.json", summary)
    if args.json is not None:
        write_json(args.json, summary)
    if not args.quiet:
        console = stderr_console()
        console.print(fit(summary_table(summary)))
        console.print(f"wrote {out}/records.jsonl, rejects.jsonl, summary.json")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "audit",
        help="check the contest train.json: types, exact re-solve, duplicates, bad rows",
        description="Classify every row, re-solve it exactly, find duplicates; bad rows go to rejects.jsonl.",
    )
    p.add_argument("input", help="the contest's train.json (JSON Lines of {problem, solution}, or one JSON list)")
    p.add_argument("--out", required=True, help="output folder for records.jsonl, rejects.jsonl, summary.json "
                   "(replaced whole; must not exist, or be empty, unless --force)")
    p.add_argument("--force", action="store_true", help="replace an earlier audit in --out (and --json)")
    p.add_argument("--json", metavar="PATH", help="also write the summary as JSON here ('-': stdout)")
    p.add_argument("--against", nargs="+", metavar="BENCH", help="decontaminate INPUT (any training rows) "
                   "instead: remove rows sharing an n-gram or a canonical problem with an item of these benchmark "
                   "files (SQuAD JSON, JSON Lines or JSON lists); writes records.jsonl, removed.jsonl, summary.json")
    p.add_argument("--ngram", type=int, default=NGRAM, help="with --against: tokens per shared n-gram (a CJK "
                   f"character is a token; default {NGRAM})")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress or summary")
    p.set_defaults(handler=run)
