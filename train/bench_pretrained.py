"""``datagen bench curricula --model smollm2-135m``: rank curricula on both contest axes with a real
pretrained model — held-out accuracy and retention of general abilities.

The same build as the proxy bench (every spec scaled to a common size), then one
``datagen train pretrained`` run per spec and seed; each axis is tabled as mean ± 95 % interval over
seeds with a paired t-test (seed by seed) against the first spec (``train.bench``'s statistics).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import yaml
from datagen.curricula.spec import data_options
from datagen.train.bench import compare_paired, mean_interval, run_command, scaled, total_records

DEFAULTS = {"steps": 25, "batch_size": 8, "lr": 5e-4}
RETENTION = (
    ("f1", "reading F1 kept"),
    ("em", "reading EM kept"),
    ("general_perplexity", "general perplexity kept"),
    ("reading_perplexity", "answer perplexity kept"),
)


def measures(report: dict) -> dict[str, float | None]:
    """The numbers a bench compares, from one run's pretrained.json."""
    out: dict[str, float | None] = {}
    for split, phases in report["heldout"].items():
        for family, tally in phases["finetuned"]["by_type"].items():
            out[f"accuracy/{split}/{family}"] = tally["exact"]
        out[f"accuracy/{split}/all"] = phases["finetuned"]["overall"]["exact"]
    for key, _ in RETENTION:
        out[f"retention/{key}"] = report["score"]["retention"][key]
    out["score"] = report["score"]["contest_score"]
    return out


def bench(args: argparse.Namespace, say) -> dict:
    from datagen.curricula.spec import load_spec

    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    specs = [load_spec(path) for path in args.specs]
    names = [spec.name for spec in specs]
    size = args.size or min(total_records(spec.raw) for spec in specs)
    seeds = list(range(args.seeds)) if args.seed_list is None else args.seed_list
    results: dict[str, dict[int, dict]] = {}
    for spec in specs:
        folder = out / spec.name
        folder.mkdir(exist_ok=True)
        text = yaml.safe_dump(scaled(spec.raw, size), allow_unicode=True, sort_keys=False)
        spec_path, curriculum = folder / "spec.yaml", folder / "curriculum"
        if (
            not (curriculum / "curriculum.json").exists()
            or not spec_path.exists()
            or spec_path.read_text() != text
        ):
            spec_path.write_text(text, encoding="utf-8")
            say(f"building {spec.name} at {size:,} records")
            build = ["curriculum", "build", str(spec_path), "--out", str(curriculum), "--force", "-q"]
            build += data_options(spec, args.data)
            run_command(build, folder / "build.log")
        results[spec.name] = {}
        for seed in seeds:
            run = folder / f"seed{seed}"
            if not (run / "pretrained.json").exists():
                tick = time.time()
                say(f"{args.model} {spec.name} seed {seed}: {args.steps:,} steps")
                command = [
                    "train",
                    "pretrained",
                    str(curriculum),
                    "--model",
                    args.model,
                    "--out",
                    str(run),
                    "--force",
                    "--seed",
                    str(seed),
                    "--steps",
                    str(args.steps),
                    "--batch-size",
                    str(args.batch_size),
                    "--lr",
                    str(args.lr),
                    "-q",
                ]
                if args.gguf:
                    command += ["--gguf", args.gguf]
                run_command(command, folder / f"seed{seed}.log")
                say(f"{args.model} {spec.name} seed {seed}: done in {time.time() - tick:.0f}s")
            report = json.loads((run / "pretrained.json").read_text(encoding="utf-8"))
            results[spec.name][seed] = measures(report)
    return summarise(results, names, seeds, size, args)


def summarise(results: dict, names: list[str], seeds: list[int], size: int, args) -> dict:
    keys = list(dict.fromkeys(k for per_seed in results.values() for m in per_seed.values() for k in m))
    table = {}
    for key in keys:
        base = [results[names[0]][s].get(key) for s in seeds]
        cells = {}
        for name in names:
            values = [results[name][s].get(key) for s in seeds]
            if any(v is None for v in values):
                cells[name] = {"values": values, "mean": None, "ci95": None}
                continue
            mean, half = mean_interval(values)
            cell = {"values": values, "mean": mean, "ci95": half}
            if name != names[0] and all(v is not None for v in base):
                paired = compare_paired(values, base)  # a seed is the same LoRA start and batch order
                cell.update(delta=paired["delta"], p=paired["p_paired_t"], delta_ci95=paired["ci95"],
                            significant=paired["significant"])
            cells[name] = cell
        table[key] = cells
    return {
        "model": args.model,
        "curricula": names,
        "seeds": seeds,
        "size": size,
        "steps": args.steps,
        "batch_size": args.batch_size,
        "learning_rate": args.lr,
        "table": table,
    }


def _label(key: str) -> str:
    if key.startswith("accuracy/"):
        _, split, family = key.split("/")
        return f"exact {split} {family}"
    if key.startswith("retention/"):
        return dict(RETENTION)[key.split("/", 1)[1]]
    return "contest score"


def _cell(cell: dict, percent: bool) -> str:
    if cell["mean"] is None:
        return "-"
    scale = 100 if percent else 1
    digits = 1 if percent else 4
    text = f"{scale * cell['mean']:.{digits}f} ± {scale * cell['ci95']:.{digits}f}"
    if "delta" in cell:
        text += (
            f" (Δ {scale * cell['delta']:+.{digits}f}, p={cell['p']:.3f}{'*' if cell['significant'] else ''})"
        )
    return text


def markdown(summary: dict) -> str:
    names = summary["curricula"]
    lines = [
        (
            f"{summary['model']} LoRA finetunes: {len(summary['seeds'])} seeds, {summary['steps']:,} steps "
            f"of batch {summary['batch_size']} at lr {summary['learning_rate']:g}, curricula at "
            f"{summary['size']:,} records. Accuracy is teacher-forced held-out exact match (%), retention "
            f"is finetuned / base (%). Mean ± 95 % interval; Δ against {names[0]} with a paired t-test (seed by seed) "
            f"(* p < 0.05)."
        ),
        "",
        "| measure | " + " | ".join(names) + " |",
        "|---" * (len(names) + 1) + "|",
    ]
    for key, cells in summary["table"].items():
        lines.append(
            f"| {_label(key)} | " + " | ".join(_cell(cells[n], key != "score") for n in names) + " |"
        )
    return "\n".join(lines) + "\n"


def rich_table(summary: dict):
    from rich.table import Table

    names = summary["curricula"]
    table = Table(
        title=f"{summary['model']}: accuracy and retention, mean ± 95% CI over {len(summary['seeds'])} seeds"
    )
    table.add_column("measure")
    for name in names:
        table.add_column(name, justify="right")
    for key, cells in summary["table"].items():
        table.add_row(_label(key), *(_cell(cells[n], key != "score") for n in names))
    return [table]
