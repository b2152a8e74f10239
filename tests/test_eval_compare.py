"""Strict judging against exact answers, the lenient check, and reversed-digit answers."""

from __future__ import annotations

import pytest
from datagen.eval.compare import GoldError, judge, lenient, make_gold, parse_answer, unreverse
from datagen.eval.extract import extract, parse_number
from hypothesis import given, settings
from hypothesis import strategies as st

from datagen.numbers import reverse_digits


def ok(written: str, answer: str, policy: str = "exact", family: str = "add") -> bool:
    return judge(parse_number(written), make_gold(answer, policy, family))


@pytest.mark.parametrize("written", ["1835.05", "1835.050", "1,835.05", "1.83505e3", "1.83505E+03",
                                     "+1835.05", "183505/100", "1835.0500000"])
def test_short_exact_value_formatting_aside(written):
    assert ok(written, "1835.05")


@pytest.mark.parametrize("written", ["1835.0", "1835.1", "1835.051", "1835", "1.8351e3", "-1835.05", "11835.05"])
def test_short_exact_value_nothing_else(written):
    assert not ok(written, "1835.05")


def test_short_exact_integer_and_four_decimals():
    assert ok("36", "36") and ok("36.00", "36") and not ok("36.01", "36")
    assert ok("-1.2168", "-1.2168", family="mul") and not ok("-1.217", "-1.2168", family="mul")
    assert not ok("-1.22", "-1.2168", family="mul")  # 4 decimals: rounding is not enough


def test_fraction_family_needs_the_reduced_fraction():
    assert ok("9/40", "9/40", family="fraction")
    assert ok("9 / 40", "9/40", family="fraction")
    assert not ok("18/80", "9/40", family="fraction")  # equal value, not reduced
    assert not ok("0.225", "9/40", family="fraction")  # equal value, not a fraction
    assert not ok("-9/40", "9/40", family="fraction")
    assert ok("3", "3", family="fraction") and ok("3/1", "3", family="fraction")
    assert not ok("6/2", "3", family="fraction")


@pytest.mark.parametrize("written, right", [
    ("0.37", False),  # 2 decimals but only 2 significant digits (3 are needed)
    ("0.373", True),  # rounded to 3 significant digits
    ("0.3732970027247956403269754768", True),  # sig28
    ("0.3732970027", True),  # rounded (…0027 2…)
    ("0.373297002", True),  # truncated
    ("0.37329700", True),  # truncated, trailing zero shown
    ("0.3733", True),  # rounded up
    ("0.3732", True),  # truncated
    ("0.3", False),  # only 1 decimal
    ("0.374", True),  # within one unit of the last digit (0.00070 < 0.001)
    ("0.375", False),  # off by more than one unit of the last digit
    ("0.38", False),  # within 0.01, but 2 significant digits
    ("0.3734", False),
    ("0.37329702", False),
    ("3.733e-1", True),  # 4 significant digits in scientific notation
    ("3.73e-1", False),  # 3 significant digits
    ("137/367", True),  # the exact fraction is the value itself
    ("137/368", False),
])
def test_inexact_value_rounding_and_truncation(written, right):
    # 2.74 / 7.34 = 137/367 = 0.37329700272479564032697547683923…
    assert ok(written, "137/367", family="div") is right


def test_inexact_terminating_value_with_many_decimals():
    # 1.5^7 = 17.0859375: more than 4 decimals, so rounding or truncation to >= 2 decimals counts
    assert ok("17.09", "17.0859375", family="pow") and ok("17.08", "17.0859375", family="pow")
    assert ok("17.0859375", "17.0859375", family="pow")
    assert not ok("17.1", "17.0859375", family="pow") and not ok("17", "17.0859375", family="pow")
    assert not ok("17.07", "17.0859375", family="pow")


def test_zero_never_matches_a_small_nonzero_value():
    assert not ok("0.00", "1/367", family="div")
    assert ok("0.00272", "1/367", family="div")
    assert not ok("0.0027", "1/367", family="div")  # 2 significant digits


@pytest.mark.parametrize("written, right", [
    ("0.01", False),  # 2 decimals, within one unit of 0.01 of the value, but 1 significant digit
    ("0.0065", False),  # 2 significant digits
    ("0.00647", True), ("0.006474", True), ("0.006475", True),  # 3-4 significant digits, rounded
    ("0.00649", False),  # more than one unit of its last digit away
    ("6.474e-3", True), ("6.47e-3", False),  # scientific notation: 4 significant digits
])
def test_a_rounded_decimal_needs_three_significant_digits(written, right):
    # the tolerance loophole of issue 18: 0.01 passed for 0.0064742
    assert ok(written, "0.0064742", family="div") is right


def test_sig40_square_root():
    root21 = "4.582575694955840006588047193728008488984"
    assert ok("4.58", root21, "sig40", "sqrt") and ok("4.582575695", root21, "sig40", "sqrt")
    assert ok("4.582575694955840006588047194", root21, "sig40", "sqrt")  # sig28
    assert not ok("4.5", root21, "sig40", "sqrt") and not ok("4.60", root21, "sig40", "sqrt")
    # more digits than stored: still right within the stored value's own half unit
    assert ok("4.58257569495584000658804719372800848898353", root21, "sig40", "sqrt")


def test_nothing_extracted_is_wrong():
    assert judge(None, make_gold("1")) is False
    assert not ok("5/0", "5")


def test_gold_answers_parse_exactly_or_fail_clearly():
    assert parse_answer("-8/7") == (-8, 7)
    assert parse_answer("120.6044") == (301511, 2500)
    assert parse_answer("8/-14") == (-4, 7)
    for bad in ("1e3", "abc", "1/0", "", "1.2.3"):
        with pytest.raises(GoldError):
            parse_answer(bad)
    with pytest.raises(GoldError):
        make_gold("1", "sig28")


def test_lenient_is_a_substring_check():
    assert lenient("4204.22 + -2369.17 = 1835.05", ("1835.05",))
    assert lenient("答案是15", ("5",))  # the contest's check accepts a wrong 15 for 5
    assert not lenient("答案是 1835.5", ("1835.05",))
    assert not lenient("anything", ("",))


def test_strict_rejects_traps_that_lenient_accepts():
    # the gold's digits inside a wrong number
    for output, answer in (("答案是15", "5"), ("The answer is 1835.051", "1835.05"), ("= -8.765", "-8.76"),
                           ("结果为 361", "36")):
        found = extract(output)
        assert not judge(found.number, make_gold(answer)), output
        assert lenient(output, (answer,)), output
    assert not judge(extract("= 8.76").number, make_gold("-8.76"))

@pytest.mark.parametrize("answer, written", [("-123.45", "-54.321"), ("120", "021"), ("9/40", "04/9"),
                                             ("0.5", "5.0"), ("7", "7"), ("+1.5", "+5.1")])
def test_unreverse(answer, written):
    assert unreverse(written) == answer
    assert unreverse(answer) == written


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-10**9, max_value=10**9), st.integers(min_value=0, max_value=5))
def test_unreverse_inverts_the_generators_reversal(units, scale):
    text = f"{'-' if units < 0 else ''}{abs(units) // 10**scale}"
    if scale:
        text += f".{abs(units) % 10**scale:0{scale}d}"
    assert unreverse(reverse_digits(text)) == text
    assert unreverse(text) == reverse_digits(text)


def test_reversed_answers_are_read_back():
    from datagen.eval.score import GoldItem, score_output

    gold = make_gold("-123.45", family="add", style="reversed")
    item = GoldItem("r1", 1, "add", "en", "What is -100 + -23.45?", gold, ("-54.321",))
    assert score_output("-100 + -23.45 = -54.321", item).strict is True
    assert score_output("-100 + -23.45 = -123.45", item).strict is False


def test_the_exact_value_needs_no_more_digits_than_it_has():
    # the significant-digit rule is for rounded values: an exact 0.00000081 has 2 and is right
    assert ok("0.00000081", "0.00000081", family="pow") and ok("8.1e-7", "0.00000081", family="pow")
    assert ok("-0.0000000032", "-0.0000000032", family="pow")
    assert not ok("0.001", "0.00000256", family="pow")  # within 0.001, but not the value
