"""Benchmark the held-out scan of other sources' rows (curricula/leak.py): rows/s on BELLE-like text.

Held-out keys: 200 problems of every family in each of two splits (the default spec's size).
Rows: BELLE-style word problems with random small numbers, a share of them holding a
held-out problem somewhere in the text.

    python benchmarks/bench_leak.py              # 100,000 rows
    python benchmarks/bench_leak.py --rows 250000
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time

from datagen.curricula.leak import HeldoutScan

from datagen.family import FAMILY_ORDER
from datagen.generate import Generator, Request
from datagen.solve import canonical_key

WORDS = [
    "题目：一本书有 {a} 页，小红每天看 {b} 页，几天能看完？\n{a} ÷ {b} = {c}\n答案：{c}",
    "题目：妈妈买了 {a} 千克苹果，每千克 {b} 元，一共花了多少元？\n{a} × {b} = {c}（元）\n答案：{c}",
    "题目：小明有 {a} 个苹果，又买了 {b} 个，现在有几个？\n{a} + {b} = {c}\n答案：{c}",
    "题目：一个班有 {a} 名学生，其中女生占 {b}%，女生有多少人？\n解：{a} × {b}% = {c}\n答案：{c}",
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--planted", type=float, default=0.01,
                        help="share of rows holding a held-out problem")
    args = parser.parse_args()
    heldout = []
    for split_seed in (1, 2):
        gen = Generator(Request(types=tuple(FAMILY_ORDER), n=200 * len(FAMILY_ORDER), seed=split_seed))
        heldout += [gen.item(i) for i in range(gen.request.n)]
    keys = {canonical_key(r["type"], r["operands"]) for r in heldout}
    rng = random.Random(0)
    texts, planted = [], 0
    for _ in range(args.rows):
        a, b = rng.randint(2, 999), rng.randint(2, 99)
        text = rng.choice(WORDS).format(a=a, b=b, c=a * b)
        if rng.random() < args.planted:
            text += "\n另外：" + rng.choice(heldout)["problem"]
            planted += 1
        texts.append(text)
    started = time.perf_counter()
    scan = HeldoutScan(keys)
    built = time.perf_counter() - started
    started = time.perf_counter()
    found = sum(1 for text in texts if scan.found(text) is not None)
    seconds = time.perf_counter() - started
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    print(f"held-out keys: {len(keys):,} (index built in {built:.3f} s)")
    print(f"{args.rows:,} rows in {seconds:.2f} s: {args.rows / seconds:,.0f} rows/s; "
          f"{found:,} rows hold a held-out problem ({planted:,} planted)")


if __name__ == "__main__":
    main()
