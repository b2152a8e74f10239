"""Linear equations: 解方程 Ax + B = 0 -> 方程的解为：R (the contest prints Python's float)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from datagen.family import ConfigError, Family, Space, check_range, register, signed_axis
from datagen.numbers import exact_answer, fixed, float64, pow10
from datagen.steps import approximate, paren
from datagen.style import styled

PROBLEMS = {
    "zh": ("解方程 {a}x + {b} = 0", "求方程 {a}x + {b} = 0 的解。", "已知 {a}x + {b} = 0，求 x。"),
    # English writes the equation as a person would ({eq}: x - 8 = 0, -2.5x + 3 = 0), not 1x + -8 = 0
    "en": (
        "Solve the equation {eq}",
        "Find x such that {eq}.",
        "What value of x satisfies {eq}?",
    ),
}
SENTENCE = {"zh": "方程的解为：{r}", "en": "The solution of the equation is: {r}"}


@dataclass(frozen=True)
class LinearEqConfig:
    """a_digits / b_digits: digits of the coefficient and the constant (each pair a class)."""

    a_digits: tuple[int, int] = (1, 2)
    b_digits: tuple[int, int] = (1, 2)
    decimals: int = 0
    negative: bool = True
    steps_sig: int = 10

    def validate(self) -> None:
        check_range("a_digits", self.a_digits, 1, 12)
        check_range("b_digits", self.b_digits, 1, 12)
        if not 0 <= self.decimals <= 6:
            raise ConfigError(f"decimals: {self.decimals} is outside 0-6")
        if not 2 <= self.steps_sig <= 40:
            raise ConfigError(f"steps_sig: {self.steps_sig} is outside 2-40")


def spaces(cfg: LinearEqConfig) -> list[Space]:
    s, neg = cfg.decimals, cfg.negative
    return [
        Space(
            f"{da}x{db}",
            (signed_axis(da, s, neg, nonzero=True), signed_axis(db, s, neg, nonzero=True)),
            {"digits": [da, db], "decimals": s},
        )
        for da in range(cfg.a_digits[0], cfg.a_digits[1] + 1)
        for db in range(cfg.b_digits[0], cfg.b_digits[1] + 1)
    ]


def term(coefficient: int, scale: int, var: str) -> str:
    """3x, -2.5x; a coefficient of 1 or -1 is written as x or -x."""
    if abs(coefficient) == pow10(scale):
        return ("-" if coefficient < 0 else "") + var
    return fixed(coefficient, scale) + var


def equation(a: int, b: int, scale: int) -> str:
    """ax + b = 0 as a person writes it: x - 8 = 0."""
    return f"{term(a, scale, 'x')} {'-' if b < 0 else '+'} {fixed(abs(b), scale)} = 0"


def render(cfg: LinearEqConfig, values: tuple, lang: str, template: int, style: str) -> dict:
    a, b = values
    s = cfg.decimals
    A, B = fixed(a, s), fixed(b, s)
    x = Fraction(-b, a)
    answer = exact_answer(x)

    def steps() -> tuple[str, str]:
        chain = f"x = {fixed(-b, s)} / {paren(A) if lang == 'en' else A} = {answer}"
        if "/" in answer:
            shown = approximate(x, cfg.steps_sig)
            chain += f" ≈ {shown}"
            policy = f"sig{cfg.steps_sig}"
        else:
            shown, policy = answer, "exact"
        if lang == "en":
            lines = [equation(a, b, s), f"{term(a, s, 'x')} = {fixed(-b, s)}"]
            if a != pow10(s):  # "x = 8" needs no division by 1
                lines.append(chain)
        else:
            lines = [f"{A}x + {B} = 0", f"{A}x = {fixed(-b, s)}", chain]
        return "\n".join(lines + [SENTENCE[lang].format(r=shown)]), policy

    solution, policy = styled(style, bare=(float64(x), "float64"), contest=lambda r: SENTENCE[lang].format(r=r),
                              steps=steps)
    return {
        "problem": PROBLEMS[lang][template].format(a=A, b=B, eq=equation(a, b, s)),
        "answer": answer,
        "answer_policy": "exact",
        "solution": solution,
        "solution_policy": policy,
        "operands": [A, B],
    }


def value(ops, num, lang="zh", template=0):
    """-b / a, written as the contest computed it in doubles: (0 - b) / a."""
    return (num(0) - num(ops[1])) / num(ops[0])


register(Family("linear_eq", LinearEqConfig, spaces, render, PROBLEMS, group="contest", fields=("a", "b"),
                value=value, floats=True, notations=(("x", "=", "0"),)))
