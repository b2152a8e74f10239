"""Re-solve a problem from its text: find the family and operands, compute the exact answer.

Works for every phrasing the generator writes (the contest's own first), so the audit of
the contest file, the held-out splits and the scorer all share one exact engine.  The
text is only matched with regular expressions and parsed as numbers: nothing is evaluated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

from datagen.family import Family, Undefined, load_families
from datagen.numbers import exact_answer, plain

NUMBER = r"[-+]?\d+(?:\.\d+)?"
BRACKETED = rf"\(\s*{NUMBER}\s*\)|{NUMBER}"
FIELD = {
    "data": r"(?P<data>\[\s*[-+]?\d+(?:\.\d+)?(?:\s*,\s*[-+]?\d+(?:\.\d+)?)*\s*\])",
    "p": rf"(?P<p>{BRACKETED})",
    "pb": rf"(?P<pb>{BRACKETED})",
    # ax + b = 0 in any sign notation: 1x + -8 = 0, x - 8 = 0, -x + 2.5 = 0
    "eq": rf"(?P<ea>[-+]?(?:\d+(?:\.\d+)?)?)\s*x\s*(?P<eop>[-+])\s*(?P<eb>{BRACKETED})\s*=\s*0",
    # y = ax^n: y = -1x^3, y = -x^3, y = 5x
    "fn": r"y\s*=\s*(?P<fa>[-+]?(?:\d+(?:\.\d+)?)?)\s*x(?:\s*\^\s*(?P<fe>\d+))?",
}
# the contest's notation inside a phrasing is read by the flexible fields above
FLEXIBLE = {"{a}x + {b} = 0": "{eq}", "y = {a}x^{n}": "{fn}"}
YUAN_PER_WAN = 10_000
# numbers longer than this, or powers whose result would be, are refused rather than computed
MAX_DIGITS = 1_000
MAX_RESULT_DIGITS = 4_000
LONG_NUMBER = re.compile(rf"\d{{{MAX_DIGITS + 1},}}")


class TooLarge(ValueError):
    """A problem whose numbers are too long to solve safely; the message says which."""


@dataclass(frozen=True)
class Solved:
    type: str
    operands: tuple[str, ...]
    answer: str
    answer_policy: str  # "exact", or "sig40" for irrational square roots
    value: Fraction | None  # the exact value when rational

    @property
    def key(self) -> tuple:
        """Canonical form: family + operand values, whatever the wording or language."""
        return canonical_key(self.type, self.operands)


def canonical_number(text: str) -> str:
    stripped = text.strip("()").lstrip("+")
    try:
        return exact_answer(Fraction(stripped))
    except (ValueError, ZeroDivisionError):
        if EXPRESSION_CHARS.search(text):
            return canonical_expression(text)
        return stripped


# an operand that is an expression or a polynomial (the symbolic families), not a number
EXPRESSION_CHARS = re.compile(r"[\s*/^√()x]")
DECIMAL_IN_TEXT = re.compile(r"\d+\.\d+")


def canonical_expression(text: str) -> str:
    """An expression's canonical form: no spaces, decimals without trailing zeros (12.50 -> 12.5)."""
    compact = "".join(text.split())
    return DECIMAL_IN_TEXT.sub(lambda m: exact_answer(Fraction(m.group())), compact)


def canonical_key(family: str, operands) -> tuple:
    return (family, *(canonical_number(op) for op in operands))


def _regex(template: str, embedded: bool = False) -> re.Pattern:
    """A phrasing as a regex: spaces optional, the final punctuation optional.

    ``embedded``: to find the phrasing inside other text; a number never starts or ends
    inside a longer number.
    """
    for contest, flexible in FLEXIBLE.items():
        template = template.replace(contest, flexible)
    out, pos = [r"(?<![\d.])" if embedded else r"\s*"], 0
    for m in re.finditer(r"\{(\w+)\}", template):
        literal = template[pos:m.start()]
        out.append(r"\s*".join(re.escape(part) for part in literal.split(" ")))
        name = m.group(1)
        out.append(FIELD.get(name, f"(?P<{name}>{NUMBER})"))
        pos = m.end()
    literal = template[pos:].rstrip("。.？?")
    out.append(r"\s*".join(re.escape(part) for part in literal.split(" ")))
    out.append(r"(?!\.?\d)" if embedded else r"\s*[。.？?]?\s*")
    return re.compile("".join(out))


@dataclass(frozen=True)
class Phrasing:
    family: str
    lang: str
    index: int
    template: str
    pattern: re.Pattern
    embedded: re.Pattern


@lru_cache(maxsize=1)
def solver_families() -> dict[str, Family]:
    """The families the re-solver reads from text (those with a value from operands), by name, in order."""
    return {name: family for name, family in load_families().items() if family.value is not None}


@lru_cache(maxsize=1)
def solvable() -> tuple[str, ...]:
    """The families the re-solver reads from text: those with a value from operands, in order."""
    return tuple(solver_families())


@lru_cache(maxsize=1)
def phrasings() -> tuple[Phrasing, ...]:
    """Every phrasing of every solvable family; the contest's own (zh0) come first."""
    families = load_families()
    first, rest = [], []
    for name in solvable():
        fam = families[name]
        for lang in ("zh", "en"):
            for k, template in enumerate(fam.problems[lang]):
                entry = Phrasing(name, lang, k, template, _regex(template), _regex(template, embedded=True))
                (first if (lang, k) == ("zh", 0) else rest).append(entry)
    return tuple(first + rest)


def F(text: str) -> Fraction:
    return Fraction(text.strip("()").lstrip("+"))


def _unbracketed(text: str) -> str:
    return text.strip().strip("()").strip()


def _coefficient(text: str) -> str:
    text = text.lstrip("+")
    return {"": "1", "-": "-1"}.get(text, text)


def _negated(text: str) -> str:
    text = _unbracketed(text).lstrip("+")
    return text[1:] if text.startswith("-") else "-" + text


def _normalised(family: str, ops: dict) -> dict:
    """The matched fields under the names of the family's ``fields``, as signed number strings."""
    ops = {k: v.strip() for k, v in ops.items() if v is not None}
    if "pb" in ops:
        ops["b"] = _unbracketed(ops.pop("pb"))
    if family == "pow" and "a" not in ops:
        ops["a"] = _unbracketed(ops.pop("p"))
    if "eop" in ops:
        ops["a"] = _coefficient(ops.pop("ea", ""))
        b = ops.pop("eb")
        ops["b"] = _unbracketed(b) if ops.pop("eop") == "+" else _negated(b)
    if "fa" in ops:
        ops["a"] = _coefficient(ops.pop("fa"))
        ops["n"] = ops.pop("fe", "1")
    if "yuan" in ops:
        ops["s"] = exact_answer(F(ops["yuan"]) / YUAN_PER_WAN)
    return ops


def exact(operand: str | int) -> Fraction:
    """An operand (or an integer constant of a family's formula) as an exact number."""
    return Fraction(operand) if isinstance(operand, int) else F(operand)


def _operands(family: Family, ops: dict) -> tuple[str, ...]:
    """The family's fields in order; a bracketed list (``data``) gives each of its numbers."""
    out: list[str] = []
    for name in family.fields:
        if name == "data":
            out.extend(v.strip() for v in ops["data"].strip("[] ").split(","))
        else:
            out.append(ops[name])
    return tuple(out)


def _check_result_size(family: Family, operands: tuple[str, ...]) -> None:
    if family.result_digits is None:
        return
    digits = family.result_digits(operands)
    if digits > MAX_RESULT_DIGITS:
        raise TooLarge(f"{family.name}: the result would have about {digits:,} digits "
                       f"(limit {MAX_RESULT_DIGITS:,})")


def solve_fields(family: str, ops: dict, phrasing: Phrasing | None = None) -> Solved | None:
    """The exact answer from a phrasing's matched fields (None if undefined, e.g. x/0).

    Raises TooLarge for a power whose result would be too long to compute.
    """
    owner = solver_families()[family]
    ops = _normalised(family, ops)
    operands = _operands(owner, ops)
    _check_result_size(owner, operands)
    lang, template = (phrasing.lang, phrasing.index) if phrasing is not None else ("zh", 0)
    try:
        value = owner.value(operands, exact, lang, template)
    except (ZeroDivisionError, Undefined):
        return None
    if isinstance(value, Decimal):  # irrational: the value to 40 significant digits
        return Solved(family, operands, plain(value), "sig40", None)
    return Solved(family, operands, owner.answer_text(value), "exact", value)


def check_size(text: str) -> None:
    """Raise TooLarge when ``text`` holds a number longer than MAX_DIGITS digits."""
    long = LONG_NUMBER.search(text)
    if long:
        run = re.match(r"\d+", text[long.start():]).group()
        raise TooLarge(f"a number with {len(run):,} digits (limit {MAX_DIGITS:,})")


def solve(problem: str) -> Solved | None:
    """Match ``problem`` against every known phrasing and solve it exactly; None if unknown.

    Raises TooLarge when a number, or a power's result, is too long to handle.
    """
    text = problem.strip()
    check_size(text)
    for phrasing in phrasings():
        m = phrasing.pattern.fullmatch(text)
        if m:
            return solve_fields(phrasing.family, m.groupdict(), phrasing)
    return None
