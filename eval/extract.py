"""Find the answer a model wrote, in Chinese or English.

The text is normalised once (NFKC, unicode minus, superscripts, a little LaTeX) and searched by
an ordered list of rules; the first rule that finds a *result* wins:

1. ``boxed``: the last ``\\boxed{...}``, searched inside with the rules after it;
2. ``answer``: the value after the last answer marker (答案, 最终答案, answer, final answer);
3. ``relation``: the value after the last relation marker (结果, 等于, 为, 是, =, ≈, equals, is);
4. ``last_number``: the last value in the text.

Within a rule the search walks back from the end of the text and takes the first candidate that
is a result. A number is *not* a result, and the walk goes on to the previous candidate, when it is

* an operand: next to an arithmetic operator (``+ - * / × ÷ ^ √``), e.g. ``5`` and ``0`` in
  ``5 + 0``, ``7.34`` in ``2.74 / 7.34``, or a bound of ``<``/``>``;
* the left side of a relation: followed by ``=`` (``10 / 3 = `` restates the problem, the result
  would come after ``=``), or part of a question: followed by ``?`` (``What is 7 / 28?``);
* a given of the problem: a percentage the problem states (``增长率为 12%`` when the problem says
  增加了 12%), or a fraction with no marker before it (nor ``\\boxed{}`` around it) whose terms are two
  consecutive numbers of the problem (``计算 10 / 3`` or a bare ``10/3`` for 计算 10 / 3 等于多少？,
  ``14/58`` for 将分数 14/58 进行简化): the question restated, not answered.

A lone number equal to an operand still counts (``5 + 0 = 5``), and so does an exact fraction
stated as the result (``10 / 3 = 10/3``, ``结果为 10/3``: 10/3 is the exact value of 10 ÷ 3).
Two more rules decide between results on one line:

* an aside in parentheses after a result is a check, not the answer:
  ``7.5 / 0.25 = 30 (since 0.25 × 30 = 7.5)`` → 30;
* an exact fraction followed by ``≈`` is the answer when the decimal after it is its rounding
  (within one unit of that decimal's last digit): ``17/37 ≈ 0.459`` → 17/37 (unless 17/37 is the
  problem's own ``17 / 37``: then 0.459); a percent after it is another quantity and is the answer
  (``30/90 = 1/3 ≈ 33.33%`` → 33.33), and so is a decimal that is not its rounding; a decimal
  before ``≈`` is what was rounded (``3.323 ≈ 3.32`` → 3.32).

So ``今年的销售额为 280 万元，增长率为 12%`` gives 280 for 去年销售额为 250 万元，今年销售额增加了 12%.
Markers may be followed by a colon, ``约``, ``x =``, ``is`` and the like; a number glued after a
Latin letter (``cm2``, ``x1``) or a unit's superscript (``391 cm²``, not ``x²``) is not a number.
Thousands may be grouped by commas or single spaces (``1,835.05``, ``317 800``: groups of exactly three
digits), and scientific notation is read whatever follows it (``3.178e5 m``, ``4.554×10^-6 亿元``). Nothing
is evaluated: numbers are matched with regular expressions and parsed into integers.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

# one number as a model writes it; the named groups are read by ``to_number``; never spans a line
NUMBER = r"""
(?P<num>
(?P<sign>(?<![0-9A-Za-z.)\]])[-+])?          # a sign, unless it is a binary minus after an operand
(?<![0-9.A-Za-z])                            # never start inside another number or a word (cm2)
(?:
    (?P<fn>[0-9]++)[ \t]*/[ \t]*(?P<fd>[0-9]++)(?![0-9]|\.[0-9])    # possessive: digits never give back
  | (?:
        # thousands grouped by commas or by single spaces (317 800), else a run of digits
        (?P<int>[0-9]{1,3}+(?:(?:,[0-9]{3})+(?![0-9])|(?:[ ][0-9]{3})+(?![0-9]|[ ,][0-9]))|[0-9]++)
        (?:\.(?P<dec>[0-9]+))?
      | \.(?P<frac>[0-9]+)
    )
    (?:
        [eE](?P<e1>[-+]?[0-9]+)
      | [ \t]*[×xX*·][ \t]*10[ \t]*(?:\^|\*\*)[ \t]*
        (?:\{[ \t]*(?P<e2>[-+]?[0-9]+)[ \t]*\}|\([ \t]*(?P<e3>[-+]?[0-9]+)[ \t]*\)|(?P<e4>[-+]?[0-9]+))
    )?
)
)
"""
NUMBER_RE = re.compile(NUMBER, re.VERBOSE)
# a number that ends where the search ends (the value just before a ``≈``)
NUMBER_AT_END = re.compile(NUMBER + r"[ \t]*\Z", re.VERBOSE)
# numbers beyond these are never right answers; refusing them keeps int() and 10**e cheap
MAX_LENGTH = 400
MAX_EXPONENT = 400

# what may stand between a marker and its number: space, colon, "is", "约", "x =", markdown bold;
# bounded, with whitespace absorbed greedily, so a long run of text never backtracks badly
FILLER = r"""\s*(?:(?:[:=≈$(\[*]|约为?|大约|近似|approximately|about|roughly|\bis\b|\bare\b|是|为
                 |\b[a-z]\s*=)\s*){0,6}?"""
AFTER_MARKER = re.compile(FILLER + NUMBER, re.VERBOSE | re.IGNORECASE)
SPACED_NUMBER = re.compile(r"\s*" + NUMBER, re.VERBOSE)  # the common case of AFTER_MARKER, faster

# what follows a number: a relation sign or "?" (a left side, a bound, part of a question), an operator
# with an operand (the number is a left operand), or a percent sign
AFTER = re.compile(r"[ \t]*(?:(?P<relation>[=<>≤≥≠?])|(?P<operator>(?:\*\*|[-+*/×÷·^])[ \t]*[-+]?[(√0-9])"
                   r"|(?P<percent>%))")
OPERATOR_AFTER = re.compile(r"[ \t]*(?:\*\*|[-+*/×÷·^])[ \t]*[-+]?[(√0-9]")
PERCENT_AFTER = re.compile(r"[ \t]*%")
BINARY_OPERATORS = frozenset("+-*/×÷·")
OPERAND_END = frozenset("0123456789)]}abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
BOUND_SIGNS = frozenset("^√<>≤≥≠")  # what makes the number after it an exponent, radicand or bound
SPACE = " \t"


class Number(NamedTuple):
    """A number as written: its exact value and how precisely it was shown (a tuple: cheap to make)."""

    text: str
    kind: str  # "integer", "decimal", "scientific", "fraction" ("overlong": too long to judge)
    numerator: int  # value = numerator / denominator
    denominator: int  # a power of ten unless kind == "fraction"; 0 means "judge wrong" (x/0, overlong)
    last_digit: int  # the last shown digit is worth 10**last_digit (0 for fractions)
    significant: int  # digits shown, leading zeros excluded


@dataclass(frozen=True, slots=True)
class Rule:
    """One extraction rule: markers searched from the end (reversed text), or every number.

    ``region``: the marker opens a braced region (``\\boxed{``) searched with the rules after it.
    """

    name: str
    reversed_markers: re.Pattern | None  # None: every number is a candidate (or the boxed region)
    hint: tuple[str, ...] = ()  # the rule applies only if one of these strings is in the text (cheap)
    region: bool = False


class Extraction(NamedTuple):
    number: Number
    pattern: str  # which rule found it

    @property
    def text(self) -> str:
        return self.number.text


BOXED = re.compile(r"\\boxed\s*\{")
# markers as regexes over the reversed text, so that the first match is the last marker
RULES: tuple[Rule, ...] = (
    Rule("boxed", None, ("boxed",), region=True),
    # (a lookahead on the first characters lets the regex engine skip the rest of the text fast)
    Rule("answer", re.compile(r"(?=[案rR])(?:案答|(?i:\b(?:rewsna\s+lanif|rewsna)\b))"), ("答案", "nswer", "NSWER")),
    Rule("relation", re.compile(r"(?=[为是=≈果于sSlLoO])(?:[为是=≈]|果结|于等|(?i:\b(?:ot\s+lauqe|s?lauqe|si)\b))")),
    Rule("last_number", None),
)

SUPERSCRIPT_RUN = re.compile("[⁺⁻]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+")
# cm², m³, ft²: a unit of length squared or cubed, not an exponent (x² stays x^2)
UNIT_POWER = re.compile(r"(?<![A-Za-z])((?:[kcdmμ]?m|ft|in|yd|mi))[²³](?![A-Za-z0-9⁰¹²³⁴⁵⁶⁷⁸⁹])")
SUPERSCRIPT_CHARACTERS = "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻"
SUPERSCRIPTS = str.maketrans(SUPERSCRIPT_CHARACTERS, "0123456789+-")
# dashes that models and typesetters use for minus, and slashes for fractions
CHARACTERS = str.maketrans({
    "\u2212": "-", "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\ufe63": "-",
    "\u2044": "/", "\u2215": "/",
})
SPECIAL_CHARACTERS = "\u2212\u2010\u2011\u2012\u2013\ufe63\u2044\u2215"  # the keys of CHARACTERS
NEGATIVE_WORD = re.compile(r"负(?=\s*[0-9])")
LATEX_SUBS: tuple[tuple[re.Pattern, str], ...] = (
    (re.compile(r"(-?)\\[dt]?frac\s*\{\s*(-?)\s*([0-9]+)\s*\}\s*\{\s*([0-9]+)\s*\}"), r"\1\2\3/\4"),
    (re.compile(r"\\(?:text|mathrm|textbf|mathbf|mbox|operatorname)\s*\{([^{}]*)\}"), r" \1 "),
    (re.compile(r"\{,\}"), ","),
    (re.compile(r"\\[,!;: ]"), ""),
    (re.compile(r"\\times(?![A-Za-z])"), "×"),
    (re.compile(r"\\cdot(?![A-Za-z])"), "·"),
    (re.compile(r"\\approx(?![A-Za-z])"), "≈"),
    (re.compile(r"\\sqrt(?![A-Za-z])"), "√"),
    (re.compile(r"\\(?:left|right)\b"), ""),
    (re.compile(r"\\[()\[\]]"), " "),
    (re.compile(r"\\([%$])"), r"\1"),
)


def _holds_any(text: str, characters: str) -> bool:
    """A few ``in`` tests: far cheaper than a regex character class over Chinese (UCS-2) text."""
    for ch in characters:
        if ch in text:
            return True
    return False


def normalize(text: str) -> str:
    """NFKC, unicode minus and fraction slash, superscript exponents, common LaTeX."""
    if not text.isascii():
        if not unicodedata.is_normalized("NFKC", text):
            if _holds_any(text, SUPERSCRIPT_CHARACTERS):
                # NFKC would turn 10³ into 103 and cm² into cm2; keep an exponent, drop a unit's power
                text = UNIT_POWER.sub(r"\1", text)
                text = SUPERSCRIPT_RUN.sub(lambda m: "^" + m.group().translate(SUPERSCRIPTS), text)
            text = unicodedata.normalize("NFKC", text)
        if _holds_any(text, SPECIAL_CHARACTERS):
            text = text.translate(CHARACTERS)
        if "负" in text:
            text = NEGATIVE_WORD.sub("-", text)
    if "\\" in text or "{," in text:
        for regex, replacement in LATEX_SUBS:
            text = regex.sub(replacement, text)
    return text


def to_number(m: re.Match) -> Number:
    """Parse a match of NUMBER (any of the regexes above, which end with it) into an exact Number."""
    text, sign, fn, fd, whole, dec, frac, e1, e2, e3, e4 = m.groups()[-11:]
    negative = sign == "-"
    if len(text) > MAX_LENGTH:
        return Number(text, "overlong", 0, 0, 0, 0)
    if fn is not None:
        p, q = int(fn), int(fd)
        p = -p if negative else p
        return Number(text, "fraction", p, q, 0, len(str(abs(p))) + len(fd))  # q == 0 judges wrong
    if whole is None:
        whole, dec = "", frac
    elif "," in whole or " " in whole:
        whole = whole.replace(",", "").replace(" ", "")
    dec = dec or ""
    exp_text = e1 or e2 or e3 or e4
    if exp_text and abs(int(exp_text)) > MAX_EXPONENT:
        return Number(text, "overlong", 0, 0, 0, 0)
    digits = whole + dec
    mantissa = int(digits) if digits else 0
    mantissa = -mantissa if negative else mantissa
    last = -len(dec) + (int(exp_text) if exp_text else 0)
    significant = len(digits.lstrip("0")) or 1
    if exp_text:
        kind = "scientific"
    elif dec:
        kind = "decimal"
    else:
        kind = "integer"
    if last >= 0:
        return Number(text, kind, mantissa * 10**last, 1, last, significant)
    return Number(text, kind, mantissa, 10**-last, last, significant)


def parse_number(text: str) -> Number | None:
    """The Number ``text`` is, if it is exactly one number (after normalisation)."""
    text = normalize(text).strip()
    m = NUMBER_RE.fullmatch(text)
    if m is None:
        return None
    return to_number(m)


@dataclass(frozen=True, slots=True)
class Givens:
    """What a problem states, so that a restatement is never read as an answer."""

    pairs: frozenset[tuple[int, int]]  # consecutive numbers (a, b), absolute integers, as a/b
    percents: frozenset[tuple[int, int]]  # values written with a % sign, as (numerator, denominator)


NO_GIVENS = Givens(frozenset(), frozenset())


@lru_cache(maxsize=8192)
def givens(problem: str | None) -> Givens:
    """The problem's fraction-like pairs and percentages (cached: gold problems repeat per run)."""
    if not problem:
        return NO_GIVENS
    text = normalize(problem)
    pairs, percents = set(), set()
    previous: int | None = None
    for m in NUMBER_RE.finditer(text):
        number = to_number(m)
        if number.kind == "fraction":
            pairs.add((abs(number.numerator), number.denominator))
            previous = None
            continue
        value = abs(number.numerator) if number.denominator == 1 and number.kind == "integer" else None
        if value is not None and previous is not None:
            pairs.add((previous, value))
        previous = value
        if PERCENT_AFTER.match(text, m.end()) and number.denominator:
            percents.add(_reduced(number.numerator, number.denominator))
    return Givens(frozenset(pairs), frozenset(percents))


def _reduced(p: int, q: int) -> tuple[int, int]:
    from math import gcd

    g = gcd(p, q) or 1
    return p // g, q // g


def _is_operand(text: str, start: int, end: int, after: bool = True) -> bool:
    """Next to an arithmetic operator, an exponent or radical sign, or an inequality.

    ``after=False``: the caller already knows no operator follows.
    """
    if after and OPERATOR_AFTER.match(text, end):
        return True
    j = start - 1
    while j >= 0 and text[j] in SPACE:
        j -= 1
    if j < 0:
        return False
    c = text[j]
    if c in BOUND_SIGNS:
        return True
    if c not in BINARY_OPERATORS:
        return False
    j -= 1
    if c == "*" and j >= 0 and text[j] == "*":  # ** is a power, unless it is markdown bold
        j -= 1
    while j >= 0 and text[j] in SPACE:
        j -= 1
    if j < 0 or text[j] not in OPERAND_END:
        return False
    # a letter is an operand when it is a variable (2x, x), not the end of a word ("is **12**")
    return not (text[j].isalpha() and j > 0 and text[j - 1].isascii() and text[j - 1].isalpha())


def _is_given(text: str, m: re.Match, number: Number, problem_givens: Givens) -> bool:
    if number.kind == "fraction":
        return (abs(number.numerator), number.denominator) in problem_givens.pairs
    if problem_givens.percents and number.denominator and PERCENT_AFTER.match(text, m.end("num")):
        return _reduced(number.numerator, number.denominator) in problem_givens.percents
    return False


def _result(text: str, m: re.Match, problem: str | None, marked: bool) -> tuple[Number, int] | None:
    """(Number, start) if the number matched by ``m`` is a result (see the module docstring).

    ``marked``: a marker introduced it (``= 10/3``), so a fraction is stated as the result even if
    it is the problem's own a/b; a percentage the problem gives never is.
    """
    start, end = m.span("num")
    follows = AFTER.match(text, end)
    kind = follows.lastgroup if follows is not None else None
    if kind == "relation" or kind == "operator" or _is_operand(text, start, end, after=False):
        return None
    number = to_number(m)
    restated = (number.kind == "fraction" and not marked) or kind == "percent"
    if restated and _is_given(text, m, number, givens(problem)):
        return None
    j = start - 1
    while j >= 0 and text[j] in SPACE:
        j -= 1
    if j >= 0 and text[j] == "≈" and kind != "percent" and number.kind != "fraction":
        # an exact fraction before ≈ is the answer when the decimal after it is its rounding (a
        # decimal before ≈ is what was rounded: 3.323 ≈ 3.32; a percent after it is another quantity)
        exact = NUMBER_AT_END.search(text, text.rfind("\n", 0, j) + 1, j)
        if exact is not None and exact.group("fn") is not None:
            s, e = exact.span("num")
            exact_number = to_number(exact)
            if (exact_number.denominator and rounds_to(exact_number, number) and not _is_operand(text, s, e)
                    and not _is_given(text, exact, exact_number, givens(problem))):
                return exact_number, s
    return number, start


def rounds_to(exact: Number, shown: Number) -> bool:
    """``shown`` is within one unit of its last digit of ``exact`` (a rounding or truncation of it)."""
    if not shown.denominator:
        return False
    # |a/b - c/d| < 10**k, in integers
    cross = abs(exact.numerator * shown.denominator - shown.numerator * exact.denominator)
    scale = exact.denominator * shown.denominator
    k = shown.last_digit
    return cross < scale * 10**k if k >= 0 else cross * 10**-k < scale


def _candidates(text: str, rule: Rule):
    """The rule's number matches, last first."""
    if rule.reversed_markers is None:
        end = len(text)
        while end >= 0:
            start = text.rfind("\n", 0, end) + 1
            yield from reversed(list(NUMBER_RE.finditer(text, start, end)))
            end = start - 1
        return
    n = len(text)
    for marker in rule.reversed_markers.finditer(text[::-1]):
        end = n - marker.start()
        m = SPACED_NUMBER.match(text, end) or AFTER_MARKER.match(text, end)
        if m is not None:
            yield m


def _first_result(text: str, rule: Rule, problem: str | None, boxed: bool = False) -> Number | None:
    aside: tuple[Number, int] | None = None  # a result in parentheses, kept while looking before it
    aside_line = -1
    marked = boxed or rule.reversed_markers is not None  # \boxed{} marks its content as the result
    for m in _candidates(text, rule):
        found = _result(text, m, problem, marked)
        if found is None:
            continue
        number, start = found
        line_start = text.rfind("\n", 0, start) + 1
        if aside is not None and line_start != aside_line:
            return aside[0]
        if text.rfind("(", line_start, start) > text.rfind(")", line_start, start):  # in parentheses
            if aside is None:
                aside, aside_line = found, line_start
            continue
        return number
    return aside[0] if aside is not None else None


def _search(text: str, rules: tuple[Rule, ...], problem: str | None, boxed: bool = False) -> Extraction | None:
    for k, rule in enumerate(rules):
        if rule.hint:
            for word in rule.hint:
                if word in text:
                    break
            else:
                continue
        if rule.region:
            m = _last_boxed(text)
            if m is None:
                continue
            found = _search(braced(text, m.end()), rules[k + 1:], problem, boxed=True)
            if found is not None:
                return Extraction(found.number, rule.name)
            continue
        number = _first_result(text, rule, problem, boxed)
        if number is not None:
            return Extraction(number, rule.name)
    return None


def _last_boxed(text: str) -> re.Match | None:
    found = None
    for found in BOXED.finditer(text):  # noqa: B007 (the last match is wanted)
        pass
    return found


def braced(text: str, start: int) -> str:
    """The text from ``start`` to the brace that closes the one just before it."""
    depth = 1
    for i in range(start, len(text)):
        ch = text[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start:i]
    return text[start:]


def boxed_content(text: str) -> str | None:
    """The content of the last ``\\boxed{...}``, braces balanced."""
    m = _last_boxed(text)
    return braced(text, m.end()) if m is not None else None


def last_number_text(text: str) -> str | None:
    """The last number in ``text`` as written, with no markers and no normalisation (fast)."""
    # a number never holds = ≈ or a colon: the last one is after the last of them, if any is
    cut = max(text.rfind("="), text.rfind("≈"), text.rfind(":"), text.rfind("："))
    found = None
    for found in NUMBER_RE.finditer(text, cut + 1):  # noqa: B007 (the last match is wanted)
        pass
    if found is None and cut >= 0:
        for found in NUMBER_RE.finditer(text):  # noqa: B007
            pass
    return found.group("num") if found is not None else None


def extract(text: str, problem: str | None = None) -> Extraction | None:
    """The answer in ``text`` (already free of the echoed prompt), or None if it has no result.

    ``problem``: the question, whose own fractions and percentages are never an answer.
    """
    return _search(normalize(text), RULES, problem)
