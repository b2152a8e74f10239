"""Function values: 当 x = X 时，求函数 y = Ax^N 的值 -> 函数的值为：R (Decimal, 28 digits)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from datagen.family import Axis, ConfigError, Family, Space, check_range, register, signed_axis
from datagen.numbers import CTX28, canonical, fixed
from datagen.steps import paren
from datagen.style import styled

PROBLEMS = {
    "zh": (
        "当 x = {x} 时，求函数 y = {a}x^{n} 的值",
        "已知函数 y = {a}x^{n}，求 x = {x} 时 y 的值。",
        "函数 y = {a}x^{n} 在 x = {x} 处的函数值是多少？",
    ),
    # English writes the function as a person would ({fn}: y = -x^3, y = 2x), not y = -1x^3
    "en": (
        "Find the value of {fn} when x = {x}.",
        "Evaluate the function {fn} at x = {x}.",
        "If {fn}, what is y when x = {x}?",
    ),
}
SENTENCE = {"zh": "函数的值为：{r}", "en": "The value of the function is: {r}"}


@dataclass(frozen=True)
class FuncValueConfig:
    """a_digits: coefficient digits; x_digits: digits of x; exponents: N (each triple a class)."""

    a_digits: tuple[int, int] = (1, 1)
    x_digits: tuple[int, int] = (1, 2)
    decimals: int = 0
    negative: bool = True
    exponents: tuple[int, int] = (2, 4)

    def validate(self) -> None:
        check_range("a_digits", self.a_digits, 1, 12)
        check_range("x_digits", self.x_digits, 1, 12)
        check_range("exponents", self.exponents, 1, 30)
        if not 0 <= self.decimals <= 6:
            raise ConfigError(f"decimals: {self.decimals} is outside 0-6")


def spaces(cfg: FuncValueConfig) -> list[Space]:
    return [
        Space(
            f"{da}x{dx}^{n}",
            (
                signed_axis(da, 0, cfg.negative, nonzero=True),
                signed_axis(dx, cfg.decimals, cfg.negative),
                Axis(1, lambda t, n=n: n),
            ),
            {"digits": [da, dx], "decimals": cfg.decimals, "exponent": n},
        )
        for da in range(cfg.a_digits[0], cfg.a_digits[1] + 1)
        for dx in range(cfg.x_digits[0], cfg.x_digits[1] + 1)
        for n in range(cfg.exponents[0], cfg.exponents[1] + 1)
    ]


def function(a: int, n: int) -> str:
    """y = a x^n as a person writes it: y = x^2, y = -x^3, y = 5x."""
    coefficient = {1: "", -1: "-"}.get(a, str(a))
    return f"y = {coefficient}x" + (f"^{n}" if n != 1 else "")


def render(cfg: FuncValueConfig, values: tuple, lang: str, template: int, style: str) -> dict:
    a, x, n = values
    s = cfg.decimals
    A, X = str(a), fixed(x, s)
    exact = fixed(a * x**n, s * n)
    shown = str(CTX28.plus(Decimal(exact)))

    def steps() -> str:
        power = fixed(x**n, s * n)
        chain = f"y = {A} * {paren(X)}^{n} = {A} * {paren(power)} = {exact}"
        return chain + "\n" + SENTENCE[lang].format(r=exact)

    policy = "exact" if Decimal(shown) == Decimal(exact) else "sig28"
    solution, policy = styled(style, bare=(shown, policy), contest=lambda r: SENTENCE[lang].format(r=r), steps=steps)
    return {
        "problem": PROBLEMS[lang][template].format(a=A, x=X, n=n, fn=function(a, n)),
        "answer": canonical(a * x**n, s * n),
        "answer_policy": "exact",
        "solution": solution,
        "solution_policy": policy,
        "operands": [A, X, str(n)],
    }


def value(ops, num, lang="zh", template=0):
    return num(ops[0]) * num(ops[1]) ** int(ops[2])


def result_digits(ops) -> int:
    return len(ops[1].strip("+-")) * int(ops[2]) + len(ops[0])


register(Family("func_value", FuncValueConfig, spaces, render, PROBLEMS, group="contest", fields=("a", "x", "n"),
                value=value, result_digits=result_digits))
