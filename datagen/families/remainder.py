"""Remainders: 计算 A 除以 B 的余数。 -> 余数为 R, with A = Q * B + R and 0 <= R < B."""

from __future__ import annotations

from dataclasses import dataclass

from datagen.family import Axis, Family, Space, check_range, range_axis, register, signed_axis
from datagen.numbers import pow10
from datagen.style import styled

PROBLEMS = {
    # no ÷ or /: the leak scan reads those as a division problem
    "zh": ("计算 {a} 除以 {b} 的余数。", "{a} 除以 {b}，余数是多少？", "求 {a} mod {b} 的值。"),
    "en": ("What is the remainder when {a} is divided by {b}?", "Find {a} mod {b}.",
           "Calculate the remainder of {a} divided by {b}."),
}
SENTENCE = {"zh": "余数为 {r}", "en": "The remainder is {r}"}


@dataclass(frozen=True)
class ModConfig:
    """digits: digits of the dividend A; divisor_digits: digits of the divisor B >= 2 (each pair a class)."""

    digits: tuple[int, int] = (2, 4)
    divisor_digits: tuple[int, int] = (1, 2)

    def validate(self) -> None:
        check_range("digits", self.digits, 1, 18)
        check_range("divisor_digits", self.divisor_digits, 1, 9)


def divisor_axis(digits: int) -> Axis:
    """Divisors with exactly ``digits`` digits, from 2 (a remainder by 1 is always 0)."""
    return range_axis(max(2, pow10(digits - 1)), pow10(digits) - 1)


def spaces(cfg: ModConfig) -> list[Space]:
    return [
        Space(f"{da}x{db}", (signed_axis(da, 0, False), divisor_axis(db)), {"digits": [da, db]})
        for da in range(cfg.digits[0], cfg.digits[1] + 1)
        for db in range(cfg.divisor_digits[0], cfg.divisor_digits[1] + 1)
    ]


def render(cfg: ModConfig, values: tuple, lang: str, template: int, style: str) -> dict:
    a, b = values
    q, r = divmod(a, b)
    sentence = SENTENCE[lang].format(r=r)
    solution, policy = styled(style, bare=str(r), contest=sentence,
                              steps=lambda: f"{a} = {q} * {b} + {r}\n{r} < {b}\n{sentence}")
    return {
        "problem": PROBLEMS[lang][template].format(a=a, b=b),
        "answer": str(r),
        "answer_policy": "exact",
        "solution": solution,
        "solution_policy": policy,
        "operands": [str(a), str(b)],
    }


register(Family("mod", ModConfig, spaces, render, PROBLEMS))
