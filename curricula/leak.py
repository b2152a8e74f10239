"""Find contest-family problems written inside any text, by canonical form.

A held-out problem can reach training inside another source's row (BELLE's
``题目：计算 4204.22 + -2369.17 等于多少？``, an Alpaca instruction, a contest row the
audit could not classify).  ``problem_keys`` finds every family problem in a text:
every phrasing the generator writes (the contest's first), anywhere in the text, plus the
bare notations ``A op B``, ``√A``, ``A^N`` and ``ax + b = 0``; each is re-solved to its
canonical key (family + operand values).  ``HeldoutScan`` answers, for a row, whether any
of those keys is held out; a cheap number index skips rows that cannot hold one.
Pure: no file system.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from fractions import Fraction
from functools import lru_cache

from datagen.family import load_families
from datagen.solve import (
    BRACKETED,
    FIELD,
    FLEXIBLE,
    YUAN_PER_WAN,
    TooLarge,
    canonical_number,
    phrasings,
    solvable,
    solve_fields,
)

# full-width digits, signs and point (１２３＋－．) and the Unicode minus read as ASCII
WIDTH = {**{0xFF10 + k: 0x30 + k for k in range(10)}, 0xFF0B: "+", 0xFF0D: "-", 0x2212: "-", 0xFF0E: "."}
WIDE = re.compile("[\uff0b\uff0d\uff0e\uff10-\uff19\u2212]")
NUMBER_TEXT = re.compile(r"\d+(?:\.\d+)?")
EDGE = r"(?<![\d.])"
END = r"(?!\.?\d)"
# bare notations: the family is the operator's; a/b may be a fraction to simplify as well
BINARY = re.compile(rf"{EDGE}(?P<a>{BRACKETED})\s*(?P<op>[-+*/×÷])\s*(?P<b>{BRACKETED}){END}")
BINARY_OPS = "+-*/×÷"
POWER = re.compile(rf"{EDGE}(?P<p>{BRACKETED})\s*\^\s*(?P<n>\d+){END}")
ROOT = re.compile(rf"√\s*(?P<a>{BRACKETED}){END}")
EQUATION = re.compile(rf"{EDGE}{FIELD['eq']}{END}")


def normalise(text: str) -> str:
    return text.translate(WIDTH) if WIDE.search(text) else text


def _key(family: str, fields: dict, phrasing=None) -> tuple | None:
    try:
        solved = solve_fields(family, fields, phrasing)
    except (TooLarge, ValueError, ZeroDivisionError):
        return None
    return solved.key if solved is not None else None


@lru_cache(maxsize=1)
def _gated_phrasings() -> tuple[tuple[tuple[str, ...], object], ...]:
    """(words, phrasing): the words of a phrasing, every one of which a match must contain."""
    gated = []
    for phrasing in phrasings():
        template = phrasing.template
        for contest, flexible in FLEXIBLE.items():
            template = template.replace(contest, flexible)
        words = re.split(r"\{\w+\}|\s+", template.rstrip("。.？?"))
        gated.append((tuple(dict.fromkeys(w for w in words if w)), phrasing))
    return tuple(gated)


@lru_cache(maxsize=1)
def _gates() -> dict[str, tuple[tuple[str, tuple[str, ...]], ...]]:
    """Per family, (longest word, all words) of each word set one of which a text must contain."""
    gates: dict[str, list[tuple[str, ...]]] = {}
    for words, phrasing in _gated_phrasings():
        gates.setdefault(phrasing.family, []).append(words)
    families = load_families()
    for name in solvable():
        gates[name].extend(families[name].notations)
    return {family: tuple((max(words, key=len), words) for words in dict.fromkeys(sets))
            for family, sets in gates.items()}


@lru_cache(maxsize=1)
def _binary_families() -> dict[str, tuple[str, ...]]:
    """Operator -> the families whose bare notation ``A op B`` it writes (a/b: div, and a fraction)."""
    families = load_families()
    return {op: tuple(name for name in solvable() if (op,) in families[name].notations) for op in BINARY_OPS}


def families_in(text: str) -> set[str]:
    """The families whose words or notation ``text`` contains (a cheap test before parsing)."""
    found = set()
    for family, sets in _gates().items():
        for needle, words in sets:
            # the longest word first: it is the rarest, and one `in` is cheap
            if needle in text and all(word in text for word in words):
                found.add(family)
                break
    return found


def problem_keys(text: str, families: Iterable[str] | None = None) -> set[tuple]:
    """Canonical keys of every family problem written in ``text`` (optionally of some families)."""
    text = normalise(text)
    wanted = families_in(text)
    if families is not None:
        wanted &= set(families)
    keys: set[tuple] = set()

    def add(key):
        if key is not None:
            keys.add(key)

    for words, phrasing in _gated_phrasings():
        if phrasing.family in wanted and all(word in text for word in words):
            for m in phrasing.embedded.finditer(text):
                add(_key(phrasing.family, m.groupdict(), phrasing))
    binary = _binary_families()
    if wanted & {family for families in binary.values() for family in families}:
        for m in BINARY.finditer(text):
            for family in binary[m["op"]]:
                if family in wanted:
                    add(_key(family, {"a": m["a"].strip("()").strip(), "b": m["b"].strip("()").strip()}))
    if "pow" in wanted:
        for m in POWER.finditer(text):
            add(_key("pow", {"p": m["p"], "n": m["n"]}))
    if "sqrt" in wanted:
        for m in ROOT.finditer(text):
            add(_key("sqrt", {"a": m["a"].strip("()").strip()}))
    if "linear_eq" in wanted:
        for m in EQUATION.finditer(text):
            add(_key("linear_eq", m.groupdict()))
    return keys


def _unsigned(number: str) -> str:
    """canonical_number without its sign: 007.50 -> 7.5 (cheap: no Fraction for plain digits)."""
    number = number.lstrip("+-")
    if not number.replace(".", "", 1).isdigit():
        return canonical_number(number).lstrip("-")
    whole, _, part = number.partition(".")
    whole, part = whole.lstrip("0") or "0", part.rstrip("0")
    return f"{whole}.{part}" if part else whole


def _needs(key: tuple) -> tuple[frozenset[str], ...]:
    """The numbers any phrasing of a problem writes (unsigned), each as its alternative forms.

    A coefficient of 1 is not written (x - 8 = 0, y = x^2), nor an exponent of 1 (y = 5x);
    English states growth's sales in yuan (10,000 x the 万元 figure).
    """
    family, *operands = key
    hidden = set()
    if family in ("linear_eq", "func_value") and _unsigned(operands[0]) == "1":
        hidden.add(0)
    if family == "func_value" and operands[2] == "1":
        hidden.add(2)
    needs = [frozenset({_unsigned(op)}) for k, op in enumerate(operands) if k not in hidden]
    if family == "growth":
        yuan = _unsigned(str(Fraction(operands[0]) * YUAN_PER_WAN))
        needs[0] = frozenset({_unsigned(operands[0]), yuan})
    return tuple(needs)


class HeldoutScan:
    """Whether a text holds a held-out problem, by canonical form.

    A text is parsed only for the families whose words or notation it contains, and of
    those only the ones with a held-out problem whose every written number it shows.
    """

    def __init__(self, heldout_keys: Iterable[tuple]) -> None:
        # family keys only; text keys (rows without operands) are matched by the caller
        self.keys = {key for key in heldout_keys
                     if key and key[0] in solvable() and all(isinstance(op, str) for op in key[1:])}
        # per family, each key filed under the forms of its longest number (the rarest in text)
        self.by_number: dict[str, dict[str, list[tuple[frozenset[str], ...]]]] = {}
        for key in self.keys:
            needs = _needs(key)
            if not needs:
                continue
            anchor = max(needs, key=lambda forms: max(map(len, forms)))
            for form in anchor:
                self.by_number.setdefault(key[0], {}).setdefault(form, []).append(needs)
        self.anchors = {form for forms in self.by_number.values() for form in forms}

    def found(self, text: str) -> tuple | None:
        """The first held-out key written in ``text`` (sorted, so the answer is stable), else None."""
        if not self.keys or not text:
            return None
        text = normalise(text)
        numbers = {_unsigned(number) for number in NUMBER_TEXT.findall(text)}
        if numbers.isdisjoint(self.anchors):  # cheaper than the word gates, and as final
            return None
        evident = families_in(text) & self.by_number.keys()
        if not evident:
            return None
        families = {
            family for family in evident
            if any(all(forms & numbers for forms in needs)
                   for number in numbers for needs in self.by_number[family].get(number, ()))
        }
        if not families:
            return None
        hits = problem_keys(text, families) & self.keys
        return min(hits) if hits else None

    def found_in(self, record: dict) -> tuple | None:
        """A held-out key inside a record's problem or solution text."""
        for field in ("problem", "solution"):
            value = record.get(field)
            if isinstance(value, str):
                hit = self.found(value)
                if hit is not None:
                    return hit
        return None


# ---- benchmark decontamination: shared n-grams and canonical problems -------------------------------

# CJK has no spaces: each Han, kana or Hangul character is a token; other letters and numbers are
# words; the arithmetic signs are tokens (1 + 2 and 1 - 2 differ; a hyphen between letters is not);
# other punctuation and all spacing are dropped. NFKC folds full-width forms (１２．５，？) to ASCII first.
CJK = "\u2e80-\u2fff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
# SEP joins a row's fields into one text: a token of its own, so no n-gram spans two fields
SEP = "\x00"
TOKEN = re.compile(rf"{SEP}|[{CJK}]|\d+(?:\.\d+)?|[^\W\d_{CJK}]+|[+*/=^√%<>]|(?<![^\W\d_])-|-(?![^\W\d_])")
SIGNS = {"×": "*", "÷": "/", "\u2212": "-", "\u2013": "-"}
HAS_SIGN = re.compile("[×÷\u2212\u2013]")
# what NFKC would change that a token can hold (full-width letters, digits, signs, compatibility forms);
# full-width punctuation alone is dropped anyway, so most Chinese text skips the normalisation
HAS_WIDE = re.compile("[\u00a0-\u00bf\u2150-\u218f\u2460-\u24ff\u3000\uff0a-\uff0f\uff10-\uff19\uff1c-\uff1e"
                      "\uff21-\uff3a\uff41-\uff5a\ufb00-\ufb4f]")
NGRAM = 13
# an item shorter than the n-gram is matched whole, if it has at least this many tokens
MIN_TOKENS = 4


def tokens(text: str) -> list[str]:
    """The decontamination tokens of ``text``: spacing, punctuation and width do not matter."""
    if not text.isascii():
        if HAS_WIDE.search(text):
            text = unicodedata.normalize("NFKC", text)
        if HAS_SIGN.search(text):
            for sign, ascii_sign in SIGNS.items():
                text = text.replace(sign, ascii_sign)
    return TOKEN.findall(text.lower())


class NgramIndex:
    """Benchmark items by their n-grams: which item (if any) shares one with a text.

    Items of ``n`` tokens or more are filed under every n-gram; shorter ones (of at least
    ``min_tokens``) are matched whole, filed under their first ``min_tokens`` tokens.
    """

    def __init__(self, n: int = NGRAM, min_tokens: int = MIN_TOKENS) -> None:
        if n < 1 or min_tokens < 1:
            raise ValueError("n-gram and minimum lengths must be positive")
        self.n = n
        self.min_tokens = min(min_tokens, n)
        self.grams: dict[tuple[str, ...], int] = {}
        self.short: dict[tuple[str, ...], list[tuple[tuple[str, ...], int]]] = {}
        self.vocabulary: set[str] = set()  # every token of a long item
        self.short_vocabulary: set[str] = set()  # every token a short item's first tokens hold

    def add(self, text: str, item: int) -> bool:
        """File ``text`` as benchmark item ``item``; False when it is too short to be matched."""
        words = tokens(text)
        n = self.n
        if len(words) >= n:
            for at in range(len(words) - n + 1):
                self.grams.setdefault(tuple(words[at:at + n]), item)
            self.vocabulary.update(words)
            return True
        if len(words) >= self.min_tokens:
            whole = tuple(words)
            self.short_vocabulary.update(whole[:self.min_tokens])
            self.short.setdefault(whole[:self.min_tokens], []).append((whole, item))
            return True
        return False

    def found(self, text: str) -> tuple[int, str] | None:
        """(item, the shared tokens joined by spaces) of the first match in ``text``, else None."""
        words = tokens(text)
        n, grams = self.n, self.grams
        # a window can match only if each of its tokens is some item's: count those first (C speed),
        # then test every window at C speed; the (rare) hits are then taken in text order
        if (grams and sum(map(self.vocabulary.__contains__, words)) >= n
                and not grams.keys().isdisjoint(zip(*[words[k:] for k in range(n)]))):
            for at in range(len(words) - n + 1):
                gram = tuple(words[at:at + n])
                if gram in grams:
                    return grams[gram], " ".join(gram)
        m, short = self.min_tokens, self.short
        if (short and sum(map(self.short_vocabulary.__contains__, words)) >= m
                and not short.keys().isdisjoint(zip(*[words[k:] for k in range(m)]))):
            for at in range(len(words) - m + 1):
                for whole, item in short.get(tuple(words[at:at + m]), ()):
                    if tuple(words[at:at + len(whole)]) == whole:
                        return item, " ".join(whole)
        return None


class Contamination:
    """Benchmark items, by shared n-gram and by canonical problem (``HeldoutScan``'s keys).

    ``add(text, item)`` files an item's text; ``found(texts, keys)`` tells whether a training
    row (its texts, and its own canonical keys when it has operands) meets any item.
    """

    def __init__(self, n: int = NGRAM, min_tokens: int = MIN_TOKENS) -> None:
        self.ngrams = NgramIndex(n, min_tokens)
        self.items: dict[tuple, int] = {}
        self._numbers: set[str] = set()  # every operand of an item's problem, unsigned
        self._scan: HeldoutScan | None = None

    def add(self, text: str, item: int) -> bool:
        """File an item; False when it can be matched neither way (too short, no family problem)."""
        text = text.replace(SEP, " ")
        filed = self.ngrams.add(text, item)
        for key in problem_keys(text):
            self.items.setdefault(key, item)
            self._numbers.update(_unsigned(op) for op in key[1:] if isinstance(op, str))
            filed = True
        self._scan = None
        return filed

    def may_hold(self, operands) -> bool:
        """Whether every operand's number is some item's (a cheap test before canonical_key)."""
        numbers = self._numbers
        return all(_unsigned(op) in numbers for op in operands if isinstance(op, str))

    def found(self, texts: Iterable[str], keys: list[tuple] | None = None) -> tuple[str, int, str] | None:
        """("canonical" | "ngram", item, what matched), else None.

        ``keys`` are the row's own canonical problems (a generated record's family and operands; empty
        when none can match); None for a row of free text, which is parsed for problems instead.
        """
        for key in keys or ():
            if key in self.items:
                return "canonical", self.items[key], " ".join(map(str, key))
        if self._scan is None:
            self._scan = HeldoutScan(self.items)
        texts = [t for t in texts if t]
        # a row that is one family problem (its keys given) holds no other: no need to parse its text
        for text in texts if keys is None else ():
            key = self._scan.found(text)
            if key is not None:
                return "canonical", self.items[key], " ".join(map(str, key))
        hit = self.ngrams.found(SEP.join(texts))
        return None if hit is None else ("ngram", hit[0], hit[1])
