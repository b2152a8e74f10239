"""The contest's train.json rows: classify, re-solve exactly, and judge the given solution."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from datagen.numbers import terminating_scale
from datagen.solve import F, Solved, TooLarge, solve, solver_families

__all__ = ["TooLarge", "assess", "classify", "judge", "language", "shown_value", "verdict"]

CJK = re.compile(r"[\u3400-\u9fff]")
SHOWN = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
SHOWN_FRACTION = re.compile(r"[-+]?\d+\s*/\s*\d+")
# IEEE double: one rounding moves a value by at most 2**-53 of itself; a stated value may differ
# from the contest's formula evaluated in doubles by twice the worst-case rounding error (another
# evaluation order, repr's rounding)
UNIT_ROUNDOFF = Fraction(1, 2**53)
FLOAT_SLACK = 2
# exponents beyond this are not numbers anyone computed (and 10**exponent would not fit in memory)
MAX_EXPONENT = 10_000
VERDICTS = ("agrees", "disagrees", "unchecked")
# sub-verdicts: how a solution agrees, or why it does not
SUB_VERDICTS = {
    "agrees": ("exact", "rounded", "float64"),
    "disagrees": ("wrong", "no_number"),
    "unchecked": ("unknown_type",),
}


def language(text: str) -> str:
    return "zh" if CJK.search(text) else "en"


def classify(problem: str) -> tuple[str, Solved | None]:
    """(type, solved): a family with its exact solution, else 'competition' or 'unknown'.

    Raises TooLarge (a ValueError) when a number in the problem is too long to solve.
    """
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


class _Double:
    """A value computed in IEEE doubles: the exact value of the formula and a bound on the
    distance of the computed double from it (first-order, each operation rounding once)."""

    __slots__ = ("error", "value")

    def __init__(self, value: Fraction, error: Fraction | None = None) -> None:
        self.value = value
        self.error = abs(value) * UNIT_ROUNDOFF if error is None else error  # parsing rounds once

    def _rounded(self, value: Fraction, error: Fraction) -> _Double:
        return _Double(value, error + abs(value) * UNIT_ROUNDOFF)

    def __add__(self, other: _Double) -> _Double:
        return self._rounded(self.value + other.value, self.error + other.error)

    def __sub__(self, other: _Double) -> _Double:
        return self._rounded(self.value - other.value, self.error + other.error)

    def __mul__(self, other: _Double) -> _Double:
        error = abs(self.value) * other.error + abs(other.value) * self.error + self.error * other.error
        return self._rounded(self.value * other.value, error)

    def __truediv__(self, other: _Double) -> _Double:
        quotient = self.value / other.value
        room = abs(other.value) - other.error
        error = (self.error + abs(quotient) * other.error) / room if room > 0 else abs(quotient)
        return self._rounded(quotient, error)


def _double(operand: str | int) -> _Double:
    """An operand as the contest parsed it (one rounding), or an integer constant (exact)."""
    if isinstance(operand, int):
        return _Double(Fraction(operand), Fraction(0))
    return _Double(F(operand))


def float_error(solved: Solved) -> Fraction:
    """How far the contest's float computation of ``solved`` can be from the exact answer.

    The formula is the family's own value, evaluated in doubles as the contest's own phrasing reads it
    (-b / a, sum / n, d * v, (p - q) / p * 100, s * (1 + g / 100)).
    """
    family = solver_families()[solved.type]
    if not family.floats:
        raise KeyError(solved.type)
    result = family.value(solved.operands, _double)
    # phrasings that state the amounts in other units (yuan for 万元) scale the error with the answer
    scale = abs(solved.value / result.value) if solved.value and result.value else 1
    return result.error * scale


def judge(solved: Solved, shown: str) -> str | None:
    """How a shown number states the exact answer: 'exact', 'rounded', 'float64', or None (wrong).

    exact: equal to the exact value.  rounded: the exact value has more than 4 decimals (or
    none that terminate) and the shown one is within one unit of its last digit.  float64:
    the family's contest solution is a float computation and the shown value lies within
    twice the worst-case IEEE double rounding error of that computation (464.09999999999997
    for 464.1).  Fractions agree only in reduced form.
    """
    if solved.type == "fraction":
        return "exact" if shown.lstrip("+") == solved.answer else None
    try:
        number = Decimal(shown)
    except InvalidOperation:
        return None
    if not number.is_finite() or abs(number.adjusted()) > MAX_EXPONENT:
        return None
    value = Fraction(number)
    exact = solved.value if solved.value is not None else Fraction(Decimal(solved.answer))
    if value == exact and solved.value is not None:
        return "exact"
    error = abs(value - exact)
    scale = terminating_scale(exact.denominator) if solved.value is not None else None
    if (scale is None or scale > 4) and error < Fraction(10) ** number.as_tuple().exponent:
        return "rounded"
    float_family = solver_families()[solved.type].floats and solved.value is not None
    if float_family and error <= FLOAT_SLACK * float_error(solved) + abs(value) * UNIT_ROUNDOFF:
        return "float64"
    return None


def agrees(solved: Solved, shown: str) -> bool:
    """Whether a shown number states the exact answer (the audit's rule, see ``judge``)."""
    return judge(solved, shown) is not None


def assess(solved: Solved | None, solution: str) -> tuple[str, str]:
    """(verdict, sub-verdict) of a solution; the pairs are listed in SUB_VERDICTS."""
    if solved is None:
        return "unchecked", "unknown_type"
    shown = shown_value(solved.type, solution)
    if shown is None:
        return "disagrees", "no_number"
    how = judge(solved, shown)
    return ("agrees", how) if how else ("disagrees", "wrong")


def verdict(solved: Solved | None, solution: str) -> str:
    return assess(solved, solution)[0]
