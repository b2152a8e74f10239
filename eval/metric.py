"""Turn verdicts into accuracy: overall, by type, language, type × language and difficulty.

Also the contest's score, ``(1 − ratio) × 0.3 + accuracy × 0.7``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

RATIO_WEIGHT = 0.3
ACCURACY_WEIGHT = 0.7


@dataclass
class Tally:
    n: int = 0
    strict: int = 0
    lenient: int = 0
    extracted: int = 0

    def add(self, strict: bool, lenient: bool, extracted: bool) -> None:
        self.n += 1
        self.strict += strict
        self.lenient += lenient
        self.extracted += extracted

    def as_dict(self) -> dict:
        n = self.n or 1
        return {
            "n": self.n,
            "strict": self.strict / n if self.n else None,
            "lenient": self.lenient / n if self.n else None,
            "strict_correct": self.strict,
            "lenient_correct": self.lenient,
            "extracted": self.extracted,
        }


class Scoreboard:
    """Counts per group; unjudged items (no exact gold) are counted apart and not in any accuracy.

    ``add`` bumps one counter per item (the scorer's hot loop); the groups are built on demand.
    """

    def __init__(self) -> None:
        self.counts: Counter = Counter()  # (type, lang, bucket, strict, lenient, extracted) -> items
        self.unjudged = 0

    def add(self, type_: str, lang: str, bucket: str | None, strict: bool | None, lenient: bool,
            extracted: bool) -> None:
        if strict is None:
            self.unjudged += 1
            return
        self.counts[(type_, lang, bucket, strict, lenient, extracted)] += 1

    def _group(self, key) -> dict:
        groups: dict = {}
        for (type_, lang, bucket, strict, soft, extracted), count in self.counts.items():
            k = key(type_, lang, bucket)
            if k is None:
                continue
            tally = groups.get(k)
            if tally is None:
                tally = groups[k] = Tally()
            tally.n += count
            tally.strict += count * strict
            tally.lenient += count * soft
            tally.extracted += count * extracted
        return groups

    @property
    def overall(self) -> Tally:
        return self._group(lambda t, lang, b: "all").get("all", Tally())

    @property
    def by_type(self) -> dict[str, Tally]:
        return self._group(lambda t, lang, b: t)

    @property
    def by_lang(self) -> dict[str, Tally]:
        return self._group(lambda t, lang, b: lang)

    @property
    def by_type_lang(self) -> dict[tuple[str, str], Tally]:
        return self._group(lambda t, lang, b: (t, lang))

    @property
    def by_type_bucket(self) -> dict[tuple[str, str], Tally]:
        return self._group(lambda t, lang, b: None if b is None else (t, b))

    @property
    def types(self) -> list[str]:
        """Types in order of first appearance."""
        return list(dict.fromkeys(key[0] for key in self.counts))

    @property
    def langs(self) -> list[str]:
        order = {"zh": 0, "en": 1}
        return sorted({key[1] for key in self.counts}, key=lambda lang: (order.get(lang, 2), lang))

    def as_dict(self) -> dict:
        overall, by_type, by_lang = self.overall, self.by_type, self.by_lang
        by_type_lang, by_bucket = self.by_type_lang, self.by_type_bucket
        types, langs = self.types, self.langs
        return {
            "n": overall.n,
            "strict": overall.as_dict()["strict"],
            "lenient": overall.as_dict()["lenient"],
            "overall": overall.as_dict(),
            "unjudged": self.unjudged,
            "by_type": {t: by_type[t].as_dict() for t in types},
            "by_lang": {lang: by_lang[lang].as_dict() for lang in langs},
            "by_type_lang": {
                t: {lang: by_type_lang[(t, lang)].as_dict() for lang in langs if (t, lang) in by_type_lang}
                for t in types
            },
            "by_type_difficulty": {
                t: {b: tally.as_dict()
                    for (tt, b), tally in sorted(by_bucket.items(), key=_bucket_order) if tt == t}
                for t in types
                if any(tt == t for tt, _ in by_bucket)
            },
        }


def _bucket_order(entry) -> tuple:
    (_, bucket), _tally = entry
    key, _, value = bucket.partition("=")
    try:
        return (key, 0, float(value), "")
    except ValueError:
        return (key, 1, 0.0, value)


def contest_score(ratio: float, accuracy: float) -> float:
    """The contest's ranking score; ``accuracy`` and ``ratio`` are fractions in [0, 1]."""
    return (1 - ratio) * RATIO_WEIGHT + accuracy * ACCURACY_WEIGHT


def percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f} %"
