"""An independent reader for the symbolic families' text: sympy's own parser, not eval/symbolic.py.

The text is the generator's (trusted test data), so sympy's ``parse_expr`` may read it once
``√``, ``Δ``, ``^`` and implicit products are rewritten.  ``check_steps`` checks a derivation
line by line: every ``=`` link is an identity (or holds at the solution the caller binds), every
``<``/``≤`` holds, every ``≈`` is within half a unit of the right side's last shown digit.
"""

from __future__ import annotations

import re

import sympy
from sympy.parsing.sympy_parser import (
    convert_xor,
    implicit_multiplication_application,
    parse_expr,
    rationalize,
    standard_transformations,
)

TRANSFORMS = standard_transformations + (implicit_multiplication_application, convert_xor, rationalize)
X, Y = sympy.symbols("x y")
NAMES = {name: sympy.Symbol(name) for name in ("a", "b", "c", "D", "x1", "x2")}
RELATION = re.compile(r"\s(=|<|≤|≈)\s")
WORDS = re.compile(r"[\u3400-\u9fff]|[A-Za-z]{2,}")
PRIME_TERM = re.compile(r"^\((.*)\)'$")


def sym(text: str, env: dict | None = None) -> sympy.Expr:
    """Our notation (3x^2, 2√3, (x - 1)(x + 2), √Δ) as a sympy expression."""
    text = text.strip().replace("Δ", "D").replace("√", "sqrt")
    text = re.sub(r"sqrt(\d+|D)", r"sqrt(\1)", text)
    local = {"x": X, "y": Y, **NAMES, "sqrt": sympy.sqrt}
    value = parse_expr(text, local_dict=local, transformations=TRANSFORMS)
    if env:
        value = value.subs(env)
    return value


def equal(a, b) -> bool:
    return sympy.simplify(sympy.radsimp(a - b)) == 0


def last_digit_unit(text: str) -> sympy.Rational:
    """Half the unit of the last shown nonzero place of a number (12300 -> 50, 3.10 -> 0.005)."""
    text = text.strip()
    if "." in text:
        return sympy.Rational(5, 10 ** (len(text.split(".")[1]) + 1))
    zeros = len(text) - len(text.rstrip("0"))
    return sympy.Rational(5 * 10**zeros, 10)


def segment_value(text: str, env: dict):
    m = PRIME_TERM.match(text.strip())
    if m:
        return sympy.diff(sym(m.group(1)), X)
    return sym(text, env)


def check_chain(chain: str, env: dict, expected: dict) -> None:
    parts = RELATION.split(chain)
    head = parts[0].strip()
    name = head.replace("Δ", "D")
    named = re.fullmatch(r"[a-cD]|x1|x2|f'\(x\)|f\(-?\d+\)|[xy]", name)
    values = []
    if named and (name not in ("x", "y") or name in expected):
        values.append(None)  # a name: its value is what the chain shows (checked against env below)
    else:
        values.append(segment_value(head, env))
    for rel, seg in zip(parts[1::2], parts[2::2]):
        value = segment_value(seg, env)
        prev = values[-1]
        if prev is not None:
            if rel == "=":
                assert equal(prev, value), f"false step {chain!r}"
            elif rel == "<":
                assert bool(prev < value), f"false inequality {chain!r}"
            elif rel == "≤":
                assert bool(prev <= value), f"false inequality {chain!r}"
            else:
                gap = prev - value
                gap = gap if gap.is_Rational else sympy.N(gap, 50)
                assert abs(gap) <= last_digit_unit(seg), f"bad rounding {chain!r}"
        values.append(value)
    if values[0] is None:
        shown = values[-1]
        if name in expected:
            assert equal(expected[name], shown), f"{name} is {expected[name]}, shown {shown}: {chain!r}"
        if name in NAMES:
            env[NAMES[name]] = shown


def check_steps(solution: str, env: dict | None = None, expected: dict | None = None) -> list[str]:
    """Check every relation line; returns the sentence lines (words) for the caller to check.

    ``env`` binds symbols for substitution (x, y at a system's solution); ``expected`` holds
    independently derived values of named results (x1, x2, f'(x), ...) that the steps must reach."""
    env = {} if env is None else env
    expected = {} if expected is None else expected
    sentences = []
    previous_tail = None
    for line in solution.split("\n"):
        if line.startswith("= "):
            assert previous_tail is not None, line
            line = previous_tail + " " + line
        if WORDS.search(line.replace("sqrt", "")) or ":" in line:
            sentences.append(line)
            continue
        chains = [line]
        if re.match(r"^(a = |x1 = )", line) or re.match(r"^[^=]+ = [^=]+, [^=]+ = ", line):
            chains = line.split(", ")
        for chain in chains:
            check_chain(chain, env, expected)
        previous_tail = RELATION.split(line)[-1]
    return sentences
