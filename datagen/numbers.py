"""Exact numbers and the named policies that turn them into shown text.

Values travel as scaled integers (``u`` with ``scale`` decimals means u / 10**scale)
or as ``Fraction``; both are exact.  Anything rounded goes through a policy here,
and the policy's name is stored with the record so the scorer can apply it too.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal
from fractions import Fraction

CTX28 = Context(prec=28, rounding=ROUND_HALF_EVEN)
CTX40 = Context(prec=40, rounding=ROUND_HALF_EVEN)

POLICIES = {
    "exact": "the exact value",
    "sig28": "rounded half-even to 28 significant digits, printed as Python's Decimal does "
    "(the contest's default decimal context)",
    "sig40": "rounded half-even to 40 significant digits (stored irrational answers)",
    "float64": "nearest IEEE double, shortest repr (values the contest computed with floats)",
    "float64_eval": "the contest's formula evaluated step by step in IEEE doubles",
}

POW10 = [10**k for k in range(64)]


def pow10(k: int) -> int:
    return POW10[k] if k < 64 else 10**k


def fixed(u: int, scale: int) -> str:
    """u / 10**scale with exactly ``scale`` decimals (1044.40 stays 1044.40)."""
    if scale == 0:
        return str(u)
    q, r = divmod(-u if u < 0 else u, pow10(scale))
    sign = "-" if u < 0 else ""
    return f"{sign}{q}.{r:0{scale}d}"


def canonical(u: int, scale: int) -> str:
    """u / 10**scale with no trailing zeros and no exponent: the record's answer form."""
    while scale and u % 10 == 0:
        u //= 10
        scale -= 1
    return fixed(u, scale)


def terminating_scale(q: int) -> int | None:
    """Decimals needed to write 1/q exactly, or None if 1/q does not terminate."""
    twos = fives = 0
    while q % 2 == 0:
        q //= 2
        twos += 1
    while q % 5 == 0:
        q //= 5
        fives += 1
    return max(twos, fives) if q == 1 else None


def exact_answer(value: Fraction) -> str:
    """Canonical exact answer: integer, terminating decimal, or reduced p/q."""
    p, q = value.numerator, value.denominator
    if q == 1:
        return str(p)
    scale = terminating_scale(q)
    if scale is None:
        return f"{p}/{q}"
    return canonical(p * (pow10(scale) // q), scale)


def plain(value: Decimal) -> str:
    """A Decimal in positional notation (no exponent), as written in answers."""
    text = format(value, "f")
    return "0" if text in ("-0", "0") else text


def sig28(value: Fraction | Decimal) -> str:
    """Round once to 28 significant digits; print as str(Decimal) (E-notation when large)."""
    if isinstance(value, Fraction):
        d = CTX28.divide(Decimal(value.numerator), Decimal(value.denominator))
    else:
        d = CTX28.plus(value)
    return str(d)


def float64(value: Fraction) -> str:
    """Nearest double to the exact value, shortest round-trip repr (Python's float)."""
    return repr(value.numerator / value.denominator)


def reverse_digits(text: str) -> str:
    """Reversed-digit form (Teaching Arithmetic to Small Transformers): the characters after
    the sign reversed as a whole, sign kept in front; -123.45 -> -54.321.  Its own inverse."""
    sign = text[0] if text[:1] in ("-", "+") else ""
    return sign + text[len(sign):][::-1]
