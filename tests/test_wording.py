"""Every phrasing is true to its numbers; English reads as a person writes, not in the contest's notation."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datagen.family import FAMILY_ORDER, load_families
from datagen.generate import Generator, Request
from datagen.numbers import exact_answer

FAMILIES = load_families()
CONTEST_DISCOUNT = "商品原价为 {p} 元，打折后的价格为 {q} 元，请计算打折的折扣比例。"
FELL = ("降低", "打折", "discount", "cut")
ROSE = ("提高", "涨", "increase", "raised")


def make(types, n, seed, lang="mix", style="contest"):
    gen = Generator(Request(types=tuple(types), n=n, seed=seed, lang=lang, style=style))
    return [gen.item(i) for i in range(n)]


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32))
def test_discount_phrasings_say_which_way_the_price_moved(seed):
    records = make(["discount"], 400, seed, style="steps")
    rose = 0
    for r in records:
        p, q = (Fraction(v) for v in r["operands"])
        text = r["problem"]
        if r["template"] == "zh0":
            assert text == CONTEST_DISCOUNT.format(p=r["operands"][0], q=r["operands"][1])
            assert Fraction(r["answer"]) == (p - q) / p * 100  # the contest's own formula, kept
            continue
        if q > p:
            rose += 1
            assert any(w in text for w in ROSE) and not any(w in text for w in FELL), text
            assert Fraction(r["answer"]) == (q - p) / p * 100 > 0
            assert any(w in r["solution"] for w in ("涨幅", "rose")), r["solution"]
        else:
            assert any(w in text for w in FELL) and not any(w in text for w in ROSE), text
            assert Fraction(r["answer"]) == (p - q) / p * 100 >= 0
    assert rose > 80  # about half of the non-contest phrasings have a higher new price


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32))
def test_english_phrasings_carry_no_contest_notation(seed):
    records = make(FAMILY_ORDER, 1400, seed, lang="en")
    for r in records:
        text = r["problem"]
        assert "ten-thousand" not in text and "万" not in text
        assert not re.search(r"[-+*/×÷] -\d", text), text  # 5 + -3: a negative right operand is bracketed
        assert not re.search(r"(?<![\d.])-?1x", text), text  # 1x, -1x
        assert not re.search(r"\+ -", text), text
        if r["type"] == "linear_eq":
            assert re.search(r"x [-+] \d", text), text
        if r["type"] == "growth":
            sales = Fraction(r["operands"][0]) * 10_000
            assert f" {exact_answer(sales)} yuan" in text, text
            assert Fraction(r["answer"]) == sales * (100 + int(r["operands"][1])) / 100


def test_english_examples_read_as_written_by_hand():
    def render(family, values, k):
        fam = FAMILIES[family]
        return fam.render(fam.config(), values, "en", k, "contest")["problem"]

    assert render("linear_eq", (1, -8), 0) == "Solve the equation x - 8 = 0"
    assert render("linear_eq", (-1, 5), 1) == "Find x such that -x + 5 = 0."
    assert render("linear_eq", (-39, 20), 2) == "What value of x satisfies -39x + 20 = 0?"
    assert render("func_value", (-1, 2, 3), 0) == "Find the value of y = -x^3 when x = 2."
    assert render("func_value", (1, -2, 2), 1) == "Evaluate the function y = x^2 at x = -2."
    assert render("add", (420422, -236917), 0) == "What is 4204.22 + (-2369.17)?"
    assert render("mul", (150, -25), 1) == "Calculate 1.50 × (-0.25)."
    growth = FAMILIES["growth"].render(FAMILIES["growth"].config(), (7623, 12), "en", 0, "steps")
    assert growth["problem"].startswith("Last year's sales were 762300 yuan")
    assert growth["answer"] == "853776"
    assert growth["solution"].endswith("This year's sales are 853776 yuan")


def test_chinese_keeps_the_contest_notation():
    fam = FAMILIES["linear_eq"]
    assert fam.render(fam.config(), (1, -8), "zh", 0, "contest")["problem"] == "解方程 1x + -8 = 0"
    growth = FAMILIES["growth"]
    record = growth.render(growth.config(), (7623, 12), "zh", 0, "contest")
    assert record["problem"] == "去年销售额为 76.23 万元，今年销售额增加了 12%，请计算今年的销售额。"
    assert record["answer"] == "85.3776"
