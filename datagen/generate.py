"""Turn (families, configs, n, seed) into records, any chunk at a time.

Pure: no file system.  ``Generator.chunk(start, end)`` returns the JSON Lines text of
items [start, end) and their counts, so chunks can be made in any process and
concatenated into byte-identical output whatever the number of workers.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from datagen.family import ConfigError, Family, load_families
from datagen.rng import Interleave, Permutation, derive_key, mix64, water_fill
from datagen.style import REVERSED_STYLES, STYLES, reverse_result

LANGS = ("zh", "en", "mix")
FORMATS = ("records", "contest")
# mix: zh takes the contest's own phrasing (zh0) half the time, zh1 and zh2 a quarter each; en (which
# the contest never phrased) en0-en2 a third each.  contest: zh0 only, like the hidden test set.
PHRASINGS = ("mix", "contest")
ZH_TEMPLATE = (0, 0, 1, 2)


@dataclass(frozen=True)
class Request:
    types: tuple[str, ...]
    n: int
    seed: int = 0
    lang: str = "mix"
    style: str = "contest"
    format: str = "records"
    allow_duplicates: bool = False
    configs: dict = field(default_factory=dict)
    # at most this share of any difficulty class (held-out sets leave small classes to training)
    class_share: float = 1.0
    phrasing: str = "mix"
    # a family whose space is smaller than its even share gives all it has; the rest go to the others
    spread: bool = False

    def validate(self) -> None:
        if self.n <= 0:
            raise ConfigError(f"n: must be positive, got {self.n}")
        if self.lang not in LANGS:
            raise ConfigError(f"lang: unknown language {self.lang!r} (choose from {', '.join(LANGS)})")
        if self.style not in STYLES:
            raise ConfigError(f"style: unknown style {self.style!r} (choose from {', '.join(STYLES)})")
        if self.format not in FORMATS:
            raise ConfigError(f"format: unknown format {self.format!r} (choose from {', '.join(FORMATS)})")
        if not self.types:
            raise ConfigError("types: no family selected")
        if self.phrasing not in PHRASINGS:
            raise ConfigError(f"phrasing: unknown phrasing {self.phrasing!r} "
                              f"(choose from {', '.join(PHRASINGS)})")
        if self.phrasing == "contest" and self.lang != "zh":
            raise ConfigError(f"phrasing: the contest's own phrasings are Chinese; lang {self.lang!r} needs "
                              "phrasing mix (or choose lang zh)")


def class_capacities(spaces: list, class_share: float = 1.0) -> list[int]:
    """Distinct problems each class may give (at most ``class_share`` of it, at least one)."""
    if class_share < 1.0:
        return [max(1, int(space.size * class_share)) for space in spaces]
    return [space.size for space in spaces]


class FamilyStream:
    """One family's share of the run: its classes, their counts and their permutations."""

    def __init__(self, family: Family, config, count: int, request: Request) -> None:
        self.family = family
        self.config = config
        self.spaces = family.spaces(config)
        capacities = class_capacities(self.spaces, request.class_share)
        if request.allow_duplicates:
            share, extra = divmod(count, len(self.spaces))
            counts = [share + (1 if k < extra else 0) for k in range(len(self.spaces))]
        else:
            counts = water_fill(count, capacities)
            if sum(counts) < count:
                raise ConfigError(
                    f"n: family '{family.name}' needs {count:,} distinct problems but its difficulty "
                    f"options allow only {sum(capacities):,}"
                    + (f" (at most {request.class_share:.0%} of each class)" if request.class_share < 1 else ""),
                    hint="widen the ranges or pass --allow-duplicates",
                )
        self.order = Interleave(counts)
        keys = [derive_key(request.seed, family.name, space.label) for space in self.spaces]
        if request.allow_duplicates:
            self.draw = [lambda j, k=k, size=s.size: mix64(k + j) % size for k, s in zip(keys, self.spaces)]
        else:
            self.draw = [Permutation(space.size, key) for space, key in zip(self.spaces, keys)]
        self.aux_key = derive_key(request.seed, family.name, "choices")


def reversed_body(
    family: Family, config, values: tuple, lang: str, template: int, base: str = "contest"
) -> dict:
    """The ``base`` solution (contest or bare) with its result written in reversed-digit order."""
    body = family.render(config, values, lang, template, base)
    result = family.render(config, values, lang, template, "bare")["solution"]
    body["solution"] = reverse_result(body["solution"], result)
    return body


class Generator:
    def __init__(self, request: Request) -> None:
        request.validate()
        registry = load_families()
        unknown = [t for t in request.types if t not in registry]
        if unknown:
            raise ConfigError(f"types: unknown family {unknown[0]!r} (choose from {', '.join(registry)})")
        self.request = request
        configs = [request.configs.get(name) or registry[name].config() for name in request.types]
        for config in configs:
            config.validate()
        wanted = [request.n] * len(request.types)
        even = water_fill(request.n, wanted)
        if request.spread and not request.allow_duplicates:
            wanted = [sum(class_capacities(registry[name].spaces(config), request.class_share))
                      for name, config in zip(request.types, configs)]
        per_family = water_fill(request.n, wanted)
        if sum(per_family) < request.n:
            per_family = even  # not enough in all: the family that runs short says so below
        # (family, count, even share) of every family that gave less than an even split
        self.capped = [(name, got, share) for name, got, share in zip(request.types, per_family, even)
                       if got < share]
        self.streams = [FamilyStream(registry[name], config, count, request)
                        for name, config, count in zip(request.types, configs, per_family)]
        for name in request.types:
            family = registry[name]
            if request.style == "reversed" and family.answer_kind:
                raise ConfigError(f"style: reversed writes a number's digits backwards; family {name!r} "
                                  f"does not answer with a number (answer kind {family.answer_kind!r}), "
                                  "choose another style")
        self.order = Interleave(per_family)

    def item(self, i: int) -> dict:
        request = self.request
        f, local = self.order.locate(i)
        stream = self.streams[f]
        c, j = stream.order.locate(local)
        space = stream.spaces[c]
        values = space.decode(stream.draw[c](j))
        r = mix64(stream.aux_key + local)
        lang = request.lang if request.lang != "mix" else ("zh" if r & 1 else "en")
        if request.phrasing == "contest":
            template = 0
        else:
            template = ZH_TEMPLATE[(r >> 1) & 3] if lang == "zh" else (r >> 3) % 3
        if request.style in REVERSED_STYLES:
            base = "bare" if request.style == "bare_reversed" else "contest"
            body = reversed_body(stream.family, stream.config, values, lang, template, base)
        else:
            body = stream.family.render(stream.config, values, lang, template, request.style)
        name = stream.family.name
        return {
            "id": f"syn-{name}-s{request.seed}-{i:07d}",
            "type": name,
            "lang": lang,
            "problem": body["problem"],
            "answer": body["answer"],
            "answer_policy": body["answer_policy"],
            "solution": body["solution"],
            "solution_policy": body["solution_policy"],
            "style": request.style,
            "operands": body["operands"],
            "difficulty": space.difficulty,
            "template": f"{lang}{body.get('template', template)}",
            "source": "synthetic",
        }

    def chunk(self, start: int, end: int) -> tuple[str, Counter]:
        counts: Counter = Counter()
        lines = []
        contest = self.request.format == "contest"
        dumps = json.dumps
        for i in range(start, end):
            record = self.item(i)
            counts[(record["type"], record["lang"])] += 1
            if contest:
                record = {"problem": record["problem"], "solution": record["solution"]}
            lines.append(dumps(record, ensure_ascii=False))
        lines.append("")
        return "\n".join(lines), counts
