"""Percentages: p% of b, and a is what percent of b (a = p% of b, so the answer is a whole percent)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from datagen.families.forms import number
from datagen.families.radicals import constant, digit_axis
from datagen.family import Family, Space, check_range, range_axis, register
from datagen.style import styled

PERCENT_OF = {
    "zh": ("{b} 的 {p}% 是多少？", "求 {b} 的 {p}%。", "计算 {p}% × {b}。"),
    "en": ("What is {p}% of {b}?", "Find {p} percent of {b}.", "Calculate {p}% of {b}."),
}
PERCENT_RATIO = {
    "zh": ("{a} 是 {b} 的百分之几？", "{a} 占 {b} 的百分之多少？", "用百分数表示 {a} 是 {b} 的多少。"),
    "en": ("What percent of {b} is {a}?", "{a} is what percentage of {b}?",
           "Express {a} as a percentage of {b}."),
}
PERCENT_SENTENCE = {
    "of": {"zh": "{b} 的 {p}% 是 {r}", "en": "{p}% of {b} is {r}"},
    "ratio": {"zh": "{a} 占 {b} 的百分比为 {r}%", "en": "As a percentage of {b}, {a} is {r}%"},
}


@dataclass(frozen=True)
class PercentConfig:
    """digits: digits of the whole b (each size a class); percent: range of p."""

    digits: tuple[int, int] = (2, 4)
    percent: tuple[int, int] = (1, 100)

    def validate(self) -> None:
        check_range("digits", self.digits, 1, 9)
        check_range("percent", self.percent, 1, 1000)


def percent_spaces_for(kind: str):
    def spaces(cfg: PercentConfig) -> list[Space]:
        return [
            Space(f"{d}", (constant(kind), digit_axis(d), range_axis(*cfg.percent)), {"digits": [d]})
            for d in range(cfg.digits[0], cfg.digits[1] + 1)
        ]

    return spaces


def render_percent(cfg: PercentConfig, values: tuple, lang: str, template: int, style: str) -> dict:
    """p% of b (kind "of"), or: a = p% of b is what percent of b (kind "ratio")."""
    kind, b, p = values
    part = Fraction(p * b, 100)
    a = number(part)
    if kind == "of":
        answer, problem = a, PERCENT_OF[lang][template].format(b=b, p=p)
        chain = f"{b} * {p} / 100 = {p * b} / 100 = {a}"
        operands = ["of", str(b), str(p)]
    else:
        answer, problem = str(p), PERCENT_RATIO[lang][template].format(a=a, b=b)
        chain = f"{a} / {b} * 100 = {number(Fraction(p, 100))} * 100 = {p}"
        operands = ["ratio", a, str(b)]
    sentence = PERCENT_SENTENCE[kind][lang].format(a=a, b=b, p=p, r=answer)
    solution, policy = styled(
        style, bare=answer if kind == "of" else f"{answer}%", contest=sentence, steps=lambda: f"{chain}\n{sentence}"
    )
    return {
        "problem": problem,
        "answer": answer,
        "answer_policy": "exact",
        "solution": solution,
        "solution_policy": policy,
        "operands": operands,
    }


class PercentRatioConfig(PercentConfig):
    """a is what percent of b, with a = p% of b."""


register(Family("percent", PercentConfig, percent_spaces_for("of"), render_percent, PERCENT_OF))
register(Family("percent_ratio", PercentRatioConfig, percent_spaces_for("ratio"), render_percent,
                PERCENT_RATIO))
