"""An independent checker for step-by-step solutions: every relation must hold exactly.

Expressions are parsed here (not with sympify) and evaluated with sympy's exact numbers.
"""

from __future__ import annotations

import re

import sympy

TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|([xy])|(√)|(\*\*|[-+*/^()]))")
RELATION = re.compile(r"\s(=|<|≈)\s")


def parse_expr(text: str, env: dict) -> sympy.Expr:
    tokens = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"cannot parse {text!r} at {pos}")
        pos = m.end()
        num, var, root, op = m.groups()
        if num is not None:
            tokens.append(("num", sympy.Rational(num)))
        elif var:
            if tokens and tokens[-1][0] in ("num", ")"):
                tokens.append(("op", "*"))
            tokens.append(("num", env[var]))
        elif root:
            tokens.append(("op", "√"))
        else:
            tokens.append(("op" if op not in "()" else op, op))
    parser = _Parser(tokens)
    value = parser.expr()
    if parser.i != len(tokens):
        raise ValueError(f"trailing tokens in {text!r}")
    return value


class _Parser:
    def __init__(self, tokens):
        self.t = tokens
        self.i = 0

    def peek(self):
        return self.t[self.i][1] if self.i < len(self.t) else None

    def take(self):
        tok = self.t[self.i]
        self.i += 1
        return tok

    def expr(self):
        value = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()[1]
            rhs = self.term()
            value = value + rhs if op == "+" else value - rhs
        return value

    def term(self):
        value = self.unary()
        while self.peek() in ("*", "/"):
            op = self.take()[1]
            rhs = self.unary()
            value = value * rhs if op == "*" else value / rhs
        return value

    def unary(self):
        if self.peek() == "-":
            self.take()
            return -self.unary()
        if self.peek() == "√":
            self.take()
            return sympy.sqrt(self.power())
        return self.power()

    def power(self):
        base = self.atom()
        if self.peek() == "^":
            self.take()
            return base ** self.unary()
        return base

    def atom(self):
        kind, value = self.take()
        if kind == "num":
            return value
        if kind == "(":
            inner = self.expr()
            assert self.take()[0] == ")"
            return inner
        raise ValueError(f"unexpected token {value!r}")


def decimals_of(text: str) -> int:
    text = text.strip()
    return len(text.split(".")[1]) if "." in text else 0


def check_chain(line: str, env: dict) -> sympy.Expr:
    """Check one chain like 'a = b < c ≈ d'; return the value of its last segment."""
    parts = RELATION.split(line)
    values = [parse_expr(parts[0], env)]
    for rel, seg in zip(parts[1::2], parts[2::2]):
        value = parse_expr(seg, env)
        prev = values[-1]
        if rel == "=":
            assert sympy.simplify(prev - value) == 0, f"false step: {line!r}"
        elif rel == "<":
            assert bool(prev < value), f"false inequality: {line!r}"
        else:
            unit = sympy.Rational(1, 10 ** decimals_of(seg))
            assert abs(sympy.N(prev - value, 60)) < unit, f"bad approximation: {line!r}"
        values.append(value)
    return values[-1]


NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:/\d+)?")


def check_steps(solution: str, env: dict) -> sympy.Expr:
    """Check every line; return the value of the last shown number."""
    last = None
    chain = None
    for line in solution.split("\n"):
        if line.startswith("= "):
            assert chain is not None
            line = chain + " " + line
        if RELATION.search(line) and not re.search(r"[^\x00-\x7f√≈]", line.split(" = ")[0].replace("≈", "")):
            last = check_chain(line, env)
            chain = RELATION.split(line)[-1]
        else:
            numbers = NUMBER.findall(line)
            assert numbers, f"sentence without a number: {line!r}"
            shown = sympy.Rational(numbers[-1])
            assert last is not None and shown == last, f"sentence disagrees with the derivation: {line!r}"
    return last
