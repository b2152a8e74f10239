"""Re-solve a problem from its text: find the family and operands, compute the exact answer.

Works for every phrasing the generator writes (the contest's own first), so the audit of
the contest file, the held-out splits and the scorer all share one exact engine.  The
text is only matched with regular expressions and parsed as numbers: nothing is evaluated.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

from datagen.family import FAMILY_ORDER, load_families
from datagen.numbers import CTX40, exact_answer, plain

NUMBER = r"[-+]?\d+(?:\.\d+)?"
FIELD = {
    "data": r"(?P<data>\[\s*[-+]?\d+(?:\.\d+)?(?:\s*,\s*[-+]?\d+(?:\.\d+)?)*\s*\])",
    "p": rf"(?P<p>\({NUMBER}\)|{NUMBER})",
}


@dataclass(frozen=True)
class Solved:
    type: str
    operands: tuple[str, ...]
    answer: str
    answer_policy: str  # "exact", or "sig40" for irrational square roots
    value: Fraction | None  # the exact value when rational

    @property
    def key(self) -> tuple:
        """Canonical form: family + operand values, whatever the wording or language."""
        return canonical_key(self.type, self.operands)


def canonical_number(text: str) -> str:
    stripped = text.strip("()").lstrip("+")
    try:
        return exact_answer(Fraction(stripped))
    except (ValueError, ZeroDivisionError):
        if EXPRESSION_CHARS.search(text):
            return canonical_expression(text)
        return stripped


# an operand that is an expression or a polynomial (the symbolic families), not a number
EXPRESSION_CHARS = re.compile(r"[\s*/^√()x]")
DECIMAL_IN_TEXT = re.compile(r"\d+\.\d+")


def canonical_expression(text: str) -> str:
    """An expression's canonical form: no spaces, decimals without trailing zeros (12.50 -> 12.5)."""
    compact = "".join(text.split())
    return DECIMAL_IN_TEXT.sub(lambda m: exact_answer(Fraction(m.group())), compact)


def canonical_key(family: str, operands) -> tuple:
    return (family, *(canonical_number(op) for op in operands))


def _regex(template: str) -> re.Pattern:
    out, pos = [r"\s*"], 0
    for m in re.finditer(r"\{(\w+)\}", template):
        literal = template[pos:m.start()]
        out.append(r"\s*".join(re.escape(part) for part in literal.split(" ")))
        name = m.group(1)
        out.append(FIELD.get(name, f"(?P<{name}>{NUMBER})"))
        pos = m.end()
    literal = template[pos:].rstrip("。.？?")
    out.append(r"\s*".join(re.escape(part) for part in literal.split(" ")))
    out.append(r"\s*[。.？?]?\s*")
    return re.compile("".join(out))


@lru_cache(maxsize=1)
def patterns() -> tuple[tuple[str, re.Pattern], ...]:
    """(family, regex) for every phrasing; the contest's own phrasings come first."""
    families = load_families()
    first, rest = [], []
    for name in FAMILY_ORDER:
        fam = families[name]
        for lang in ("zh", "en"):
            for k, template in enumerate(fam.problems[lang]):
                (first if (lang, k) == ("zh", 0) else rest).append((name, _regex(template)))
    return tuple(first + rest)


def F(text: str) -> Fraction:
    return Fraction(text.strip("()").lstrip("+"))


def _value(family: str, ops: dict) -> Fraction | None:
    if family == "add":
        return F(ops["a"]) + F(ops["b"])
    if family == "sub":
        return F(ops["a"]) - F(ops["b"])
    if family == "mul":
        return F(ops["a"]) * F(ops["b"])
    if family == "div":
        return F(ops["a"]) / F(ops["b"])
    if family == "pow":
        return F(ops.get("a") or ops["p"]) ** int(ops["n"])
    if family == "linear_eq":
        return -F(ops["b"]) / F(ops["a"])
    if family == "func_value":
        return F(ops["a"]) * F(ops["x"]) ** int(ops["n"])
    if family == "mean":
        values = [F(v) for v in ops["data"].strip("[] ").split(",")]
        return sum(values, Fraction(0)) / len(values)
    if family == "area":
        return F(ops["l"]) * F(ops["w"])
    if family == "mass":
        return F(ops["d"]) * F(ops["v"])
    if family == "discount":
        p, q = F(ops["p"]), F(ops["q"])
        return (p - q) / p * 100
    if family == "growth":
        return F(ops["s"]) * (1 + F(ops["g"]) / 100)
    if family == "fraction":
        return Fraction(int(ops["a"]), int(ops["b"]))
    raise KeyError(family)


OPERAND_ORDER = {
    "add": "ab", "sub": "ab", "mul": "ab", "div": "ab", "pow": "an", "sqrt": "a", "linear_eq": "ab",
    "func_value": "axn", "mean": "data", "area": "lw", "mass": "dv", "discount": "pq", "growth": "sg",
    "fraction": "ab",
}


def _operands(family: str, ops: dict) -> tuple[str, ...]:
    if family == "mean":
        return tuple(v.strip() for v in ops["data"].strip("[] ").split(","))
    if family == "pow" and not ops.get("a"):
        ops = {**ops, "a": ops["p"].strip("()")}
    return tuple(ops[name] for name in OPERAND_ORDER[family])


def solve_fields(family: str, ops: dict) -> Solved | None:
    """The exact answer from a family's named operand strings (None if undefined, e.g. x/0)."""
    operands = _operands(family, ops)
    if family == "sqrt":
        radicand = F(ops["a"])
        if radicand < 0:
            return None
        p, q = radicand.numerator, radicand.denominator
        rp, rq = math.isqrt(p), math.isqrt(q)
        if rp * rp == p and rq * rq == q:
            root = Fraction(rp, rq)
            return Solved(family, operands, exact_answer(root), "exact", root)
        approx = plain(CTX40.sqrt(Decimal(ops["a"].lstrip("+"))))
        return Solved(family, operands, approx, "sig40", None)
    try:
        value = _value(family, ops)
    except ZeroDivisionError:
        return None
    if family == "fraction":
        if ops["b"] == "0":
            return None
        answer = f"{value.numerator}/{value.denominator}" if value.denominator != 1 else str(value.numerator)
        return Solved(family, operands, answer, "exact", value)
    return Solved(family, operands, exact_answer(value), "exact", value)


def solve(problem: str) -> Solved | None:
    """Match ``problem`` against every known phrasing and solve it exactly; None if unknown."""
    text = problem.strip()
    for family, pattern in patterns():
        m = pattern.fullmatch(text)
        if m:
            return solve_fields(family, m.groupdict())
    return None
