"""Unit conversion: metric length, mass and volume, time (also compound, 2 小时 15 分钟), and
currency in 元 / 万元 / 亿元.  Exact with ``Fraction``; the answer is a quantity ``3500 m``.

Conversions whose factor is not a power of ten (time to a larger unit) are drawn by their
result, so every answer terminates; the rest are drawn by the given value.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from datagen.families.forms import number
from datagen.families.radicals import constant, digit_axis
from datagen.family import Axis, ConfigError, Family, Space, check_range, register, signed_axis
from datagen.numbers import pow10

# symbol: (dimension, size in the dimension's smallest unit, zh name, en name)
UNITS = {
    "mm": ("length", 1, "毫米", "mm"), "cm": ("length", 10, "厘米", "cm"), "dm": ("length", 100, "分米", "dm"),
    "m": ("length", 1000, "米", "m"), "km": ("length", 10**6, "千米", "km"),
    "mg": ("mass", 1, "毫克", "mg"), "g": ("mass", 1000, "克", "g"), "kg": ("mass", 10**6, "千克", "kg"),
    "t": ("mass", 10**9, "吨", "t"),
    "mL": ("volume", 1, "毫升", "mL"), "L": ("volume", 1000, "升", "L"),
    "s": ("time", 1, "秒", "seconds"), "min": ("time", 60, "分钟", "minutes"),
    "h": ("time", 3600, "小时", "hours"),
    "d": ("time", 86400, "天", "days"),
    "元": ("currency", 1, "元", "yuan"), "万元": ("currency", 10**4, "万元", "ten-thousand yuan"),
    "亿元": ("currency", 10**8, "亿元", "hundred-million yuan"),
}
DIMENSIONS = ("length", "mass", "volume", "time", "currency")
COMPOUND = (("h", "min"), ("min", "s"), ("d", "h"))

UNIT = {
    "zh": ("{v} {a}等于多少{b}？", "把 {v} {a}换算成{b}。", "{v} {a} = ? {b}"),
    "en": ("How many {b} are in {v} {a}?", "Convert {v} {a} to {b}.", "{v} {a} = ? {b}"),
}
SENTENCE = {"zh": "{v} {a} = {r} {b}", "en": "{v} {a} = {r} {b}"}


def name(symbol: str, lang: str, count: object = None) -> str:
    """The unit's name; an English time unit is singular for a count of 1 (1 hour, 1 minute)."""
    if lang == "zh":
        return UNITS[symbol][2]
    plural = UNITS[symbol][3]
    if str(count) == "1" and UNITS[symbol][0] == "time":
        return plural.removesuffix("s")
    return plural


def answer_unit(symbol: str, lang: str) -> str:
    """The unit an answer is written in: its symbol, or the English name of a currency (no 万元 in English)."""
    return name(symbol, lang) if lang == "en" and UNITS[symbol][0] == "currency" else symbol


@dataclass(frozen=True)
class UnitConfig:
    """digits: integer digits of the drawn value (each size a class per dimension); decimals: its
    decimals; dimensions: which kinds; compound: add the 2 h 15 min -> min class."""

    digits: tuple[int, int] = (1, 3)
    decimals: int = 1
    dimensions: str = "length,mass,volume,time,currency"
    compound: bool = True

    def validate(self) -> None:
        check_range("digits", self.digits, 1, 9)
        if not 0 <= self.decimals <= 4:
            raise ConfigError(f"decimals: {self.decimals} is outside 0-4")
        unknown = [d for d in self.dimensions.split(",") if d not in DIMENSIONS]
        if unknown or not self.dimensions:
            raise ConfigError(f"dimensions: unknown {unknown[0] if unknown else '(none)'!r} "
                              f"(choose from {', '.join(DIMENSIONS)})")


@lru_cache(maxsize=8)
def unit_pairs(dimension: str) -> tuple[tuple[str, str], ...]:
    members = [u for u, spec in UNITS.items() if spec[0] == dimension]
    return tuple((a, b) for a in members for b in members if a != b)


def unit_spaces(cfg: UnitConfig) -> list[Space]:
    out = []
    for dimension in cfg.dimensions.split(","):
        pairs = unit_pairs(dimension)
        for d in range(cfg.digits[0], cfg.digits[1] + 1):
            out.append(Space(f"{dimension}{d}", (constant(cfg.decimals), Axis(len(pairs), pairs.__getitem__),
                                                 signed_axis(d, cfg.decimals, False, nonzero=True)),
                             {"digits": [d], "decimals": cfg.decimals, "dimension": dimension}))
        if dimension == "time" and cfg.compound:
            for big, small in COMPOUND:
                parts = UNITS[big][1] // UNITS[small][1] - 1
                for d in range(cfg.digits[0], cfg.digits[1] + 1):
                    out.append(Space(f"{big}+{small}{d}", (constant("compound"), constant((big, small)),
                                                          digit_axis(d), Axis(parts, lambda t: t + 1)),
                                     {"digits": [d], "dimension": "time", "compound": True}))
    return out


def render_unit(cfg: UnitConfig, values: tuple, lang: str, template: int, style: str) -> dict:
    if values[0] == "compound":
        _, (big, small), whole, part = values
        ratio = UNITS[big][1] // UNITS[small][1]
        total = whole * ratio + part
        given = f"{whole} {name(big, lang, whole)} {part}"
        shown = f"{whole} {name(big, lang, whole)} {part} {name(small, lang, part)}"
        problem = UNIT[lang][template].format(v=given, a=name(small, lang, part), b=name(small, lang))
        answer_value = Fraction(total)
        chain = f"{whole} * {ratio} + {part} = {total}"
        fact = f"1 {name(big, lang, 1)} = {ratio} {name(small, lang)}"
        sentence = f"{shown} = {total} {name(small, lang, total)}"
        operands = [str(whole), big, str(part), small]
        target = small
    else:
        scale, (a, b), u = values
        fa, fb = UNITS[a][1], UNITS[b][1]
        drawn = Fraction(u, pow10(scale))
        by_result = fa < fb and str(fb // fa).rstrip("0") != "1"
        value, result = (drawn * fb / fa, drawn) if by_result else (drawn, drawn * fa / fb)
        v, answer_text = number(value), number(result)
        problem = UNIT[lang][template].format(v=v, a=name(a, lang, v), b=name(b, lang))
        answer_value = result
        if fa > fb:
            ratio = fa // fb
            fact = f"1 {name(a, lang, 1)} = {ratio} {name(b, lang)}"
            chain = f"{v} * {ratio} = {answer_text}"
        else:
            ratio = fb // fa
            fact = f"1 {name(b, lang, 1)} = {ratio} {name(a, lang)}"
            chain = f"{v} / {ratio} = {answer_text}"
        sentence = SENTENCE[lang].format(v=v, a=name(a, lang, v), r=answer_text, b=name(b, lang, answer_text))
        operands = [v, a, b]
        target = b
    answer = f"{number(answer_value)} {answer_unit(target, lang)}"
    if style == "steps":
        solution = f"{fact}\n{chain}\n{sentence}"
    elif style == "bare":
        solution = f"{number(answer_value)} {name(target, lang, number(answer_value))}"
    else:
        solution = sentence
    return {
        "problem": problem,
        "answer": answer,
        "answer_policy": "symbolic",
        "solution": solution,
        "solution_policy": "exact",
        "operands": operands,
    }


register(Family("unit", UnitConfig, unit_spaces, render_unit, UNIT, answer_kind="quantity"))
