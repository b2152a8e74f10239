"""Square roots: 计算 A 的平方根？ -> √A = R (28 significant digits unless exact)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from datagen.family import ConfigError, Family, Space, Undefined, check_range, register, signed_axis
from datagen.numbers import CTX28, CTX40, canonical, fixed, plain, pow10
from datagen.steps import approximate_root
from datagen.style import styled

PROBLEMS = {
    "zh": ("计算 {a} 的平方根？", "{a} 的算术平方根是多少？", "求 √{a} 的值。"),
    "en": ("What is the square root of {a}?", "Calculate √{a}.", "Find the principal square root of {a}."),
}


@dataclass(frozen=True)
class SqrtConfig:
    """digits: integer-part digits of the radicand (one class per size)."""

    digits: tuple[int, int] = (1, 4)
    decimals: int = 0
    steps_sig: int = 10

    def validate(self) -> None:
        check_range("digits", self.digits, 1, 18)
        if not 0 <= self.decimals <= 6:
            raise ConfigError(f"decimals: {self.decimals} is outside 0-6")
        if not 2 <= self.steps_sig <= 40:
            raise ConfigError(f"steps_sig: {self.steps_sig} is outside 2-40")


def spaces(cfg: SqrtConfig) -> list[Space]:
    return [
        Space(f"{d}", (signed_axis(d, cfg.decimals, False),), {"digits": [d], "decimals": cfg.decimals})
        for d in range(cfg.digits[0], cfg.digits[1] + 1)
    ]


def exact_root(u: int, scale: int) -> tuple[int, int] | None:
    """(root, root_scale) when sqrt(u / 10**scale) is a terminating decimal."""
    if scale % 2:
        u, scale = u * 10, scale + 1
    root = math.isqrt(u)
    return (root, scale // 2) if root * root == u else None


def render(cfg: SqrtConfig, values: tuple, lang: str, template: int, style: str) -> dict:
    (u,) = values
    s = cfg.decimals
    A = fixed(u, s)
    exact = exact_root(u, s)
    if exact:
        answer, answer_policy = canonical(*exact), "exact"
    else:
        answer, answer_policy = plain(CTX40.sqrt(Decimal(A))), "sig40"

    def steps() -> tuple[str, str]:
        if exact:
            root = fixed(*exact)
            lines = [f"{root}^2 = {A}", f"√{A} = {root}"]
            policy = "exact"
        else:
            k = math.isqrt(u // 10**s)
            approx = approximate_root(Fraction(u, pow10(s)), cfg.steps_sig)
            lines = [
                f"{k}^2 = {k * k} < {A} < {(k + 1) ** 2} = {k + 1}^2",
                f"{k} < √{A} < {k + 1}",
                f"√{A} ≈ {approx}",
            ]
            policy = f"sig{cfg.steps_sig}"
        return "\n".join(lines), policy

    def shown() -> tuple[str, str]:
        return str(CTX28.sqrt(Decimal(A))), "exact" if exact else "sig28"

    solution, policy = styled(style, bare=shown, contest=lambda r: f"√{A} = {r}", steps=steps)
    return {
        "problem": PROBLEMS[lang][template].format(a=A),
        "answer": answer,
        "answer_policy": answer_policy,
        "solution": solution,
        "solution_policy": policy,
        "operands": [A],
    }


def value(ops, num, lang="zh", template=0) -> Fraction | Decimal:
    """The exact root when the radicand is a rational square, else the root to 40 significant digits."""
    radicand = num(ops[0])
    if radicand < 0:
        raise Undefined(f"the square root of {ops[0]}")
    p, q = radicand.numerator, radicand.denominator
    rp, rq = math.isqrt(p), math.isqrt(q)
    if rp * rp == p and rq * rq == q:
        return Fraction(rp, rq)
    return CTX40.sqrt(Decimal(ops[0].lstrip("+")))


register(Family("sqrt", SqrtConfig, spaces, render, PROBLEMS, group="contest", fields=("a",), value=value,
                notations=(("√",),)))
