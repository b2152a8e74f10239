"""Throughput of ``datagen eval score``: predictions judged per second on 100k items.

Makes 100k gold records (every family, zh and en) and 100k predictions in the formats models
write (contest solution, echoed prompt + answer, step-by-step, English sentence, ``\\boxed{}``,
wrong answers), as JSON Lines and as MindFormers ``.npy``; then times the whole command
(read gold, read predictions, match, extract, judge, tables, --json and --items written).

    python benchmarks/bench_eval.py [--n 100000] [--repeat 3]

Target: >= 20,000 predictions/s.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from curricula.templates import inference_prompt
from datagen.cli import main as datagen_main
from datagen.family import FAMILY_ORDER
from datagen.generate import Generator, Request

TARGET = 20_000


def make_gold(n: int, path: Path) -> list[dict]:
    generator = Generator(Request(types=tuple(FAMILY_ORDER), n=n, seed=11, lang="mix", style="contest",
                                  allow_duplicates=True))
    records = []
    with open(path, "w", encoding="utf-8") as handle:
        for start in range(0, n, 4096):
            text, _ = generator.chunk(start, min(n, start + 4096))
            handle.write(text)
            records.extend(json.loads(line) for line in text.splitlines())
    return records


def prediction(i: int, record: dict) -> str:
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
    return f"{solution}\nUSER: 计算 1 + 2 等于多少？ ASSISTANT: 3"


def run(gold: Path, pred: Path, out: Path, extra: list[str]) -> float:
    argv = ["eval", "score", "--gold", str(gold), "--pred", str(pred), "--json", str(out / "report.json"),
            "--items", str(out / "items.jsonl"), "-q", *extra]
    started = time.perf_counter()
    rc = datagen_main(argv)
    elapsed = time.perf_counter() - started
    if rc != 0:
        sys.exit(f"eval score failed with exit code {rc}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        gold_path, jsonl_path, npy_path = out / "gold.jsonl", out / "pred.jsonl", out / "pred.npy"
        t0 = time.perf_counter()
        records = make_gold(args.n, gold_path)
        outputs = [prediction(i, r) for i, r in enumerate(records)]
        with open(jsonl_path, "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps({"id": r["id"], "output": text}, ensure_ascii=False) + "\n" for r, text in zip(records, outputs))
        batches = [{"text_generation_text": outputs[k:k + 64]} for k in range(0, len(outputs), 64)]
        np.save(npy_path, np.array(batches, dtype=object), allow_pickle=True)
        print(f"setup: {args.n:,} gold records and predictions in {time.perf_counter() - t0:.1f} s "
              f"(gold {os.path.getsize(gold_path) / 1e6:.1f} MB, predictions {os.path.getsize(jsonl_path) / 1e6:.1f} MB)")

        results = {}
        for label, path, extra in (("jsonl", jsonl_path, []), ("npy", npy_path, ["--allow-pickle"])):
            times = [run(gold_path, path, out, extra) for _ in range(args.repeat)]
            best = min(times)
            results[label] = args.n / best
            print(f"eval score ({label}): {args.n:,} predictions, best of {args.repeat}: {best:.2f} s "
                  f"-> {args.n / best:,.0f} predictions/s")
        report = json.loads((out / "report.json").read_text())
        print(f"accuracy on the mix: strict {100 * report['strict']:.2f} %, lenient {100 * report['lenient']:.2f} %")
    worst = min(results.values())
    verdict = "meets" if worst >= TARGET else "MISSES"
    print(f"slowest format: {worst:,.0f} predictions/s ({verdict} the {TARGET:,}/s target)")
    return 0 if worst >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
