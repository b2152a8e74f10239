"""Integer powers: 计算 A 的 N 次方？ -> A^N = R (exact decimal)."""

from __future__ import annotations

from dataclasses import dataclass

from datagen.family import Axis, ConfigError, Family, Space, check_range, register, signed_axis
from datagen.numbers import canonical, fixed
from datagen.steps import paren
from datagen.style import styled

PROBLEMS = {
    "zh": ("计算 {a} 的 {n} 次方？", "{a} 的 {n} 次幂是多少？", "求 {p}^{n} 的值。"),
    "en": ("What is {p} to the power of {n}?", "Calculate {p}^{n}.", "Raise {p} to the power {n}."),
}


@dataclass(frozen=True)
class PowConfig:
    """digits: integer-part digits of the base; exponents: the range of N (each pair a class).

    The defaults are the contest's range (bases like -787.36, exponents 1-5): 999,995 problems.
    """

    digits: tuple[int, int] = (1, 3)
    decimals: int = 2
    negative: bool = True
    exponents: tuple[int, int] = (1, 5)

    def validate(self) -> None:
        check_range("digits", self.digits, 1, 12)
        check_range("exponents", self.exponents, 1, 30)
        if not 0 <= self.decimals <= 6:
            raise ConfigError(f"decimals: {self.decimals} is outside 0-6")


def spaces(cfg: PowConfig) -> list[Space]:
    return [
        Space(
            f"{d}^{n}",
            (signed_axis(d, cfg.decimals, cfg.negative), Axis(1, lambda t, n=n: n)),
            {"digits": [d], "decimals": cfg.decimals, "exponent": n},
        )
        for d in range(cfg.digits[0], cfg.digits[1] + 1)
        for n in range(cfg.exponents[0], cfg.exponents[1] + 1)
    ]


def render(cfg: PowConfig, values: tuple, lang: str, template: int, style: str) -> dict:
    a, n = values
    s = cfg.decimals
    A = fixed(a, s)
    P = paren(A)
    R = fixed(a**n, s * n)

    def steps() -> str:
        chain = [f"{P}^{n}"]
        if n > 1:
            chain.append(" * ".join([P] * n))
            acc = a * a
            for k in range(2, n):
                chain.append(" * ".join([paren(fixed(acc, s * k))] + [P] * (n - k)))
                acc *= a
        chain.append(R)
        return " = ".join(chain)

    solution, policy = styled(style, bare=R, contest=f"{P}^{n} = {R}", steps=steps)
    return {
        "problem": PROBLEMS[lang][template].format(a=A, p=P, n=n),
        "answer": canonical(a**n, s * n),
        "answer_policy": "exact",
        "solution": solution,
        "solution_policy": policy,
        "operands": [A, str(n)],
    }


def value(ops, num, lang="zh", template=0):
    return num(ops[0]) ** int(ops[1])


def result_digits(ops) -> int:
    return len(ops[0].strip("+-")) * int(ops[1])


register(Family("pow", PowConfig, spaces, render, PROBLEMS, group="contest", fields=("a", "n"), value=value,
                result_digits=result_digits, notations=(("^",),)))
