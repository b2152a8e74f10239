"""``datagen bench curricula``: rank curricula by what a small model learns from them.

Each spec is built at a common size, then the proxy (``datagen train proxy``) trains on it
with the same model, step budget and seeds; held-out accuracy per type is reported as a mean
with a 95 % interval over seeds, and each curriculum is compared with the first by Welch's
t-test, so a difference is called only when the seeds agree on it.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from datagen.errors import OutputError, UsageError
from datagen.output import atomic_open, check_target, write_json

PROXY_DEFAULTS = {"steps": 2000, "batch_size": 128, "lr": 1e-3}
# two-sided 95 % Student t quantiles by degrees of freedom (used when scipy is absent)
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
       12: 2.179, 15: 2.131, 20: 2.086, 30: 2.042}


def t_quantile(df: float) -> float:
    try:
        from scipy import stats

        return float(stats.t.ppf(0.975, df))
    except ImportError:
        key = min(T95, key=lambda k: abs(k - df))
        return T95[key] if df < 60 else 1.96


def mean_interval(values: list[float]) -> tuple[float, float]:
    """Mean and half-width of its 95 % interval (Student t over the seeds)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, float("nan")
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return mean, t_quantile(n - 1) * sd / math.sqrt(n)


def welch_p(a: list[float], b: list[float]) -> float:
    """Two-sided p-value of Welch's t-test (1.0 when both samples are constant and equal)."""
    from scipy import stats

    if len(a) < 2 or len(b) < 2:
        return float("nan")
    if max(a) == min(a) and max(b) == min(b):
        return 1.0 if a[0] == b[0] else 0.0
    return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def total_records(raw: dict) -> int:
    total = 0
    for stage in raw["stages"]:
        size = stage.get("size")
        total += size if size else sum(s.get("count") or s.get("first") or 0 for s in stage["sources"])
    return total


def scaled(raw: dict, size: int) -> dict:
    """The spec with every stage size and fixed count scaled so the stages add up to ``size``."""
    factor = size / total_records(raw)
    out = json.loads(json.dumps(raw))
    for stage in out["stages"]:
        if stage.get("size"):
            stage["size"] = max(1, round(stage["size"] * factor))
        for source in stage["sources"]:
            for key in ("count", "first"):
                if source.get(key):
                    source[key] = max(1, round(source[key] * factor))
        fixed = sum(s.get("count") or 0 for s in stage["sources"])
        if stage.get("size") and fixed > stage["size"]:
            stage["size"] = fixed
    return out


def run_command(args: list[str], log: Path) -> None:
    """Run one datagen command; a signal here is passed on, so the child removes its own temporaries."""
    with open(log, "w", encoding="utf-8") as handle:
        child = subprocess.Popen([sys.executable, "-m", "datagen.cli", *args], stdout=handle,
                                 stderr=subprocess.STDOUT)
        try:
            code = child.wait()
        except BaseException:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=60)
            except subprocess.TimeoutExpired:
                child.kill()
            raise
    if code != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"`datagen {' '.join(args[:2])}` failed (see {log}): {' / '.join(tail)}")


def final_accuracy(proxy_json: Path) -> dict:
    data = json.loads(proxy_json.read_text(encoding="utf-8"))
    out = {}
    for split, report in data["final"].items():
        out[split] = {family: t["strict"] for family, t in report["by_type"].items()}
        out[split]["all"] = report["overall"]["strict"]
    return out


def bench(args: argparse.Namespace, say) -> dict:
    from curricula.spec import load_spec

    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    specs = [load_spec(path) for path in args.specs]
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise UsageError(f"curricula: two specs share a name: {names}")
    size = args.size or min(total_records(spec.raw) for spec in specs)
    seeds = list(range(args.seeds)) if args.seed_list is None else args.seed_list
    results: dict[str, dict[int, dict]] = {}
    for spec in specs:
        folder = out / spec.name
        folder.mkdir(exist_ok=True)
        text = yaml.safe_dump(scaled(spec.raw, size), allow_unicode=True, sort_keys=False)
        spec_path = folder / "spec.yaml"
        curriculum = folder / "curriculum"
        if not (curriculum / "curriculum.json").exists() or not spec_path.exists() or spec_path.read_text() != text:
            spec_path.write_text(text, encoding="utf-8")
            say(f"building {spec.name} at {size:,} records")
            build = ["curriculum", "build", str(spec_path), "--out", str(curriculum), "--force", "-q"]
            for item in args.data or []:
                build += ["--data", item]
            run_command(build, folder / "build.log")
        results[spec.name] = {}
        for seed in seeds:
            run = folder / f"seed{seed}"
            if not (run / "proxy.json").exists():
                tick = time.time()
                say(f"proxy {spec.name} seed {seed}: {args.steps:,} steps")
                proxy = ["train", "proxy", str(curriculum), "--out", str(run), "--force", "--seed", str(seed),
                         "--steps", str(args.steps), "--batch-size", str(args.batch_size), "--lr", str(args.lr),
                         "--eval-every", str(args.eval_every), "-q"]
                if args.layers:
                    proxy += ["--layers", str(args.layers)]
                if args.hidden:
                    proxy += ["--hidden", str(args.hidden)]
                run_command(proxy, folder / f"seed{seed}.log")
                say(f"proxy {spec.name} seed {seed}: done in {time.time() - tick:.0f}s")
            results[spec.name][seed] = final_accuracy(run / "proxy.json")
    return summarise(results, names, seeds, size, args)


def summarise(results: dict, names: list[str], seeds: list[int], size: int, args) -> dict:
    splits = sorted({split for per_seed in results.values() for acc in per_seed.values() for split in acc})
    table = {}
    for split in splits:
        families = sorted({f for per_seed in results.values() for acc in per_seed.values()
                           for f in acc.get(split, {})}, key=lambda f: (f == "all", f))
        rows = {}
        for family in families:
            cells = {}
            base = [results[names[0]][s][split][family] for s in seeds]
            for name in names:
                values = [results[name][s][split][family] for s in seeds]
                mean, half = mean_interval(values)
                cell = {"values": values, "mean": mean, "ci95": half}
                if name != names[0]:
                    p = welch_p(values, base)
                    cell.update(delta=mean - sum(base) / len(base), p=p, significant=bool(p < 0.05))
                cells[name] = cell
            rows[family] = cells
        table[split] = rows
    return {"curricula": names, "seeds": seeds, "size": size, "steps": args.steps, "batch_size": args.batch_size,
            "learning_rate": args.lr, "table": table}


def markdown(summary: dict) -> str:
    names = summary["curricula"]
    lines = [f"Proxy accuracy (strict, held-out), {len(summary['seeds'])} seeds, {summary['steps']:,} steps of batch "
             f"{summary['batch_size']}, curricula at {summary['size']:,} records. Mean ± 95 % interval; "
             f"Δ against {names[0]} with Welch's t-test (* p < 0.05).", ""]
    for split, rows in summary["table"].items():
        lines += [f"### {split}", "", "| type | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        for family, cells in rows.items():
            out = []
            for name in names:
                c = cells[name]
                text = f"{100 * c['mean']:.1f} ± {100 * c['ci95']:.1f}"
                if "delta" in c:
                    text += f" (Δ {100 * c['delta']:+.1f}, p={c['p']:.3f}{'*' if c['significant'] else ''})"
                out.append(text)
            lines.append(f"| {family} | " + " | ".join(out) + " |")
        lines.append("")
    return "\n".join(lines) + "\n"


def rich_table(summary: dict):
    from rich.table import Table

    names = summary["curricula"]
    tables = []
    for split, rows in summary["table"].items():
        table = Table(title=f"{split}: strict accuracy %, mean ± 95% CI over {len(summary['seeds'])} seeds")
        table.add_column("type")
        for name in names:
            table.add_column(name, justify="right")
        for family, cells in rows.items():
            row = []
            for name in names:
                c = cells[name]
                text = f"{100 * c['mean']:.1f} ± {100 * c['ci95']:.1f}"
                if "delta" in c:
                    text += f"  Δ{100 * c['delta']:+.1f}{' *' if c['significant'] else ''}"
                row.append(text)
            table.add_row(family, *row)
        tables.append(table)
    return tables


def check_bench_folder(out: Path, force: bool, resume: bool) -> None:
    """A bench folder holds hours of runs: continuing it (--resume) or starting over (--force) is asked for."""
    if out.is_dir() and any(out.iterdir()) and not (force or resume):
        raise OutputError(f"{out} exists; pass --resume to continue it or --force to start over", field="--out")
    check_target(out, True, directory=True)


def run(args: argparse.Namespace) -> int:
    if len(args.specs) < 2:
        raise UsageError("curricula: give at least two specs to compare")
    for path in args.specs:
        if not Path(path).is_file():
            raise UsageError(f"{path}: no such spec file")
    if args.seeds < 2 and args.seed_list is None:
        raise UsageError("--seeds: at least 2 (3 or more for a useful interval)")
    if args.force and args.resume:
        raise UsageError("--force starts over and --resume continues: give one of them")
    args.out = args.out or "runs/bench-" + "-vs-".join(Path(p).stem for p in args.specs)
    out = Path(args.out)
    check_bench_folder(out, args.force, args.resume)
    if args.json is not None:
        check_target(args.json, args.force, option="--json")
    if args.force and out.exists():
        shutil.rmtree(out)
    say = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    # --model with pretrained weights: train/bench_pretrained.py runs `train pretrained` instead of the proxy
    pretrained = None
    if args.model != "proxy":
        from train import bench_pretrained as pretrained
    for key, value in (pretrained.DEFAULTS if pretrained else PROXY_DEFAULTS).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    try:
        summary = (pretrained.bench if pretrained else bench)(args, say)
    except RuntimeError as exc:
        raise UsageError(str(exc)) from None
    with atomic_open(out / "bench.json") as handle:
        json.dump(summary, handle, indent=1)
        handle.write("\n")
    with atomic_open(out / "bench.md") as handle:
        handle.write((pretrained.markdown if pretrained else markdown)(summary))
    if args.json is not None:
        write_json(args.json, summary)
    if not args.quiet:
        from rich.console import Console

        console = Console(stderr=True)
        for table in (pretrained.rich_table if pretrained else rich_table)(summary):
            console.print(table)
        console.print(f"wrote {out / 'bench.md'} and {out / 'bench.json'}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="compare curricula with proxy runs over several seeds")
    inner = p.add_subparsers(dest="action", metavar="WHAT")
    c = inner.add_parser(
        "curricula",
        help="build each spec at a common size, run the proxy over seeds, table accuracy per type",
        description="Build each curriculum spec at a common size, train the proxy model on each with the "
        "same budget over several seeds, and print accuracy per type (mean ± 95%% interval) with "
        "Welch t-tests against the first spec. Runs are resumable (--resume): finished seeds are kept.",
    )
    c.add_argument("specs", nargs="+", metavar="SPEC.yaml")
    c.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per spec (3)")
    c.add_argument("--seed-list", type=int, nargs="+", help="explicit seeds instead of --seeds")
    c.add_argument("--steps", type=int, help="steps per run (proxy 2000; a pretrained --model 25)")
    c.add_argument("--size", type=int, help="records per curriculum (default: the smallest spec's)")
    c.add_argument("--batch-size", type=int, help="(proxy 128; a pretrained --model 8)")
    c.add_argument("--lr", type=float, help="(proxy 1e-3; a pretrained --model 5e-4)")
    c.add_argument("--model", default="proxy", help="proxy (a small Llama from scratch), or a preset with "
                   "pretrained weights, e.g. smollm2-135m: accuracy and retention via `train pretrained`")
    c.add_argument("--gguf", metavar="PATH", help="with a pretrained --model: your own Llama GGUF")
    c.add_argument("--layers", type=int)
    c.add_argument("--hidden", type=int)
    c.add_argument("--eval-every", type=int, default=500)
    c.add_argument("--data", action="append", metavar="NAME=PATH", help="passed to curriculum build")
    c.add_argument("--out", help="bench folder (default runs/bench-A-vs-B)")
    c.add_argument("--resume", action="store_true", help="continue an existing bench folder, keeping finished runs")
    c.add_argument("--force", action="store_true", help="start an existing bench folder over (and replace --json)")
    c.add_argument("--json", metavar="PATH", help="also write bench.json's summary here ('-': stdout)")
    c.add_argument("-q", "--quiet", action="store_true")
    c.set_defaults(handler=run)
