"""``datagen audit``: check the contest file row by row, and keep every rejected row."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections import Counter
from pathlib import Path

from curricula.contest import SUB_VERDICTS, TooLarge, assess, classify, language
from curricula.rows import BLANK, Reject, read_jsonl
from datagen.output import OutputError, atomic_open
from datagen.solve import check_size

FAMILY_TYPES = "add sub mul div pow sqrt linear_eq func_value mean area mass discount growth fraction".split()
TYPES = FAMILY_TYPES + ["competition", "unknown"]


def _digest(*parts: str) -> bytes:
    h = hashlib.blake2b(digest_size=12)
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.digest()


def audit_rows(path: str | Path, records, rejects, progress=None) -> dict:
    """Audit ``path``; write unique rows to ``records`` and bad rows to ``rejects`` (text streams).

    Returns the summary.  Never stops early: every line is counted somewhere.
    """
    summary = Counter()
    by_type: Counter = Counter()
    by_verdict: Counter = Counter()
    by_sub_verdict: Counter = Counter()
    seen_rows: set[bytes] = set()
    seen_problems: dict[bytes, bytes] = {}
    for item in read_jsonl(path, required=("problem", "solution")):
        if progress:
            progress()
        if item is BLANK:
            summary["blank"] += 1
            continue
        if isinstance(item, Reject):
            summary["rejected"] += 1
            rejects.write(json.dumps(item.as_dict(), ensure_ascii=False) + "\n")
            continue
        problem, solution = item.data["problem"], item.data["solution"]
        try:
            check_size(solution)
            family, solved = classify(problem)
        except TooLarge as exc:  # kept with its line; 10**5000 is no contest problem
            summary["rejected"] += 1
            raw = json.dumps(item.data, ensure_ascii=False)
            reject = Reject(item.line, f"too large to check: {exc}", raw)
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
    return {
        "input": str(path),
        "rows": summary["rows"],
        "rejected": summary["rejected"],
        "blank": summary["blank"],
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


def run(args: argparse.Namespace) -> int:
    from datagen.cli import UsageError

    source = Path(args.input)
    if not source.is_file():
        raise UsageError(f"{source}: no such file")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out: {out} exists and is not a directory")
    started = time.perf_counter()
    show = sys.stderr.isatty() and not args.quiet
    try:
        with atomic_open(out / "records.jsonl") as records, atomic_open(out / "rejects.jsonl") as rejects:
            if show:
                from rich.progress import Progress

                with Progress(transient=True) as bar:
                    task = bar.add_task("audit", total=count_lines(source))
                    summary = audit_rows(source, records, rejects, lambda: bar.advance(task))
            else:
                summary = audit_rows(source, records, rejects)
        summary["seconds"] = round(time.perf_counter() - started, 3)
        with atomic_open(out / "summary.json") as handle:
            json.dump(summary, handle, ensure_ascii=False, indent=2)
            handle.write("\n")
    except OutputError as exc:
        raise UsageError(f"--out: {exc}") from None
    if not args.quiet:
        from rich.console import Console

        console = Console(stderr=True)
        console.print(summary_table(summary))
        console.print(f"wrote {out}/records.jsonl, rejects.jsonl, summary.json")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "audit",
        help="check the contest train.json: types, exact re-solve, duplicates, bad rows",
        description="Classify every row, re-solve it exactly, find duplicates; bad rows go to rejects.jsonl.",
    )
    p.add_argument("input", help="the contest's train.json (JSON Lines of {problem, solution})")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(handler=run)
