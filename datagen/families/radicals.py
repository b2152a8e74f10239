"""Exact radicals: simplify c√n (``√72 = 6√2``) and rationalise a denominator.

The radicand is factored with sympy (``factorint``); the rest is integer arithmetic on
(p + q√m) / r.  A point is the simplified form itself (square factor k >= 2, squarefree m),
so every point is a distinct problem whose radicand is not already simplest.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from datagen.families.forms import reduce_surd, squarefree, surd_text
from datagen.family import Axis, ConfigError, Family, Space, check_range, range_axis, register
from datagen.numbers import pow10
from datagen.style import styled

SURD = {
    "zh": ("化简 {e}。", "把 {e} 化成最简二次根式。", "{e} 化简后等于多少？"),
    "en": ("Simplify {e}.", "Write {e} in simplest radical form.", "What is {e} in simplest form?"),
}
RATIONALIZE = {
    "zh": ("将 {e} 的分母有理化。", "化简 {e}，使分母不含根号。", "把 {e} 分母有理化后是多少？"),
    "en": (
        "Rationalize the denominator of {e}.",
        "Simplify {e} so that the denominator has no radical.",
        "Write {e} with a rational denominator.",
    ),
}


@lru_cache(maxsize=1)
def _factorint():
    from sympy.ntheory import factorint

    return factorint


def split_square(n: int) -> tuple[int, int]:
    """n = k^2 * m with m squarefree, from sympy's factorisation."""
    k = m = 1
    for p, e in _factorint()(n).items():
        k *= p ** (e // 2)
        if e % 2:
            m *= p
    return k, m


def digit_axis(digits: int, start: int = 1) -> Axis:
    lo = max(start, 1 if digits == 1 else pow10(digits - 1))
    return range_axis(lo, pow10(digits) - 1)


def constant(value) -> Axis:
    return Axis(1, lambda t: value)


# --- surd ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SurdConfig:
    """digits: digits of the square factor k (k >= 2; each size a class); radicand_max: largest
    squarefree part m; coefficient: range of the factor c written before the root."""

    digits: tuple[int, int] = (1, 2)
    radicand_max: int = 50
    coefficient: tuple[int, int] = (1, 5)

    def validate(self) -> None:
        check_range("digits", self.digits, 1, 6)
        check_range("coefficient", self.coefficient, 1, 999)
        if not 2 <= self.radicand_max <= 100_000:
            raise ConfigError(f"radicand_max: {self.radicand_max} is outside 2-100000")


def surd_spaces(cfg: SurdConfig) -> list[Space]:
    free = squarefree(2, cfg.radicand_max)
    return [
        Space(f"k{d}", (range_axis(*cfg.coefficient), digit_axis(d, start=2),
                        Axis(len(free), free.__getitem__)),
              {"digits": [d], "radicand_max": cfg.radicand_max})
        for d in range(cfg.digits[0], cfg.digits[1] + 1)
    ]


def render_surd(cfg: SurdConfig, values: tuple, lang: str, template: int, style: str) -> dict:
    c, k0, m0 = values
    n = k0 * k0 * m0
    k, m = split_square(n)
    head = "" if c == 1 else str(c)
    expr = f"{head}√{n}"
    answer = surd_text(0, c * k, m, 1)

    def steps() -> str:
        first = f"{expr} = {head}√({k * k} * {m}) = "
        if c == 1:
            solution = first + f"√{k * k} * √{m} = {answer}"
        else:
            solution = first + f"{c} * √{k * k} * √{m} = {c} * {k}√{m} = {answer}"
        return solution

    solution, policy = styled(style, bare=answer, contest=f"{expr} = {answer}", steps=steps)
    return {
        "problem": SURD[lang][template].format(e=expr),
        "answer": answer,
        "answer_policy": "symbolic",
        "solution": solution,
        "solution_policy": policy,
        "operands": [str(c), str(n)],
    }


register(Family("surd", SurdConfig, surd_spaces, render_surd, SURD, answer_kind="radical"))

# --- rationalize --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RationalizeConfig:
    """digits: digits of the numerator a (each size a class); radicand_max: largest squarefree m
    under the root; term_max: largest k in a/(k√m) and b in a/(b ± √m)."""

    digits: tuple[int, int] = (1, 2)
    radicand_max: int = 15
    term_max: int = 9

    def validate(self) -> None:
        check_range("digits", self.digits, 1, 6)
        if not 2 <= self.radicand_max <= 10_000:
            raise ConfigError(f"radicand_max: {self.radicand_max} is outside 2-10000")
        if not 1 <= self.term_max <= 999:
            raise ConfigError(f"term_max: {self.term_max} is outside 1-999")


def rationalize_spaces(cfg: RationalizeConfig) -> list[Space]:
    free = squarefree(2, cfg.radicand_max)
    roots = Axis(len(free), free.__getitem__)
    out = []
    for d in range(cfg.digits[0], cfg.digits[1] + 1):
        difficulty = {"digits": [d], "radicand_max": cfg.radicand_max}
        out.append(Space(f"mono{d}", (constant("mono"), digit_axis(d), range_axis(1, cfg.term_max), roots),
                         {**difficulty, "form": "a/(k√m)"}))
        out.append(Space(f"bi{d}", (Axis(2, ("plus", "minus").__getitem__), digit_axis(d),
                                    range_axis(1, cfg.term_max), roots),
                         {**difficulty, "form": "a/(b±√m)"}))
    return out


def render_rationalize(cfg: RationalizeConfig, values: tuple, lang: str, template: int, style: str) -> dict:
    form, a, b, m = values
    if form == "mono":
        denominator = f"{'' if b == 1 else b}√{m}"
        expr = f"{a}/{denominator}" if b == 1 else f"{a}/({denominator})"
        p, q, _, r = reduce_surd(0, a, m, b * m)
        answer = surd_text(p, q, m, r)
        chain = [expr, f"({a} * √{m})/({denominator} * √{m})", f"{a}√{m}/{b * m}"]
    else:
        s = 1 if form == "plus" else -1
        sign, other = ("+", "-") if s == 1 else ("-", "+")
        expr = f"{a}/({b} {sign} √{m})"
        lead = "" if a == 1 else str(a)
        p, q, _, r = reduce_surd(a * b, -s * a, m, b * b - m)
        answer = surd_text(p, q, m, r)
        chain = [
            expr,
            f"{lead}({b} {other} √{m})/(({b} {sign} √{m})({b} {other} √{m}))",
            f"{lead}({b} {other} √{m})/({b * b} - {m})",
            surd_text(a * b, -s * a, m, b * b - m) if b * b - m > 0 else
            surd_text(-a * b, s * a, m, m - b * b),
        ]
    if chain[-1] != answer:
        chain.append(answer)
    solution, policy = styled(style, bare=answer, contest=f"{expr} = {answer}", steps=lambda: " = ".join(chain))
    return {
        "problem": RATIONALIZE[lang][template].format(e=expr),
        "answer": answer,
        "answer_policy": "symbolic",
        "solution": solution,
        "solution_policy": policy,
        "operands": [expr],
    }


register(Family("rationalize", RationalizeConfig, rationalize_spaces, render_rationalize, RATIONALIZE,
                answer_kind="radical"))
