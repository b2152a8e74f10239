"""Throughput of ``datagen eval score``: predictions judged per second, short and step-by-step outputs.

Two workloads of ``--n`` items each (default 100k), every family, zh and en:

* short: gold from ``datagen make`` (contest style) and what models write in one line or two
  (contest solution, echoed prompt + answer, a sentence, ``\\boxed{}``, wrong answers, a next turn);
* steps: gold from ``datagen make --style steps`` and step-by-step outputs (the solution itself,
  echoed prompt + steps, steps + a next turn, a wrong last line, steps cut short, answer markers).

Each is scored from JSON Lines and from MindFormers ``.npy``, timing the whole command (read gold,
read predictions, match, extract, judge, tables, ``--json`` and ``--items`` written).

    python benchmarks/bench_eval.py [--n 100000] [--repeat 3] [--only short|steps]

Target: >= 20,000 predictions/s on every workload and format.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from datagen.curricula.templates import inference_prompt

from datagen.cli import main as datagen_main

TARGET = 20_000
NEXT_TURN = "\nUSER: 计算 1 + 2 等于多少？ ASSISTANT: 3"


def make_gold(n: int, path: Path, style: str) -> list[dict]:
    # one process: generation is not what is timed, and it keeps the bench off make's worker pool
    argv = ["make", "--types", "all", "--n", str(n), "--seed", "11", "--lang", "mix", "--style", style,
            "--allow-duplicates", "--workers", "1", "--out", str(path), "-q"]
    if datagen_main(argv) != 0:
        sys.exit(f"datagen make --style {style} failed")
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def short_output(i: int, record: dict) -> str:
    """A mix of what models write: right, rounded, echoed, verbose, boxed and wrong answers."""
    answer, solution, problem = record["answer"], record["solution"], record["problem"]
    kind = i % 8
    if kind == 0:
        return solution
    if kind == 1:
        return inference_prompt("alpaca_zh", problem) + " " + solution + "</s>"
    if kind == 2:
        return f"所以结果为{answer}。"
    if kind == 3:
        return f"The answer is {answer}."
    if kind == 4:
        return f"$\\boxed{{{answer}}}$"
    if kind == 5:
        return f"{problem}\n答案：{answer}1"  # wrong: an extra digit
    if kind == 6:
        return "I am not sure."
    return f"{solution}{NEXT_TURN}"


def steps_output(i: int, record: dict) -> str:
    """Step-by-step outputs: whole, echoed, continued, wrong at the end, cut short, marked."""
    solution, problem = record["solution"], record["problem"]
    kind = i % 6
    if kind == 0:
        return solution
    if kind == 1:
        return inference_prompt("alpaca_zh", problem) + " " + solution + "</s>"
    if kind == 2:
        return solution + NEXT_TURN
    if kind == 3:
        return solution + "9"  # wrong: an extra digit on the last number
    if kind == 4:
        return solution.rsplit("\n", 1)[0] if "\n" in solution else solution[: len(solution) // 2]
    return f"{problem}\n{solution}\n答案：{record['answer']}"


def run(gold: Path, pred: Path, out: Path, extra: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) for one whole command."""
    argv = ["eval", "score", "--gold", str(gold), "--pred", str(pred), "--json", str(out / "report.json"),
            "--items", str(out / "items.jsonl"), "--force", "-q", *extra]
    started, cpu = time.perf_counter(), time.process_time()
    rc = datagen_main(argv)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if rc != 0:
        sys.exit(f"eval score failed with exit code {rc}")
    return elapsed, cpu


def workload(name: str, style: str, make_output, n: int, repeat: int, out: Path) -> dict[str, float]:
    import numpy as np

    gold_path, jsonl_path, npy_path = out / f"{name}-gold.jsonl", out / f"{name}-pred.jsonl", out / f"{name}.npy"
    t0 = time.perf_counter()
    records = make_gold(n, gold_path, style)
    outputs = [make_output(i, r) for i, r in enumerate(records)]
    with open(jsonl_path, "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps({"id": r["id"], "output": text}, ensure_ascii=False) + "\n"
                          for r, text in zip(records, outputs))
    batches = np.empty((len(outputs) + 63) // 64, dtype=object)
    batches[:] = [{"text_generation_text": outputs[k:k + 64]} for k in range(0, len(outputs), 64)]
    np.save(npy_path, batches, allow_pickle=True)
    mean_chars = sum(map(len, outputs)) / len(outputs)
    print(f"{name}: {n:,} gold records and predictions (mean {mean_chars:.0f} characters) in "
          f"{time.perf_counter() - t0:.1f} s (gold {os.path.getsize(gold_path) / 1e6:.1f} MB, "
          f"predictions {os.path.getsize(jsonl_path) / 1e6:.1f} MB)")
    rates = {}
    for label, path, extra in (("jsonl", jsonl_path, []), ("npy", npy_path, ["--allow-pickle"])):
        times = [run(gold_path, path, out, extra) for _ in range(repeat)]
        best = min(wall for wall, _ in times)
        best_cpu = min(cpu for _, cpu in times)
        rates[f"{name}/{label}"] = n / best
        # on a shared machine the CPU-time rate is what the code costs; the wall rate what a user waits
        print(f"  eval score ({label}): {n:,} predictions, best of {repeat}: {best:.2f} s "
              f"-> {n / best:,.0f} predictions/s ({n / best_cpu:,.0f}/s of CPU time)")
    report = json.loads((out / "report.json").read_text())
    print(f"  accuracy on the mix: strict {100 * report['strict']:.2f} %, lenient {100 * report['lenient']:.2f} %")
    for path in (gold_path, jsonl_path, npy_path):
        path.unlink()
    return rates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=("short", "steps"))
    args = parser.parse_args()
    rates: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        if args.only in (None, "short"):
            rates.update(workload("short", "contest", short_output, args.n, args.repeat, out))
        if args.only in (None, "steps"):
            rates.update(workload("steps", "steps", steps_output, args.n, args.repeat, out))
    slowest = min(rates, key=rates.get)
    verdict = "meets" if rates[slowest] >= TARGET else "MISSES"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"slowest: {slowest} at {rates[slowest]:,.0f} predictions/s ({verdict} the {TARGET:,}/s target; "
          f"load average {load:.1f} on {os.cpu_count()} CPUs: on a busy machine read the CPU-time rates)")
    return 0 if rates[slowest] >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
