"""Judge an extracted number against an exact gold answer (strict), and the contest's lenient check.

The entry point is ``judge(candidate, gold) -> bool``: ``candidate`` is what ``eval.extract`` found
(a ``Number``, or None), ``gold`` is ``make_gold(answer, policy, family, style)``. Strict rules:

* nothing extracted, or ``x/0``, is wrong; zero never matches a nonzero gold (``0.00`` is not an
  answer to 0.0012, however the tolerance below would read it);
* ``fraction`` problems: the prediction is the reduced fraction, exactly (an integer when the
  reduced denominator is 1); ``18/80`` and ``0.225`` for 9/40 are wrong;
* an exact value with at most 4 decimals: the prediction's value equals it exactly, whatever
  the formatting (``1835.050``, ``1,835.05``, ``1.83505e3`` and ``36701/20`` all equal 1835.05);
* otherwise (more decimals, non-terminating like 10/3, or an irrational root stored to 40 digits):
  the exact value is right however written (``10/3``, ``20/6``, ``0.00000081``), and a rounded decimal must show at
  least 2 decimals *and* at least 3 significant digits (whichever asks more: ``0.00647`` for
  0.0064742, not ``0.01`` nor ``0.0065``; at least 4 significant digits in scientific notation)
  and differ from the exact value by less than one unit of its last shown digit, so both
  rounding and truncation count (``3.33``, ``3.334``, ``3.3333``; not ``3.3`` or ``3.35``).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import NamedTuple

from datagen.eval.extract import Number

from datagen.numbers import reverse_digits as unreverse  # noqa: F401  (its own inverse)

SHORT_DECIMALS = 4  # exact values with at most this many decimals must be matched exactly
MIN_DECIMALS = 2  # a rounded decimal shows at least the contest's 2 decimals ...
MIN_SIGNIFICANT = 3  # ... and at least 3 significant digits (0.01 does not identify 0.0064742)
MIN_SIGNIFICANT_SCIENTIFIC = 4


class GoldError(ValueError):
    """A gold answer that is not an exact number; the message names the value."""


class Gold(NamedTuple):
    """An exact answer: value = numerator / denominator, reduced, denominator > 0."""

    answer: str
    numerator: int
    denominator: int
    policy: str = "exact"  # "exact", or "sig40": a 40-significant-digit value of an irrational
    fraction: bool = False  # the problem asks for a reduced fraction
    reversed: bool = False  # the model writes its answer digits in reverse order

    @property
    def short(self) -> bool:
        """Exact with at most 4 decimals, so only the exact value is right."""
        return self.policy == "exact" and 10**SHORT_DECIMALS % self.denominator == 0


def parse_answer(answer: str) -> tuple[int, int]:
    """An exact answer string (integer, decimal, or p/q) as a reduced (numerator, denominator)."""
    text = answer.strip()
    try:
        if "/" in text:
            p_text, q_text = text.split("/")
            p, q = int(p_text), int(q_text)
            if q == 0:
                raise ValueError
            if q < 0:
                p, q = -p, -q
        else:
            negative = text.startswith("-")
            body = text.lstrip("+-")
            whole, _, dec = body.partition(".")
            if not (whole + dec).isdigit() or not (whole + dec).isascii():
                raise ValueError
            p = int(whole + dec) if whole + dec else 0
            p = -p if negative else p
            q = 10 ** len(dec)
    except ValueError:
        raise GoldError(f"{answer!r} is not an exact number (integer, decimal or p/q)") from None
    g = math.gcd(p, q)
    return p // g, q // g


def make_gold(answer: str, policy: str = "exact", family: str = "", style: str = "") -> Gold:
    if policy == "symbolic":  # symbolic hook: radicals, roots, polynomials, booleans, units (eval/symbolic.py)
        from datagen.eval.symbolic import symbolic_gold

        return symbolic_gold(answer, family, style)
    if policy not in ("exact", "sig40"):
        raise GoldError(f"answer_policy {policy!r} is not one of exact, sig40, symbolic")
    p, q = parse_answer(answer)
    return Gold(answer.strip(), p, q, policy, family == "fraction", style in ("reversed", "bare_reversed"))


def equal(pred: Number, gold: Gold) -> bool:
    return pred.numerator * gold.denominator == gold.numerator * pred.denominator


def shows_enough(pred: Number) -> bool:
    """At least 2 decimals and 3 significant digits, or 4 significant digits in scientific notation."""
    if pred.kind == "scientific":
        return pred.significant >= MIN_SIGNIFICANT_SCIENTIFIC
    return pred.kind == "decimal" and pred.last_digit <= -MIN_DECIMALS and pred.significant >= MIN_SIGNIFICANT


def within_last_digit(pred: Number, gold: Gold) -> bool:
    """|pred - gold| < 10**pred.last_digit (plus half the gold's own last unit for sig40)."""
    if gold.policy == "sig40":
        tolerance = Fraction(10) ** pred.last_digit + Fraction(1, 2 * gold.denominator)
        diff = abs(Fraction(pred.numerator, pred.denominator) - Fraction(gold.numerator, gold.denominator))
        return diff < tolerance
    # integers only: |p/d - n/q| < 10**k  <=>  |p*q - n*d| * 10**-k < d*q
    cross = abs(pred.numerator * gold.denominator - gold.numerator * pred.denominator)
    scale = pred.denominator * gold.denominator
    if pred.last_digit >= 0:
        return cross < scale * 10**pred.last_digit
    return cross * 10**-pred.last_digit < scale


def judge(pred: Number | None, gold: Gold) -> bool:
    """The strict verdict of ``pred`` against ``gold`` (the rules are in the module docstring)."""
    if pred is None or pred.denominator == 0:
        return False
    if pred.numerator == 0 and gold.numerator != 0:
        return False
    if gold.fraction:
        # as written: 18/80 and 0.225 have the value of 9/40 but are not the reduced fraction
        same = pred.numerator == gold.numerator and pred.denominator == gold.denominator
        return same and (pred.kind == "fraction" or (gold.denominator == 1 and pred.kind == "integer"))
    if gold.short:
        return equal(pred, gold)
    if pred.kind == "fraction" or equal(pred, gold):
        return equal(pred, gold)  # the exact value, however few its digits (0.00000081 for 0.00000081)
    if not shows_enough(pred):
        return False
    return within_last_digit(pred, gold)


def lenient(text: str, strings: tuple[str, ...]) -> bool:
    """The contest-compatible check: a gold number string appears verbatim in the output."""
    for s in strings:
        if s and s in text:
            return True
    return False
