"""Benchmark decontamination (``datagen audit --against``): training rows/s against a 10,000-item benchmark.

Benchmark: half contest-style test problems (matched by canonical problem and whole when shorter
than the n-gram), half reading passages / questions in English and Chinese (matched by 13-grams).
Training rows: ``datagen make`` records (both languages) and BELLE-like word problems, with a
planted share that repeats a benchmark item reworded (spacing, full width). The figure is the
scan only (the index is built once, its time said apart); every planted row must be found.

    python benchmarks/bench_decontam.py                  # 200,000 rows, 10,000 items
    python benchmarks/bench_decontam.py --rows 1000000
"""

from __future__ import annotations

import argparse
import json
import random
import time

from datagen.curricula.decontam import contamination, load_benchmarks

from datagen.generate import Generator, Request

EN = ("river city museum game team season school bridge island author novel music station market record "
      "harbor valley festival player league garden library painting ship temple mountain").split()
ZH = "长江故宫熊猫北京上海学校图书馆博物馆城市河流山脉公园历史文化音乐比赛球队作家小说画家寺庙海港市场"
BELLE = "题目：小明有 {a} 个苹果，又买了 {b} 个，现在一共有多少个？\n{a} + {b} = {c}\n答案：{c}"


def passages(count: int, rng: random.Random) -> list[dict]:
    items = []
    for k in range(count):
        if k % 2:
            text = "".join(rng.choice(ZH) for _ in range(40)) + "。"
        else:
            text = " ".join(rng.choice(EN) for _ in range(25)) + f" in {1800 + k % 200}."
        items.append({"id": f"p{k}", "context": text})
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--planted", type=float, default=0.001, help="share of rows repeating an item")
    parser.add_argument("--work", default="/tmp/bench_decontam")
    args = parser.parse_args()
    rng = random.Random(0)
    import pathlib

    work = pathlib.Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    half = args.items // 2
    test = Generator(Request(types=("add", "sub", "mul", "div"), n=half, seed=12345, lang="zh",
                             phrasing="contest", format="contest"))
    contest = [json.loads(line) for line in test.chunk(0, half)[0].splitlines()]
    reading = passages(args.items - half, rng)
    bench_path = work / "bench.jsonl"
    with open(bench_path, "w", encoding="utf-8") as handle:
        for row in contest + reading:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    started = time.perf_counter()
    bench = load_benchmarks([bench_path])
    index_s = time.perf_counter() - started

    gen = Generator(Request(types=("add", "sub", "mul", "div", "pow", "sqrt", "mean", "fraction", "area"),
                            n=args.rows, seed=7, spread=True))
    rows: list[dict] = []
    planted = 0
    for k in range(args.rows):
        if rng.random() < args.planted:
            item = (contest + reading)[rng.randrange(args.items)]
            text = item.get("problem") or item["context"]
            rows.append({"problem": "Q: " + "  ".join(text.split()).replace("，", ","), "solution": "x"})
            planted += 1
        elif k % 4 == 3:
            a, b = rng.randrange(1, 500), rng.randrange(1, 500)
            body = BELLE.format(a=a, b=b, c=a + b)
            rows.append({"instruction": body.split("\n")[0], "input": "", "output": body})
        else:
            rows.append(gen.item(k))
    started, cpu = time.perf_counter(), time.process_time()
    found = sum(1 for row in rows if contamination(row, bench) is not None)
    scan_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    print(f"benchmark: {len(bench.items):,} items ({half:,} contest problems, {args.items - half:,} passages), "
          f"indexed in {index_s:.2f} s")
    print(f"scan: {len(rows):,} rows in {scan_s:.2f} s = {len(rows) / scan_s:,.0f} rows/s; "
          f"(CPU {cpu_s:.2f} s = {len(rows) / cpu_s:,.0f} rows/s); {found:,} rows removed, {planted:,} planted")
    if found < planted:
        raise SystemExit(f"missed {planted - found} planted rows")


if __name__ == "__main__":
    main()
