"""What every problem family provides, and the registry that finds them.

A family is one file under ``datagen/families``: a frozen config dataclass with
``validate()``, its operand spaces (one per difficulty class), its zh/en phrasings,
a ``render`` function that turns operands into a record, and one ``register`` call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from fractions import Fraction
from functools import lru_cache
from typing import Any

from datagen.errors import UsageError
from datagen.numbers import exact_answer, pow10


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


GROUP_NAMES = ("contest", "symbolic")
# "all" names the contest's families, for --types and specs written before the symbolic ones existed
GROUP_ALIASES = {"all": "contest"}


class Undefined(ValueError):
    """Operands for which a family's value does not exist (x / 0, the square root of a negative)."""


@dataclass(frozen=True)
class Family:
    """One problem family.  Besides generating (config, spaces, render, problems), it says:

    * ``group``: ``contest`` (the contest's 14, in "all") or ``symbolic``;
    * ``op``: the operator character ``--ops`` selects it by, if any;
    * ``answer_kind``: None when the answer is a number (integer, decimal, p/q), else the form
      eval.symbolic judges (and the reversed style refuses);
    * ``fields`` and ``value``: for the re-solver (datagen/solve.py), which reads the phrasing's fields
      named in ``fields`` from a text (``data`` is a bracketed list) and asks ``value(operands, num,
      lang, template)`` for the exact value.  ``num`` turns an operand string or an integer constant into
      a number: written once, the formula gives the exact value with Fractions and the contest's float
      error with curricula.contest's doubles.  A ``Decimal`` value is an irrational one to 40 digits;
    * ``answer_text``: how an exact value is written as the answer;
    * ``result_digits``: about how many digits the value of these operands has, where that can be more
      than is safe to compute (powers); the re-solver refuses such a problem;
    * ``floats``: the contest computed this family's solutions in IEEE doubles (942.0 克);
    * ``notations``: word sets whose presence in a text means the family's bare notation may be there
      (``√``, ``^``): the leak scan reads them.
    """

    name: str
    config: type
    spaces: Callable[[Any], list[Space]]
    render: Callable[..., dict]
    problems: dict[str, Sequence[str]]
    op: str | None = None
    answer_kind: str | None = None
    group: str = "symbolic"
    fields: tuple[str, ...] = ()
    value: Callable[..., Any] | None = None
    answer_text: Callable[[Fraction], str] = exact_answer
    result_digits: Callable[[tuple[str, ...]], int] | None = None
    floats: bool = False
    notations: tuple[tuple[str, ...], ...] = ()

    def knobs(self) -> set[str]:
        return {f.name for f in fields(self.config)}

    def extrapolate(self, config):
        """A config for numbers beyond the training range, or None: the config's own ``extrapolate()``
        (more terms, a higher degree, ...), else every ``*digits`` range moved past its maximum."""
        if hasattr(config, "extrapolate"):
            return config.extrapolate()
        changes = {}
        for name in config.__dataclass_fields__:
            value = getattr(config, name)
            if name.endswith("digits") and isinstance(value, tuple):
                changes[name] = (value[1] + 1, value[1] + 2)
        return replace(config, **changes) if changes else None


REGISTRY: dict[str, Family] = {}


def register(family: Family) -> Family:
    """Add ``family`` to the registry (registration order is the order of every family table)."""
    if family.name in REGISTRY or family.name in GROUP_NAMES or family.name in GROUP_ALIASES:
        raise ValueError(f"family {family.name}: the name is taken (a family or group of that name exists)")
    if family.group not in GROUP_NAMES:
        raise ValueError(f"family {family.name}: unknown group {family.group!r} (choose from {GROUP_NAMES})")
    for lang in ("zh", "en"):
        if len(family.problems.get(lang, ())) < 3:
            raise ValueError(f"family {family.name}: needs three {lang} phrasings")
    REGISTRY[family.name] = family
    return family


def load_families() -> dict[str, Family]:
    """Import every family module (each registers itself) and return the registry, in order."""
    from datagen import families  # noqa: F401  (import registers)

    return dict(REGISTRY)


@lru_cache(maxsize=1)
def _tables() -> dict[str, Any]:
    registry = load_families()
    members = {group: [name for name, f in registry.items() if f.group == group] for group in GROUP_NAMES}
    groups = {alias: members[group] for alias, group in GROUP_ALIASES.items()} | members
    return {
        "FAMILY_ORDER": members["contest"],
        "SYMBOLIC_ORDER": members["symbolic"],
        "ALL_FAMILIES": list(registry),
        "GROUPS": groups,
        "OPS": {f.op: name for name, f in registry.items() if f.op},
    }


def __getattr__(name: str):
    """The family tables, derived from the registry when first asked for (the families register on
    import, and import this module): FAMILY_ORDER (the contest's, in "all"), SYMBOLIC_ORDER,
    ALL_FAMILIES, GROUPS (group or alias -> members) and OPS (operator -> family)."""
    if name.startswith("__"):  # the import system asks for __path__ while the families import this
        raise AttributeError(name)
    tables = _tables()
    if name in tables:
        return tables[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def expand_types(names) -> list[str]:
    """Family names with groups (all, contest, symbolic) expanded, in order, without repeats.

    Raises ``ConfigError`` naming the first unknown family."""
    tables = _tables()
    groups, known = tables["GROUPS"], tables["ALL_FAMILIES"]
    out: list[str] = []
    for name in names:
        members = groups.get(name, (name,))
        for member in members:
            if member not in known:
                raise ConfigError(f"types: unknown family {name!r} (choose from {', '.join(known)}, "
                                  f"or a group: {', '.join(groups)})")
            if member not in out:
                out.append(member)
    return out
