"""Step-by-step solution text.  Every line is a chain of true relations.

Lines use ASCII ``+ - * / ^``, ``√``, parentheses, ``=``, ``<`` and ``≈`` (the right
side is the left rounded or truncated to its last shown digit), so a checker can
re-evaluate each one exactly.
"""

from __future__ import annotations

import math
from fractions import Fraction

from datagen.numbers import fixed, pow10


def magnitude(value: Fraction) -> int:
    """floor(log10 |value|) for a nonzero value, exactly."""
    p, q = abs(value.numerator), value.denominator
    m = len(str(p)) - len(str(q))
    if (p * pow10(-m) if m < 0 else p) < (q * pow10(m) if m > 0 else q):
        m -= 1
    return m


def shown_decimals(mag: int, sig: int) -> int:
    """Decimals that keep every integer digit, at least ``sig`` significant digits and at least 2
    decimals; rounding inside the integer part (24472.14 -> 24470) would state a false ``≈``."""
    return max(sig - 1 - mag, 2)


def approximate(value: Fraction, sig: int) -> str:
    """A nonzero inexact value rounded half-even to ``shown_decimals`` decimals."""
    decimals = shown_decimals(magnitude(value), sig)
    return fixed(round(value * pow10(decimals)), decimals)


def approximate_root(radicand: Fraction, sig: int) -> str:
    """The square root of a positive non-square ``radicand``, rounded like ``approximate``."""
    decimals = shown_decimals(magnitude(radicand) // 2, sig)
    p, q = radicand.numerator, radicand.denominator
    scaled = p * q * pow10(2 * decimals)  # sqrt(radicand) * 10**decimals == sqrt(scaled) / q
    floor = math.isqrt(scaled) // q
    # irrational, so never exactly halfway: round up when the root passes floor + 1/2
    up = 4 * scaled > ((2 * floor + 1) * q) ** 2
    return fixed(floor + up, decimals)


def paren(text: str) -> str:
    return f"({text})" if text.startswith("-") else text


def sum_chain(a: int, b: int, scale: int, op: str) -> str:
    """Sign normalisation for a ± b (scaled integers), ending at the exact result."""
    x, y = a, (b if op == "+" else -b)
    chain = [f"{fixed(a, scale)} {op} {fixed(b, scale)}"]
    ax, ay = fixed(abs(x), scale), fixed(abs(y), scale)
    if x >= 0 and y >= 0:
        step = f"{ax} + {ay}"
    elif x >= 0 > y:
        step = f"{ax} - {ay}" if abs(x) >= abs(y) else f"-({ay} - {ax})"
    elif y >= 0 > x:
        step = f"{ay} - {ax}" if abs(y) >= abs(x) else f"-({ax} - {ay})"
    else:
        step = f"-({ax} + {ay})"
    if step != chain[0]:
        chain.append(step)
    chain.append(fixed(x + y, scale))
    return " = ".join(chain)


def place_values(n: int) -> list[int]:
    """1234 -> [1000, 200, 30, 4] (zero digits skipped)."""
    digits = str(n)
    width = len(digits)
    return [int(d) * pow10(width - 1 - i) for i, d in enumerate(digits) if d != "0"]


def goat_product(a: int, b: int) -> list[str]:
    """Goat-style a * b for non-negative integers: split the shorter factor by place value."""
    if a == 0 or b == 0:
        return [f"{a} * {b} = 0"]
    big, small = (a, b) if len(str(a)) >= len(str(b)) else (b, a)
    parts = place_values(small)
    if len(parts) == 1:
        return [f"{big} * {small} = {big * small}"]
    lines = [f"{big} * {small} = {big} * ({' + '.join(map(str, parts))})"]
    products = [big * p for p in parts]
    lines.append("= " + " + ".join(map(str, products)))
    total = products[0]
    for k in range(1, len(products)):
        total += products[k]
        lines.append("= " + " + ".join(map(str, [total, *products[k + 1:]])))
    return lines


def long_division(n: int, d: int, sig: int) -> tuple[list[str], str, bool]:
    """Long division of non-negative n by positive d.

    Returns the lines ``dividend = q * d + r``, the quotient text (truncated after at
    least ``sig`` significant digits and 2 decimals), and whether it is exact.
    """
    q, r = divmod(n, d)
    lines = [f"{n} = {q} * {d} + {r}"]
    int_text = str(q)
    significant = len(int_text) if q else 0
    frac = []
    while r and (significant < sig or len(frac) < 2):
        r10 = r * 10
        digit, r = divmod(r10, d)
        lines.append(f"{r10} = {digit} * {d} + {r}")
        frac.append(str(digit))
        if significant or digit:
            significant += 1
    text = int_text + ("." + "".join(frac) if frac else "")
    return lines, text, r == 0
