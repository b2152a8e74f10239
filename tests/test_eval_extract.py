"""Answer extraction: markers in both languages, the last-number fallback, number formats."""

from __future__ import annotations

from fractions import Fraction

import pytest
from datagen.eval.extract import NUMBER_RE, extract, normalize, parse_number
from hypothesis import given, settings
from hypothesis import strategies as st


def found(text: str) -> tuple[str, Fraction, str]:
    e = extract(text)
    assert e is not None, text
    return e.text, Fraction(e.number.numerator, e.number.denominator), e.pattern


@pytest.mark.parametrize("text, shown, value, pattern", [
    # answer markers, Chinese
    ("答案：12", "12", Fraction(12), "answer"),
    ("答案是 -8.76。", "-8.76", Fraction(-876, 100), "answer"),
    ("所以结果为12345。", "12345", Fraction(12345), "relation"),  # Math-Verify misses this one
    ("-7.19 加 -1.57 等于 -8.76", "-8.76", Fraction(-876, 100), "relation"),
    ("面积为 282 平方厘米", "282", Fraction(282), "relation"),
    ("最终的结果是：1835.05", "1835.05", Fraction(183505, 100), "relation"),
    ("这个数的平方根是 4.58", "4.58", Fraction(458, 100), "relation"),
    ("-3 的 3 次方为-27", "-27", Fraction(-27), "relation"),
    ("The result is -0.5, since 1 / 2 is half.", "-0.5", Fraction(-1, 2), "relation"),
    # answer markers, English
    ("The answer is 5 (not 15).", "5", Fraction(5), "answer"),
    ("Final answer: x = 7", "7", Fraction(7), "answer"),
    ("-4.03 - 1.50 equals -5.53", "-5.53", Fraction(-553, 100), "relation"),
    ("The value of the function is: 196", "196", Fraction(196), "relation"),
    # = and ≈, the last one wins over earlier steps
    ("4204.22 + -2369.17 = 1835.05", "1835.05", Fraction(183505, 100), "relation"),
    ("2740 = 3 * 734 + 538\n2.74 / 7.34 ≈ 0.3732970027", "0.3732970027", Fraction(3732970027, 10**10), "relation"),
    # \boxed{} beats everything, with LaTeX fractions inside
    ("so $x = 3$ and the answer is $\\boxed{\\frac{9}{40}}$", "9/40", Fraction(9, 40), "boxed"),
    ("\\boxed{-\\dfrac{8}{7}} = 2", "-8/7", Fraction(-8, 7), "boxed"),
    ("\\boxed{1{,}835.05}", "1,835.05", Fraction(183505, 100), "boxed"),
    # an answer marker beats a later verification line
    ("答案：12\n（验证：12 × 2 = 24）", "12", Fraction(12), "answer"),
    # otherwise the last number
    ("22.08 grams", "22.08", Fraction(2208, 100), "last_number"),
    ("12.30 克", "12.30", Fraction(123, 10), "last_number"),
    ("I think 3, no, 4", "4", Fraction(4), "last_number"),
])
def test_markers_and_last_number(text, shown, value, pattern):
    assert found(text) == (shown, value, pattern)


@pytest.mark.parametrize("text, value", [
    ("１８３５．０５", Fraction(183505, 100)),  # full-width digits and point (NFKC)
    ("答案：－３", Fraction(-3)),  # full-width minus
    ("结果是 −3.5。", Fraction(-35, 10)),  # U+2212 minus sign
    ("= ‒2", Fraction(-2)),  # figure dash
    ("答案是负5", Fraction(-5)),  # 负 before a number
    ("1,835.05", Fraction(183505, 100)),  # thousands separators
    ("= 1,234,567", Fraction(1234567)),
    ("1.83505e3", Fraction(183505, 100)),  # scientific notation
    ("1.83505E+03", Fraction(183505, 100)),
    ("1.2345E+34", Fraction(12345 * 10**30)),
    ("= 1.83505 × 10^3", Fraction(183505, 100)),
    ("= 1.83505×10³", Fraction(183505, 100)),  # a superscript exponent is not 103
    ("= 2.5 x 10^{-3}", Fraction(25, 10**4)),
    ("最简化的形式为：9/40", Fraction(9, 40)),  # fractions
    ("The simplest form is 9 / 40.", Fraction(9, 40)),
    ("The answer is 71800/5987.", Fraction(71800, 5987)),  # a sentence's full stop is not a decimal point
    ("折扣比例为 9.4%", Fraction(94, 10)),  # trailing units and punctuation
    ("答案：42元。", Fraction(42)),
    ("The area is 9 square centimeters.", Fraction(9)),
    ("结果：+7", Fraction(7)),
    ("答案是 .5", Fraction(1, 2)),
])
def test_number_formats(text, value):
    assert found(text)[1] == value


def test_minus_between_operands_is_not_a_sign():
    assert [m.group("num") for m in NUMBER_RE.finditer("10-3")] == ["10", "3"]
    assert [m.group("num") for m in NUMBER_RE.finditer("x = 10 - -3")] == ["10", "-3"]
    assert found("10-3 = 7")[1] == Fraction(7)


def test_no_number_gives_none():
    assert extract("我不知道") is None
    assert extract("I cannot compute that.") is None
    assert extract("") is None


def test_shown_precision_is_recorded():
    n = parse_number("1835.050")
    assert (n.kind, n.last_digit, n.significant) == ("decimal", -3, 7)
    n = parse_number("1.835e3")
    assert (n.kind, n.last_digit, n.significant) == ("scientific", 0, 4)
    n = parse_number("-0.00120")
    assert (n.kind, n.last_digit, n.significant, n.numerator, n.denominator) == ("decimal", -5, 3, -120, 10**5)
    n = parse_number("9/40")
    assert (n.kind, n.numerator, n.denominator) == ("fraction", 9, 40)
    assert parse_number("12 apples") is None


def test_absurd_numbers_are_refused_not_computed():
    assert extract("1e999999999").number.denominator == 0  # never 10**999999999
    assert extract("9" * 5000).number.kind == "overlong"


def test_normalize_keeps_exponents_and_minus():
    assert normalize("10³") == "10^3"
    assert normalize("2x² + 5x") == "2x^2 + 5x"  # a variable's power stays an exponent
    assert normalize("391 cm², 5 m³, 2 km²") == "391 cm, 5 m, 2 km"  # a unit's power does not
    assert normalize("−５") == "-5"
    assert normalize("\\frac{3}{4}") == "3/4"


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(st.text())
def test_any_text_extracts_without_crashing(text):
    e = extract(text)
    if e is not None:
        assert e.number.denominator >= 0
        assert e.text


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789.,-+/eE×x^ =:是为答案结果等于\\boxed{}frac$ \n。，％%－１２", max_size=60))
def test_number_like_text_extracts_without_crashing(text):
    extract(text)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-10**12, max_value=10**12), st.integers(min_value=0, max_value=6),
       st.sampled_from(["答案：{}", "The answer is {}.", "{} ", "结果为{}。", "$\\boxed{{{}}}$", "x = {}"]))
def test_written_decimals_read_back_exactly(units, scale, template):
    text = f"{'-' if units < 0 else ''}{abs(units) // 10**scale}"
    if scale:
        text += f".{abs(units) % 10**scale:0{scale}d}"
    e = extract(template.format(text))
    assert Fraction(e.number.numerator, e.number.denominator) == Fraction(units, 10**scale)
