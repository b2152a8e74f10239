"""Read held-out gold: records with an exact ``answer``, or contest rows re-derived exactly.

A record (``datagen make`` or a curriculum's heldout split) carries its exact answer.  A
contest-format row (``{"problem", "solution"}``, like ``train.json``) has only a rounded
solution, so its exact answer is re-derived from the problem text by ``curricula.contest``,
as the audit does.  A row that cannot be re-derived is judged by the number in its solution's
``\\boxed{}`` when that is exactly one number, and otherwise left unjudged (counted, reported).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from datagen.cli import UsageError
from eval.compare import GoldError, make_gold, unreverse
from eval.extract import boxed_content, last_number_text, parse_number
from eval.predictions import json_lines
from eval.score import GoldItem

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# the difficulty fields that make the most telling bucket, best first
BUCKET_KEYS = ("level", "bucket", "digits", "terms", "exponent", "max_denominator")


@dataclass
class GoldSet:
    path: str
    items: list[GoldItem]
    counts: dict[str, int] = field(default_factory=dict)  # how many items came from each source

    @property
    def unjudged(self) -> list[GoldItem]:
        return [item for item in self.items if item.gold is None]


def language(text: str) -> str:
    return "zh" if CJK.search(text) else "en"


def difficulty_bucket(difficulty) -> str | None:
    """A short label for a record's difficulty: ``digits=3`` (largest operand), ``level=2`` ..."""
    if difficulty is None or difficulty == {}:
        return None
    if not isinstance(difficulty, dict):
        return str(difficulty)
    for key in BUCKET_KEYS:
        if key in difficulty:
            value = difficulty[key]
            if isinstance(value, (list, tuple)) and value and all(isinstance(v, (int, float)) for v in value):
                value = max(value)
            return f"{key}={value}"
    key = min(difficulty)
    return f"{key}={difficulty[key]}"


def contest_resolver() -> Callable | None:
    """``curricula.contest.resolve`` (problem -> exact answer or None), None if not installed."""
    try:
        contest = importlib.import_module("curricula.contest")
    except ModuleNotFoundError as exc:
        if exc.name in ("curricula.contest", "curricula"):
            return None
        raise
    resolve = getattr(contest, "resolve", None)
    if resolve is None and hasattr(contest, "classify"):
        # the audit's classify() returns (type, solved-or-None) with the same fields
        return lambda problem: contest.classify(problem)[1]
    return resolve


def _text_field(row: dict, name: str, where: str, required: bool = True) -> str | None:
    value = row.get(name)
    if type(value) is str:
        return value
    if value is None:
        if required:
            raise UsageError(f"{where}: field {name!r} is missing")
        return None
    if not isinstance(value, str):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and name in ("answer", "id"):
            return str(value)
        raise UsageError(f"{where}: field {name!r} must be a string, got {type(value).__name__}")
    return value


def solution_number(solution: str) -> str | None:
    """The number string a solution ends with (its contest-style gold string), if any."""
    # every solution style ends on a line that holds the result last
    return last_number_text(solution[solution.rfind("\n") + 1:])


def _strings(*candidates: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(c for c in candidates if c))


def record_item(row: dict, line: int, where: str) -> GoldItem:
    answer = _text_field(row, "answer", where)
    problem = _text_field(row, "problem", where)
    family = _text_field(row, "type", where, required=False) or "unknown"
    style = _text_field(row, "style", where, required=False) or ""
    policy = row.get("answer_policy") or "exact"
    try:
        gold = make_gold(answer, policy, family, style)
    except GoldError as exc:
        name = "answer_policy" if "answer_policy" in str(exc) else "answer"
        raise UsageError(f"{where}: field {name!r}: {exc}") from None
    solution = row.get("solution")
    shown = solution_number(solution) if isinstance(solution, str) else None
    strings = _strings(answer, shown, unreverse(answer) if gold.reversed else None)
    return GoldItem(
        id=_text_field(row, "id", where, required=False),
        line=line,
        type=family,
        lang=_text_field(row, "lang", where, required=False) or language(problem),
        problem=problem,
        gold=gold,
        strings=strings,
        bucket=difficulty_bucket(row.get("difficulty")),
        source="record",
    )


def contest_item(row: dict, line: int, where: str, resolve: Callable | None) -> GoldItem:
    problem = _text_field(row, "problem", where)
    solution = _text_field(row, "solution", where)
    if resolve is None:
        raise UsageError(
            f"{where}: a contest-format row (problem, solution) needs curricula.contest to re-derive "
            "its exact answer, and that module is not installed; score against records with an "
            "'answer' field (datagen make, curriculum heldout) instead"
        )
    shown = solution_number(solution)
    resolved = resolve(problem)
    item_id = _text_field(row, "id", where, required=False)
    if resolved is not None:
        try:
            gold = make_gold(resolved.answer, resolved.answer_policy, resolved.type)
        except GoldError as exc:
            raise UsageError(f"{where}: re-derived answer for field 'problem': {exc}") from None
        return GoldItem(item_id, line, resolved.type, language(problem), problem, gold,
                        _strings(shown, resolved.answer), source="contest")
    boxed = boxed_content(solution)
    number = parse_number(boxed) if boxed is not None else None
    gold = None
    if number is not None and number.denominator:
        gold = make_gold(f"{number.numerator}/{number.denominator}")
    family = "competition" if boxed is not None else "unresolved"
    strings = _strings(boxed.strip() if boxed else None, shown)
    return GoldItem(item_id, line, family, language(problem), problem, gold, strings,
                    source="solution" if gold else "unjudged")


def gold_item(row, line: int, where: str, resolve: Callable | None) -> GoldItem:
    if not isinstance(row, dict):
        raise UsageError(f"{where}: expected a JSON object, got {type(row).__name__}")
    if "answer" in row:
        return record_item(row, line, where)
    if "problem" in row and "solution" in row:
        return contest_item(row, line, where, resolve)
    raise UsageError(f"{where}: neither a record (field 'answer' is missing) nor a contest row "
                     "(fields 'problem' and 'solution')")


def read_gold(path: str | Path) -> GoldSet:
    """Every non-blank line of a JSON Lines gold file, in order."""
    path = Path(path)
    items: list[GoldItem] = []
    resolve: Callable | None = None
    looked_up = False
    try:
        for line_no, where, row in json_lines(path):
            if not looked_up and isinstance(row, dict) and "answer" not in row:
                resolve, looked_up = contest_resolver(), True
            items.append(gold_item(row, line_no, where, resolve))
    except OSError as exc:
        raise UsageError(f"--gold: cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"--gold: {path} is not UTF-8 text") from None
    if not items:
        raise UsageError(f"--gold: {path} has no items")
    counts: dict[str, int] = {}
    for item in items:
        counts[item.source] = counts.get(item.source, 0) + 1
    return GoldSet(str(path), items, counts)
