"""``datagen make``: generate problems to JSON Lines, in parallel, byte-identical for any --workers."""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import multiprocessing
import os
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from datagen import card, shard, signals
from datagen.errors import DatagenError, UsageError
from datagen.family import ALL_FAMILIES, FAMILY_ORDER, GROUPS, OPS, ConfigError, expand_types, load_families
from datagen.generate import FORMATS, LANGS, PHRASINGS, STYLES, Generator, Request
from datagen.output import atomic_open, check_target, write_json
from datagen.progress import PipeProgress, fit
from datagen.progress import console as stderr_console

CHUNK = 4096
# option name for each config field a flag can set (others go through --set)
FLAG_FIELDS = {
    "digits": "--digits",
    "decimals": "--decimals",
    "negative": "--negative",
    "terms": "--terms",
    "exponents": "--exponents",
    "steps_sig": "--steps-sig",
}


def parse_range(text: str, option: str) -> tuple[int, int]:
    try:
        if "-" in text[1:]:
            if text.startswith("-"):
                first, rest = text[1:].split("-", 1)
                lo, hi = "-" + first, rest
            else:
                lo, hi = text.split("-", 1)
            return int(lo), int(hi)
        value = int(text)
        return value, value
    except ValueError:
        raise ConfigError(f"{option.lstrip('-')}: expected N or MIN-MAX, got {text!r}") from None


def parse_value(current, text: str, name: str):
    if isinstance(current, bool):
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name}: expected true or false, got {text!r}")
    if isinstance(current, tuple):
        return parse_range(text, name)
    if isinstance(current, str):  # a text option (mixed.operators, unit.dimensions): its validate() judges it
        return text
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"{name}: expected an integer, got {text!r}") from None


# other spellings of an operation: x and × for * (a bare * is a shell glob), ÷ for /
OP_ALIASES = {"x": "*", "×": "*", "÷": "/"}
OPS_HELP = "+ - * / (x or × for *, ÷ for /)"


def parse_ops(ops: str) -> list[str]:
    """The families of an operations string such as ``+-x/`` (commas and spaces ignored), in order."""
    chosen: list[str] = []
    for ch in ops.replace(",", "").replace(" ", ""):
        ch = OP_ALIASES.get(ch, ch)
        if ch not in OPS:
            raise ConfigError(f"ops: unknown operation {ch!r} (choose from {OPS_HELP})")
        if OPS[ch] not in chosen:
            chosen.append(OPS[ch])
    if not chosen:
        raise ConfigError(f"ops: no operation given (choose from {OPS_HELP}); leave --ops out for every family")
    return chosen


def select_types(ops: str | None, types: str | None) -> tuple[str, ...]:
    chosen: list[str] = parse_ops(ops) if ops is not None else []
    if types is not None:
        names = types.replace(",", " ").split()
        if not names:
            raise ConfigError("types: no family given; leave --types out for every contest family")
        chosen.extend(t for t in expand_types(names) if t not in chosen)
    return tuple(chosen) if chosen else tuple(FAMILY_ORDER)


def _range(value, option: str) -> tuple[int, int]:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return int(value[0]), int(value[1])
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value
    return parse_range(str(value), option)


def configs_from_options(types: tuple[str, ...], options: dict, strict: bool = True) -> dict:
    """Family configs from make-style options: digits, decimals, negative, terms, exponents,
    steps_sig (each applied to every chosen family that has it) and set {FAMILY.FIELD: VALUE}."""
    families = load_families()
    overrides: dict[str, dict] = {t: {} for t in types}
    for field, option in FLAG_FIELDS.items():
        raw = options.get(field)
        if raw is None:
            continue
        value = _range(raw, option) if field in ("digits", "terms", "exponents") else raw
        used = False
        for t in types:
            if field in families[t].knobs():
                overrides[t][field] = value
                used = True
        if not used and strict:
            raise ConfigError(f"{field}: none of the chosen families ({', '.join(types)}) has this option")
    for key, raw in (options.get("set") or {}).items():
        family, dot, field = str(key).partition(".")
        if not dot:
            raise ConfigError(f"set: expected FAMILY.FIELD=VALUE, got {key!r}")
        if family not in families:
            raise ConfigError(f"set: unknown family {family!r}")
        if field not in families[family].knobs():
            known = ", ".join(sorted(families[family].knobs()))
            raise ConfigError(f"set: family {family!r} has no option {field!r} (it has {known})")
        if family in overrides:
            default = getattr(families[family].config(), field)
            if isinstance(default, str) and isinstance(raw, (list, tuple)):
                raw = ",".join(str(part) for part in raw)  # a YAML list: dimensions: [time, currency]
            if isinstance(raw, str) or isinstance(default, tuple):
                raw = parse_value(default, str(raw) if not isinstance(raw, (list, tuple)) else
                                  f"{raw[0]}-{raw[1]}", f"set {family}.{field}")
            overrides[family][field] = raw
    configs = {}
    for t in types:
        config = dataclasses.replace(families[t].config(), **overrides[t])
        try:
            config.validate()
        except ConfigError as exc:
            field = str(exc).split(":")[0]
            option = FLAG_FIELDS.get(field, f"--set {t}.{field}")
            raise ConfigError(f"{option.lstrip('-')} ({t}):{str(exc).split(':', 1)[1]}") from None
        configs[t] = config
    return configs


def build_configs(types: tuple[str, ...], args: argparse.Namespace) -> dict:
    options = {field: getattr(args, field) for field in FLAG_FIELDS}
    sets = {}
    for item in args.set or []:
        key, sep, text = item.partition("=")
        if not sep:
            raise ConfigError(f"set: expected FAMILY.FIELD=VALUE, got {item!r}")
        sets[key] = text
    options["set"] = sets
    return configs_from_options(types, options)


_GENERATOR: Generator | None = None


def _chunk(bounds: tuple[int, int]) -> tuple[str, Counter]:
    assert _GENERATOR is not None
    return _GENERATOR.chunk(*bounds)


def produce(generator: Generator, n: int, workers: int):
    """Yield (text, counts) chunk by chunk, in order, at most 2 x workers chunks in flight."""
    bounds = [(s, min(s + CHUNK, n)) for s in range(0, n, CHUNK)]
    if workers <= 1 or len(bounds) <= 1:
        for b in bounds:
            yield generator.chunk(*b)
        return
    global _GENERATOR
    _GENERATOR = generator
    ctx = multiprocessing.get_context("fork")
    # a worker that dies (OOM killer, a stray signal) breaks the executor instead of hanging a
    # multiprocessing.Pool forever; workers ignore Ctrl-C and the parent's exception shuts them down
    executor = ProcessPoolExecutor(workers, mp_context=ctx, initializer=signals.worker_init)
    try:
        it = iter(bounds)
        pending = [executor.submit(_chunk, b) for b in itertools.islice(it, 2 * workers)]
        while pending:
            result = pending.pop(0).result()
            nxt = next(it, None)
            if nxt is not None:
                pending.append(executor.submit(_chunk, nxt))
            yield result
    except BrokenProcessPool:
        raise DatagenError("a generator worker process died (killed?); nothing was written",
                           hint="rerun, or use --workers 1") from None
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def default_out(types: tuple[str, ...], n: int, seed: int, fmt: str, style: str = "contest",
                lang: str | None = None, phrasing: str = "mix") -> Path:
    """``data/make-<types>-n<N>-seed<S>[-<style>][-<lang>][-contest-phrasing][-contest].jsonl``: every
    option that changes the problems but is not its default is in the name, so runs never collide."""
    groups = [group for group, members in GROUPS.items() if set(types) == set(members)]
    name = groups[0] if groups else "-".join(types)
    default_lang = "zh" if phrasing == "contest" else "mix"
    parts = [f"make-{name}", f"n{n}", f"seed{seed}"]
    parts += [style] if style != "contest" else []
    parts += [lang] if lang is not None and lang != default_lang else []
    parts += ["contest-phrasing"] if phrasing != "mix" else []
    parts += ["contest"] if fmt == "contest" else []
    return Path("data") / ("-".join(parts) + ".jsonl")


def summary_table(counts: Counter, types: tuple[str, ...], elapsed: float, n: int, out: str):
    from rich.table import Table

    table = Table(title=f"datagen make: {n:,} problems in {elapsed:.2f} s ({n / max(elapsed, 1e-9):,.0f}/s)")
    table.add_column("type")
    table.add_column("zh", justify="right")
    table.add_column("en", justify="right")
    table.add_column("total", justify="right")
    for t in types:
        zh, en = counts[(t, "zh")], counts[(t, "en")]
        table.add_row(t, f"{zh:,}", f"{en:,}", f"{zh + en:,}")
    zh = sum(v for (t, lang), v in counts.items() if lang == "zh")
    table.add_row("all", f"{zh:,}", f"{n - zh:,}", f"{n:,}", style="bold")
    table.caption = f"output: {out}"
    return table


def summary_data(counts: Counter, types: tuple[str, ...], elapsed: float, n: int, out: str) -> dict:
    """The ``--json`` summary: counts per family and language, and where the problems went."""
    by_type = {t: {"zh": counts[(t, "zh")], "en": counts[(t, "en")]} for t in types}
    return {
        "out": out, "n": n, "seconds": round(elapsed, 3), "per_second": round(n / max(elapsed, 1e-9), 1),
        "by_type": by_type, "by_lang": {lang: sum(v[lang] for v in by_type.values()) for lang in ("zh", "en")},
    }


def request_from_args(args: argparse.Namespace) -> Request:
    types = select_types(args.ops, args.types)
    return Request(
        types=types,
        n=args.n,
        seed=args.seed,
        lang=args.lang or ("zh" if args.phrasing == "contest" else "mix"),
        phrasing=args.phrasing,
        style=args.style,
        format=args.format,
        allow_duplicates=args.allow_duplicates,
        configs=build_configs(types, args),
        spread=True,
    )


# the options that decide the problems (a part's manifest keeps them; a rerun with others is refused)
PART_OPTIONS = ("ops", "types", "n", "seed", "lang", "phrasing", "style", "format", "allow_duplicates",
                *FLAG_FIELDS, "set")


def write_part(options: dict, k: int, n: int, path: Path) -> dict:
    """Part k of n of ``datagen make`` (see datagen.shard): items by global index, one process."""
    generator = Generator(request_from_args(argparse.Namespace(**options)))
    lo, hi = shard.bounds(options["n"], k, n)
    counts: Counter = Counter()
    with atomic_open(path) as handle:
        for start in range(lo, hi, CHUNK):
            text, chunk_counts = generator.chunk(start, min(start + CHUNK, hi))
            handle.write(text)
            counts.update(chunk_counts)
    by_type = {t: {"zh": counts[(t, "zh")], "en": counts[(t, "en")]} for t in generator.request.types}
    return {"files": [path], "items": hi - lo, "first": lo, "by_type": by_type}


def make_parts(args: argparse.Namespace, out: str) -> int:
    options = {name: getattr(args, name) for name in PART_OPTIONS}
    quiet = args.quiet
    manifests = shard.run_command(args, "datagen.make:write_part", options, out,
                                  log=(lambda m: None) if quiet else (lambda m: print(m, file=sys.stderr)))
    card.after_parts(args, out, manifests, options)
    if args.json is not None:
        write_json(args.json, {"out": out, "parts": [{k: m[k] for k in ("part", "items", "files", "skipped")}
                                                     for m in manifests]})
    return 0


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    try:
        if args.n <= 0:
            raise ConfigError(f"n: must be a positive number of problems, got {args.n}")
        if args.workers < 1:
            raise ConfigError(f"workers: must be at least 1, got {args.workers}")
        request = request_from_args(args)
        types = request.types
        generator = Generator(request)
    except ConfigError as exc:
        raise UsageError(f"--{exc}") from None
    out = args.out if args.out is not None else str(
        default_out(types, args.n, args.seed, args.format, args.style, args.lang, args.phrasing))
    if args.json is not None and args.json == "-" and out == "-":
        raise UsageError("--json: standard output already carries the problems (--out -); give a path")
    if shard.requested(args):
        return make_parts(args, out)
    check_target(out, args.force)
    if args.json is not None:
        check_target(args.json, args.force, option="--json")
    show = sys.stderr.isatty() and not args.quiet and out != "-"
    counts: Counter = Counter()
    with atomic_open(out) as handle:
        progress = None
        if show:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            progress = Progress(
                TextColumn("make"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,}"),
                TimeRemainingColumn(), transient=True,
            )
            progress.start()
            task = progress.add_task("make", total=args.n)
        lines = PipeProgress("make", args.n, "problems", quiet=args.quiet)
        try:
            for text, chunk_counts in produce(generator, args.n, args.workers):
                handle.write(text)
                counts.update(chunk_counts)
                if progress:
                    progress.advance(task, sum(chunk_counts.values()))
                lines.advance(sum(chunk_counts.values()))
        finally:
            if progress:
                progress.stop()
    elapsed = time.perf_counter() - started
    card.after_make(args, out, counts, types, {name: getattr(args, name) for name in PART_OPTIONS})
    if args.json is not None:
        write_json(args.json, summary_data(counts, types, elapsed, args.n, out))
    if not args.quiet:
        console = stderr_console()
        console.print(fit(summary_table(counts, types, elapsed, args.n, out)))
        for name, got, share in generator.capped:
            console.print(f"{name}: all {got:,} distinct problems its options allow (an even share was "
                          f"{share:,}); the rest went to the other families")
        if out != "-":
            console.print(f"wrote {args.n:,} problems to [bold]{out}[/bold]")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "make",
        help="generate problems with exact answers",
        description="Generate bilingual math problems with exact answers as JSON Lines.",
    )
    p.add_argument("--ops", help=f"operations, e.g. '+-*/' (add sub mul div): {OPS_HELP}")
    p.add_argument("--types", help="families, comma or space separated, or a group ('all' = the 14 contest "
                   "families, 'symbolic' = the rest): " + " ".join(ALL_FAMILIES))
    p.add_argument("--n", type=int, default=10000, help="number of problems (default 10000)")
    p.add_argument("--seed", type=int, default=0,
                   help="the same seed and options give the same problems; seeds never overlap (default 0)")
    p.add_argument("--lang", choices=LANGS,
                   help="zh, en, or mix (half each; default, zh with --phrasing contest)")
    p.add_argument("--phrasing", choices=PHRASINGS, default="mix",
                   help="mix (default: zh uses the contest's wording half the time, two others a quarter "
                        "each; en three wordings) or contest (the contest's own zh wording only)")
    p.add_argument("--style", choices=STYLES, default="contest", help="solution style (default contest)")
    p.add_argument("--format", choices=FORMATS, default="records",
                   help="records (full JSON records) or contest ({problem, solution} like train.json)")
    p.add_argument("--out", help="output path, '-' for stdout (default: data/make-<types>-n<N>-seed<S>.jsonl, "
                   "with the style, language and phrasing when not the defaults)")
    p.add_argument("--force", action="store_true", help="replace an existing --out (and --json) file")
    p.add_argument("--json", metavar="PATH", help="write the run summary (counts by type and language) as JSON "
                   "here ('-': stdout)")
    workers = min(os.cpu_count() or 1, 8)
    p.add_argument("--workers", type=int, default=workers,
                   help=f"processes; the output is identical for any value (default: the CPUs, at most 8: {workers})")
    p.add_argument("--allow-duplicates", action="store_true",
                   help="sample with replacement instead of refusing when a space is too small")
    g = p.add_argument_group("difficulty (applied to every chosen family that has the option)")
    g.add_argument("--digits", help="integer digits of operands, N or MIN-MAX (contest: 1-4)")
    g.add_argument("--decimals", type=int, help="decimals of operands (contest: 2 for + - * /)")
    g.add_argument("--negative", action=argparse.BooleanOptionalAction, default=None,
                   help="allow negative operands")
    g.add_argument("--terms", help="how many numbers a mean takes, N or MIN-MAX")
    g.add_argument("--exponents", help="exponent range for pow and func_value, N or MIN-MAX")
    g.add_argument("--steps-sig", type=int, help="significant digits shown by --style steps when inexact")
    g.add_argument("--set", action="append", metavar="FAMILY.FIELD=VALUE",
                   help="any family option, e.g. mass.density_decimals=1 (repeatable)")
    card.add_options(p)
    shard.add_options(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(handler=run)
