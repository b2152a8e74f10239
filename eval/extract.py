"""Find the answer a model wrote, in Chinese or English.

The text is normalised once (NFKC, unicode minus, superscripts, a little LaTeX) and searched
by an ordered list of small frozen patterns, the first that finds a number wins:
``\\boxed{}`` (searched inside with the rules after it), explicit answer markers (答案,
answer is), relation markers (结果, 等于, 为, 是, =, ≈, equals, is), and the last number.
Within a rule the last match wins.  Nothing is evaluated: numbers are matched with regular
expressions and parsed into integers.
"""

from __future__ import annotations

import re
import unicodedata
from collections import deque
from dataclasses import dataclass

# one number as a model writes it; the named groups are read by ``to_number``
NUMBER = r"""
(?P<num>
(?P<sign>(?<![0-9A-Za-z.)\]])[-+])?          # a sign, unless it is a binary minus after an operand
(?<![0-9.])                                  # never start inside another number
(?:
    (?P<fn>[0-9]+)\s*/\s*(?P<fd>[0-9]+)(?![0-9]|\.[0-9])
  | (?:
        (?P<int>[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])|[0-9]+)(?:\.(?P<dec>[0-9]+))?
      | \.(?P<frac>[0-9]+)
    )
    (?:
        [eE](?P<e1>[-+]?[0-9]+)
      | \s*[×xX*·]\s*10\s*(?:\^|\*\*)\s*
        (?:\{\s*(?P<e2>[-+]?[0-9]+)\s*\}|\(\s*(?P<e3>[-+]?[0-9]+)\s*\)|(?P<e4>[-+]?[0-9]+))
    )?
)
)
"""
NUMBER_RE = re.compile(NUMBER, re.VERBOSE)
# numbers beyond these are never right answers; refusing them keeps int() and 10**e cheap
MAX_LENGTH = 400
MAX_EXPONENT = 400

# what may stand between a marker and its number: space, colon, "is", "约", "x =", markdown bold;
# bounded, with whitespace absorbed greedily, so a long run of text never backtracks badly
FILLER = r"""\s*(?:(?:[:=≈$(\[*]|约为?|大约|近似|approximately|about|roughly|\bis\b|\bare\b|是|为
                 |\b[a-z]\s*=)\s*){0,6}?"""


@dataclass(frozen=True, slots=True)
class Number:
    """A number as written: its exact value and how precisely it was shown."""

    text: str
    kind: str  # "integer", "decimal", "scientific", "fraction" ("overlong": too long to judge)
    numerator: int  # value = numerator / denominator
    denominator: int  # a power of ten unless kind == "fraction"; 0 means "judge wrong" (x/0, overlong)
    last_digit: int  # the last shown digit is worth 10**last_digit (0 for fractions)
    significant: int  # digits shown, leading zeros excluded



@dataclass(frozen=True, slots=True)
class Pattern:
    """One extraction rule: the last match of ``regex`` holds the answer as group ``num``.

    With ``region``, the match instead opens a braced region (``\\boxed{``) and the answer is
    looked for inside it with the rules that follow.
    """

    name: str
    regex: re.Pattern
    hint: re.Pattern | None = None  # must be found for the rule to apply (a cheap pre-check)
    region: bool = False


@dataclass(frozen=True, slots=True)
class Extraction:
    number: Number
    pattern: str  # which rule found it

    @property
    def text(self) -> str:
        return self.number.text


def _marker(words: str) -> re.Pattern:
    return re.compile(rf"(?:{words}){FILLER}{NUMBER}", re.VERBOSE | re.IGNORECASE)


BOXED = re.compile(r"\\boxed\s*\{")
PATTERNS: tuple[Pattern, ...] = (
    Pattern("boxed", BOXED, re.compile("boxed"), region=True),
    Pattern("answer", _marker(r"最终答案|答案|final\s+answer|\banswer\b"),
            re.compile("答案|answer", re.IGNORECASE)),
    Pattern("relation", _marker(r"结果|等于|为|是|=|≈|\bequals?\b|\bequal\s+to\b|\bis\b")),
    Pattern("last_number", NUMBER_RE),
)

SUPERSCRIPT_RUN = re.compile("[⁺⁻]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+")
SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻", "0123456789+-")
# dashes that models and typesetters use for minus, and slashes for fractions
CHARACTERS = str.maketrans({
    "\u2212": "-", "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\ufe63": "-",
    "\u2044": "/", "\u2215": "/", "\u00d7": "×",
})
NEGATIVE_WORD = re.compile(r"负(?=\s*[0-9])")
LATEX_SUBS: tuple[tuple[re.Pattern, str], ...] = (
    (re.compile(r"(-?)\\[dt]?frac\s*\{\s*(-?)\s*([0-9]+)\s*\}\s*\{\s*([0-9]+)\s*\}"), r"\1\2\3/\4"),
    (re.compile(r"\\(?:text|mathrm|textbf|mathbf|mbox|operatorname)\s*\{([^{}]*)\}"), r" \1 "),
    (re.compile(r"\{,\}"), ","),
    (re.compile(r"\\[,!;: ]"), ""),
    (re.compile(r"\\times\b"), "×"),
    (re.compile(r"\\cdot\b"), "·"),
    (re.compile(r"\\approx\b"), "≈"),
    (re.compile(r"\\(?:left|right)\b"), ""),
    (re.compile(r"\\[()\[\]]"), " "),
    (re.compile(r"\\([%$])"), r"\1"),
)


def normalize(text: str) -> str:
    """NFKC, unicode minus and fraction slash, superscript exponents, common LaTeX."""
    if not text.isascii():
        if SUPERSCRIPT_RUN.search(text):
            # NFKC would turn 10³ into 103; keep it an exponent
            text = SUPERSCRIPT_RUN.sub(lambda m: "^" + m.group().translate(SUPERSCRIPTS), text)
        text = unicodedata.normalize("NFKC", text).translate(CHARACTERS)
        if "负" in text:
            text = NEGATIVE_WORD.sub("-", text)
    if "\\" in text or "{," in text:
        for regex, replacement in LATEX_SUBS:
            text = regex.sub(replacement, text)
    return text


def to_number(m: re.Match) -> Number:
    """Parse a match of NUMBER (any of the regexes above) into an exact Number."""
    g = m.groupdict()
    negative = g["sign"] == "-"
    text = m.group("num")
    if len(text) > MAX_LENGTH:
        return Number(text, "overlong", 0, 0, 0, 0)
    if g["fn"] is not None:
        p, q = int(g["fn"]), int(g["fd"])
        p = -p if negative else p
        return Number(text, "fraction", p, q, 0, len(str(abs(p))) + len(g["fd"]))  # q == 0 judges wrong
    whole = (g["int"] or "").replace(",", "")
    dec = g["dec"] if g["int"] is not None else g["frac"]
    dec = dec or ""
    exp_text = g["e1"] or g["e2"] or g["e3"] or g["e4"]
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


def _last(regex: re.Pattern, text: str) -> re.Match | None:
    found = deque(regex.finditer(text), maxlen=1)  # consumed in C: the last match only
    return found[0] if found else None


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
    m = _last(BOXED, text)
    return braced(text, m.end()) if m is not None else None


def _search(text: str, patterns: tuple[Pattern, ...] = PATTERNS) -> Extraction | None:
    for k, pattern in enumerate(patterns):
        if pattern.hint is not None and pattern.hint.search(text) is None:
            continue
        m = _last(pattern.regex, text)
        if m is None:
            continue
        if pattern.region:
            found = _search(braced(text, m.end()), patterns[k + 1:])
            if found is not None:
                return Extraction(found.number, pattern.name)
            continue
        return Extraction(to_number(m), pattern.name)
    return None


def last_number_text(text: str) -> str | None:
    """The last number in ``text`` as written, with no markers and no normalisation (fast)."""
    m = _last(NUMBER_RE, text)
    return m.group("num") if m is not None else None


def extract(text: str) -> Extraction | None:
    """The answer in ``text`` (already free of the echoed prompt), or None if it has no number."""
    return _search(normalize(text))
