"""``datagen audit TRAIN --against BENCH…``: remove training rows that meet a benchmark item.

A row meets an item when they share an n-gram (13 tokens by default; a CJK character is a token,
spacing, punctuation and full width do not count) or the same canonical problem (family and
operand values, whatever the wording or language): ``curricula.leak.Contamination``. Benchmarks
are SQuAD-style JSON (every context and question is an item), or any JSON Lines / JSON list of
objects (their problem, question, context, instruction, input, prompt, query or text fields).
The indexing and matching are pure (leak.py); this module reads and writes the files.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from datagen.curricula.leak import MIN_TOKENS, NGRAM, Contamination

from datagen.errors import InputError, UsageError
from datagen.output import check_target, staged, write_json
from datagen.rows import RowReader
from datagen.solve import canonical_key

# the fields whose text is a benchmark item (answers and solutions are not what a test shows)
ITEM_FIELDS = ("problem", "question", "context", "instruction", "input", "prompt", "query", "text")
# the fields of a training row that are searched
ROW_FIELDS = ("problem", "solution", "question", "context", "instruction", "input", "output", "prompt", "text")
OUTPUTS = ("records.jsonl", "removed.jsonl", "rejects.jsonl", "summary.json")


@dataclass
class Benchmarks:
    """Benchmark items indexed for matching, and where each came from."""

    index: Contamination
    items: list[tuple[str, str]] = field(default_factory=list)  # (file, item id)
    per_file: dict[str, int] = field(default_factory=dict)
    too_short: int = 0

    def describe(self, item: int) -> dict:
        path, ident = self.items[item]
        return {"benchmark": path, "item": ident}


def _squad_items(data: dict) -> Iterator[tuple[str, str]]:
    for a, article in enumerate(data["data"]):
        title = article.get("title", f"article{a}")
        for p, paragraph in enumerate(article.get("paragraphs", [])):
            if isinstance(paragraph.get("context"), str):
                yield f"{title}/{p}/context", paragraph["context"]
            for q, qa in enumerate(paragraph.get("qas", [])):
                if isinstance(qa.get("question"), str):
                    yield str(qa.get("id", f"{title}/{p}/{q}")), qa["question"]


def _row_items(path: Path) -> Iterator[tuple[str, str]]:
    reader = RowReader(path, allow_empty=False)
    for row in reader:
        ident = str(row.data.get("id", f"line {row.line}"))
        for name in ITEM_FIELDS:
            value = row.data.get(name)
            if isinstance(value, str) and value.strip():
                yield f"{ident}/{name}" if name != "problem" else ident, value
        for turn in row.data.get("conversations") or []:
            if isinstance(turn, dict) and turn.get("from") == "human" and isinstance(turn.get("value"), str):
                yield f"{ident}/human", turn["value"]


def benchmark_items(path: str | Path) -> Iterator[tuple[str, str]]:
    """(item id, text) of every item of one benchmark file."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such benchmark file" if not path.exists() else "is not a file", path=path,
                         field="--against")
    with open(path, "rb") as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except (ValueError, UnicodeDecodeError):
            data = None  # JSON Lines: one object per line
        if isinstance(data, dict) and isinstance(data.get("data"), list):
            yield from _squad_items(data)
            return
    yield from _row_items(path)


def load_benchmarks(paths: Iterable[str | Path], n: int = NGRAM, min_tokens: int = MIN_TOKENS) -> Benchmarks:
    bench = Benchmarks(Contamination(n, min_tokens))
    for path in paths:
        count = 0
        for ident, text in benchmark_items(path):
            item = len(bench.items)
            bench.items.append((str(path), ident))
            if not bench.index.add(text, item):
                bench.too_short += 1
            count += 1
        if count == 0:
            raise InputError("holds no benchmark item (no problem, question, context, ... text)", path=path,
                             field="--against")
        bench.per_file[str(path)] = count
    return bench


def row_texts(row: dict) -> list[str]:
    texts = [row[name] for name in ROW_FIELDS if isinstance(row.get(name), str)]
    for turn in row.get("conversations") or []:
        if isinstance(turn, dict) and isinstance(turn.get("value"), str):
            texts.append(turn["value"])
    return texts


def row_keys(row: dict, bench: Benchmarks) -> list[tuple] | None:
    """A generated row's own canonical problem (family + operands); None for a row without one.

    Empty when no item's problem has all of the row's numbers (the key could match none).
    """
    operands = row.get("operands")
    if not operands or not isinstance(row.get("type"), str) or not isinstance(operands, list):
        return None
    if not bench.index.may_hold(operands):
        return []
    try:
        return [canonical_key(row["type"], operands)]
    except (TypeError, ValueError, ArithmeticError):
        return None


def contamination(row: dict, bench: Benchmarks) -> dict | None:
    """Why ``row`` meets a benchmark item (how, which file and item, what matched), else None."""
    hit = bench.index.found(row_texts(row), row_keys(row, bench))
    if hit is None:
        return None
    how, item, matched = hit
    return {"how": how, **bench.describe(item), "matched": matched}


def clean(rows: Iterable[dict], bench: Benchmarks, removed: Counter | None = None) -> list[dict]:
    """The rows that meet no benchmark item; ``removed`` counts the others by how and file."""
    kept = []
    for row in rows:
        why = contamination(row, bench)
        if why is None:
            kept.append(row)
        elif removed is not None:
            removed[(why["how"], why["benchmark"])] += 1
    return kept


def spec_benchmarks(spec) -> Benchmarks | None:
    """The spec's ``benchmarks:`` files, indexed (a relative path is tried beside the spec too)."""
    if not spec.benchmarks:
        return None
    paths = []
    for k, text in enumerate(spec.benchmarks):
        path = Path(text)
        if not path.is_absolute() and not path.exists() and spec.path:
            path = Path(spec.path).parent / text
        if not path.is_file():
            raise InputError(f"benchmark file {text} does not exist", path=spec.path, field=f"benchmarks[{k}]")
        paths.append(path)
    return load_benchmarks(paths)


def clean_stage(records: list[dict], bench: Benchmarks | None) -> tuple[list[dict], dict]:
    """A stage's rows without the benchmark's, and the removed counts ("how file": n)."""
    if bench is None:
        return records, {}
    removed: Counter = Counter()
    kept = clean(records, bench, removed)
    return kept, {f"{how} {path}": n for (how, path), n in sorted(removed.items())}


def run_against(args: argparse.Namespace) -> int:
    """The ``datagen audit --against`` command: records.jsonl (clean), removed.jsonl, summary.json."""
    if args.ngram < 1:
        raise UsageError(f"must be at least 1, got {args.ngram}", field="--ngram")
    source, out = Path(args.input), Path(args.out)
    if not source.is_file():
        raise InputError("no such file" if not source.exists() else "is not a file", path=source)
    check_target(out, args.force, directory=True)
    if args.json is not None:
        check_target(args.json, args.force, option="--json")
    started = time.perf_counter()
    bench = load_benchmarks(args.against, args.ngram)
    indexed = time.perf_counter()
    removed: Counter = Counter()
    rows = 0
    reader = RowReader(source, allow_empty=False)
    with staged(out, directory=True) as work:
        with open(work / "records.jsonl", "w", encoding="utf-8", newline="\n") as kept, \
                open(work / "removed.jsonl", "w", encoding="utf-8", newline="\n") as dropped:
            for row in reader:
                rows += 1
                why = contamination(row.data, bench)
                text = json.dumps(row.data, ensure_ascii=False)
                if why is None:
                    kept.write(text + "\n")
                else:
                    removed[(why["how"], why["benchmark"])] += 1
                    dropped.write(json.dumps({"line": row.line, **why, "row": row.data}, ensure_ascii=False) + "\n")
        with open(work / "rejects.jsonl", "w", encoding="utf-8", newline="\n") as rejects:
            for reject in reader.rejects:
                rejects.write(json.dumps(reject.as_dict(), ensure_ascii=False) + "\n")
        seconds = time.perf_counter() - indexed
        summary = {
            "input": str(source), "against": bench.per_file, "ngram": args.ngram, "rows": rows,
            "removed": sum(removed.values()), "kept": rows - sum(removed.values()),
            "removed_by": {f"{how} {path}": count for (how, path), count in sorted(removed.items())},
            "benchmark_items": len(bench.items), "items_too_short": bench.too_short,
            "rejected": len(reader.rejects), "index_seconds": round(indexed - started, 3),
            "scan_seconds": round(seconds, 3), "rows_per_second": round(rows / max(seconds, 1e-9), 1),
        }
        write_json(work / "summary.json", summary)
    if args.json is not None:
        write_json(args.json, summary)
    if not args.quiet:
        print(f"audit --against: {summary['removed']:,} of {rows:,} rows meet a benchmark item "
              f"({', '.join(f'{k}: {v:,}' for k, v in summary['removed_by'].items()) or 'none'}); "
              f"wrote {out}/records.jsonl, removed.jsonl, summary.json", file=sys.stderr)
    return 0
