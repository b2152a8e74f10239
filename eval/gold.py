"""Read held-out gold: records with an exact ``answer``, or contest rows re-derived exactly.

A record (``datagen make`` or a curriculum's heldout split) carries its exact answer.  A
contest-format row (``{"problem", "solution"}``, like ``train.json``) has only a rounded
solution, so its exact answer is re-derived from the problem text by ``curricula.contest``,
as the audit does.  A row that cannot be re-derived is judged by the number in its solution's
``\\boxed{}`` when that is exactly one number, and otherwise left unjudged (counted, reported).

Gold is read with ``datagen.rows.RowReader`` under the ``stop`` policy: a score against a
partly unreadable gold would be a wrong number, so the first bad row stops the run with its
file, line and field. A UTF-8 BOM, CRLF line ends, blank lines and a JSON list are accepted.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from datagen.eval.compare import GoldError, make_gold, unreverse
from datagen.eval.extract import boxed_content, last_number_text, parse_number
from datagen.eval.score import GoldItem

from datagen.errors import InputError
from datagen.rows import RowReader

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
        contest = importlib.import_module("datagen.curricula.contest")
    except ModuleNotFoundError as exc:
        if exc.name in ("datagen.curricula.contest", "datagen.curricula"):
            return None
        raise
    resolve = getattr(contest, "resolve", None)
    if resolve is None and hasattr(contest, "classify"):
        # the audit's classify() returns (type, solved-or-None) with the same fields
        return lambda problem: contest.classify(problem)[1]
    return resolve


def _error(message: str, where: str, line: int, field: str | None = None) -> InputError:
    return InputError(message, path=where, line=line, field=field)


def _text_field(row: dict, name: str, line: int, where: str, required: bool = True) -> str | None:
    value = row.get(name)
    if type(value) is str:
        return value
    if value is None:
        if required:
            raise _error("missing", where, line, name)
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and name in ("answer", "id"):
        return str(value)
    raise _error(f"must be a string, got {type(value).__name__}", where, line, name)


def solution_number(solution: str) -> str | None:
    """The number string a solution ends with (its contest-style gold string), if any."""
    # every solution style ends on a line that holds the result last
    return last_number_text(solution[solution.rfind("\n") + 1:])


def _strings(*candidates: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(c for c in candidates if c))


def record_item(row: dict, line: int, where: str) -> GoldItem:
    """A record with an exact ``answer`` (``where``: its file, for errors)."""
    get = row.get
    # the common case (every field a string) without a call per field
    answer, problem, family, style, lang, item_id = (get("answer"), get("problem"), get("type"), get("style"),
                                                     get("lang"), get("id"))
    if type(answer) is not str:
        answer = _text_field(row, "answer", line, where)
    if type(problem) is not str:
        problem = _text_field(row, "problem", line, where)
    if type(family) is not str:
        family = _text_field(row, "type", line, where, required=False) or "unknown"
    if type(style) is not str:
        style = _text_field(row, "style", line, where, required=False) or ""
    if type(lang) is not str or not lang:
        lang = _text_field(row, "lang", line, where, required=False) or language(problem)
    if item_id is not None and type(item_id) is not str:
        item_id = _text_field(row, "id", line, where, required=False)
    try:
        gold = make_gold(answer, get("answer_policy") or "exact", family, style)
    except GoldError as exc:
        raise _error(str(exc), where, line, "answer_policy" if "answer_policy" in str(exc) else "answer") from None
    solution = get("solution")
    shown = solution_number(solution) if type(solution) is str else None
    if gold.reversed:
        strings = _strings(answer, shown, unreverse(answer))
    elif shown is None or shown == answer:
        strings = (answer,)
    else:
        strings = (answer, shown)
    return GoldItem(item_id, line, family or "unknown", lang, problem, gold, strings,
                    difficulty_bucket(get("difficulty")), "record")


def contest_item(row: dict, line: int, where: str, resolve: Callable | None) -> GoldItem:
    """A contest ``{problem, solution}`` row, its exact answer re-derived from the problem."""
    problem = _text_field(row, "problem", line, where)
    solution = _text_field(row, "solution", line, where)
    if resolve is None:
        raise _error(
            "a contest-format row (problem, solution) needs curricula.contest to re-derive its exact "
            "answer, and that module is not installed; score against records with an 'answer' field "
            "(datagen make, curriculum heldout) instead", where, line,
        )
    shown = solution_number(solution)
    resolved = resolve(problem)
    item_id = _text_field(row, "id", line, where, required=False)
    if resolved is not None:
        try:
            gold = make_gold(resolved.answer, resolved.answer_policy, resolved.type)
        except GoldError as exc:
            raise _error(f"re-derived answer: {exc}", where, line, "problem") from None
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


def gold_item(row: dict, line: int, where: str, resolve: Callable | None) -> GoldItem:
    if "answer" in row:
        return record_item(row, line, where)
    if "problem" in row and "solution" in row:
        return contest_item(row, line, where, resolve)
    raise _error("neither a record (field 'answer' is missing) nor a contest row "
                 "(fields 'problem' and 'solution')", where, line)


def gold_from_rows(rows: Iterable[tuple[int, dict]], name: str = "<gold>") -> GoldSet:
    """A GoldSet from (line, row) pairs: records and contest rows, in order."""
    items: list[GoldItem] = []
    resolve: Callable | None = None
    looked_up = False
    for line, row in rows:
        if not isinstance(row, dict):
            raise InputError(f"expected a JSON object, got {type(row).__name__}", path=name, line=line)
        if not looked_up and "answer" not in row:
            resolve, looked_up = contest_resolver(), True
        items.append(gold_item(row, line, name, resolve))
    if not items:
        raise InputError("has no items", path=name)
    counts: dict[str, int] = {}
    for item in items:
        counts[item.source] = counts.get(item.source, 0) + 1
    return GoldSet(name, items, counts)


def gold_from_records(records: Iterable[dict], name: str = "<gold>") -> GoldSet:
    """A GoldSet from rows in memory (row k is "line" k), e.g. a proxy run's held-out records."""
    return gold_from_rows(enumerate(records, 1), name)


def read_gold(path: str | Path) -> GoldSet:
    """Every non-blank row of a JSON Lines (or JSON list) gold file, in order; stops at a bad row."""
    reader = RowReader(path, policy="stop", allow_empty=False)
    return gold_from_rows(((row.line, row.data) for row in reader), str(path))
