"""Generation speed of the symbolic families against DeepMind's mathematics_dataset, in one run.

    pip install mathematics-dataset          # a benchmark dependency only, not the project's
    python benchmarks/bench_families.py                  # ~3 s per module and side, ~4 min
    python benchmarks/bench_families.py --seconds 5 --json bench.json

Each row pairs one of our families with the mathematics_dataset module that asks the same kind
of question, both single-process on this machine.  Theirs: ``module()`` plus ``str()`` of the
question and answer (what its generate.py writes), train-medium difficulty.  Ours: full records
(problem, answer, solution, operands, difficulty ...) from ``Generator.item`` in contest and steps
style, sympy in the loop where the family uses it; the ratio takes the slower style.  The jsonl
column adds JSON serialisation (``Generator.chunk``), which theirs does not do.  mathematics_dataset 1.0.1 (2019)
predates sympy 1.7 and numpy 1.24; two attribute aliases are restored before it is imported.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from datagen.family import load_families
from datagen.generate import Generator, Request

FAMILIES = load_families()

# ours -> (their module, note); None where mathematics_dataset has no such module
PAIRS = {
    "mixed": ("arithmetic__mixed", ""),
    "surd": ("arithmetic__simplify_surd", ""),
    "rationalize": ("arithmetic__simplify_surd", ""),
    "quadratic": ("algebra__polynomial_roots", ""),
    "linear_system": ("algebra__linear_2d", ""),
    "poly_eval": ("polynomials__evaluate", ""),
    "poly_expand": ("polynomials__expand", ""),
    "poly_factor": ("algebra__polynomial_roots", "theirs also asks 'Factor ...'"),
    "derivative": ("calculus__differentiate", ""),
    "gcd": ("numbers__gcd", ""),
    "lcm": ("numbers__lcm", ""),
    "prime": ("numbers__is_prime", ""),
    "rounding": ("numbers__round_number", ""),
    "place_value": ("numbers__place_value", ""),
    "unit": ("measurement__conversion", ""),
    "unit ": ("measurement__time", "theirs is clock arithmetic (663 minutes before 3:53 AM), not conversion"),
    "percent": (None, "no matching module"),
    "percent_ratio": (None, "no matching module"),
}
TARGET = 10.0


def load_mathematics_dataset():
    """mathematics_dataset's train-medium modules, flattened to area__name, or None if not installed."""
    try:
        import numpy
        import sympy.solvers.diophantine  # noqa: F401  (the package, for the alias below)
        from sympy.solvers.diophantine.diophantine import base_solution_linear
    except ImportError:
        return None
    # names the 2019 code imports that newer sympy / numpy moved or removed
    sys.modules["sympy.solvers.diophantine"].base_solution_linear = base_solution_linear
    if not hasattr(numpy, "object"):
        numpy.object = object
    try:
        modules = importlib.import_module("mathematics_dataset.modules.modules")
        generate = importlib.import_module("mathematics_dataset.generate")
    except ModuleNotFoundError:
        return None
    flat = {}
    for area, functions in modules.train(generate._make_entropy_fn(1, 3)).items():
        for name, fn in functions.items():
            flat[f"{area}__{name}"] = fn
    return flat


def theirs_slice(fn, seconds: float) -> float:
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        problem = fn()
        str(problem.question), str(problem.answer)
        count += 1
    return count / (time.perf_counter() - start)


class Ours:
    """One family and style, swept item by item (a small space is swept again: the same work)."""

    def __init__(self, family: str, style: str, jsonl: bool = False) -> None:
        fam = FAMILIES[family]
        self.size = min(200_000, sum(space.size for space in fam.spaces(fam.config())))
        self.generator = Generator(Request(types=(family,), n=self.size, seed=1, style=style))
        self.generator.chunk(0, 200)  # warm: sympy import, sieves, factor tables
        self.jsonl = jsonl
        self.done = 0

    def slice(self, seconds: float) -> float:
        step, count, start = 500, 0, time.perf_counter()
        item = self.generator.item
        while time.perf_counter() - start < seconds:
            at = self.done % (self.size - step)
            if self.jsonl:
                self.generator.chunk(at, at + step)
            else:
                for i in range(at, at + step):
                    item(i)
            self.done += step
            count += step
        return count / (time.perf_counter() - start)


def best_rates(runners: list, seconds: float, rounds: int = 6) -> list[float]:
    """Interleaved short slices, best slice each: the machine is shared, load comes and goes."""
    best = [0.0] * len(runners)
    for _ in range(rounds):
        for k, run in enumerate(runners):
            best[k] = max(best[k], run(seconds / rounds))
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0,
                        help="time per module and side, in 6 interleaved slices (default 3)")
    parser.add_argument("--only", help="comma-separated families to run")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    theirs = load_mathematics_dataset()
    if theirs is None:
        print("mathematics_dataset is not installed: pip install mathematics-dataset", file=sys.stderr)
        return 2
    import numpy

    numpy.random.seed(0)
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, single process, "
          f"{args.seconds:g} s per measurement (best of 6 interleaved slices)")
    header = (f"{'ours':14s} {'mathematics_dataset':28s} {'theirs/s':>9s} {'contest/s':>10s} {'steps/s':>9s} "
              f"{'jsonl/s':>9s} {'ratio':>7s}  note")
    print(header)
    rows = []
    only = set(args.only.split(",")) if args.only else None
    for key, (module, note) in PAIRS.items():
        family = key.strip()
        if only and family not in only:
            continue
        runners = [Ours(family, "contest").slice, Ours(family, "steps").slice,
                   Ours(family, "contest", jsonl=True).slice]
        if module is not None:
            for _ in range(3):  # warm their caches
                theirs_slice(theirs[module], 0.01)
            runners.append(lambda seconds, fn=theirs[module]: theirs_slice(fn, seconds))
        contest, steps, jsonl, *rest = best_rates(runners, args.seconds)
        their_rate = rest[0] if rest else None
        ratio = min(contest, steps) / their_rate if their_rate else None
        verdict = "" if ratio is None else ("" if ratio >= TARGET else f"below {TARGET:g}x; ")
        rows.append({"family": family, "module": module, "theirs_per_s": their_rate, "contest_per_s": contest,
                     "steps_per_s": steps, "jsonl_per_s": jsonl, "ratio": ratio, "note": note})
        print(f"{family:14s} {module or '-':28s} {their_rate or 0:9,.0f} {contest:10,.0f} {steps:9,.0f} {jsonl:9,.0f} "
              f"{(f'{ratio:.0f}x' if ratio else '-'):>7s}  {verdict}{note}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
