"""Quadratic equations (rational or radical roots, both roots, ascending) and systems of two
linear equations.

A quadratic is built from its roots: rational p/q pairs, or (p ± q√s)/t, times a common factor,
so every point is a distinct equation with two distinct real roots.  Coefficients come from
sympy's dense polynomial product; the roots in the steps come back out of the quadratic formula
with the discriminant's square part from sympy's factorisation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from datagen.families.forms import (
    monomial,
    operand,
    pair_decode,
    poly_text,
    reduce_surd,
    squarefree,
    surd_text,
)
from datagen.families.radicals import constant, split_square
from datagen.family import Axis, ConfigError, Family, Space, check_range, range_axis, register, signed_axis
from datagen.numbers import pow10

QUADRATIC = {
    "zh": ("解方程 {eq}。", "求方程 {eq} 的两个根。", "已知 {eq}，求 x 的值。"),
    "en": ("Solve {eq}.", "Find both roots of {eq}.", "Solve for x: {eq}."),
}
QUADRATIC_SENTENCE = {"zh": "方程的解为：{r}", "en": "The solutions are {r}"}


@lru_cache(maxsize=1)
def _dense():
    from sympy.polys.densearith import dup_mul
    from sympy.polys.domains import ZZ

    return dup_mul, ZZ


def poly_mul(f: list[int], g: list[int]) -> list[int]:
    """Product of two integer polynomials (descending coefficients) with sympy's dense arithmetic."""
    dup_mul, zz = _dense()
    return [int(c) for c in dup_mul(f, g, zz)]


@dataclass(frozen=True)
class QuadraticConfig:
    """digits: digits of the root numerators p (each size a class, rational and radical);
    denominator_max: largest q (and t); radicand_max: largest squarefree s under the root;
    scale: range of the common factor of the equation; radical: include the radical classes."""

    digits: tuple[int, int] = (1, 2)
    denominator_max: int = 3
    radicand_max: int = 13
    scale: tuple[int, int] = (1, 3)
    radical: bool = True

    def validate(self) -> None:
        check_range("digits", self.digits, 1, 4)
        check_range("scale", self.scale, 1, 99)
        if not 1 <= self.denominator_max <= 30:
            raise ConfigError(f"denominator_max: {self.denominator_max} is outside 1-30")
        if not 2 <= self.radicand_max <= 1000:
            raise ConfigError(f"radicand_max: {self.radicand_max} is outside 2-1000")


def numerators(digits: int) -> range:
    top = pow10(digits) - 1
    lo = 0 if digits == 1 else pow10(digits - 1)
    return range(lo, top + 1)


@lru_cache(maxsize=16)
def rational_roots(digits: int, qmax: int) -> tuple[Fraction, ...]:
    """Distinct reduced p/q with |p| of ``digits`` digits and 1 <= q <= qmax, ascending."""
    seen = {Fraction(s * p, q) for p in numerators(digits) for q in range(1, qmax + 1) for s in (1, -1)
            if math.gcd(p, q) == 1}
    return tuple(sorted(seen))


@lru_cache(maxsize=16)
def radical_triples(digits: int, qmax: int) -> tuple[tuple[int, int, int], ...]:
    """(p, q, t): roots (p ± q√s)/t with gcd(p, q, t) = 1, |p| of ``digits`` digits, q, t <= qmax."""
    return tuple((s * p, q, t) for p in numerators(digits) for s in ((1, -1) if p else (1,))
                 for q in range(1, qmax + 1) for t in range(1, qmax + 1) if math.gcd(math.gcd(p, q), t) == 1)


def quadratic_spaces(cfg: QuadraticConfig) -> list[Space]:
    out = []
    scale = range_axis(*cfg.scale)
    for d in range(cfg.digits[0], cfg.digits[1] + 1):
        roots = rational_roots(d, cfg.denominator_max)
        pairs = len(roots) * (len(roots) - 1) // 2
        out.append(Space(f"rational{d}", (constant(d), constant("rational"), Axis(pairs, lambda t: t), scale),
                         {"digits": [d], "roots": "rational"}))
        if cfg.radical:
            triples = radical_triples(d, cfg.denominator_max)
            free = squarefree(2, cfg.radicand_max)
            out.append(Space(f"radical{d}", (constant(d), constant("radical"), Axis(len(triples) * len(free),
                                                                                   lambda t: t), scale),
                             {"digits": [d], "roots": "radical"}))
    return out


def quadratic_coefficients(cfg: QuadraticConfig, values: tuple) -> list[int]:
    d, kind, point, k = values
    if kind == "rational":
        roots = rational_roots(d, cfg.denominator_max)
        i, j = pair_decode(point)
        r1, r2 = roots[i], roots[j]
        f = poly_mul([r1.denominator, -r1.numerator], [r2.denominator, -r2.numerator])
    else:
        free = squarefree(2, cfg.radicand_max)
        p, q, t = radical_triples(d, cfg.denominator_max)[point // len(free)]
        s = free[point % len(free)]
        f = [t * t, -2 * p * t, p * p - q * q * s]
        g = math.gcd(math.gcd(f[0], f[1]), f[2])
        f = [c // g for c in f]
    return [k * c for c in f]


def quadratic_roots(a: int, b: int, c: int) -> tuple[int, int, int, tuple, tuple]:
    """(Δ, K, M, root1, root2): √Δ = K√M; roots (p, q, m, r) = (p + q√m)/r, ascending."""
    disc = b * b - 4 * a * c
    K, M = split_square(disc)
    if M == 1:
        lo, hi = Fraction(-b - K, 2 * a), Fraction(-b + K, 2 * a)
        lo, hi = sorted((lo, hi))
        return disc, K, M, (lo.numerator, 0, 1, lo.denominator), (hi.numerator, 0, 1, hi.denominator)
    sign = 1 if a > 0 else -1  # (-b - K√M)/(2a) is the smaller root when a > 0
    return (disc, K, M, reduce_surd(-b, -sign * K, M, 2 * a), reduce_surd(-b, sign * K, M, 2 * a))


def quadratic_root_text(root: tuple) -> str:
    """A root (p + q√m)/r as written in answers: a rational root always as an integer or a reduced p/q
    (``1/2, 3``, never ``0.5``), so one answer never mixes ``0.5`` and ``2/3``."""
    p, q, _, r = root
    if q == 0:
        value = Fraction(p, r)
        return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    return surd_text(*root)


def render_quadratic(cfg: QuadraticConfig, values: tuple, lang: str, template: int, style: str) -> dict:
    a, b, c = quadratic_coefficients(cfg, values)
    eq = f"{poly_text([a, b, c])} = 0"
    disc, K, M, lo, hi = quadratic_roots(a, b, c)
    roots = [quadratic_root_text(lo), quadratic_root_text(hi)]
    answer = ", ".join(roots)
    named = f"x1 = {roots[0]}, x2 = {roots[1]}"
    sentence = QUADRATIC_SENTENCE[lang].format(r=named)
    if style == "steps":
        root_text = str(K) if M == 1 else surd_text(0, K, M, 1)
        lines = [
            f"a = {a}, b = {b}, c = {c}",
            f"Δ = b^2 - 4 * a * c = {operand(b)}^2 - 4 * {operand(a)} * {operand(c)} = {disc}",
            f"√Δ = √{disc} = {root_text}" if root_text != f"√{disc}" else f"√Δ = √{disc}",
        ]
        for name, sign, root in (("x1", "-", lo), ("x2", "+", hi)):
            if a < 0:
                sign = "+" if sign == "-" else "-"
            raw = f"({-b} {sign} {root_text})/{operand(2 * a)}"
            chain = [f"{name} = (-b {sign} √Δ)/(2 * a)", raw]
            if M == 1:
                value = Fraction(-b - K if sign == "-" else -b + K, 2 * a)
                chain.append(f"{-b - K if sign == '-' else -b + K}/{operand(2 * a)}")
                chain.append(quadratic_root_text((value.numerator, 0, 1, value.denominator)))
            else:
                chain.append(surd_text(*root))
            lines.append(" = ".join(dict.fromkeys(chain)))
        lines.append(sentence)
        solution = "\n".join(lines)
    elif style == "bare":
        solution = answer
    else:
        solution = sentence
    return {
        "problem": QUADRATIC[lang][template].format(eq=eq),
        "answer": answer,
        "answer_policy": "symbolic",
        "solution": solution,
        "solution_policy": "exact",
        "operands": [str(a), str(b), str(c)],
    }


register(Family("quadratic", QuadraticConfig, quadratic_spaces, render_quadratic, QUADRATIC,
                answer_kind="roots"))

# --- linear systems -----------------------------------------------------------------------------

SYSTEM = {
    "zh": ("解方程组：{e1}，{e2}", "求方程组 {e1}，{e2} 的解。", "已知 {e1} 且 {e2}，求 x 和 y。"),
    "en": (
        "Solve the system {e1}, {e2}.",
        "Find x and y such that {e1} and {e2}.",
        "Solve for x and y: {e1}; {e2}.",
    ),
}
SYSTEM_SENTENCE = {"zh": "方程组的解为：{r}", "en": "The solution is {r}"}


@dataclass(frozen=True)
class LinearSystemConfig:
    """digits: digits of the solution x, y (each size a class); coefficient_max: largest |coefficient|."""

    digits: tuple[int, int] = (1, 2)
    coefficient_max: int = 9
    negative: bool = True

    def validate(self) -> None:
        check_range("digits", self.digits, 1, 6)
        if not 2 <= self.coefficient_max <= 999:
            raise ConfigError(f"coefficient_max: {self.coefficient_max} is outside 2-999")


def coefficient_axis(cmax: int, negative: bool) -> Axis:
    if negative:
        return Axis(2 * cmax, lambda t: t + 1 if t < cmax else cmax - 1 - t)
    return Axis(cmax, lambda t: t + 1)


def coefficient_index(value: Fraction, cmax: int, negative: bool) -> int | None:
    if value.denominator != 1 or value == 0 or abs(value) > cmax or (value < 0 and not negative):
        return None
    v = int(value)
    return v - 1 if v > 0 else cmax - 1 - v


def system_spaces(cfg: LinearSystemConfig) -> list[Space]:
    coef = coefficient_axis(cfg.coefficient_max, cfg.negative)
    last = Axis(coef.size - 1, lambda t: t)
    return [
        Space(f"{d}", (signed_axis(d, 0, cfg.negative), signed_axis(d, 0, cfg.negative),
                       coef, coef, coef, last),
              {"digits": [d, d], "coefficient_max": cfg.coefficient_max})
        for d in range(cfg.digits[0], cfg.digits[1] + 1)
    ]


def linear_text(a: int, b: int) -> str:
    """a x + b y, e.g. 2x - 3y, -x + y."""
    first = ("-" if a < 0 else "") + monomial(a, 1, "x")
    return f"{first} {'-' if b < 0 else '+'} {monomial(b, 1, 'y')}"


def scaled(k: int, var: str) -> str:
    return ("-" if k < 0 else "") + monomial(k, 1, var)


def system_values(cfg: LinearSystemConfig, values: tuple) -> tuple[int, ...]:
    x0, y0, a1, b1, a2, raw = values
    bad = coefficient_index(Fraction(a2 * b1, a1), cfg.coefficient_max, cfg.negative)
    if bad is not None and raw >= bad:
        raw += 1
    b2 = coefficient_axis(cfg.coefficient_max, cfg.negative).decode(raw)
    return x0, y0, a1, b1, a2, b2


def render_system(cfg: LinearSystemConfig, values: tuple, lang: str, template: int, style: str) -> dict:
    x0, y0, a1, b1, a2, b2 = system_values(cfg, values)
    c1, c2 = a1 * x0 + b1 * y0, a2 * x0 + b2 * y0
    e1, e2 = f"{linear_text(a1, b1)} = {c1}", f"{linear_text(a2, b2)} = {c2}"
    answer = f"x = {x0}, y = {y0}"
    sentence = SYSTEM_SENTENCE[lang].format(r=answer)
    if style == "steps":
        g = math.gcd(a1, a2)
        m1, m2 = a2 // g, a1 // g
        if m1 < 0:
            m1, m2 = -m1, -m2
        big_b, big_c = m1 * b1 - m2 * b2, m1 * c1 - m2 * c2
        lines = [
            f"{e1}, {e2}",
            (f"{operand(m1)} * ({linear_text(a1, b1)}) - {operand(m2)} * ({linear_text(a2, b2)}) = "
            f"{operand(m1)} * {operand(c1)} - {operand(m2)} * {operand(c2)}"),
            f"{scaled(big_b, 'y')} = {big_c}",
        ]
        if big_b != 1:
            lines.append(f"y = {big_c}/{operand(big_b)} = {y0}")
        lines.append(f"{scaled(a1, 'x')} + {operand(b1)} * {operand(y0)} = {c1}")
        if a1 != 1:
            lines.append(f"{scaled(a1, 'x')} = {c1} - {operand(b1)} * {operand(y0)} = {a1 * x0}")
            lines.append(f"x = {a1 * x0}/{operand(a1)} = {x0}")
        else:
            lines.append(f"x = {c1} - {operand(b1)} * {operand(y0)} = {x0}")
        lines.append(sentence)
        solution = "\n".join(lines)
    elif style == "bare":
        solution = answer
    else:
        solution = sentence
    return {
        "problem": SYSTEM[lang][template].format(e1=e1, e2=e2),
        "answer": answer,
        "answer_policy": "symbolic",
        "solution": solution,
        "solution_policy": "exact",
        "operands": [str(v) for v in (a1, b1, c1, a2, b2, c2)],
    }


register(Family("linear_system", LinearSystemConfig, system_spaces, render_system, SYSTEM,
                answer_kind="system"))
