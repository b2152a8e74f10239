"""Benchmark `datagen make`: wall time, items/s, peak memory, and the ratio to the
serialisation floor (writing the same records from memory with json.dumps).

    python benchmarks/bench_make.py                 # 150k, and 3M for the memory check
    python benchmarks/bench_make.py --sizes 150000  # just the headline run
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_make(n: int, out: Path, workers: int | None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one `datagen make` run in a fresh process."""
    cmd = [sys.executable, "-m", "datagen.cli", "make", "--ops", "+-*/", "--n", str(n), "--seed", "7",
           "--out", str(out), "--force", "-q"]
    if workers:
        cmd += ["--workers", str(workers)]
    script = (
        "import resource, subprocess, sys, time;"
        "t = time.perf_counter(); subprocess.run(sys.argv[1:], check=True);"
        "w = time.perf_counter() - t;"
        "print(w, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    result = subprocess.run([sys.executable, "-c", script, *cmd], check=True, capture_output=True, text=True)
    wall, rss_kib = result.stdout.split()
    return float(wall), int(rss_kib) / 1024


def serialisation_floor(path: Path, limit: int) -> tuple[float, int]:
    """Seconds to write the same records (already in memory) as JSON Lines."""
    with open(path, encoding="utf-8") as handle:
        records = [json.loads(line) for _, line in zip(range(limit), handle)]
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", delete=True) as sink:
        t = time.perf_counter()
        dumps = json.dumps
        sink.write("".join(dumps(r, ensure_ascii=False) + "\n" for r in records))
        sink.flush()
        return time.perf_counter() - t, len(records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="150000,3000000")
    parser.add_argument("--workers", type=int, help="default: datagen's own default")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in map(int, args.sizes.split(",")):
            out = Path(tmp) / f"make-{n}.jsonl"
            best = min((run_make(n, out, args.workers) for _ in range(3 if n <= 200_000 else 1)),
                       key=lambda x: x[0])
            wall, rss = best
            floor, counted = serialisation_floor(out, limit=min(n, 300_000))
            floor_n = floor * n / counted
            print(
                f"n={n:>9,}  wall {wall:6.2f} s  {n / wall:>9,.0f} items/s  peak RSS {rss:6.1f} MiB  "
                f"floor {floor_n:5.2f} s  ratio to floor {wall / floor_n:4.2f}x"
            )
            out.unlink()


if __name__ == "__main__":
    main()
