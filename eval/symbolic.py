"""Judge the symbolic families' answers: radicals, root pairs, systems, polynomials, booleans, units.

The answer text is parsed here by a small recursive-descent parser into a tree, the tree is
checked for the form the question asks for (simplest radical, expanded, fully factored), and
equality is decided with sympy on objects built from the tree.  Nothing is ``sympify``-ed or
evaluated: a prediction is data.  sympy is imported only when a symbolic item is judged.

Rules (strict):

* one rule of *simplest* form for every value (``simplest``): every radicand a squarefree integer
  > 1, no radical in a denominator, and every fraction in lowest terms (``2√13/13``, ``(8 + √6)/3``;
  not ``√54``, ``1/√2``, ``√(6/9)``, ``4√13/26``, ``(16 + 2√6)/6``, ``16/2``);
* ``radical`` (surd, rationalize): equal value, simplest;
* ``roots`` (quadratic): the same two values in any order, each simplest (``x1 = .., x2 = ..``,
  ``x = a 或 x = b``, ``a, b``, ``(p ± q√m)/r``);
* ``system`` (linear_system): ``x = .., y = ..`` (or ``(x, y)``; ``且``/``and`` join them) with both
  values equal and simplest;
* ``expanded`` (poly_expand): the same polynomial, written as a sum of monomials with each power once;
* ``factored`` (poly_factor): the same polynomial, written as a number times integer polynomials that
  are primitive and irreducible over the rationals;
* ``polynomial`` (derivative): the same polynomial, in any form;
* ``boolean`` (prime): the last yes/no verdict (是 / 不是, yes / no, prime / composite ...);
* ``quantity`` (unit): the last number (read as ``eval.extract`` reads numbers: ``3.178e5 m``,
  ``317 800 m``) equals the value exactly; a unit written after it must be the asked unit (any
  alias: 米, m, metres ...).

An exact value before ``≈`` is the value when the decimal after it is its rounding (``15√2 ≈ 21.21``),
and an aside in parentheses at the end of a line is a check, not the answer (``10√2 (≈ 14.14)``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from datagen.family import load_families

SYMBOLIC = "symbolic"
MAX_TEXT = 400  # longer answer regions are never right here, and keep parsing cheap
MAX_DIGITS = 40
MAX_EXPONENT = 64
MAX_NESTING = 8  # LaTeX braces resolved at most this deep


class SymbolicError(ValueError):
    """Text that is not in the answer grammar."""


# --- the expression grammar -----------------------------------------------------------------------

TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|([a-z])|(√)|(\*\*|[-+*/^()]))")
# tree nodes: ("num", Fraction) ("sym", name) ("sqrt", node) ("neg", node) ("add", [nodes])
# ("mul", [nodes]) ("div", num, den) ("pow", base, int)


def tokenize(text: str) -> list[tuple[str, object]]:
    tokens: list[tuple[str, object]] = []
    pos, text = 0, text.strip()
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise SymbolicError(f"unexpected {text[pos:pos + 10]!r}")
        pos = m.end()
        num, sym, root, op = m.groups()
        if num is not None:
            if len(num) > MAX_DIGITS:
                raise SymbolicError("number too long")
            tokens.append(("num", Fraction(num)))
        elif sym is not None:
            tokens.append(("sym", sym))
        elif root:
            tokens.append(("√", "√"))
        else:
            tokens.append(("op", "^" if op == "**" else op))
    return tokens


class Parser:
    def __init__(self, tokens: list) -> None:
        self.t = tokens
        self.i = 0

    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else (None, None)

    def take(self):
        tok = self.peek()
        self.i += 1
        return tok

    def parse(self):
        if not self.t:
            raise SymbolicError("empty")
        node = self.expr()
        if self.i != len(self.t):
            raise SymbolicError(f"unexpected {self.peek()[1]!r}")
        return node

    def expr(self):
        terms = [self.term()]
        while self.peek() in (("op", "+"), ("op", "-")):
            op = self.take()[1]
            rhs = self.term()
            terms.append(rhs if op == "+" else ("neg", rhs))
        return terms[0] if len(terms) == 1 else ("add", terms)

    def starts_atom(self) -> bool:
        kind, value = self.peek()
        return kind in ("num", "sym", "√") or (kind == "op" and value == "(")

    def term(self):
        node = self.unary()
        while True:
            kind, value = self.peek()
            if kind == "op" and value in ("*", "/"):
                self.take()
                rhs = self.unary()
                node = ("div", node, rhs) if value == "/" else mul(node, rhs)
            elif self.starts_atom() and not (kind == "num" and self.t[self.i - 1][0] == "num"):
                node = mul(node, self.power())  # implicit product: 3x, 2√3, (x - 1)(x + 2)
            else:
                return node

    def unary(self):
        kind, value = self.peek()
        if kind == "op" and value in ("-", "+"):
            self.take()
            inner = self.unary()
            return ("neg", inner) if value == "-" else inner
        return self.power()

    def power(self):
        base = self.atom()
        if self.peek() == ("op", "^"):
            self.take()
            sign = 1
            if self.peek() == ("op", "-"):
                raise SymbolicError("negative exponent")
            exponent = unparen(self.atom())  # x^{3} reads x^(3)
            if exponent[0] != "num" or exponent[1].denominator != 1 or not 0 <= exponent[1] <= MAX_EXPONENT:
                raise SymbolicError("exponent must be a small whole number")
            return ("pow", base, sign * int(exponent[1]))
        return base

    def atom(self):
        kind, value = self.take()
        if kind in ("num", "sym"):
            return (kind, value)
        if kind == "√":
            return ("sqrt", self.atom())
        if kind == "op" and value == "(":
            inner = self.expr()
            if self.take() != ("op", ")"):
                raise SymbolicError("unbalanced parenthesis")
            return ("paren", inner)
        raise SymbolicError(f"unexpected {value!r}")


def mul(a, b):
    left = list(a[1]) if a[0] == "mul" else [a]
    return ("mul", left + [b])


def parse(text: str):
    """The tree of one expression in the answer grammar (raises SymbolicError)."""
    if len(text) > MAX_TEXT:
        raise SymbolicError("too long")
    return Parser(tokenize(text)).parse()


def unparen(node):
    while node[0] == "paren":
        node = node[1]
    return node


@lru_cache(maxsize=1)
def _sympy():
    import sympy

    return sympy


def to_sympy(node):
    sp = _sympy()
    kind = node[0]
    if kind == "num":
        return sp.Rational(node[1].numerator, node[1].denominator)
    if kind == "sym":
        return sp.Symbol(node[1])
    if kind == "paren":
        return to_sympy(node[1])
    if kind == "neg":
        return -to_sympy(node[1])
    if kind == "add":
        return sp.Add(*[to_sympy(n) for n in node[1]])
    if kind == "mul":
        return sp.Mul(*[to_sympy(n) for n in node[1]])
    if kind == "div":
        den = to_sympy(node[2])
        if den == 0:
            raise SymbolicError("division by zero")
        return to_sympy(node[1]) / den
    if kind == "pow":
        return to_sympy(node[1]) ** node[2]
    if kind == "sqrt":
        inner = unparen(node[1])
        if inner[0] == "num" and inner[1].denominator == 1 and inner[1] > 10**18:
            raise SymbolicError("radicand too large")
        return sp.sqrt(to_sympy(node[1]))
    raise SymbolicError(kind)


def walk(node):
    yield node
    kind = node[0]
    if kind in ("paren", "neg", "sqrt"):
        yield from walk(node[1])
    elif kind in ("add", "mul"):
        for child in node[1]:
            yield from walk(child)
    elif kind == "div":
        yield from walk(node[1])
        yield from walk(node[2])
    elif kind == "pow":
        yield from walk(node[1])


def squarefree(n: int) -> bool:
    d = 2
    while d * d <= n:
        if n % (d * d) == 0:
            return False
        d += 1
    return True


def simplest_radical(node) -> bool:
    """Every radicand a squarefree integer > 1, no radical in a denominator, no variables."""
    for sub in walk(node):
        if sub[0] == "sym":
            return False
        if sub[0] == "sqrt":
            inner = unparen(sub[1])
            if inner[0] != "num" or inner[1].denominator != 1 or inner[1] < 2 or inner[1] > 10**12:
                return False
            if not squarefree(int(inner[1])):
                return False
        if sub[0] == "div" and any(s[0] == "sqrt" for s in walk(sub[2])):
            return False
    return True


def lowest_terms(node) -> bool:
    """Every fraction reduced: no common factor of a denominator and its numerator's coefficients.

    ``4√13/26``, ``(16 + 2√6)/6`` and ``6/4`` are not in lowest terms; ``2√13/13``, ``(8 + √6)/3``,
    ``(2/13)√13`` and ``3/2`` are.  A numerator with a fraction inside (``(1/2 + √3)/3``) is not.
    """
    from math import gcd

    for sub in walk(node):
        if sub[0] != "div":
            continue
        den = to_sympy(sub[2])
        if not den.is_Integer:
            return False  # a radical (refused by simplest_radical) or a fraction in a denominator
        coefficients = to_sympy(sub[1]).as_coefficients_dict().values()
        if not all(c.is_Integer for c in coefficients):
            return False
        divisor = abs(int(den))
        for c in coefficients:
            divisor = gcd(divisor, int(c))
        if divisor != 1:
            return False
    return True


def simplest(node) -> bool:
    """The one "simplest" rule of every symbolic value (radical, root, system value)."""
    return simplest_radical(node) and lowest_terms(node)


def monomial_degree(node) -> int | None:
    """The degree in x of a monomial c * x^k (None if the node is not a monomial)."""
    node = unparen(node) if node[0] == "paren" and unparen(node)[0] != "add" else node
    kind = node[0]
    if kind == "num":
        return 0
    if kind == "sym":
        return 1 if node[1] == "x" else None
    if kind == "neg":
        return monomial_degree(node[1])
    if kind == "pow":
        return node[2] if node[1] == ("sym", "x") else None
    if kind == "div":
        return monomial_degree(node[1]) if unparen(node[2])[0] == "num" else None
    if kind == "mul":
        degrees = [monomial_degree(n) for n in node[1]]
        if None in degrees or sum(1 for d in degrees if d) > 1:
            return None
        return sum(degrees)
    return None


def expanded(node) -> bool:
    terms = node[1] if node[0] == "add" else [node]
    degrees = [monomial_degree(t) for t in terms]
    return None not in degrees and len(set(degrees)) == len(degrees)


def factors_of(node) -> list:
    node = unparen(node)
    if node[0] == "neg":
        return factors_of(node[1])
    if node[0] == "mul":
        out = []
        for n in node[1]:
            out.extend(factors_of(n))
        return out
    if node[0] == "pow":
        return factors_of(node[1])
    return [node]


def fully_factored(node) -> bool:
    """A number times primitive integer polynomials, each irreducible over the rationals."""
    sp = _sympy()
    x = sp.Symbol("x")
    nonconstant = 0
    for factor in factors_of(node):
        value = to_sympy(factor)
        if not value.has(x):
            continue
        try:
            poly = sp.Poly(value, x)
        except sp.PolynomialError:
            return False
        if poly.degree() < 1 or not all(c.is_Integer for c in poly.all_coeffs()):
            return False
        if abs(poly.content()) != 1 or not poly.is_irreducible:
            return False
        nonconstant += 1
    return nonconstant > 0


def same_value(a, b) -> bool:
    sp = _sympy()
    return sp.expand(a - b) == 0


# --- finding the answer in a model's text ---------------------------------------------------------

# innermost braces first, repeated until none is left: \frac{\sqrt{2}}{2}
NESTED_LATEX = (
    (re.compile(r"\\sqrt\s*\{([^{}]*)\}"), r"√(\1)"),
    (re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}"), r"((\1)/(\2))"),
    (re.compile(r"\^\s*\{([^{}]*)\}"), r"^(\1)"),
)
LATEX = (
    (re.compile(r"\\sqrt\s*(?=[0-9a-z(])"), "√"),  # \sqrt2, \sqrt x
    (re.compile(r"\\(?:cdot|times)"), "*"),
    (re.compile(r"\\pm"), "±"),
    (re.compile(r"_\s*\{?([12])\}?"), r"\1"),
    (re.compile(r"\\(?:left|right)|\$"), ""),
)
CHARACTERS = str.maketrans({"×": "*", "·": "*", "÷": "/", "−": "-", "–": "-", "：": ":", "，": ",", "；": ";",
                            "（": "(", "）": ")", "₁": "1", "₂": "2"})
SQRT_WORD = re.compile(r"sqrt\s*(?=\()")
WORD = re.compile(r"[A-Za-z]{2,}|[^\x00-\x7f√±]+|[A-Za-wz]")
EXPRESSION_RUN = re.compile(r"[-0-9xy√(][0-9xy√+\-*/^().\s]*")


def normalize(text: str) -> str:
    from datagen.eval.extract import normalize as numeric_normalize

    if "\\" in text or "^{" in text:
        for _ in range(MAX_NESTING):
            before = text
            for regex, replacement in NESTED_LATEX:
                text = regex.sub(replacement, text)
            if text == before:
                break
    for regex, replacement in LATEX:
        text = regex.sub(replacement, text)
    text = numeric_normalize(text.translate(CHARACTERS))
    return SQRT_WORD.sub("√", text.translate(CHARACTERS))


def boxed_or_text(text: str) -> str:
    from datagen.eval.extract import boxed_content

    inside = boxed_content(text)
    return inside if inside is not None else text


def last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def expression_runs(text: str) -> list[str]:
    """Maximal stretches of expression characters between words, last one last."""
    masked = WORD.sub(lambda m: "√" if m.group() == "√" else " | ", text)
    return [m.group().strip() for m in EXPRESSION_RUN.finditer(masked) if m.group().strip()]


# an aside in parentheses at the end of a line, not an expression: "10√2 (≈ 14.14)", "(since ...)"
ASIDE = re.compile(r"[ \t]+\(([^()\n]*)\)[ \t]*[.。]?[ \t]*$", re.MULTILINE)
PLAIN_EXPRESSION = re.compile(r"[0-9xy√±+\-*/^().,\s]*")


def drop_asides(text: str) -> str:
    """The text without the checks written in parentheses after a result (an expression is kept)."""
    if "(" not in text:
        return text
    for _ in range(2):
        text = ASIDE.sub(lambda m: m.group() if PLAIN_EXPRESSION.fullmatch(m.group(1)) else "", text)
    return text


def rounds_to(tree, shown: str) -> bool:
    """``shown`` is a decimal within one unit of its last digit of the exact value of ``tree``."""
    from datagen.eval.extract import parse_number

    number = parse_number(shown)
    if number is None or number.kind not in ("decimal", "scientific", "integer") or not number.denominator:
        return False
    sp = _sympy()
    gap = abs(to_sympy(tree) - sp.Rational(number.numerator, number.denominator))
    return bool(gap < sp.Rational(10) ** number.last_digit)


def exact_before_approx(segment: str) -> str:
    """``15√2 ≈ 21.21`` -> ``15√2``: the exact value before ≈ when the decimal after it is its rounding."""
    if "≈" not in segment:
        return segment
    before, _, after = segment.rpartition("≈")
    runs, shown = expression_runs(before.rsplit("=", 1)[-1]), expression_runs(after)
    if runs and shown:
        exact = runs[-1].rstrip(".").strip()
        try:
            if rounds_to(parse(exact), shown[-1].rstrip(".").strip()):
                return exact
        except (SymbolicError, RecursionError, ZeroDivisionError, TypeError):
            pass
    return after


def last_expression(text: str):
    """(text, tree) of the last parseable expression after the last '=' of the last line."""
    line = last_line(boxed_or_text(text))
    segment = exact_before_approx(line.rsplit("=", 1)[-1])
    for run in reversed(expression_runs(segment)):
        run = run.rstrip(".").strip()
        try:
            return run, parse(run)
        except SymbolicError:
            continue
    return None


def plus_minus(text: str) -> list[str] | None:
    if "±" not in text:
        return None
    return [text.replace("±", "-", 1), text.replace("±", "+", 1)]


ASSIGNMENT = re.compile(r"(?<![A-Za-z])([xy])\s*(\d?)\s*=\s*([^,;=]*(?:=[^,;=]*)*)")


def assignments(text: str) -> list[tuple[str, str, str]]:
    """(variable, index, value) for each 'x1 = a = b' segment (the value is the last link)."""
    out = []
    for segment in LIST_SPLIT.split(text):
        m = ASSIGNMENT.search(segment)
        if m:
            out.append((m.group(1), m.group(2), m.group(3).rsplit("=", 1)[-1].strip().rstrip(".")))
    return out


def value_tree(text: str):
    runs = expression_runs(exact_before_approx(text))
    if not runs:
        raise SymbolicError("no value")
    return parse(runs[-1].rstrip(".").strip())


LIST_SPLIT = re.compile(r"[,;]|或|和|且|\band\b|\bor\b")  # x = 0 且 y = -1
ROOTS_MARKER = re.compile(r"答案|\banswers?\b|\broots?\s+(?:are|is)\b|\bsolutions?\s+(?:are|is)\b|解[为是]|根[为是]",
                          re.IGNORECASE)


def find_roots(text: str) -> list[str] | None:
    """The roots the text ends on: the last line that states them (x1 = .., x2 = .. may span lines)."""
    text = boxed_or_text(text)
    labelled: dict[str, str] = {}
    candidate: list[str] = []
    for line in text.splitlines():
        found = [a for a in assignments(line) if a[0] == "x"]
        plain = [value for var, index, value in found if not index]
        if found and not plain:
            labelled.update({index: value for var, index, value in found})
            candidate = [labelled[k] for k in sorted(labelled)]
        elif plain:
            labelled, candidate = {}, plain
        elif ROOTS_MARKER.search(line):
            tail = ROOTS_MARKER.split(line)[-1]
            values = [v for v in LIST_SPLIT.split(tail) if expression_runs(v)]
            if values:
                labelled, candidate = {}, values
    if not candidate:
        line = last_line(text).rsplit(":", 1)[-1]
        candidate = [v for v in LIST_SPLIT.split(line) if v.strip()]
    out: list[str] = []
    for value in candidate:
        out.extend(plus_minus_roots(value) or [value])
    return out or None


def plus_minus_roots(value: str) -> list[str] | None:
    """``(p ± q√m)/r`` as its two roots; ``(p ± q√m)/r ≈ d``: the pair when d rounds one of them."""
    exact, approx, after = value.partition("≈")
    pair = plus_minus(exact)
    if pair is None or not approx:
        return pair
    after = after.strip()
    if any(exact_before_approx(f"{root} ≈ {after}").strip() != after for root in pair):
        return pair
    return [after]


def find_system(text: str) -> tuple[str, str] | None:
    text = boxed_or_text(text)
    values: dict[str, str] = {}
    for line in text.splitlines():
        for var, index, value in assignments(line):
            if not index:
                values[var] = value
    if "x" in values and "y" in values:
        return values["x"], values["y"]
    m = re.findall(r"\(\s*([^(),]+?)\s*,\s*([^(),]+?)\s*\)", text)
    return m[-1] if m else None


VERDICT = re.compile(
    r"不是质数|不是素数|不是|不为质数|合数|否|not\s+(?:a\s+)?prime|composite|\bno\b|\bfalse\b"
    r"|是质数|是素数|质数|素数|是|\bprime\b|\byes\b|\btrue\b",
    re.IGNORECASE,
)
NEGATIVE = re.compile(r"不|合数|否|not|composite|no|false", re.IGNORECASE)


def find_verdict(text: str) -> str | None:
    found = [m.group() for m in VERDICT.finditer(text)]
    return found[-1] if found else None


UNIT_ALIASES = {
    "mm": ("mm", "毫米", "millimeters", "millimetres", "millimeter", "millimetre"),
    "cm": ("cm", "厘米", "centimeters", "centimetres", "centimeter", "centimetre"),
    "dm": ("dm", "分米", "decimeters", "decimetres", "decimeter", "decimetre"),
    "km": ("km", "千米", "公里", "kilometers", "kilometres", "kilometer", "kilometre"),
    "m": ("m", "米", "meters", "metres", "meter", "metre"),
    "mg": ("mg", "毫克", "milligrams", "milligram"),
    "kg": ("kg", "千克", "公斤", "kilograms", "kilogram"),
    "g": ("g", "克", "grams", "gram"),
    "t": ("t", "吨", "tonnes", "tonne", "tons", "ton"),
    "mL": ("ml", "毫升", "milliliters", "millilitres", "milliliter", "millilitre"),
    "L": ("l", "升", "liters", "litres", "liter", "litre"),
    "min": ("min", "mins", "分钟", "minutes", "minute", "分"),
    "h": ("h", "hr", "hrs", "小时", "hours", "hour", "时"),
    "d": ("d", "天", "days", "day"),
    "s": ("s", "sec", "秒", "seconds", "second"),
    "万元": ("万元", "ten-thousand yuan", "ten thousand yuan"),
    "亿元": ("亿元", "hundred-million yuan", "hundred million yuan"),
    "元": ("元", "yuan", "rmb"),
}
ALIAS = {alias.lower(): unit for unit, names in UNIT_ALIASES.items() for alias in names}
UNIT_PATTERN = "|".join(sorted((re.escape(a) for a in ALIAS), key=len, reverse=True))
QUANTITY = re.compile(rf"(-?\d+(?:,\d{{3}})*(?:\.\d+)?)(?:\s*({UNIT_PATTERN})(?![A-Za-z]))?", re.IGNORECASE)


UNIT_AFTER = re.compile(rf"[ \t]*({UNIT_PATTERN})(?![A-Za-z])", re.IGNORECASE)


def find_quantity(text: str) -> tuple[Fraction, str | None, str] | None:
    """(value, unit or None, as shown) of the last number of the last line, read as eval.extract reads
    numbers (``3.178e5 m``, ``4.554×10^-6 亿元``, ``317 800 m``, ``9,100 mm``)."""
    from datagen.eval.extract import NUMBER_RE, to_number

    line = last_line(boxed_or_text(text))
    for part in (line.rsplit("=", 1)[-1], line):
        last = None
        for last in NUMBER_RE.finditer(part):  # noqa: B007 (the last match is wanted)
            pass
        if last is not None:
            break
    else:
        return None
    number = to_number(last)
    if not number.denominator:
        return None
    unit = UNIT_AFTER.match(part, last.end())
    shown = part[last.start("num"):unit.end() if unit else last.end()].strip()
    return Fraction(number.numerator, number.denominator), ALIAS[unit.group(1).lower()] if unit else None, shown


# --- gold and verdicts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SymbolicGold:
    """A gold answer in the symbolic grammar; ``kind`` says how to read and judge it."""

    answer: str
    kind: str
    policy: str = SYMBOLIC
    fraction: bool = False
    reversed: bool = False

    @property
    def short(self) -> bool:
        return False


@lru_cache(maxsize=64)
def family_kind(family: str) -> str | None:
    """The answer kind a family declares at its registration (None: a number, or no such family)."""
    found = load_families().get(family)
    return found.answer_kind if found else None


def infer_kind(answer: str) -> str:
    text = answer.strip()
    if text in ("yes", "no"):
        return "boolean"
    if text.startswith("x = "):
        return "system"
    if QUANTITY.fullmatch(text) and " " in text:
        return "quantity"
    if "x" in text:
        return "factored" if text.endswith(")") or ")^" in text else "expanded"
    return "roots" if "," in text else "radical"


def symbolic_gold(answer: str, family: str = "", style: str = "") -> SymbolicGold:
    """Read a record's symbolic answer; raises ``eval.compare.GoldError`` when it is not one."""
    from datagen.eval.compare import GoldError

    kind = family_kind(family) or infer_kind(answer)
    gold = SymbolicGold(answer.strip(), kind)
    try:
        gold_value(gold)
    except (SymbolicError, ValueError) as exc:
        raise GoldError(f"{answer!r} is not a {kind} answer ({exc})") from None
    return gold


def gold_value(gold: SymbolicGold):
    """The gold answer parsed (trees only, so reading gold never imports sympy)."""
    text = gold.answer
    if gold.kind == "boolean":
        if text not in ("yes", "no"):
            raise SymbolicError("expected yes or no")
        return text == "yes"
    if gold.kind == "quantity":
        number, _, unit = text.partition(" ")
        if unit.lower() not in ALIAS:  # a symbol (万元) or, in English, a name (ten-thousand yuan)
            raise SymbolicError(f"unknown unit {unit!r}")
        return Fraction(number), ALIAS[unit.lower()]
    if gold.kind == "roots":
        return [parse(part) for part in text.split(",")]
    if gold.kind == "system":
        found = {var: value for var, _, value in assignments(text)}
        return parse(found["x"]), parse(found["y"])
    return parse(text)


def judge_text(text: str, gold: SymbolicGold) -> tuple[bool, str | None]:
    """(strict verdict, what was read) for a model's answer turn."""
    text = drop_asides(normalize(text))
    kind = gold.kind
    truth = gold_value(gold)
    if kind == "boolean":
        verdict = find_verdict(text)
        if verdict is None:
            return False, None
        said = NEGATIVE.search(verdict) is None
        return said == truth, verdict
    if kind == "quantity":
        found = find_quantity(text)
        if found is None:
            return False, None
        value, unit, shown = found
        return value == truth[0] and unit in (None, truth[1]), shown
    try:
        if kind == "roots":
            values = find_roots(text)
            if not values:
                return False, None
            trees = [value_tree(v) for v in values]
            shown = ", ".join(expression_runs(exact_before_approx(v))[-1].rstrip(". ") for v in values)
            if len(trees) != len(truth) or not all(simplest(t) for t in trees):
                return False, shown
            left = [to_sympy(t) for t in trees]
            for expected in (to_sympy(t) for t in truth):
                match = next((k for k, v in enumerate(left) if same_value(v, expected)), None)
                if match is None:
                    return False, shown
                left.pop(match)
            return True, shown
        if kind == "system":
            pair = find_system(text)
            if pair is None:
                return False, None
            shown = f"x = {pair[0]}, y = {pair[1]}"
            x, y = value_tree(pair[0]), value_tree(pair[1])
            return (simplest(x) and simplest(y) and same_value(to_sympy(x), to_sympy(truth[0])) and
                    same_value(to_sympy(y), to_sympy(truth[1]))), shown
        found = last_expression(text)
        if found is None:
            return False, None
        shown, tree = found
        if not same_value(to_sympy(tree), to_sympy(truth)):
            return False, shown
        if kind == "radical":
            return simplest(tree), shown
        if kind == "expanded":
            return expanded(tree), shown
        if kind == "factored":
            return fully_factored(tree), shown
        return True, shown
    except (SymbolicError, RecursionError, ZeroDivisionError):
        return False, None


def compact(text: str) -> str:
    return "".join(text.split())


def score_symbolic(text: str, item):
    """The ``eval.score.Verdict`` of one symbolic item (``text``: the output without its echo)."""
    from datagen.eval.score import Verdict, cut_continuation

    turn = cut_continuation(text)
    strict, shown = judge_text(turn, item.gold)
    answer = item.gold.answer
    if item.gold.kind == "boolean":
        soft = strict
    elif item.gold.kind == "quantity":
        soft = answer.partition(" ")[0] in text
    else:
        soft = compact(answer) in compact(normalize(text))
    return Verdict(strict, soft, shown)
