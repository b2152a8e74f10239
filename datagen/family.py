"""What every problem family provides, and the registry that finds them.

A family is one file under ``datagen/families``: a frozen config dataclass with
``validate()``, its operand spaces (one per difficulty class), its zh/en phrasings,
a ``render`` function that turns operands into a record, and one ``register`` call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from datagen.errors import UsageError
from datagen.numbers import pow10


class ConfigError(UsageError, ValueError):
    """A configuration a user can fix; the message names the option."""


@dataclass(frozen=True)
class Axis:
    """One operand's value set, addressable by index."""

    size: int
    decode: Callable[[int], Any]


@dataclass(frozen=True)
class Space:
    """A difficulty class: the product of its axes, plus what to report about it."""

    label: str
    axes: tuple[Axis, ...]
    difficulty: dict

    @property
    def size(self) -> int:
        n = 1
        for axis in self.axes:
            n *= axis.size
        return n

    def decode(self, point: int) -> tuple:
        values = []
        for axis in reversed(self.axes):
            point, rest = divmod(point, axis.size)
            values.append(axis.decode(rest))
        values.reverse()
        return tuple(values)


def signed_axis(digits: int, scale: int, negative: bool, nonzero: bool = False) -> Axis:
    """Scaled integers whose integer part has exactly ``digits`` digits (1 digit includes 0)."""
    lo = 0 if digits == 1 else pow10(digits - 1 + scale)
    hi = pow10(digits + scale) - 1
    if nonzero and lo == 0:
        lo = 1
    count = hi - lo + 1
    if not negative:
        return Axis(count, lambda t: lo + t)
    zero = 1 if lo == 0 else 0

    def decode(t: int) -> int:
        return lo + t if t < count else -(lo + zero + t - count)

    return Axis(2 * count - zero, decode)


def range_axis(lo: int, hi: int) -> Axis:
    return Axis(hi - lo + 1, lambda t: lo + t)


def check_range(name: str, value: tuple[int, int], lo: int, hi: int) -> None:
    a, b = value
    if a > b:
        raise ConfigError(f"{name}: minimum {a} is larger than maximum {b}")
    if a < lo or b > hi:
        raise ConfigError(f"{name}: {a}-{b} is outside the allowed {lo}-{hi}")


@dataclass(frozen=True)
class Family:
    name: str
    config: type
    spaces: Callable[[Any], list[Space]]
    render: Callable[..., dict]
    problems: dict[str, Sequence[str]]
    op: str | None = None
    # None: the answer is a number (integer, decimal, p/q); else the form eval.symbolic judges
    answer_kind: str | None = None

    def knobs(self) -> set[str]:
        return {f.name for f in fields(self.config)}


REGISTRY: dict[str, Family] = {}


def register(family: Family) -> Family:
    for lang in ("zh", "en"):
        if len(family.problems.get(lang, ())) < 3:
            raise ValueError(f"family {family.name}: needs three {lang} phrasings")
    REGISTRY[family.name] = family
    return family


FAMILY_ORDER = (
    "add sub mul div pow sqrt linear_eq func_value mean area mass discount growth fraction".split()
)
# the symbolic families (sympy-backed where the mathematics is symbolic); not part of "all"
SYMBOLIC_ORDER = (
    "mixed surd rationalize quadratic linear_system poly_eval poly_expand poly_factor derivative "
    "gcd lcm prime rounding place_value unit percent percent_ratio".split()
)
ALL_FAMILIES = FAMILY_ORDER + SYMBOLIC_ORDER
# names that stand for several families in --types and specs; "all" stays the contest's 14
GROUPS = {"all": FAMILY_ORDER, "contest": FAMILY_ORDER, "symbolic": SYMBOLIC_ORDER}
OPS = {"+": "add", "-": "sub", "*": "mul", "/": "div"}


def expand_types(names) -> list[str]:
    """Family names with groups (all, contest, symbolic) expanded, in order, without repeats.

    Raises ``ConfigError`` naming the first unknown family."""
    out: list[str] = []
    for name in names:
        members = GROUPS.get(name, (name,))
        for member in members:
            if member not in ALL_FAMILIES:
                raise ConfigError(f"types: unknown family {name!r} (choose from {', '.join(ALL_FAMILIES)}, "
                                  f"or a group: {', '.join(GROUPS)})")
            if member not in out:
                out.append(member)
    return out


def load_families() -> dict[str, Family]:
    """Import every family module (each registers itself) and return the registry."""
    from datagen import families  # noqa: F401  (import registers)

    return {name: REGISTRY[name] for name in ALL_FAMILIES}
