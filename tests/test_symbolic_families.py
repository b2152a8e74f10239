"""The symbolic families: every answer re-derived from the problem TEXT with sympy, every step true.

The reading here is independent of the generator: the problem is matched against its phrasing,
its expression is read by sympy's own parser (tests/symcheck.py), and the answer is computed
with sympy's solve / expand / factor_list / diff / isprime / igcd, or Decimal for rounding.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
import sympy
from datagen.curricula.build import record_key
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from symcheck import X, Y, check_steps, equal, sym

from datagen.family import (
    ALL_FAMILIES,
    FAMILY_ORDER,
    SYMBOLIC_ORDER,
    ConfigError,
    expand_types,
    load_families,
)
from datagen.generate import Generator, Request

FAMILIES = load_families()
FIELD = {
    "v": r"(?P<v>\d+(?:\.\d+)?(?: \S+ \d+)?)",
    "n": r"(?P<n>-?\d+(?:\.\d+)?)",
    "x": r"(?P<x>-?\d+)",
}


def template_regex(template: str) -> re.Pattern:
    out, pos = [], 0
    for m in re.finditer(r"\{(\w+)\}", template):
        out.append(re.escape(template[pos:m.start()]))
        out.append(FIELD.get(m.group(1), f"(?P<{m.group(1)}>.+?)"))
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return re.compile("".join(out))


def fields_of(record: dict) -> dict:
    lang, k = record["template"][:2], int(record["template"][2:])
    m = template_regex(FAMILIES[record["type"]].problems[lang][k]).fullmatch(record["problem"])
    assert m, f"problem does not match its phrasing: {record['problem']!r}"
    return m.groupdict()


def Q(text: str) -> sympy.Rational:
    return sympy.Rational(text)


ZH_PLACE = {"个位": 0, "十位": 1, "百位": 2, "千位": 3, "万位": 4, "十万位": 5, "百万位": 6, "千万位": 7,
            "亿位": 8, "十分位": -1, "百分位": -2, "千分位": -3, "万分位": -4, "十万分位": -5}
EN_PLACE = {"ones": 0, "tens": 1, "hundreds": 2, "thousands": 3, "ten-thousands": 4, "hundred-thousands": 5,
            "millions": 6, "tenths": -1, "hundredths": -2, "thousandths": -3, "ten-thousandths": -4}
EN_ROUND = {"the nearest whole number": 0, "the nearest ten": 1, "the nearest hundred": 2,
            "the nearest thousand": 3,
            "the nearest ten thousand": 4, "the nearest hundred thousand": 5, "the nearest million": 6,
            "one decimal place": -1, "two decimal places": -2, "three decimal places": -3,
            "four decimal places": -4, "five decimal places": -5}
# unit name (zh or en, as written in problems) -> (dimension, size, answer symbol)
UNIT_SIZES = {
    "毫米": ("L", 1, "mm"), "厘米": ("L", 10, "cm"), "分米": ("L", 100, "dm"), "米": ("L", 1000, "m"),
    "千米": ("L", 10**6, "km"), "mm": ("L", 1, "mm"), "cm": ("L", 10, "cm"), "dm": ("L", 100, "dm"),
    "m": ("L", 1000, "m"), "km": ("L", 10**6, "km"),
    "毫克": ("M", 1, "mg"), "克": ("M", 1000, "g"), "千克": ("M", 10**6, "kg"), "吨": ("M", 10**9, "t"),
    "mg": ("M", 1, "mg"), "g": ("M", 1000, "g"), "kg": ("M", 10**6, "kg"), "t": ("M", 10**9, "t"),
    "毫升": ("V", 1, "mL"), "升": ("V", 1000, "L"), "mL": ("V", 1, "mL"), "L": ("V", 1000, "L"),
    "秒": ("T", 1, "s"), "分钟": ("T", 60, "min"), "小时": ("T", 3600, "h"), "天": ("T", 86400, "d"),
    "seconds": ("T", 1, "s"), "minutes": ("T", 60, "min"), "hours": ("T", 3600, "h"),
    "days": ("T", 86400, "d"), "second": ("T", 1, "s"), "minute": ("T", 60, "min"), "hour": ("T", 3600, "h"),
    "day": ("T", 86400, "d"),
    "元": ("C", 1, "元"), "万元": ("C", 10**4, "万元"), "亿元": ("C", 10**8, "亿元"), "yuan": ("C", 1, "元"),
    "ten-thousand yuan": ("C", 10**4, "万元"), "hundred-million yuan": ("C", 10**8, "亿元"),
}
FACTOR = re.compile(r"\(([^()]+)\)(?:\^(\d+))?|x(?:\^(\d+))?")


def normal_factor(expr) -> sympy.Poly:
    p = sympy.Poly(expr, X)
    p = p.primitive()[1]
    return -p if p.LC() < 0 else p


def answer_factors(answer: str) -> tuple[int, list]:
    m = re.fullmatch(r"(-?\d*)(.*)", answer)
    head, body = m.group(1), m.group(2)
    content = -1 if head == "-" else int(head) if head else 1
    found = []
    for f in FACTOR.finditer(body):
        inner, power = (f.group(1), f.group(2)) if f.group(1) else ("x", f.group(3))
        found.append((normal_factor(sym(inner)), int(power or 1)))
    assert "".join(g.group() for g in FACTOR.finditer(body)) == body, answer
    return content, found


def quadratic_truth(ops: dict):
    lhs = sym(ops["eq"].split(" = ")[0])
    roots = sorted(sympy.solve(lhs, X), key=lambda r: float(r))
    return sympy.Poly(lhs, X).all_coeffs(), roots


def system_truth(ops: dict):
    eqs = [sym(e.split(" = ")[0]) - sym(e.split(" = ")[1]) for e in (ops["e1"], ops["e2"])]
    solution = sympy.solve(eqs, [X, Y], dict=True)
    assert len(solution) == 1
    return solution[0][X], solution[0][Y]


def check_answer(record: dict) -> None:
    """Re-derive the answer from the problem text alone and compare it with the record's."""
    family, answer, ops = record["type"], record["answer"], fields_of(record)
    if family == "mixed":
        assert sym(ops["e"]) == Q(answer)
    elif family in ("surd", "rationalize"):
        assert equal(sym(ops["e"]), sym(answer))
        for radicand in re.findall(r"√(\d+)", answer):
            assert all(e == 1 for e in sympy.factorint(int(radicand)).values()), answer
        assert "√" not in answer.rsplit("/", 1)[-1] or "/" not in answer
        if family == "surd":
            assert any(e > 1 for e in sympy.factorint(int(ops["e"].split("√")[1])).values())
    elif family == "quadratic":
        _, roots = quadratic_truth(ops)
        shown = [sym(r) for r in answer.split(", ")]
        assert len(roots) == 2 and all(equal(a, b) for a, b in zip(roots, shown)), (roots, answer)
    elif family == "linear_system":
        x0, y0 = system_truth(ops)
        assert answer == f"x = {x0}, y = {y0}"
    elif family == "poly_eval":
        assert sym(ops["p"]).subs(X, int(ops["x"])) == Q(answer)
    elif family == "poly_expand":
        truth = sympy.expand(sym(ops["e"]))
        assert sympy.expand(sym(answer) - truth) == 0 and "(" not in answer
        assert answer.count("x^") + answer.count("x ") + answer.endswith("x") >= 1
        assert len(re.split(r" [-+] ", answer)) == len(sympy.Poly(truth, X).terms())
    elif family == "poly_factor":
        poly = sym(ops["p"])
        content, factors = sympy.factor_list(poly)
        truth = sorted(((normal_factor(f), k) for f, k in factors), key=str)
        sign = 1 if sympy.Poly(poly, X).LC() > 0 else -1
        shown_content, shown = answer_factors(answer)
        assert shown_content == sign * abs(content)
        assert sorted(shown, key=str) == truth
        assert sympy.expand(sym(answer) - poly) == 0
    elif family == "derivative":
        assert sympy.expand(sym(answer) - sympy.diff(sym(ops["p"]), X)) == 0 and "(" not in answer
    elif family == "gcd":
        assert int(answer) == sympy.igcd(int(ops["a"]), int(ops["b"]))
    elif family == "lcm":
        assert int(answer) == sympy.ilcm(int(ops["a"]), int(ops["b"]))
    elif family == "prime":
        assert answer == ("yes" if sympy.isprime(int(ops["n"])) else "no")
    elif family == "rounding":
        place = ZH_PLACE.get(ops["place"], EN_ROUND.get(ops["place"]))
        unit = Decimal(1).scaleb(place)
        expected = (Decimal(ops["n"]) / unit).quantize(Decimal(1), rounding=ROUND_HALF_UP) * unit
        assert Decimal(answer) == expected
    elif family == "place_value":
        place = ZH_PLACE.get(ops["place"], EN_PLACE.get(ops["place"]))
        whole, _, decimals = ops["n"].partition(".")
        digit = whole[::-1][place] if place >= 0 else decimals[-place - 1]
        assert answer == digit
    elif family == "percent":
        assert Q(answer) == Q(ops["b"]) * Q(ops["p"]) / 100
    elif family == "percent_ratio":
        assert Q(answer) == Q(ops["a"]) / Q(ops["b"]) * 100
    elif family == "mod":
        assert int(answer) == sympy.Mod(int(ops["a"]), int(ops["b"]))
    elif family == "unit":
        value, a, b = ops["v"], ops["a"], ops["b"]
        if " " in value:  # compound: "2 小时 15" + 分钟
            whole, big, part = value.split(" ")
            total = sympy.Integer(int(whole) * UNIT_SIZES[big][1] + int(part) * UNIT_SIZES[a][1])
        else:
            total = Q(value) * UNIT_SIZES[a][1]
        assert UNIT_SIZES[a][0] == UNIT_SIZES[b][0]
        number, symbol = answer.split(" ", 1)
        assert Q(number) == total / UNIT_SIZES[b][1]
        assert UNIT_SIZES[b][2] in (symbol, UNIT_SIZES.get(symbol, ("", 0, ""))[2])  # a symbol, or an English name
        if record["lang"] == "en":  # no 万元 / 亿元 in an English answer
            assert answer.isascii(), answer
    else:
        raise AssertionError(family)


def last_value(solution: str):
    line = [row for row in solution.split("\n") if " = " in row or row.startswith("= ")][-1]
    return re.split(r"(?:^|\s)= ", line)[-1]


def check_record_steps(record: dict) -> None:
    """Every step line true (sympy), the derivation reaching the independently derived answer."""
    family, answer, solution, ops = record["type"], record["answer"], record["solution"], fields_of(record)
    env, expected = {}, {}
    if family == "quadratic":
        coeffs, roots = quadratic_truth(ops)
        expected = {"a": coeffs[0], "b": coeffs[1], "c": coeffs[2], "x1": roots[0], "x2": roots[1]}
    elif family == "linear_system":
        x0, y0 = system_truth(ops)
        env, expected = {X: x0, Y: y0}, {"x": x0, "y": y0}
    elif family == "poly_eval":
        expected = {f"f({ops['x']})": sym(ops["p"]).subs(X, int(ops["x"]))}
    elif family == "derivative":
        expected = {"f'(x)": sympy.diff(sym(ops["p"]), X)}
    if family == "unit":
        fact, chain, sentence = solution.split("\n")
        one, other = fact.split(" = ")
        number, name = other.split(" ", 1)
        assert UNIT_SIZES[one.split(" ", 1)[1]][1] == int(number) * UNIT_SIZES[name][1], fact
        check_steps(chain)
        shown = answer.split(" ")[0]
        assert sentence.endswith(f"{shown} {ops['b']}") or sentence.split(" = ")[1].startswith(
            answer.split(" ")[0])
        return
    sentences = check_steps(solution, env, expected)
    if family in ("mixed", "surd", "rationalize", "poly_expand", "poly_factor"):
        assert last_value(solution) == answer
    elif family == "quadratic":
        assert sentences[-1].endswith(f"x1 = {answer.split(', ')[0]}, x2 = {answer.split(', ')[1]}")
    elif family == "linear_system":
        assert sentences[-1].endswith(answer)
    elif family == "derivative":
        assert solution.endswith(f"f'(x) = {answer}")
    elif family == "prime":
        negative = "不是" in sentences[-1] or " not " in sentences[-1]
        assert negative == (answer == "no")
    else:
        numbers = re.findall(r"-?\d+(?:\.\d+)?", sentences[-1] if sentences else solution)
        assert Q(numbers[-1]) == Q(answer), (sentences, answer)


def make(family: str, n: int, seed: int, style: str, config=None) -> list[dict]:
    configs = {family: config} if config is not None else {}
    gen = Generator(Request(types=(family,), n=n, seed=seed, style=style, configs=configs))
    return [gen.item(i) for i in range(n)]


@pytest.mark.slow
@pytest.mark.parametrize("family", SYMBOLIC_ORDER)
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), style=st.sampled_from(["contest", "bare", "steps"]))
def test_answer_rederived_from_problem_text_matches(family, seed, style):
    for record in make(family, 30, seed, style):
        check_answer(record)


@pytest.mark.slow
@pytest.mark.parametrize("family", SYMBOLIC_ORDER)
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32))
def test_every_step_of_steps_solutions_is_true(family, seed):
    for record in make(family, 15, seed, "steps"):
        check_record_steps(record)


@pytest.mark.slow
@pytest.mark.parametrize("family", SYMBOLIC_ORDER)
def test_extrapolate_split_answers_and_steps_hold_too(family):
    config = FAMILIES[family].extrapolate(FAMILIES[family].config())
    config.validate()
    records = make(family, 30, 5, "steps", config)
    for record in records:
        check_answer(record)
        check_record_steps(record)


def test_steps_checker_rejects_false_steps():
    with pytest.raises(AssertionError):
        check_steps("(x + 1)(x - 2) = x^2 - x - 1")
    with pytest.raises(AssertionError):
        check_steps("√72 = √(36 * 2) = 6√3")
    with pytest.raises(AssertionError):
        check_steps("(3x^4)' = 3 * 4x^3 = 12x^4")
    with pytest.raises(AssertionError):
        check_steps("x1 = (5 - 11)/4 = -3/2", expected={"x1": sympy.Rational(-1)})
    with pytest.raises(AssertionError):
        check_steps("12345 = 12300 + 45\n45 < 40")


@pytest.mark.slow
@pytest.mark.parametrize("family", SYMBOLIC_ORDER)
def test_one_run_never_repeats_a_problem_and_items_are_pure(family):
    gen = Generator(Request(types=(family,), n=2500, seed=7))
    keys = [record_key(gen.item(i)) for i in range(2500)]
    assert len(set(keys)) == len(keys)
    again = Generator(Request(types=(family,), n=2500, seed=7))
    assert again.chunk(1000, 1010) == gen.chunk(1000, 1010)
    other = Generator(Request(types=(family,), n=2500, seed=8))
    assert len(set(keys) & {record_key(other.item(i)) for i in range(300)}) < 300


def test_groups_keep_all_meaning_the_contest_families():
    assert expand_types(["all"]) == FAMILY_ORDER
    assert expand_types(["symbolic"]) == SYMBOLIC_ORDER
    assert expand_types(["add", "symbolic", "add"]) == ["add", *SYMBOLIC_ORDER]
    assert list(load_families()) == ALL_FAMILIES
    with pytest.raises(ConfigError, match="unknown family 'quadratics'"):
        expand_types(["quadratics"])


def test_reversed_style_is_refused_for_non_numeric_answers():
    with pytest.raises(ConfigError, match="reversed"):
        Generator(Request(types=("surd",), n=10, style="reversed"))
    assert Generator(Request(types=("gcd",), n=10, style="reversed")).item(0)["style"] == "reversed"


def test_bad_config_says_which_option():
    config = FAMILIES["mixed"].config(terms=(2, 4))
    with pytest.raises(ConfigError, match="terms"):
        config.validate()
    with pytest.raises(ConfigError, match="operators"):
        FAMILIES["mixed"].config(operators="+%").validate()
    with pytest.raises(ConfigError, match="dimensions"):
        FAMILIES["unit"].config(dimensions="length,speed").validate()


@pytest.mark.parametrize(
    "family, problem, answer",
    [
        ("surd", "化简 √72。", "6√2"),
        ("rationalize", "将 2/(3 + √5) 的分母有理化。", "(3 - √5)/2"),
        ("quadratic", "解方程 x^2 - 5x + 6 = 0。", "2, 3"),
        ("poly_factor", "因式分解：x^3 - 7x + 6", "(x + 3)(x - 1)(x - 2)"),
    ],
)
def test_hand_made_examples_have_the_exact_answer(family, problem, answer):
    check_answer({"type": family, "problem": problem, "answer": answer, "template": "zh0"})


def test_english_unit_answers_and_steps_read_as_english():
    config = FAMILIES["unit"].config(dimensions="time,currency")
    records = [r for r in make("unit", 400, 4, "steps", config) if r["lang"] == "en"]
    assert records
    plural_after_one = re.compile(r"(?<![0-9.])1 (?:seconds|minutes|hours|days)\b")
    for record in records:
        assert record["answer"].isascii(), record["answer"]
        assert not plural_after_one.search(record["problem"] + "\n" + record["solution"]), record
    facts = {r["solution"].split("\n")[0] for r in records}
    assert "1 hour = 60 minutes" in facts or "1 minute = 60 seconds" in facts
    assert any(r["answer"].endswith(" ten-thousand yuan") or r["answer"].endswith(" hundred-million yuan")
               for r in records)


def test_rational_quadratic_roots_are_integers_or_reduced_fractions():
    from datagen.families.algebra import quadratic_root_text, quadratic_roots

    assert [quadratic_root_text(r) for r in quadratic_roots(2, -7, 3)[3:]] == ["1/2", "3"]  # the README's example
    assert [quadratic_root_text(r) for r in quadratic_roots(12, 0, -27)[3:]] == ["-3/2", "3/2"]
    rational = re.compile(r"-?[0-9]+(?:/[0-9]+)?")
    seen = 0
    for style in ("contest", "steps"):
        for record in make("quadratic", 300, 8, style):
            if "√" in record["answer"]:
                continue
            seen += 1
            roots = record["answer"].split(", ")
            assert all(rational.fullmatch(root) for root in roots), record["answer"]
            assert "." not in record["solution"].rsplit("\n", 1)[-1], record["solution"]
    assert seen > 50


def test_rounding_keeps_the_places_trailing_zeros_and_the_judge_accepts_them():
    from datagen.eval.gold import record_item
    from datagen.eval.score import score_output

    kept = 0
    for record in make("rounding", 400, 2, "contest"):
        place = int(record["operands"][1])
        if place < 0:
            decimals = record["answer"].partition(".")[2]
            assert len(decimals) == -place, record  # 2.10 to the hundredths, never 2.1
            kept += record["answer"].endswith("0")
        item = record_item(record, 1, "gold")
        assert score_output(record["answer"], item).strict and score_output(record["solution"], item).strict
    assert kept > 0


def test_poly_expand_extrapolates_to_more_factors_and_a_higher_degree_not_longer_numbers():
    trained = FAMILIES["poly_expand"].config()
    far = FAMILIES["poly_expand"].extrapolate(trained)
    far.validate()
    trained_degree = trained.factors[1]
    for record in make("poly_expand", 60, 3, "contest", far):
        degree = max(int(p) for p in re.findall(r"x\^(\d+)", record["answer"]))
        assert degree > trained_degree, record["answer"]
        assert not re.search(r"[0-9]{2}", record["problem"]), record["problem"]  # the trained 1-digit constants
