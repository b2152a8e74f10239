"""Mixed expressions: order of operations and one pair of parentheses over 3-6 numbers.

``计算 12 + 3 * (7 - 2) 的值。`` -> ``27``.  Exact with ``Fraction`` (plain arithmetic suffices).
A point of a class is (bracket span, operators, numbers); every number is nonzero, and when the
bracket is a divisor its last number skips the one value that would make the bracket zero, so
every point is a defined, distinct problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from datagen.families.forms import number, operand
from datagen.family import Axis, ConfigError, Family, Space, check_range, register, signed_axis
from datagen.numbers import fixed, pow10
from datagen.style import styled

PROBLEMS = {
    "zh": ("计算 {e} 的值。", "{e} 等于多少？", "求算式 {e} 的结果。"),
    "en": ("Calculate {e}.", "What is the value of {e}?", "Evaluate {e}."),
}
OPERATORS = "+-*/"


@dataclass(frozen=True)
class MixedConfig:
    """terms: how many numbers; digits: integer digits of every number; decimals: 0..this (each a class)."""

    terms: tuple[int, int] = (3, 6)
    digits: tuple[int, int] = (1, 2)
    decimals: int = 1
    negative: bool = False
    brackets: bool = True
    operators: str = "+-*/"

    def validate(self) -> None:
        if not self.operators or set(self.operators) - set(OPERATORS) or len(set(self.operators)) < len(
                self.operators):
            raise ConfigError(f"operators: {self.operators!r} must be distinct characters of {OPERATORS!r}")
        check_range("terms", self.terms, 3, 10)
        check_range("digits", self.digits, 1, 6)
        if not 0 <= self.decimals <= 3:
            raise ConfigError(f"decimals: {self.decimals} is outside 0-3")

    def extrapolate(self) -> MixedConfig:
        """Held-out beyond training: more terms and bigger numbers."""
        return MixedConfig(terms=(self.terms[1] + 1, min(self.terms[1] + 2, 10)),
                           digits=(min(self.digits[1] + 1, 6),) * 2, decimals=self.decimals,
                           negative=self.negative, brackets=self.brackets, operators=self.operators)


@lru_cache(maxsize=16)
def spans(terms: int, brackets: bool) -> tuple:
    """None (no parentheses) and every span [i, j] of 2+ numbers short of the whole expression."""
    out: list = [None]
    if brackets:
        out += [(i, j) for j in range(1, terms) for i in range(j) if (i, j) != (0, terms - 1)]
    return tuple(out)


def identity(t: int) -> int:
    return t


def constant(value: int) -> Axis:
    """A one-point axis that carries a class parameter to ``render``."""
    return Axis(1, lambda t: value)


def spaces(cfg: MixedConfig) -> list[Space]:
    out = []
    for t in range(cfg.terms[0], cfg.terms[1] + 1):
        for d in range(cfg.digits[0], cfg.digits[1] + 1):
            for s in range(cfg.decimals + 1):
                n = signed_axis(d, s, cfg.negative, nonzero=True).size
                axes = (constant(d), constant(s),
                        Axis(len(spans(t, cfg.brackets)), identity),
                        Axis(len(cfg.operators) ** (t - 1), identity),
                        *[Axis(n, identity)] * (t - 1), Axis(n - 1, identity))
                out.append(Space(f"{t}x{d}.{s}", axes, {"terms": t, "digits": [d], "decimals": s}))
    return out


def axis_index(value: Fraction, digits: int, scale: int, negative: bool) -> int | None:
    """The index ``signed_axis(digits, scale, negative, nonzero=True)`` gives ``value``, if any."""
    u = value * pow10(scale)
    if u.denominator != 1 or u == 0 or (u < 0 and not negative):
        return None
    lo = 1 if digits == 1 else pow10(digits - 1 + scale)
    hi = pow10(digits + scale) - 1
    mag = abs(int(u))
    if not lo <= mag <= hi:
        return None
    return mag - lo if u > 0 else (hi - lo + 1) + mag - lo


def evaluate(nums: list[Fraction], ops: list[str]) -> Fraction:
    """Left to right with * and / before + and -."""
    total, term = Fraction(0), nums[0]
    sign = 1
    for op, x in zip(ops, nums[1:]):
        if op == "*":
            term *= x
        elif op == "/":
            term /= x
        else:
            total += sign * term
            sign, term = (1 if op == "+" else -1), x
    return total + sign * term


def forbidden_last(nums: list[Fraction], ops: list[str], i: int, j: int) -> Fraction | None:
    """The value of nums[j] that makes the bracket nums[i..j] zero (None if none does)."""
    inner = ops[i:j]
    k = max((p for p, op in enumerate(inner) if op in "+-"), default=None)
    if k is None:
        a, sign, start = Fraction(0), 1, i
    else:
        a = evaluate(nums[i:i + k + 1], inner[:k])
        sign, start = (1 if inner[k] == "+" else -1), i + k + 1
    if start == j:
        m, last = Fraction(1), "*"
    else:
        m, last = evaluate(nums[start:j], ops[start:j - 1]), ops[j - 1]
    if last == "*":
        return -a / (sign * m)
    return -sign * m / a if a else None


def value_of(vals: list[Fraction], ops: list[str], span) -> Fraction:
    """The exact value: the bracket first, then the order of operations."""
    if span:
        i, j = span
        vals = vals[:i] + [evaluate(vals[i:j + 1], ops[i:j])] + vals[j + 1:]
        ops = ops[:i] + ops[j:]
    return evaluate(vals, ops)


def render_expr(texts: list[str], ops: list[str], span) -> str:
    parts = []
    for k, text in enumerate(texts):
        if k:
            parts.append(f" {ops[k - 1]} ")
        if span and k == span[0]:
            parts.append("(")
        parts.append(text)
        if span and k == span[1]:
            parts.append(")")
    return "".join(parts)


def reduce_once(vals: list[Fraction], texts: list[str], ops: list[str], span):
    """Carry out the next operation by the order of operations; returns the new state."""
    lo, hi = span if span else (0, len(vals) - 1)
    window = range(lo, hi)
    k = next((p for p in window if ops[p] in "*/"), None)
    if k is None:
        k = lo
    a, b, op = vals[k], vals[k + 1], ops[k]
    value = a + b if op == "+" else a - b if op == "-" else a * b if op == "*" else a / b
    vals = vals[:k] + [value] + vals[k + 2:]
    texts = texts[:k] + [operand(value)] + texts[k + 2:]
    ops = ops[:k] + ops[k + 1:]
    if span:
        span = (lo, hi - 1) if hi - 1 > lo else None
    return vals, texts, ops, span


def decode(cfg: MixedConfig, values: tuple):
    d, s, span_index, op_index, *raw = values
    t = len(raw)
    span = spans(t, cfg.brackets)[span_index]
    ops = []
    base = len(cfg.operators)
    for _ in range(t - 1):
        op_index, r = divmod(op_index, base)
        ops.append(cfg.operators[r])
    axis = signed_axis(d, s, cfg.negative, nonzero=True)
    divisor_bracket = span is not None and span[0] > 0 and ops[span[0] - 1] == "/"
    last_pos = span[1] if divisor_bracket else t - 1
    order = [p for p in range(t) if p != last_pos] + [last_pos]
    units = [0] * t
    for p, r in zip(order[:-1], raw[:-1]):
        units[p] = axis.decode(r)
    r = raw[-1]
    if divisor_bracket:
        nums = [Fraction(u, pow10(s)) for u in units]
        bad = forbidden_last(nums, ops, span[0], span[1])
        skip = axis_index(bad, d, s, cfg.negative) if bad is not None else None
        if skip is not None and r >= skip:
            r += 1
    units[last_pos] = axis.decode(r)
    return units, ops, span, s


def render(cfg: MixedConfig, values: tuple, lang: str, template: int, style: str) -> dict:
    units, ops, span, s = decode(cfg, values)
    vals = [Fraction(u, pow10(s)) for u in units]
    texts = [f"({fixed(u, s)})" if u < 0 else fixed(u, s) for u in units]
    expr = render_expr(texts, ops, span)
    answer = number(value_of(vals, ops, span))

    def steps() -> str:
        states = [expr]
        v, tx, o, sp = vals, texts, ops, span
        while len(v) > 1:
            v, tx, o, sp = reduce_once(v, tx, o, sp)
            states.append(render_expr(tx, o, sp))
        lines = [f"{states[0]} = {states[1]}"] + [f"= {state}" for state in states[2:]]
        lines[-1] = lines[-1][: len(lines[-1]) - len(states[-1])] + answer
        return "\n".join(lines)

    solution, policy = styled(style, bare=answer, contest=f"{expr} = {answer}", steps=steps)
    return {
        "problem": PROBLEMS[lang][template].format(e=expr),
        "answer": answer,
        "answer_policy": "exact",
        "solution": solution,
        "solution_policy": policy,
        "operands": [expr],
    }


register(Family("mixed", MixedConfig, spaces, render, PROBLEMS))
