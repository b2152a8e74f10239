"""Fractions: 将分数 a/b 进行简化。 -> 最简化的形式为：c/d."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from datagen.family import Axis, ConfigError, Family, Space, check_range, range_axis, register
from datagen.style import styled

PROBLEMS = {
    "zh": ("将分数 {a}/{b} 进行简化。", "把 {a}/{b} 化成最简分数。", "{a}/{b} 的最简形式是什么？"),
    "en": ("Simplify the fraction {a}/{b}.", "Reduce {a}/{b} to lowest terms.", "What is {a}/{b} in simplest form?"),
}
SENTENCE = {"zh": "最简化的形式为：{r}", "en": "The simplest form is: {r}"}


@dataclass(frozen=True)
class FractionConfig:
    """The reduced c/d has c <= max_numerator, 2 <= d <= max_denominator; a/b = (kc)/(kd)."""

    max_numerator: int = 60
    max_denominator: int = 60
    factor: tuple[int, int] = (2, 12)
    proper: bool = False

    def validate(self) -> None:
        if self.max_numerator < 1:
            raise ConfigError(f"max_numerator: {self.max_numerator} must be at least 1")
        if self.max_denominator < 2:
            raise ConfigError(f"max_denominator: {self.max_denominator} must be at least 2")
        if self.max_numerator * self.max_denominator > 4_000_000:
            raise ConfigError("max_numerator x max_denominator: at most 4,000,000 reduced pairs")
        check_range("factor", self.factor, 2, 10_000)


@lru_cache(maxsize=8)
def reduced_pairs(max_c: int, max_d: int, proper: bool) -> tuple[tuple[int, int], ...]:
    return tuple(
        (c, d)
        for d in range(2, max_d + 1)
        for c in range(1, (min(max_c, d - 1) if proper else max_c) + 1)
        if math.gcd(c, d) == 1
    )


def spaces(cfg: FractionConfig) -> list[Space]:
    pairs = reduced_pairs(cfg.max_numerator, cfg.max_denominator, cfg.proper)
    return [
        Space(
            "all",
            (Axis(len(pairs), pairs.__getitem__), range_axis(*cfg.factor)),
            {"max_numerator": cfg.max_numerator, "max_denominator": cfg.max_denominator},
        )
    ]


def render(cfg: FractionConfig, values: tuple, lang: str, template: int, style: str) -> dict:
    (c, d), k = values
    a, b = c * k, d * k
    reduced = f"{c}/{d}"

    def steps() -> str:
        lines = [f"{a} = {k} * {c}", f"{b} = {k} * {d}", f"{a}/{b} = {reduced}", SENTENCE[lang].format(r=reduced)]
        return "\n".join(lines)

    solution, policy = styled(style, bare=reduced, contest=SENTENCE[lang].format(r=reduced), steps=steps)
    return {
        "problem": PROBLEMS[lang][template].format(a=a, b=b),
        "answer": reduced,
        "answer_policy": "exact",
        "solution": solution,
        "solution_policy": policy,
        "operands": [str(a), str(b)],
    }


def value(ops, num, lang="zh", template=0) -> Fraction:
    return Fraction(int(ops[0]), int(ops[1]))


def reduced_text(value: Fraction) -> str:
    """The answer is a reduced fraction, c/d (an integer when d is 1)."""
    return f"{value.numerator}/{value.denominator}" if value.denominator != 1 else str(value.numerator)


register(Family("fraction", FractionConfig, spaces, render, PROBLEMS, group="contest", fields=("a", "b"),
                value=value, answer_text=reduced_text, notations=(("/",),)))
