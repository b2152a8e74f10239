"""Text forms shared by the symbolic families: polynomials, radicals, signed numbers, root pairs.

Every form here is the canonical answer grammar that ``eval.symbolic`` parses back: ASCII
``+ - * / ^``, ``√`` before an integer or a parenthesis, implicit products (``3x^2``,
``(x - 1)(x + 2)``, ``2√3``), the variable ``x`` (``y`` in systems).  Not a family module.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache

from datagen.numbers import exact_answer


def number(value: Fraction | int) -> str:
    """An exact value as an answer: integer, terminating decimal or reduced p/q."""
    return exact_answer(Fraction(value))


def operand(value: Fraction | int) -> str:
    """A value inside an expression: negatives and non-terminating fractions in parentheses."""
    text = number(value)
    return f"({text})" if text.startswith("-") or "/" in text else text


def monomial(coef: int, power: int, var: str = "x") -> str:
    """|coef| x^power without its sign: 3x^2, x, 5 (coef 1 is implied before a variable)."""
    c = abs(coef)
    if power == 0:
        return str(c)
    head = "" if c == 1 else str(c)
    return f"{head}{var}" if power == 1 else f"{head}{var}^{power}"


def poly_text(coeffs: list[int] | tuple[int, ...], var: str = "x") -> str:
    """Descending coefficients as ``3x^3 - 2x^2 + x - 5`` (zero terms left out; zero is "0")."""
    degree = len(coeffs) - 1
    parts: list[str] = []
    for k, c in enumerate(coeffs):
        if c == 0:
            continue
        body = monomial(c, degree - k, var)
        if not parts:
            parts.append(("-" if c < 0 else "") + body)
        else:
            parts.append(("- " if c < 0 else "+ ") + body)
    return " ".join(parts) if parts else "0"


def strip_leading_zeros(coeffs) -> list[int]:
    out = list(coeffs)
    while len(out) > 1 and out[0] == 0:
        out.pop(0)
    return out


def linear_factor(a: int, b: int, var: str = "x") -> str:
    """(a x + b) in parentheses, or a bare ``x`` when it is x itself."""
    if b == 0 and a == 1:
        return var
    return f"({poly_text([a, b], var)})"


def factored_text(content: int, factors: list[tuple[int, int]], var: str = "x") -> str:
    """content * product of linear factors (a, b) = (ax + b), equal ones gathered as powers."""
    counted: list[tuple[tuple[int, int], int]] = []
    for f in factors:
        if counted and counted[-1][0] == f:
            counted[-1] = (f, counted[-1][1] + 1)
        else:
            counted.append((f, 1))
    body = "".join(linear_factor(a, b, var) + (f"^{n}" if n > 1 else "") for (a, b), n in counted)
    if content == 1:
        return body
    if content == -1:
        return "-" + body
    return f"{content}{body}"


def surd_text(p: int, q: int, m: int, r: int) -> str:
    """(p + q√m) / r in lowest terms (gcd(p, q, r) = 1, r > 0, m squarefree > 1)."""
    if q == 0:
        return number(Fraction(p, r))
    radical = ("" if abs(q) == 1 else str(abs(q))) + f"√{m}"
    if p == 0:
        head = ("-" if q < 0 else "") + radical
        return head if r == 1 else f"{head}/{r}"
    body = f"{p} {'-' if q < 0 else '+'} {radical}"
    return body if r == 1 else f"({body})/{r}"


def reduce_surd(p: int, q: int, m: int, r: int) -> tuple[int, int, int, int]:
    """(p + q√m)/r with the common factor removed and r made positive."""
    g = math.gcd(math.gcd(p, q), r) or 1
    if r < 0:
        g = -g
    return p // g, q // g, m, r // g


@lru_cache(maxsize=16)
def squarefree(lo: int, hi: int) -> tuple[int, ...]:
    """Squarefree integers in [lo, hi], at least 2."""
    flags = bytearray([1]) * (hi + 1)
    d = 2
    while d * d <= hi:
        for multiple in range(d * d, hi + 1, d * d):
            flags[multiple] = 0
        d += 1
    return tuple(n for n in range(max(lo, 2), hi + 1) if flags[n])


def pair_decode(index: int) -> tuple[int, int]:
    """The index-th pair i < j in the order (0,1), (0,2), (1,2), (0,3), ... (a bijection)."""
    j = (1 + math.isqrt(1 + 8 * index)) // 2
    while j * (j - 1) // 2 > index:
        j -= 1
    while (j + 1) * j // 2 <= index:
        j += 1
    return index - j * (j - 1) // 2, j


def multiset_decode(index: int, n: int, k: int) -> list[int]:
    """The index-th non-decreasing k-tuple over range(n), lexicographic (combinatorial number system)."""
    out, low = [], 0
    for slot in range(k, 0, -1):
        for v in range(low, n):
            # tuples that start with v in this slot: multisets of size slot - 1 over [v, n)
            count = math.comb(n - v + slot - 2, slot - 1)
            if index < count:
                out.append(v)
                low = v
                break
            index -= count
    return out


def multiset_count(n: int, k: int) -> int:
    return math.comb(n + k - 1, k)


