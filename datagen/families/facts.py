"""Number facts: gcd and lcm, primality, rounding to a place, place value.

Plain integer and ``Fraction`` arithmetic suffices here except for primality, which is
sympy's ``isprime``.  A gcd/lcm point is (gcd, coprime cofactors), so the answer has the size
the class names and pairs never repeat; primality classes are primes and odd composites
(never multiples of 5) of each size, half and half.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass
from functools import lru_cache

from datagen.families.radicals import constant, digit_axis
from datagen.family import Axis, ConfigError, Family, Space, check_range, register, signed_axis
from datagen.numbers import canonical, fixed, pow10
from datagen.style import styled


@lru_cache(maxsize=1)
def _isprime():
    from sympy import isprime

    return isprime


# --- gcd and lcm --------------------------------------------------------------------------------

GCD = {
    "zh": ("求 {a} 和 {b} 的最大公约数。", "{a} 与 {b} 的最大公因数是多少？", "计算 gcd({a}, {b})。"),
    "en": (
        "What is the greatest common divisor of {a} and {b}?",
        "Find the highest common factor of {a} and {b}.",
        "Calculate gcd({a}, {b}).",
    ),
}
GCD_SENTENCE = {"zh": "最大公约数是 {r}", "en": "The greatest common divisor is {r}"}
LCM = {
    "zh": ("求 {a} 和 {b} 的最小公倍数。", "{a} 与 {b} 的最小公倍数是多少？", "计算 lcm({a}, {b})。"),
    "en": (
        "What is the least common multiple of {a} and {b}?",
        "Find the lowest common multiple of {a} and {b}.",
        "Calculate lcm({a}, {b}).",
    ),
}
LCM_SENTENCE = {"zh": "最小公倍数是 {r}", "en": "The least common multiple is {r}"}


@dataclass(frozen=True)
class DivisorConfig:
    """digits: digits of the gcd (each size a class); cofactor_max: largest coprime cofactor."""

    digits: tuple[int, int] = (1, 2)
    cofactor_max: int = 50

    def validate(self) -> None:
        check_range("digits", self.digits, 1, 9)
        if not 2 <= self.cofactor_max <= 2000:
            raise ConfigError(f"cofactor_max: {self.cofactor_max} is outside 2-2000")


@lru_cache(maxsize=8)
def coprime_pairs(limit: int) -> tuple[tuple[int, int], ...]:
    return tuple((p, q) for q in range(2, limit + 1) for p in range(1, q) if math.gcd(p, q) == 1)


def divisor_spaces(cfg: DivisorConfig) -> list[Space]:
    pairs = coprime_pairs(cfg.cofactor_max)
    return [
        Space(f"{d}", (digit_axis(d), Axis(len(pairs), pairs.__getitem__)), {"digits": [d]})
        for d in range(cfg.digits[0], cfg.digits[1] + 1)
    ]


def euclid_lines(a: int, b: int) -> list[str]:
    """b = q * a + r, down to remainder 0 (a < b)."""
    lines = []
    while a:
        q, r = divmod(b, a)
        lines.append(f"{b} = {q} * {a} + {r}")
        a, b = r, a
    return lines


def divisor_render(which: str):
    texts, sentence = (GCD, GCD_SENTENCE) if which == "gcd" else (LCM, LCM_SENTENCE)

    def render(cfg: DivisorConfig, values: tuple, lang: str, template: int, style: str) -> dict:
        g, (p, q) = values
        a, b = g * p, g * q
        gcd = math.gcd(a, b)
        value = gcd if which == "gcd" else a * b // gcd
        answer = str(value)

        def steps() -> str:
            lines = euclid_lines(a, b)
            if which == "lcm":
                lines.append(f"{a} * {b} / {gcd} = {a * b} / {gcd} = {value}")
            lines.append(sentence[lang].format(r=answer))
            return "\n".join(lines)

        solution, policy = styled(style, bare=answer, contest=sentence[lang].format(r=answer), steps=steps)
        return {
            "problem": texts[lang][template].format(a=a, b=b),
            "answer": answer,
            "answer_policy": "exact",
            "solution": solution,
            "solution_policy": policy,
            "operands": [str(a), str(b)],
        }

    return render


class GcdConfig(DivisorConfig):
    """Greatest common divisor of g*p and g*q."""


class LcmConfig(DivisorConfig):
    """Least common multiple of g*p and g*q."""


register(Family("gcd", GcdConfig, divisor_spaces, divisor_render("gcd"), GCD))
register(Family("lcm", LcmConfig, divisor_spaces, divisor_render("lcm"), LCM))

# --- primality ----------------------------------------------------------------------------------

PRIME = {
    "zh": ("{n} 是质数吗？", "判断 {n} 是不是质数。", "{n} 是否为素数？"),
    "en": ("Is {n} a prime number?", "Is {n} prime?", "Determine whether {n} is prime."),
}
PRIME_SENTENCE = {
    "zh": ("{n} 不是质数", "{n} 是质数"),
    "en": ("{n} is not prime", "{n} is prime"),
}
PRIME_BARE = {"zh": ("否", "是"), "en": ("no", "yes")}


@dataclass(frozen=True)
class PrimeConfig:
    """digits: digits of n (each size a class, primes and odd composites not divisible by 5)."""

    digits: tuple[int, int] = (2, 5)

    def validate(self) -> None:
        check_range("digits", self.digits, 2, 7)

    def extrapolate(self) -> PrimeConfig:
        top = min(self.digits[1] + 1, 7)
        return PrimeConfig(digits=(top, top))


@lru_cache(maxsize=8)
def sieve_split(digits: int) -> tuple[array, array]:
    """(primes, odd composites not divisible by 5) with exactly ``digits`` digits."""
    lo, hi = pow10(digits - 1), pow10(digits) - 1
    flags = bytearray([1]) * (hi + 1)
    flags[0] = flags[1] = 0
    for d in range(2, math.isqrt(hi) + 1):
        if flags[d]:
            flags[d * d::d] = bytes(len(range(d * d, hi + 1, d)))
    primes = array("I", (n for n in range(lo, hi + 1) if flags[n]))
    composites = array("I", (n for n in range(lo | 1, hi + 1, 2) if not flags[n] and n % 5))
    return primes, composites


def prime_spaces(cfg: PrimeConfig) -> list[Space]:
    out = []
    for d in range(cfg.digits[0], cfg.digits[1] + 1):
        primes, composites = sieve_split(d)
        out.append(Space(f"{d}p", (Axis(len(primes), primes.__getitem__),), {"digits": [d], "prime": True}))
        out.append(Space(f"{d}c", (Axis(len(composites), composites.__getitem__),),
                         {"digits": [d], "prime": False}))
    return out


def smallest_factor(n: int) -> int:
    for p in (2, 3):
        if n % p == 0:
            return p
    d = 5
    while d * d <= n:
        if n % d == 0:
            return d
        if n % (d + 2) == 0:
            return d + 2
        d += 6
    return n


@lru_cache(maxsize=4096)
def trial_primes(limit: int) -> list[int]:
    return [p for p in range(2, limit + 1) if smallest_factor(p) == p]


def render_prime(cfg: PrimeConfig, values: tuple, lang: str, template: int, style: str) -> dict:
    (n,) = values
    prime = bool(_isprime()(n))
    answer = "yes" if prime else "no"
    sentence = PRIME_SENTENCE[lang][prime].format(n=n)

    def steps() -> str:
        if prime:
            r = math.isqrt(n)
            divisions = " = ".join(f"{p} * {n // p} + {n % p}" for p in trial_primes(r))
            lines = [f"{r}^2 = {r * r} ≤ {n} < {(r + 1) ** 2} = {r + 1}^2", f"{n} = {divisions}", sentence]
        else:
            p = smallest_factor(n)
            lines = [f"{n} = {p} * {n // p}", sentence]
        return "\n".join(lines)

    solution, policy = styled(style, bare=PRIME_BARE[lang][prime], contest=sentence, steps=steps)
    return {
        "problem": PRIME[lang][template].format(n=n),
        "answer": answer,
        "answer_policy": "symbolic",
        "solution": solution,
        "solution_policy": policy,
        "operands": [str(n)],
    }


register(Family("prime", PrimeConfig, prime_spaces, render_prime, PRIME, answer_kind="boolean"))

# --- rounding -----------------------------------------------------------------------------------

ZH_PLACES = {0: "个位", 1: "十位", 2: "百位", 3: "千位", 4: "万位", 5: "十万位", 6: "百万位", 7: "千万位",
             8: "亿位", -1: "十分位", -2: "百分位", -3: "千分位", -4: "万分位", -5: "十万分位", -6: "百万分位"}
EN_NEAREST = {0: "the nearest whole number", 1: "the nearest ten", 2: "the nearest hundred",
              3: "the nearest thousand", 4: "the nearest ten thousand", 5: "the nearest hundred thousand",
              6: "the nearest million", 7: "the nearest ten million", 8: "the nearest hundred million"}
EN_DECIMALS = {1: "one decimal place", 2: "two decimal places", 3: "three decimal places",
               4: "four decimal places", 5: "five decimal places", 6: "six decimal places"}
ROUND = {
    "zh": ("把 {n} 四舍五入到{place}。", "将 {n} 精确到{place}（四舍五入）。", "{n} 四舍五入到{place}约是多少？"),
    "en": ("Round {n} to {place}.", "What is {n} rounded to {place}?", "Round {n} to {place}, halves up."),
}


def place_name(lang: str, k: int) -> str:
    if lang == "zh":
        return ZH_PLACES[k]
    return EN_NEAREST[k] if k >= 0 else EN_DECIMALS[-k]


@dataclass(frozen=True)
class RoundingConfig:
    """digits: integer digits of n (each size a class); decimals: decimals of n (<= 6)."""

    digits: tuple[int, int] = (1, 4)
    decimals: int = 3
    negative: bool = False

    def validate(self) -> None:
        check_range("digits", self.digits, 1, 9)
        if not 0 <= self.decimals <= 6:
            raise ConfigError(f"decimals: {self.decimals} is outside 0-6")
        if self.digits[0] == 1 and self.decimals == 0:
            raise ConfigError("digits: 1-digit integers have no place to round to; raise digits or decimals")


def rounding_places(digits: int, decimals: int) -> tuple[int, ...]:
    """Places with at least one digit of n below them: 10^(digits-1) down to 10^-(decimals-1)."""
    return tuple(k for k in range(digits - 1, -decimals, -1) if k > -7)


def rounding_spaces(cfg: RoundingConfig) -> list[Space]:
    out = []
    for d in range(cfg.digits[0], cfg.digits[1] + 1):
        places = rounding_places(d, cfg.decimals)
        if not places:
            continue
        out.append(Space(f"{d}", (constant(cfg.decimals), Axis(len(places), places.__getitem__),
                                  signed_axis(d, cfg.decimals, cfg.negative, nonzero=True)),
                         {"digits": [d], "decimals": cfg.decimals}))
    return out


def round_half_away(u: int, scale: int, place: int) -> int:
    """u / 10^scale rounded to a multiple of 10^place, halves away from zero; as units of 10^-scale."""
    step = pow10(scale + place)
    q, r = divmod(abs(u), step)
    if 2 * r >= step:
        q += 1
    return (q * step) * (1 if u >= 0 else -1)


def render_rounding(cfg: RoundingConfig, values: tuple, lang: str, template: int, style: str) -> dict:
    s, place, u = values
    n = fixed(u, s)
    v = round_half_away(u, s, place)
    shown_scale = max(-place, 0)
    shown = fixed(v // pow10(s - shown_scale), shown_scale)
    answer = shown  # the place's trailing zeros are part of the rounding: 2.10 to the hundredths
    sentence = f"{n} ≈ {shown}"
    if style == "steps":
        diff = v - u
        half = canonical(5 * pow10(s + place - 1), s)
        gap = fixed(abs(diff), s)
        relation = "<" if 2 * abs(diff) < pow10(s + place) or diff == 0 else "≤"
        if diff <= 0:
            lines = [f"{n} = {shown} + {gap}"]
        else:
            lines = [f"{n} = {shown} - {gap}"]
        lines.append(f"{gap} {relation} {half}")
        lines.append(sentence)
        solution = "\n".join(lines)
    elif style == "bare":
        solution = shown
    else:
        solution = sentence
    return {
        "problem": ROUND[lang][template].format(n=n, place=place_name(lang, place)),
        "answer": answer,
        "answer_policy": "exact",
        "solution": solution,
        "solution_policy": "exact",
        "operands": [n, str(place)],
    }


register(Family("rounding", RoundingConfig, rounding_spaces, render_rounding, ROUND))

# --- place value --------------------------------------------------------------------------------

EN_PLACE = {0: "ones", 1: "tens", 2: "hundreds", 3: "thousands", 4: "ten-thousands", 5: "hundred-thousands",
            6: "millions", 7: "ten-millions", 8: "hundred-millions", -1: "tenths", -2: "hundredths",
            -3: "thousandths", -4: "ten-thousandths"}
PLACE_VALUE = {
    "zh": ("{n} 的{place}上的数字是几？", "在 {n} 中，{place}上是数字几？", "写出 {n} 的{place}上的数字。"),
    "en": (
        "What is the {place} digit of {n}?",
        "Which digit is in the {place} place of {n}?",
        "In {n}, what digit is in the {place} place?",
    ),
}
PLACE_SENTENCE = {"zh": "{place}上的数字是 {r}", "en": "The {place} digit is {r}"}


@dataclass(frozen=True)
class PlaceValueConfig:
    """digits: integer digits of n (each size a class); decimals: its decimals (<= 4)."""

    digits: tuple[int, int] = (3, 6)
    decimals: int = 0

    def validate(self) -> None:
        check_range("digits", self.digits, 1, 9)
        if not 0 <= self.decimals <= 4:
            raise ConfigError(f"decimals: {self.decimals} is outside 0-4")


def place_spaces(cfg: PlaceValueConfig) -> list[Space]:
    out = []
    for d in range(cfg.digits[0], cfg.digits[1] + 1):
        places = tuple(range(d - 1, -cfg.decimals - 1, -1))
        out.append(Space(f"{d}", (constant(cfg.decimals), Axis(len(places), places.__getitem__),
                                  signed_axis(d, cfg.decimals, False, nonzero=True)),
                         {"digits": [d], "decimals": cfg.decimals}))
    return out


@lru_cache(maxsize=64)
def place_unit(k: int) -> str:
    return str(pow10(k)) if k >= 0 else fixed(1, -k)


def expanded_form(u: int, scale: int) -> str:
    """3 * 100 + 4 * 10 + 5 * 1 + 6 * 0.1 (zero digits kept, so every place is named)."""
    text = str(u).rjust(scale + 1, "0")
    width = len(text)
    parts = []
    for i, ch in enumerate(text):
        k = width - 1 - i - scale
        parts.append(f"{ch} * {place_unit(k)}")
    return " + ".join(parts)


def render_place(cfg: PlaceValueConfig, values: tuple, lang: str, template: int, style: str) -> dict:
    s, place, u = values
    n = fixed(u, s)
    digit = (u // pow10(s + place)) % 10
    answer = str(digit)
    name = ZH_PLACES[place] if lang == "zh" else EN_PLACE[place]
    sentence = PLACE_SENTENCE[lang].format(place=name, r=answer)
    solution, policy = styled(
        style, bare=answer, contest=sentence, steps=lambda: f"{n} = {expanded_form(u, s)}\n{sentence}"
    )
    return {
        "problem": PLACE_VALUE[lang][template].format(n=n, place=name),
        "answer": answer,
        "answer_policy": "exact",
        "solution": solution,
        "solution_policy": policy,
        "operands": [n, str(place)],
    }


register(Family("place_value", PlaceValueConfig, place_spaces, render_place, PLACE_VALUE))
