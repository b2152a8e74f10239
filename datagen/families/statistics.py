"""Means: 求以下数据的平均值：[a, b, c] -> 平均值为 R (the contest prints Python's float)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from datagen.family import Axis, ConfigError, Family, Space, check_range, register, signed_axis
from datagen.numbers import exact_answer, fixed, float64, pow10
from datagen.steps import approximate
from datagen.style import styled

PROBLEMS = {
    "zh": ("求以下数据的平均值：{data}", "计算这组数据的平均数：{data}", "数据 {data} 的平均值是多少？"),
    "en": (
        "Find the mean of the following data: {data}",
        "Calculate the average of {data}.",
        "What is the arithmetic mean of {data}?",
    ),
}
SENTENCE = {"zh": "平均值为 {r}", "en": "The mean is {r}"}


@dataclass(frozen=True)
class MeanConfig:
    """terms: how many numbers; digits: integer digits of the widest number (each pair a class)."""

    terms: tuple[int, int] = (3, 6)
    digits: tuple[int, int] = (1, 3)
    decimals: int = 0
    negative: bool = False
    steps_sig: int = 10

    def validate(self) -> None:
        check_range("terms", self.terms, 2, 20)
        check_range("digits", self.digits, 1, 12)
        if not 0 <= self.decimals <= 6:
            raise ConfigError(f"decimals: {self.decimals} is outside 0-6")
        if not 2 <= self.steps_sig <= 40:
            raise ConfigError(f"steps_sig: {self.steps_sig} is outside 2-40")


def value_axis(digits: int, scale: int, negative: bool) -> Axis:
    """Every value whose integer part has at most ``digits`` digits (0 digits: none)."""
    top = pow10(digits + scale) - 1 if digits else -1
    if negative:
        return Axis(max(2 * top + 1, 0), lambda t: t - top)
    return Axis(top + 1, lambda t: t)


NO_VALUES = Axis(0, int)


@dataclass(frozen=True)
class WidestSpace(Space):
    """Tuples of ``terms`` values whose widest value has exactly ``digits`` integer digits.

    Classes with different ``digits`` are disjoint (tuples under "at most d digits" would
    nest and repeat problems).  Point p is decoded by the first position k that holds a
    full-width value: k narrower values, one full-width value, then terms - k - 1 of any width.
    """

    terms: int = 0
    narrow: Axis = NO_VALUES
    wide: Axis = NO_VALUES
    any_width: Axis = NO_VALUES

    @property
    def size(self) -> int:
        return self.any_width.size**self.terms - self.narrow.size**self.terms

    def decode(self, point: int) -> tuple:
        m, e, n, t = self.narrow.size, self.wide.size, self.any_width.size, self.terms
        for k in range(t):
            block = m**k * e * n ** (t - 1 - k)
            if point < block:
                break
            point -= block
        rest, point = divmod(point, n ** (t - 1 - k))
        head, middle = divmod(rest, e)
        values = []
        for _ in range(k):
            head, digit = divmod(head, m)
            values.append(self.narrow.decode(digit))
        values.append(self.wide.decode(middle))
        tail = []
        for _ in range(t - 1 - k):
            point, digit = divmod(point, n)
            tail.append(self.any_width.decode(digit))
        return tuple(values + tail)


def spaces(cfg: MeanConfig) -> list[Space]:
    s, neg = cfg.decimals, cfg.negative
    return [
        WidestSpace(
            f"{t}x{d}",
            (),
            {"terms": t, "digits": [d], "decimals": s},
            terms=t,
            narrow=value_axis(d - 1, s, neg),
            wide=signed_axis(d, s, neg),
            any_width=value_axis(d, s, neg),
        )
        for t in range(cfg.terms[0], cfg.terms[1] + 1)
        for d in range(cfg.digits[0], cfg.digits[1] + 1)
    ]


def render(cfg: MeanConfig, values: tuple, lang: str, template: int, style: str) -> dict:
    s = cfg.decimals
    items = [fixed(v, s) for v in values]
    data = "[" + ", ".join(items) + "]"
    total = sum(values)
    mean = Fraction(total, len(values) * pow10(s))
    answer = exact_answer(mean)

    def steps() -> tuple[str, str]:
        head = f"({' + '.join(items)}) / {len(values)} = {fixed(total, s)} / {len(values)}"
        if "/" in answer:
            shown = approximate(mean, cfg.steps_sig)
            chain = f"{head} = {answer} ≈ {shown}"
            policy = f"sig{cfg.steps_sig}"
        else:
            shown = answer
            chain = f"{head} = {answer}"
            policy = "exact"
        return chain + "\n" + SENTENCE[lang].format(r=shown), policy

    solution, policy = styled(style, bare=(float64(mean), "float64"), contest=lambda r: SENTENCE[lang].format(r=r),
                              steps=steps)
    return {
        "problem": PROBLEMS[lang][template].format(data=data),
        "answer": answer,
        "answer_policy": "exact",
        "solution": solution,
        "solution_policy": policy,
        "operands": items,
    }


def value(ops, num, lang="zh", template=0):
    """The sum left to right, then one division (the contest's float order)."""
    total = num(ops[0])
    for term in ops[1:]:
        total = total + num(term)
    return total / num(len(ops))


register(Family("mean", MeanConfig, spaces, render, PROBLEMS, group="contest", fields=("data",), value=value,
                floats=True))
