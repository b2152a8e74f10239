"""--steps-sig smaller than the result's integer digits must never state a false approximation."""

from __future__ import annotations

import dataclasses
import re
from fractions import Fraction

import pytest
import sympy
from stepcheck import check_steps

from datagen.family import load_families
from datagen.generate import Generator, Request

FAMILIES = load_families()
# results with 4-9 integer digits, shown with far fewer significant digits than that
WIDE = {
    "sqrt": {"digits": (7, 9)},
    "mean": {"digits": (5, 7), "terms": (3, 4)},
    "linear_eq": {"a_digits": (1, 1), "b_digits": (6, 8)},
    "discount": {"digits": (1, 4), "markup": True},
    "div": {"digits": (6, 8), "decimals": 0},
}


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(WIDE))
@pytest.mark.parametrize("sig", [2, 3, 4])
def test_small_steps_sig_keeps_every_step_true(family, sig):
    config = dataclasses.replace(FAMILIES[family].config(), steps_sig=sig, **WIDE[family])
    gen = Generator(Request(types=(family,), n=300, seed=sig, style="steps", configs={family: config}))
    inexact = 0
    for i in range(300):
        record = gen.item(i)
        env = {"x": sympy.Rational(record["answer"]) if family == "linear_eq" else None}
        check_steps(record["solution"], env)
        if record["solution_policy"] != "exact":
            inexact += 1
            shown = re.findall(r"-?\d+(?:\.\d+)?", record["solution"])[-1]
            digits = shown.lstrip("-").replace(".", "").lstrip("0")
            assert len(digits) >= sig, record["solution"]
    assert inexact > 50  # the approximations were exercised


def test_the_reported_square_root_is_shown_with_its_integer_digits():
    from datagen.steps import approximate_root

    assert approximate_root(Fraction(598885732), 4) == "24472.14"
    assert approximate_root(Fraction(598885732), 12) == "24472.1419577"
    assert approximate_root(Fraction(2, 10**4), 2) == "0.014"


def test_approximate_keeps_significant_digits_and_two_decimals():
    from datagen.steps import approximate

    assert approximate(Fraction(-123456789, 7), 3) == "-17636684.14"
    assert approximate(Fraction(1, 700), 2) == "0.0014"
    assert approximate(Fraction(2, 3), 10) == "0.6666666667"
    assert approximate(Fraction(19995, 2000), 2) == "10.00"  # 9.9975 carries into a new digit
