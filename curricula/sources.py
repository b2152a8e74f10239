"""Where training rows come from: the generator, the contest file, BELLE, any Alpaca file.

Every loader yields records (the DESIGN's one record type) and reports rejected rows
with their line numbers instead of dropping them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from curricula.contest import TooLarge, classify, language, verdict
from curricula.rows import BLANK, Reject, Row, read_json_or_jsonl, read_jsonl

FINAL_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:/\d+)?")


@dataclass
class LoadReport:
    path: str
    rows: int = 0
    rejected: list[Reject] = field(default_factory=list)
    blank: int = 0


def counted(items, report: LoadReport) -> Iterator[Row]:
    """The good rows; blank and rejected ones are counted in ``report``, never dropped silently."""
    for item in items:
        if item is BLANK:
            report.blank += 1
        elif isinstance(item, Reject):
            report.rejected.append(item)
        else:
            report.rows += 1
            yield item


def contest_records(path: str | Path, report: LoadReport) -> Iterator[dict]:
    """Contest rows as records: raw train.json rows, or the audit's records.jsonl."""
    for item in counted(read_jsonl(path, required=("problem", "solution")), report):
        data = item.data
        if "verdict" in data and data.get("source") == "contest":
            yield data  # already audited
            continue
        try:
            family, solved = classify(data["problem"])
        except TooLarge as exc:
            report.rejected.append(Reject(item.line, f"too large to check: {exc}", data["problem"][:200]))
            continue
        yield {
            "id": f"contest-{item.line:07d}",
            "type": family,
            "lang": language(data["problem"]),
            "problem": data["problem"],
            "answer": solved.answer if solved else None,
            "answer_policy": solved.answer_policy if solved else None,
            "solution": data["solution"],
            "operands": list(solved.operands) if solved else None,
            "source": "contest",
            "line": item.line,
            "verdict": verdict(solved, data["solution"]),
        }


def alpaca_records(
    path: str | Path, report: LoadReport, prefix: str = "alpaca", family: str = "alpaca", source: str = "alpaca"
) -> Iterator[dict]:
    """Alpaca rows ({instruction, input, output}) as records; the output's last number is kept."""
    for item in counted(read_json_or_jsonl(path, required=("instruction", "output")), report):
        data = item.data
        extra = data.get("input") or ""
        problem = data["instruction"] + ("\n" + extra if extra.strip() else "")
        numbers = FINAL_NUMBER.findall(data["output"])
        yield {
            "id": f"{prefix}{item.line - 1}",
            "type": family,
            "lang": language(problem),
            "problem": problem,
            "answer": numbers[-1].lstrip("+") if numbers else None,
            "answer_policy": "stated" if numbers else None,
            "solution": data["output"],
            "operands": None,
            "source": source,
            "line": item.line,
        }


def belle_records(path: str | Path, report: LoadReport) -> Iterator[dict]:
    """BELLE school_math: type `word`, ids bellemath<N>, answers unchecked ('stated')."""
    return alpaca_records(path, report, prefix="bellemath", family="word", source="belle")
