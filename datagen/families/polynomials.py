"""Polynomials in x: evaluation, expansion, factoring over the integers, derivative.

Products, quotients, derivatives and values come from sympy's dense polynomial arithmetic
(``dup_mul``, ``dup_div``, ``dup_diff``, ``dup_eval`` over ZZ: sympy without expression trees).
A factoring problem is built from its factors (primitive linear factors sorted by root, times
a positive content), so every point has one canonical factorisation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import lru_cache

from datagen.families.algebra import coefficient_axis, poly_mul
from datagen.families.forms import (
    factored_text,
    linear_factor,
    monomial,
    multiset_count,
    multiset_decode,
    number,
    operand,
    poly_text,
    strip_leading_zeros,
)
from datagen.families.radicals import constant, split_square
from datagen.family import Axis, ConfigError, Family, Space, check_range, range_axis, register, signed_axis
from datagen.numbers import pow10
from datagen.style import styled


@lru_cache(maxsize=1)
def _dense():
    from sympy.polys.densearith import dup_div
    from sympy.polys.densetools import dup_diff, dup_eval
    from sympy.polys.domains import ZZ

    return dup_div, dup_diff, dup_eval, ZZ


def poly_eval(coeffs: list[int], x: int) -> int:
    _, _, dup_eval, zz = _dense()
    return int(dup_eval(coeffs, x, zz))


def poly_diff(coeffs: list[int]) -> list[int]:
    _, dup_diff, _, zz = _dense()
    return [int(c) for c in dup_diff(coeffs, 1, zz)] or [0]


def poly_div(f: list[int], g: list[int]) -> list[int]:
    """The exact quotient f / g over the integers (g divides f)."""
    dup_div, _, _, zz = _dense()
    q, r = dup_div(f, g, zz)
    assert not r, "divisor does not divide"
    return [int(c) for c in q]


def coefficients_axes(degree: int, cmax: int) -> tuple[Axis, ...]:
    """A nonzero leading coefficient, then any coefficient in [-cmax, cmax]."""
    return (coefficient_axis(cmax, True),) + tuple(Axis(2 * cmax + 1, lambda t, c=cmax: t - c)
                                                   for _ in range(degree))


def digits_max(digits: int) -> int:
    return pow10(digits) - 1


def grow(cfg, **fields):
    """A config for the extrapolate split: the given ranges moved past the trained maximum."""
    changes = {}
    for name, limit in fields.items():
        _lo, hi = getattr(cfg, name)
        changes[name] = (min(hi + 1, limit), min(hi + 1, limit))
    return replace(cfg, **changes)


# --- evaluation ---------------------------------------------------------------------------------

EVAL = {
    "zh": ("当 x = {x} 时，求多项式 {p} 的值。", "已知 f(x) = {p}，求 f({x})。",
           "多项式 {p} 在 x = {x} 时的值是多少？"),
    "en": ("Evaluate {p} at x = {x}.", "Let f(x) = {p}. What is f({x})?",
           "Find the value of {p} when x = {x}."),
}
EVAL_SENTENCE = {"zh": "多项式的值为：{r}", "en": "The value is {r}"}


@dataclass(frozen=True)
class PolyEvalConfig:
    """degree: degree of the polynomial; digits: digits of x (each pair a class); coefficient_max."""

    degree: tuple[int, int] = (1, 3)
    digits: tuple[int, int] = (1, 1)
    coefficient_max: int = 9

    def validate(self) -> None:
        check_range("degree", self.degree, 1, 8)
        check_range("digits", self.digits, 1, 4)
        if not 1 <= self.coefficient_max <= 999:
            raise ConfigError(f"coefficient_max: {self.coefficient_max} is outside 1-999")

    def extrapolate(self) -> PolyEvalConfig:
        return grow(self, degree=8, digits=4)


def eval_spaces(cfg: PolyEvalConfig) -> list[Space]:
    return [
        Space(f"{n}x{d}", (signed_axis(d, 0, True), *coefficients_axes(n, cfg.coefficient_max)),
              {"degree": n, "digits": [d]})
        for n in range(cfg.degree[0], cfg.degree[1] + 1)
        for d in range(cfg.digits[0], cfg.digits[1] + 1)
    ]


def substituted(coeffs: list[int], x: int, powers: bool) -> str:
    """The polynomial with x replaced by its value: powers written (3 * 2^2) or evaluated (3 * 4)."""
    degree = len(coeffs) - 1
    parts = []
    for k, c in enumerate(coeffs):
        if c == 0:
            continue
        n = degree - k
        if n == 0:
            body = str(abs(c))
        else:
            base = (f"{operand(x)}^{n}" if n > 1 else operand(x)) if powers else operand(x**n)
            body = base if abs(c) == 1 else f"{abs(c)} * {base}"
        if not parts:
            parts.append(("-" if c < 0 else "") + body)
        else:
            parts.append(("- " if c < 0 else "+ ") + body)
    return " ".join(parts) if parts else "0"


def render_eval(cfg: PolyEvalConfig, values: tuple, lang: str, template: int, style: str) -> dict:
    x, *coeffs = values
    p = poly_text(coeffs)
    value = poly_eval(coeffs, x)
    answer = str(value)

    def steps() -> str:
        chain = list(dict.fromkeys([substituted(coeffs, x, True), substituted(coeffs, x, False), answer]))
        return f"f({x}) = " + " = ".join(chain) + "\n" + EVAL_SENTENCE[lang].format(r=answer)

    solution, policy = styled(style, bare=answer, contest=EVAL_SENTENCE[lang].format(r=answer), steps=steps)
    return {
        "problem": EVAL[lang][template].format(p=p, x=x),
        "answer": answer,
        "answer_policy": "exact",
        "solution": solution,
        "solution_policy": policy,
        "operands": [p, str(x)],
    }


register(Family("poly_eval", PolyEvalConfig, eval_spaces, render_eval, EVAL))

# --- expansion ----------------------------------------------------------------------------------

EXPAND = {
    "zh": ("展开 {e}。", "把 {e} 展开并合并同类项。", "计算 {e} 的展开式。"),
    "en": ("Expand {e}.", "Expand and simplify {e}.", "Multiply out {e}."),
}


@dataclass(frozen=True)
class PolyExpandConfig:
    """factors: how many linear factors (each count a class); digits: digits of their constants;
    lead_max: largest x coefficient of a factor; trinomial: add a linear x trinomial class."""

    factors: tuple[int, int] = (2, 3)
    digits: tuple[int, int] = (1, 1)
    lead_max: int = 3
    trinomial: bool = True

    def validate(self) -> None:
        check_range("factors", self.factors, 2, 5)
        check_range("digits", self.digits, 1, 3)
        if not 1 <= self.lead_max <= 99:
            raise ConfigError(f"lead_max: {self.lead_max} is outside 1-99")

    def extrapolate(self) -> PolyExpandConfig:
        # one factor more than trained (so a higher degree), with the trained constants; the
        # binomial x trinomial class is a degree the training already covers
        return replace(grow(self, factors=5), trinomial=False)


@lru_cache(maxsize=16)
def linear_factors(digits: int, lead_max: int) -> tuple[tuple[int, int], ...]:
    """(a, b) for ax + b with 1 <= a <= lead_max and b nonzero of ``digits`` digits."""
    lo, hi = (1 if digits == 1 else pow10(digits - 1)), digits_max(digits)
    return tuple((a, s * b) for a in range(1, lead_max + 1) for b in range(lo, hi + 1) for s in (1, -1))


def expand_spaces(cfg: PolyExpandConfig) -> list[Space]:
    out = []
    for d in range(cfg.digits[0], cfg.digits[1] + 1):
        n = len(linear_factors(d, cfg.lead_max))
        for k in range(cfg.factors[0], cfg.factors[1] + 1):
            out.append(Space(f"{k}x{d}", (constant(d), constant(k), Axis(multiset_count(n, k), lambda t: t)),
                             {"factors": k, "digits": [d]}))
        if cfg.trinomial:
            lead = linear_factors(d, cfg.lead_max)
            cmax = digits_max(d)
            out.append(Space(f"tri{d}", (constant(d), constant(0), Axis(n, lead.__getitem__),
                                         *coefficients_axes(2, cmax)), {"factors": "1x3", "digits": [d]}))
    return out


def terms_of(coeffs: list[int]) -> list[tuple[int, int]]:
    degree = len(coeffs) - 1
    return [(c, degree - k) for k, c in enumerate(coeffs) if c]


def signed_join(items: list[tuple[int, str]]) -> str:
    """Join (sign, magnitude text) pairs as 'a + b - c'."""
    out = []
    for sign, body in items:
        out.append(("-" if sign < 0 else "") + body if not out else ("- " if sign < 0 else "+ ") + body)
    return " ".join(out)


def distribute(f: list[int], g: list[int]) -> list[str]:
    """(f)(g) = pairwise products = their monomials = collected, as chain segments."""
    pairs, monos = [], []
    for c1, k1 in terms_of(f):
        for c2, k2 in terms_of(g):
            sign = -1 if (c1 < 0) != (c2 < 0) else 1
            pairs.append((sign, f"{monomial(c1, k1)} * {monomial(c2, k2)}"))
            monos.append((sign, monomial(c1 * c2, k1 + k2)))
    return list(dict.fromkeys([signed_join(pairs), signed_join(monos), poly_text(poly_mul(f, g))]))


def paren_poly(coeffs: list[int]) -> str:
    text = poly_text(coeffs)
    return text if text == "x" else f"({text})"


def expand_factors(cfg: PolyExpandConfig, values: tuple) -> list[list[int]]:
    d, k, *rest = values
    if k == 0:
        (a, b), *tri = rest
        return [[a, b], list(tri)]
    table = linear_factors(d, cfg.lead_max)
    return [list(table[i]) for i in multiset_decode(rest[0], len(table), k)]


def render_expand(cfg: PolyExpandConfig, values: tuple, lang: str, template: int, style: str) -> dict:
    factors = expand_factors(cfg, values)
    expr = "".join(paren_poly(f) for f in factors)
    product = factors[0]
    lines = []
    for k in range(1, len(factors)):
        g = factors[k]
        rest = "".join(paren_poly(f) for f in factors[k + 1:])
        head = paren_poly(product) + paren_poly(g) + rest
        segments = distribute(product, g)
        product = poly_mul(product, g)
        if rest:
            segments = [f"({s}){rest}" for s in segments]
        lines.append(" = ".join([head, *segments]))
    answer = poly_text(product)
    if style == "steps":
        solution = "\n".join(lines)
    elif style == "bare":
        solution = answer
    else:
        solution = f"{expr} = {answer}"
    return {
        "problem": EXPAND[lang][template].format(e=expr),
        "answer": answer,
        "answer_policy": "symbolic",
        "solution": solution,
        "solution_policy": "exact",
        "operands": [expr],
    }


register(Family("poly_expand", PolyExpandConfig, expand_spaces, render_expand, EXPAND,
                answer_kind="expanded"))

# --- factoring ----------------------------------------------------------------------------------

FACTOR = {
    "zh": ("因式分解：{p}", "把 {p} 分解因式。", "将多项式 {p} 因式分解。"),
    "en": ("Factor {p}.", "Factorise {p} completely.", "Write {p} as a product of factors."),
}


@dataclass(frozen=True)
class PolyFactorConfig:
    """factors: how many linear factors (each count a class); digits: digits of their constants;
    lead_max: largest x coefficient of a factor; content: range of the common factor."""

    factors: tuple[int, int] = (2, 3)
    digits: tuple[int, int] = (1, 1)
    lead_max: int = 3
    content: tuple[int, int] = (1, 3)

    def validate(self) -> None:
        check_range("factors", self.factors, 2, 4)
        check_range("digits", self.digits, 1, 3)
        check_range("content", self.content, 1, 99)
        if not 1 <= self.lead_max <= 30:
            raise ConfigError(f"lead_max: {self.lead_max} is outside 1-30")

    def extrapolate(self) -> PolyFactorConfig:
        return grow(self, factors=4, digits=3)


@lru_cache(maxsize=16)
def primitive_factors(digits: int, lead_max: int) -> tuple[tuple[int, int], ...]:
    """(a, b) with gcd(a, b) = 1, a >= 1, |b| of ``digits`` digits (x itself for digits 1), by root."""
    lo, hi = (0 if digits == 1 else pow10(digits - 1)), digits_max(digits)
    found = {(a, s * b) for a in range(1, lead_max + 1) for b in range(lo, hi + 1) for s in (1, -1)
             if math.gcd(a, b) == 1}
    return tuple(sorted(found, key=lambda f: Fraction(-f[1], f[0])))


def factor_spaces(cfg: PolyFactorConfig) -> list[Space]:
    out = []
    for d in range(cfg.digits[0], cfg.digits[1] + 1):
        n = len(primitive_factors(d, cfg.lead_max))
        for k in range(cfg.factors[0], cfg.factors[1] + 1):
            out.append(Space(f"{k}x{d}", (constant(d), constant(k), range_axis(*cfg.content),
                                          Axis(multiset_count(n, k), lambda t: t)),
                             {"factors": k, "digits": [d]}))
    return out


def root_factor(r: Fraction) -> str:
    """(x - r), or x when r = 0."""
    if r == 0:
        return "x"
    return f"(x {'-' if r > 0 else '+'} {number(abs(r))})"


def quadratic_factor_lines(f: list[int], factors: list[tuple[int, int]]) -> list[str]:
    """Steps that factor the primitive quadratic f = (a1x + b1)(a2x + b2) by its roots."""
    a, b, c = f
    disc = b * b - 4 * a * c
    k, _ = split_square(disc) if disc else (0, 1)
    r1, r2 = (Fraction(-b - k, 2 * a), Fraction(-b + k, 2 * a))
    lead = "" if a == 1 else str(a)
    middle = f"{lead}{root_factor(r1)}{root_factor(r2)}" if r1 != r2 else f"{lead}{root_factor(r1)}^2"
    return [
        f"a = {a}, b = {b}, c = {c}",
        f"Δ = b^2 - 4 * a * c = {operand(b)}^2 - 4 * {operand(a)} * {operand(c)} = {disc}",
        f"x1 = ({-b} - {k})/{2 * a} = {number(r1)}, x2 = ({-b} + {k})/{2 * a} = {number(r2)}",
        " = ".join(dict.fromkeys([poly_text(f), middle, factored_text(1, factors)])),
    ]


def render_factor(cfg: PolyFactorConfig, values: tuple, lang: str, template: int, style: str) -> dict:
    d, k, content, point = values
    table = primitive_factors(d, cfg.lead_max)
    factors = [table[i] for i in multiset_decode(point, len(table), k)]
    primitive = [1]
    for a, b in factors:
        primitive = poly_mul(primitive, [a, b])
    full = [content * c for c in primitive]
    p = poly_text(full)
    answer = factored_text(content, factors)

    def steps() -> str:
        lines = []
        if content != 1:
            lines.append(f"{p} = {content}({poly_text(primitive)})")
        rest, remaining = primitive, list(factors)
        while len(remaining) > 2:
            a, b = remaining.pop(0)
            quotient = poly_div(rest, [a, b])
            lines.append(f"{poly_text(rest)} = {linear_factor(a, b)}({poly_text(quotient)})")
            rest = strip_leading_zeros(quotient)
        lines.extend(quadratic_factor_lines(rest, remaining))
        lines.append(f"{p} = {answer}")
        return "\n".join(dict.fromkeys(lines))

    solution, policy = styled(style, bare=answer, contest=f"{p} = {answer}", steps=steps)
    return {
        "problem": FACTOR[lang][template].format(p=p),
        "answer": answer,
        "answer_policy": "symbolic",
        "solution": solution,
        "solution_policy": policy,
        "operands": [p],
    }


register(Family("poly_factor", PolyFactorConfig, factor_spaces, render_factor, FACTOR,
                answer_kind="factored"))

# --- derivative ---------------------------------------------------------------------------------

DERIVATIVE = {
    "zh": ("求 f(x) = {p} 的导数。", "已知 f(x) = {p}，求 f'(x)。", "对 {p} 关于 x 求导。"),
    "en": (
        "Differentiate f(x) = {p}.",
        "Find f'(x) if f(x) = {p}.",
        "What is the derivative of {p} with respect to x?",
    ),
}


@dataclass(frozen=True)
class DerivativeConfig:
    """degree: degree of f (each a class); digits: digits of the largest coefficient (each a class)."""

    degree: tuple[int, int] = (2, 4)
    digits: tuple[int, int] = (1, 1)

    def validate(self) -> None:
        check_range("degree", self.degree, 1, 12)
        check_range("digits", self.digits, 1, 4)

    def extrapolate(self) -> DerivativeConfig:
        return grow(self, degree=12, digits=4)


def derivative_spaces(cfg: DerivativeConfig) -> list[Space]:
    return [
        Space(f"{n}x{d}", coefficients_axes(n, digits_max(d)), {"degree": n, "digits": [d]})
        for n in range(cfg.degree[0], cfg.degree[1] + 1)
        for d in range(cfg.digits[0], cfg.digits[1] + 1)
    ]


def term_derivative(c: int, n: int) -> str:
    """(c x^n)' = c * n x^(n-1) = ..., one line."""
    term = ("-" if c < 0 else "") + monomial(c, n)
    if n == 0:
        return f"({term})' = 0"
    if n == 1:
        return f"({term})' = {c}"
    power = monomial(1, n - 1)
    return f"({term})' = {operand(c)} * {n}{power} = {('-' if c < 0 else '') + monomial(c * n, n - 1)}"


def render_derivative(cfg: DerivativeConfig, values: tuple, lang: str, template: int, style: str) -> dict:
    coeffs = list(values)
    p = poly_text(coeffs)
    answer = poly_text(poly_diff(coeffs))

    def steps() -> str:
        lines = [term_derivative(c, n) for c, n in terms_of(coeffs)]
        lines.append(f"f'(x) = {answer}")
        return "\n".join(lines)

    solution, policy = styled(style, bare=answer, contest=f"f'(x) = {answer}", steps=steps)
    return {
        "problem": DERIVATIVE[lang][template].format(p=p),
        "answer": answer,
        "answer_policy": "symbolic",
        "solution": solution,
        "solution_policy": policy,
        "operands": [p],
    }


register(Family("derivative", DerivativeConfig, derivative_spaces, render_derivative, DERIVATIVE,
                answer_kind="polynomial"))
