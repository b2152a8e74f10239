"""The contest's train.json rows: classify, re-solve exactly, and judge the given solution."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from datagen.numbers import terminating_scale
from datagen.solve import Solved, solve

CJK = re.compile(r"[\u3400-\u9fff]")
SHOWN = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
SHOWN_FRACTION = re.compile(r"[-+]?\d+\s*/\s*\d+")
FLOAT_RELATIVE = Fraction(1, 10**12)
# families whose contest solutions were computed with Python floats
FLOAT_FAMILIES = frozenset({"linear_eq", "mean", "discount", "growth"})


def language(text: str) -> str:
    return "zh" if CJK.search(text) else "en"


def classify(problem: str) -> tuple[str, Solved | None]:
    """(type, solved): a family with its exact solution, else 'competition' or 'unknown'."""
    solved = solve(problem)
    if solved is not None:
        return solved.type, solved
    return ("unknown" if CJK.search(problem) else "competition"), None


def shown_value(family: str, solution: str) -> str | None:
    """The number a solution states: its last number (a fraction for the fraction family)."""
    if family == "fraction":
        found = SHOWN_FRACTION.findall(solution)
        return found[-1].replace(" ", "") if found else None
    found = SHOWN.findall(solution)
    return found[-1] if found else None


def agrees(solved: Solved, shown: str) -> bool:
    """Whether a shown number states the exact answer (the audit's rule).

    Values the contest computed with floats agree to float64 rounding (relative 1e-12).
    Otherwise: exactly, when the exact value has at most 4 decimals; else within one
    unit of the last shown digit.  Fractions agree only in reduced form.
    """
    if solved.type == "fraction":
        return shown.lstrip("+") == solved.answer
    try:
        number = Decimal(shown)
    except InvalidOperation:
        return False
    value = Fraction(number)
    exact = solved.value if solved.value is not None else Fraction(Decimal(solved.answer))
    error = abs(value - exact)
    if solved.type in FLOAT_FAMILIES and error <= abs(exact) * FLOAT_RELATIVE:
        return True
    scale = terminating_scale(exact.denominator) if solved.value is not None else None
    if scale is not None and scale <= 4:
        return value == exact
    return error < Fraction(10) ** number.as_tuple().exponent


def verdict(solved: Solved | None, solution: str) -> str:
    if solved is None:
        return "unchecked"
    shown = shown_value(solved.type, solution)
    if shown is None:
        return "disagrees"
    return "agrees" if agrees(solved, shown) else "disagrees"
