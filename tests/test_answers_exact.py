"""Every family's answer, re-derived from the problem text with sympy, must match exactly."""

from __future__ import annotations

import re

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stepcheck import check_steps

from datagen.families.word import DISCOUNT_RISE
from datagen.family import FAMILY_ORDER, load_families
from datagen.generate import Generator, Request

FAMILIES = load_families()
NUM = r"-?\d+(?:\.\d+)?"


NUM_OR_BRACKETED = rf"\({NUM}\)|{NUM}"
# English writes equations and functions as people do: x - 8 = 0, y = -x^3
EQUATION = r"(?P<eqa>-?(?:\d+(?:\.\d+)?)?)x (?P<eqop>[-+]) (?P<eqb>\d+(?:\.\d+)?) = 0"
FUNCTION = r"y = (?P<fna>-?(?:\d+)?)x(?:\^(?P<fnn>\d+))?"


def template_regex(template: str) -> re.Pattern:
    """Turn a phrasing like '计算 {a} + {b} 等于多少？' into a regex with named groups."""
    out, pos = [], 0
    for m in re.finditer(r"\{(\w+)\}", template):
        out.append(re.escape(template[pos:m.start()]))
        name = m.group(1)
        if name == "data":
            out.append(r"(?P<data>\[[^\]]*\])")
        elif name in ("p", "pb"):
            out.append(f"(?P<{name}>{NUM_OR_BRACKETED})")
        elif name == "eq":
            out.append(EQUATION)
        elif name == "fn":
            out.append(FUNCTION)
        else:
            out.append(f"(?P<{name}>{NUM})")
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return re.compile("".join(out))


def operands_from_text(record: dict) -> dict:
    lang, k = record["template"][:2], int(record["template"][2:])
    template = FAMILIES[record["type"]].problems[lang][k]
    m = template_regex(template).fullmatch(record["problem"])
    assert m, f"problem does not match its phrasing: {record['problem']!r}"
    ops = {name: value for name, value in m.groupdict().items() if value is not None}
    if "pb" in ops:
        ops["b"] = ops.pop("pb")
    if "eqop" in ops:
        a = ops.pop("eqa")
        ops["a"] = {"": "1", "-": "-1"}.get(a, a)
        ops["b"] = ("-" if ops.pop("eqop") == "-" else "") + ops.pop("eqb")
    if "fna" in ops:
        a = ops.pop("fna")
        ops["a"] = {"": "1", "-": "-1"}.get(a, a)
        ops["n"] = ops.pop("fnn", "1")
    ops["phrasing"] = (lang, k)
    return ops


def R(text: str) -> sympy.Rational:
    return sympy.Rational(text.strip("()"))


def expected(family: str, ops: dict):
    """Independent sympy evaluation of each family's question."""
    if family == "add":
        return R(ops["a"]) + R(ops["b"])
    if family == "sub":
        return R(ops["a"]) - R(ops["b"])
    if family == "mul":
        return R(ops["a"]) * R(ops["b"])
    if family == "div":
        return R(ops["a"]) / R(ops["b"])
    if family == "pow":
        return R(ops.get("a") or ops["p"]) ** int(ops["n"])
    if family == "sqrt":
        return sympy.sqrt(R(ops["a"]))
    if family == "linear_eq":
        x = sympy.Symbol("x")
        (root,) = sympy.solve(R(ops["a"]) * x + R(ops["b"]), x)
        return root
    if family == "func_value":
        return R(ops["a"]) * R(ops["x"]) ** int(ops["n"])
    if family == "mean":
        values = [R(v) for v in ops["data"].strip("[]").split(", ")]
        return sympy.Add(*values) / len(values)
    if family == "area":
        return R(ops["l"]) * R(ops["w"])
    if family == "mass":
        return R(ops["d"]) * R(ops["v"])
    if family == "discount":
        p, q = R(ops["p"]), R(ops["q"])
        lang, k = ops.get("phrasing", ("zh", 0))
        # phrasings that ask how much the price rose
        rises = k in DISCOUNT_RISE[lang].values()
        return (q - p) / p * 100 if rises else (p - q) / p * 100
    if family == "growth":
        amount = R(ops["yuan"]) if "yuan" in ops else R(ops["s"])
        return amount * (1 + R(ops["g"]) / 100)
    if family == "fraction":
        return sympy.Rational(int(ops["a"]), int(ops["b"]))
    raise AssertionError(family)


def check_answer(record: dict) -> None:
    value = expected(record["type"], operands_from_text(record))
    answer = record["answer"]
    if record["answer_policy"] == "exact":
        assert sympy.Rational(answer) == value, (record["problem"], answer, value)
        if "/" in answer:
            p, q = map(int, answer.split("/"))
            assert sympy.gcd(p, q) == 1 and q > 1
    else:
        assert record["answer_policy"] == "sig40"
        digits = len(answer.replace("-", "").replace(".", "").lstrip("0"))
        assert digits >= 40
        error = abs(sympy.N(value, 80) - sympy.Rational(answer))
        assert error <= sympy.Rational(1, 2) * 10 ** (sympy.floor(sympy.log(abs(value), 10)) - 39)


def make(types, n, seed, style, lang="mix", start=0):
    gen = Generator(Request(types=tuple(types), n=n, seed=seed, style=style, lang=lang))
    return [gen.item(i) for i in range(start, n)]


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILY_ORDER)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), style=st.sampled_from(["contest", "bare", "steps"]))
def test_answer_rederived_from_problem_text_matches(family, seed, style):
    for record in make([family], 120, seed, style):
        check_answer(record)


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILY_ORDER)
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32))
def test_every_step_of_steps_solutions_is_true(family, seed):
    for record in make([family], 60, seed, "steps"):
        env = {"x": sympy.Rational(record["answer"]) if record["type"] == "linear_eq" else None}
        if record["type"] == "func_value":
            env["y"] = sympy.Rational(record["answer"])
        last = check_steps(record["solution"], env)
        truth = sympy.Rational(record["answer"]) if record["answer_policy"] == "exact" else None
        policy = record["solution_policy"]
        if policy == "exact":
            assert last == truth
        else:
            assert re.fullmatch(r"(sig|trunc)\d+", policy)
            shown = record["solution"].split()[-1].rstrip("%")
            shown = re.findall(r"-?\d+(?:\.\d+)?", record["solution"])[-1]
            decimals = len(shown.split(".")[1]) if "." in shown else 0
            value = expected(record["type"], operands_from_text(record))
            assert abs(sympy.N(value - sympy.Rational(shown), 60)) < sympy.Rational(1, 10**decimals)
            assert decimals >= 2 or "." not in shown


def test_steps_checker_rejects_a_false_step():
    with pytest.raises(AssertionError):
        check_steps("2 + 2 = 5", {})
    with pytest.raises(AssertionError):
        check_steps("√75 ≈ 8.68", {})
    with pytest.raises(AssertionError):
        check_steps("3 * 4 = 12\n面积为 13 平方厘米", {})


@pytest.mark.parametrize(
    "family, problem, answer",
    [
        ("add", "计算 4204.22 + -2369.17 等于多少？", "1835.05"),
        ("div", "计算 2415.96 / -2695.89 等于多少？", "-80532/89863"),
        ("linear_eq", "解方程 -39x + 20 = 0", "20/39"),
    ],
)
def test_contest_examples_have_the_exact_answer(family, problem, answer):
    record = {"type": family, "problem": problem, "answer": answer, "answer_policy": "exact", "template": "zh0"}
    check_answer(record)
