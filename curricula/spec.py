"""Curriculum specs (YAML): stages of weighted sources, validated with messages naming the key."""

from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from datagen.configs import names, shipped
from datagen.curricula.templates import TEMPLATES

from datagen.errors import InputError
from datagen.family import ALL_FAMILIES, ConfigError, expand_types
from datagen.generate import LANGS, PHRASINGS, STYLES
from datagen.make import parse_ops
from datagen.rows import read_yaml

SOURCE_KINDS = ("synthetic", "contest", "belle", "alpaca", "replay")
SYNTHETIC_OPTIONS = ("digits", "decimals", "negative", "terms", "exponents", "steps_sig", "set")
PLACEHOLDER = re.compile(r"^\{(\w+)\}$")


class SpecError(InputError, ValueError):
    """A spec mistake; the message starts with the file and the key path."""


@dataclass(frozen=True)
class Source:
    kind: str
    weight: float | None = None
    count: int | None = None
    types: tuple[str, ...] = ()
    options: dict = field(default_factory=dict)
    path: str | None = None
    first: int | None = None
    verdicts: tuple[str, ...] = ()
    stage: str | None = None
    name: str | None = None
    style: str | None = None
    seed: int | None = None
    phrasing: str | None = None  # synthetic only: "contest" writes the contest's own zh wording only


@dataclass(frozen=True)
class Stage:
    name: str
    size: int | None
    sources: tuple[Source, ...]
    style: str = "contest"
    lang: str = "mix"
    epochs: int | None = None
    seed: int | None = None


@dataclass(frozen=True)
class Heldout:
    count: int = 200
    types: tuple[str, ...] = ()
    seed: int = 2**31 - 1
    lang: str = "mix"
    options: dict = field(default_factory=dict)
    extrapolate: dict = field(default_factory=dict)
    per_type: dict = field(default_factory=dict)  # family -> count, overriding ``count``

    def count_of(self, family: str) -> int:
        """Held-out problems of ``family`` in each split."""
        return self.per_type.get(family, self.count)


@dataclass(frozen=True)
class Spec:
    name: str
    stages: tuple[Stage, ...]
    template: str = "alpaca_zh"
    seq_length: int = 256
    digits: int = 3
    seed: int = 0
    heldout: Heldout = Heldout()
    data: dict = field(default_factory=dict)
    description: str = ""
    benchmarks: tuple[str, ...] = ()  # every stage is decontaminated against these files
    path: str = ""
    raw: dict = field(default_factory=dict)
    scale: float = 1.0  # set by scale_spec: every size of the file multiplied by this


class _Checker:
    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, key: str, message: str):
        raise SpecError(f"{self.where}: {key}: {message}")

    def only(self, data: dict, key: str, allowed) -> None:
        if not isinstance(data, dict):
            self.fail(key or "(top)", "must be a mapping")
        for name in data:
            if name not in allowed:
                self.fail(f"{key}.{name}" if key else name, f"unknown key (allowed: {', '.join(allowed)})")

    def int_(self, data: dict, key: str, name: str, default=None, minimum: int = 1):
        value = data.get(name, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(f"{key}.{name}" if key else name, f"must be an integer >= {minimum}, got {value!r}")
        return value

    def choice(self, data: dict, key: str, name: str, options, default):
        value = data.get(name, default)
        if value not in options:
            self.fail(f"{key}.{name}" if key else name, f"must be one of {', '.join(map(str, options))}, got {value!r}")
        return value


def _types(check: _Checker, key: str, value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    if not isinstance(value, list):
        check.fail(key, "must be a list of family names")
    try:
        return tuple(expand_types(str(name) for name in value))
    except ConfigError as exc:
        check.fail(key, str(exc).removeprefix("types: "))


def _source(check: _Checker, key: str, data: dict, stage_names: list[str]) -> Source:
    check.only(data, key, ("kind", "weight", "count", "types", "ops", "options", "path", "first", "verdicts",
                           "stage", "name", "style", "seed", "phrasing"))
    kind = check.choice(data, key, "kind", SOURCE_KINDS, None)
    weight, count = data.get("weight"), data.get("count")
    if weight is not None and (isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight <= 0):
        check.fail(f"{key}.weight", f"must be a positive number, got {weight!r}")
    count = check.int_(data, key, "count")
    first = check.int_(data, key, "first")
    if weight is None and count is None and first is None:
        check.fail(key, "needs a weight, a count, or (contest) first")
    types = _types(check, f"{key}.types", data.get("types"))
    if "ops" in data:
        try:
            ops = parse_ops(str(data["ops"] or ""))
        except ConfigError as exc:
            check.fail(f"{key}.ops", str(exc).removeprefix("ops: "))
        types = tuple(dict.fromkeys(ops + list(types)))
    options = data.get("options") or {}
    if kind == "synthetic":
        if not types:
            check.fail(f"{key}.types", "a synthetic source needs types or ops")
        check.only(options, f"{key}.options", SYNTHETIC_OPTIONS)
    elif options:
        check.fail(f"{key}.options", f"only synthetic sources take options, not {kind}")
    if kind in ("contest", "belle", "alpaca") and not data.get("path"):
        check.fail(f"{key}.path", f"a {kind} source needs a path (or a placeholder like '{{{kind}}}')")
    if kind == "replay":
        if data.get("stage") not in stage_names:
            check.fail(f"{key}.stage", f"must name an earlier stage ({', '.join(stage_names) or 'none yet'})")
    style = data.get("style")
    if style is not None and (kind != "synthetic" or style not in STYLES):
        check.fail(f"{key}.style", f"a synthetic source's style, one of {', '.join(STYLES)}; got {style!r}")
    phrasing = data.get("phrasing")
    if phrasing is not None and (kind != "synthetic" or phrasing not in PHRASINGS):
        check.fail(f"{key}.phrasing", f"a synthetic source's phrasing, one of {', '.join(PHRASINGS)}; "
                                      f"got {phrasing!r}")
    verdicts = data.get("verdicts") or []
    for v in verdicts:
        if v not in ("agrees", "disagrees", "unchecked"):
            check.fail(f"{key}.verdicts", f"unknown verdict {v!r}")
    return Source(
        kind=kind, weight=weight, count=count, types=types, options=dict(options), path=data.get("path"),
        first=first, verdicts=tuple(verdicts), stage=data.get("stage"), name=data.get("name"), style=style,
        seed=check.int_(data, key, "seed", minimum=0), phrasing=phrasing,
    )


def parse_spec(data: Any, where: str = "<spec>") -> Spec:
    check = _Checker(where)
    check.only(data, "", ("name", "description", "template", "seq_length", "digits", "seed", "heldout", "data",
                          "stages", "benchmarks"))
    if not isinstance(data.get("name"), str) or not data["name"]:
        check.fail("name", "required, a non-empty string")
    template = check.choice(data, "", "template", tuple(TEMPLATES), "alpaca_zh")
    seq_length = check.int_(data, "", "seq_length", 256, minimum=8)
    digits = check.choice(data, "", "digits", (3, 1), 3)
    seed = check.int_(data, "", "seed", 0, minimum=0)
    stages_raw = data.get("stages")
    if not isinstance(stages_raw, list) or not stages_raw:
        check.fail("stages", "required, a non-empty list")
    stages, names = [], []
    for k, raw in enumerate(stages_raw):
        key = f"stages[{k}]"
        check.only(raw, key, ("name", "size", "sources", "style", "lang", "epochs", "seed"))
        name = raw.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name or ""):
            check.fail(f"{key}.name", f"required: letters, digits, _ . - only, got {name!r}")
        if name in names:
            check.fail(f"{key}.name", f"duplicate stage name {name!r}")
        sources_raw = raw.get("sources")
        if not isinstance(sources_raw, list) or not sources_raw:
            check.fail(f"{key}.sources", "required, a non-empty list")
        sources = tuple(_source(check, f"{key}.sources[{j}]", s, names) for j, s in enumerate(sources_raw))
        if raw.get("lang", "zh") != "zh":
            for j, source in enumerate(sources):
                if source.phrasing == "contest":
                    check.fail(f"{key}.sources[{j}].phrasing",
                               f"contest phrasings are Chinese; the stage's lang is {raw['lang']!r} "
                               "(set lang: zh or leave it out)")
        size = check.int_(raw, key, "size")
        if size is None and any(s.count is None and s.first is None for s in sources):
            check.fail(f"{key}.size", "required when a source is given by weight")
        stages.append(
            Stage(
                name=name, size=size, sources=sources,
                style=check.choice(raw, key, "style", STYLES, "contest"),
                lang=check.choice(raw, key, "lang", LANGS, "mix"),
                epochs=check.int_(raw, key, "epochs"), seed=check.int_(raw, key, "seed", minimum=0),
            )
        )
        names.append(name)
    held = data.get("heldout") or {}
    check.only(held, "heldout", ("count", "per_type", "types", "seed", "lang", "options", "extrapolate"))
    extrapolate = held.get("extrapolate") or {}
    check.only(extrapolate, "heldout.extrapolate", SYNTHETIC_OPTIONS)
    held_options = held.get("options") or {}
    check.only(held_options, "heldout.options", SYNTHETIC_OPTIONS)
    per_type = held.get("per_type") or {}
    check.only(per_type, "heldout.per_type", ALL_FAMILIES)
    for family in per_type:
        check.int_(per_type, "heldout.per_type", family)
    heldout = Heldout(
        count=check.int_(held, "heldout", "count", 200),
        types=_types(check, "heldout.types", held.get("types")),
        seed=check.int_(held, "heldout", "seed", 2**31 - 1, minimum=0),
        lang=check.choice(held, "heldout", "lang", LANGS, "mix"),
        options=dict(held_options),
        extrapolate=dict(extrapolate),
        per_type=dict(per_type),
    )
    data_paths = data.get("data") or {}
    check.only(data_paths, "data", ("contest", "belle", "alpaca"))
    benchmarks = data.get("benchmarks") or []
    if not isinstance(benchmarks, list) or not all(isinstance(b, str) and b for b in benchmarks):
        check.fail("benchmarks", "a list of benchmark file paths (SQuAD JSON, JSON Lines or JSON lists)")
    return Spec(
        name=data["name"], stages=tuple(stages), template=template, seq_length=seq_length, digits=digits,
        seed=seed, heldout=heldout, data=dict(data_paths), description=str(data.get("description", "")),
        path=where, raw=data, benchmarks=tuple(benchmarks),
    )


def _scaled(value: int, factor: float) -> int:
    return max(1, round(value * factor))


def scale_spec(spec: Spec, factor: float) -> Spec:
    """The spec at ``factor`` x its size: every stage size, source count and first, and the
    held-out counts (each at least 1; a stage grows to its fixed counts if rounding left it short)."""
    if not 0 < factor <= 1:
        raise SpecError(f"{spec.path}: --scale: must be in (0, 1], got {factor}")
    if factor == 1:
        return spec
    raw = copy.deepcopy(spec.raw)
    for stage in raw["stages"]:
        for source in stage["sources"]:
            for key in ("count", "first"):
                if source.get(key):
                    source[key] = _scaled(source[key], factor)
        if stage.get("size"):
            fixed = sum(s.get("count") or (s.get("first") if s.get("weight") is None else 0) or 0
                        for s in stage["sources"])
            stage["size"] = max(_scaled(stage["size"], factor), fixed)
    held = raw["heldout"] = raw.get("heldout") or {}
    held["count"] = _scaled(held.get("count", Heldout.count), factor)
    for family, count in (held.get("per_type") or {}).items():
        held["per_type"][family] = _scaled(count, factor)
    return replace(parse_spec(raw, spec.path), scale=factor)


def shipped_specs() -> list[Path]:
    """The curriculum specs shipped in ``datagen.configs`` (``configs/curricula``)."""
    return [shipped("curricula", name) for name in names("curricula")]


def find_spec(name: str | Path) -> Path:
    """A spec file: the path given, else the shipped spec of that name (``arith_staged``), from any folder."""
    path = Path(name)
    if path.is_file():
        return path
    found = shipped("curricula", str(name))
    if found is not None:
        return found
    if path.suffix in (".yaml", ".yml") or os.sep in str(name) or "/" in str(name):
        raise SpecError(f"{path}: no such file (shipped specs, usable by name: {', '.join(names('curricula'))})")
    raise SpecError(f"{name}: no such file, and no shipped spec has that name (shipped: "
                    f"{', '.join(names('curricula'))}; `datagen curriculum list` shows them)")


def load_spec(path: str | Path) -> Spec:
    path = find_spec(path)
    try:
        data = read_yaml(path)
    except InputError as exc:
        raise SpecError(str(exc)) from None
    return parse_spec(data, str(path))


def data_names(spec: Spec) -> set[str]:
    """The ``{name}`` placeholders of the spec's source paths: the names ``--data NAME=PATH`` may give."""
    found = set()
    for stage in spec.stages:
        for source in stage.sources:
            m = PLACEHOLDER.match(source.path or "")
            if m:
                found.add(m.group(1))
    return found


def data_options(spec: Spec, items: list[str] | None) -> list[str]:
    """The ``--data NAME=PATH`` arguments of ``items`` that ``spec`` reads (a bench passes one list to
    every spec it builds; a build refuses a name its spec does not use)."""
    names = data_names(spec)
    return [arg for item in items or [] if item.partition("=")[0] in names for arg in ("--data", item)]


def resolve_path(spec: Spec, source: Source, data_args: dict[str, str]) -> Path:
    """A source path: '{contest}' placeholders come from --data, then the spec's data: section."""
    text = source.path or ""
    m = PLACEHOLDER.match(text)
    if m:
        name = m.group(1)
        value = data_args.get(name) or spec.data.get(name)
        if not value:
            raise SpecError(f"{spec.path}: source path {text!r} needs --data {name}=PATH")
        text = value
    path = Path(text)
    if not path.is_absolute() and spec.path and not path.exists():
        beside = Path(spec.path).parent / path
        path = beside if beside.exists() else path
    if not path.is_file():
        raise SpecError(f"{spec.path}: source file {path} does not exist")
    return path
