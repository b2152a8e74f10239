"""Where training rows come from: the generator, the contest file, BELLE, any Alpaca file.

Every loader yields records (the DESIGN's one record type) and reports rejected rows
with their file, line and field instead of dropping them (``datagen.rows.RowReader``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from datagen.curricula.contest import TooLarge, classify, language, verdict

from datagen.rows import Reject, Row, RowReader, require_strings

FINAL_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:/\d+)?")


@dataclass
class LoadReport:
    path: str
    rows: int = 0
    rejected: list[Reject] = field(default_factory=list)
    blank: int = 0



def _read(path: str | Path, report: LoadReport, *fields: str) -> Iterator[tuple[RowReader, Row]]:
    """The good rows; ``report`` follows the reader's counts as it goes (its rejects list is shared)."""
    reader = RowReader(path, check=require_strings(*fields))
    report.rejected = reader.rejects
    for row in reader:
        report.rows, report.blank = reader.rows, reader.blank
        yield reader, row
    report.rows, report.blank = reader.rows, reader.blank


def contest_records(path: str | Path, report: LoadReport) -> Iterator[dict]:
    """Contest rows as records: raw train.json rows, or the audit's records.jsonl."""
    for _, row in _read(path, report, "problem", "solution"):
        data = row.data
        if "verdict" in data and data.get("source") == "contest":
            yield data  # already audited
            continue
        try:
            family, solved = classify(data["problem"])
        except TooLarge as exc:
            report.rejected.append(Reject(str(path), row.line, f"too large to check: {exc}", data["problem"][:200]))
            continue
        yield {
            "id": f"contest-{row.line:07d}",
            "type": family,
            "lang": language(data["problem"]),
            "problem": data["problem"],
            "answer": solved.answer if solved else None,
            "answer_policy": solved.answer_policy if solved else None,
            "solution": data["solution"],
            "operands": list(solved.operands) if solved else None,
            "source": "contest",
            "line": row.line,
            "verdict": verdict(solved, data["solution"]),
        }


def alpaca_records(
    path: str | Path, report: LoadReport, prefix: str = "alpaca", family: str = "alpaca", source: str = "alpaca"
) -> Iterator[dict]:
    """Alpaca rows ({instruction, input, output}) as records; the output's last number is kept.

    Ids are ``<prefix><N>`` with N the row's 0-based place in the file: its line for JSON Lines,
    its item for a JSON list (BELLE's download), the numbering of the original converters.
    """
    for reader, row in _read(path, report, "instruction", "output"):
        data = row.data
        index = row.line - 1 if reader.format == "jsonl" else reader.rows + reader.rejected - 1
        extra = data.get("input") or ""
        problem = data["instruction"] + ("\n" + extra if isinstance(extra, str) and extra.strip() else "")
        numbers = FINAL_NUMBER.findall(data["output"])
        yield {
            "id": f"{prefix}{index}",
            "type": family,
            "lang": language(problem),
            "problem": problem,
            "answer": numbers[-1].lstrip("+") if numbers else None,
            "answer_policy": "stated" if numbers else None,
            "solution": data["output"],
            "operands": None,
            "source": source,
            "line": row.line,
        }


def belle_records(path: str | Path, report: LoadReport) -> Iterator[dict]:
    """BELLE school_math: type `word`, ids bellemath<N>, answers unchecked ('stated')."""
    return alpaca_records(path, report, prefix="bellemath", family="word", source="belle")
