"""Means: 求以下数据的平均值：[a, b, c] -> 平均值为 R (the contest prints Python's float)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from datagen.family import Axis, ConfigError, Family, Space, check_range, register
from datagen.numbers import exact_answer, fixed, float64, pow10, round_sig

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
    """terms: how many numbers; digits: at most this many integer digits each (each pair a class)."""

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
    top = pow10(digits + scale) - 1
    if negative:
        return Axis(2 * top + 1, lambda t: t - top)
    return Axis(top + 1, lambda t: t)


def spaces(cfg: MeanConfig) -> list[Space]:
    return [
        Space(
            f"{t}x{d}",
            tuple(value_axis(d, cfg.decimals, cfg.negative) for _ in range(t)),
            {"terms": t, "digits": [d], "decimals": cfg.decimals},
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
    if style == "steps":
        head = f"({' + '.join(items)}) / {len(values)} = {fixed(total, s)} / {len(values)}"
        if "/" in answer:
            shown = round_sig(mean, cfg.steps_sig)
            chain = f"{head} = {answer} ≈ {shown}"
            policy = f"sig{cfg.steps_sig}"
        else:
            shown = answer
            chain = f"{head} = {answer}"
            policy = "exact"
        solution = chain + "\n" + SENTENCE[lang].format(r=shown)
    else:
        shown = float64(mean)
        policy = "float64"
        solution = shown if style == "bare" else SENTENCE[lang].format(r=shown)
    return {
        "problem": PROBLEMS[lang][template].format(data=data),
        "answer": answer,
        "answer_policy": "exact",
        "solution": solution,
        "solution_policy": policy,
        "operands": items,
    }


register(Family("mean", MeanConfig, spaces, render, PROBLEMS))
