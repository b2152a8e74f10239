"""Benchmark shards: one process vs 16 parts on local processes vs 16 parts as Ray tasks.

Each run is the ``datagen make`` command a user types (start-up included), into its own folder;
the parts of both engines must join to the one-process file (checked by sha256). Reported:
problems/s, the speed-up over one process, the engine's overhead (its wall time beyond the
one-process time divided by the workers it could use), and per worker the peak memory and the
seconds each part took (from the part manifests).

    python benchmarks/bench_shards.py                          # 10^7 problems, 16 parts
    nice -n 10 python benchmarks/bench_shards.py --n 1000000  # what a shared 2-core machine affords
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(args: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "datagen.cli", *args], check=True, env=env)
    return time.perf_counter() - started


def sha_of(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 22), b""):
                h.update(chunk)
    return h.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000_000)
    parser.add_argument("--parts", type=int, default=16)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--work", default="/tmp/bench_shards")
    parser.add_argument("--engines", default="local,ray")
    args = parser.parse_args()
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    from datagen import shard

    make = ["make", "--n", str(args.n), "--seed", "0", "-q"]
    one = work / "one.jsonl"
    one_s = run([*make, "--workers", "1", "--out", str(one)])
    reference = sha_of([one])
    one.unlink()
    rows = [("one process", 1, one_s, None)]
    for engine in args.engines.split(","):
        out = work / engine / "p.jsonl"
        out.parent.mkdir()
        seconds = run([*make, "--out", str(out), "--parts", str(args.parts), "--engine", engine,
                       "--workers", str(args.workers)])
        parts = [shard.part_path(out, k, args.parts) for k in range(args.parts)]
        assert sha_of(parts) == reference, f"{engine}: parts differ from the one-process output"
        manifests = [json.loads(shard.manifest_path(p).read_text()) for p in parts]
        rows.append((f"{engine} x{args.workers}", args.workers, seconds, manifests))
        shutil.rmtree(out.parent)
    cores = os.cpu_count() or 1
    print(f"{args.n:,} problems, {args.parts} parts, {cores} CPUs (load average {os.getloadavg()[0]:.1f}); "
          f"every engine's parts joined = the one-process bytes (sha256 {reference[:16]}…)")
    print(f"{'run':<16}{'wall s':>9}{'problems/s':>13}{'speed-up':>10}{'overhead s':>12}"
          f"{'peak MB/worker':>16}{'s/part':>12}")
    for name, workers, seconds, manifests in rows:
        ideal = one_s / min(workers, cores, args.parts)
        if manifests is None:
            peak, per_part, overhead = "-", "-", "-"
        else:
            by_worker: dict[int, float] = {}
            for m in manifests:
                by_worker[m["pid"]] = max(by_worker.get(m["pid"], 0), m["peak_rss_mb"])
            peak = f"{max(by_worker.values()):.0f} ({len(by_worker)} w)"
            times = [m["seconds"] for m in manifests]
            per_part = f"{min(times):.2f}-{max(times):.2f}"
            overhead = f"{seconds - ideal:+.1f}"
        print(f"{name:<16}{seconds:>9.1f}{args.n / seconds:>13,.0f}{one_s / seconds:>10.2f}{overhead:>12}"
              f"{peak:>16}{per_part:>12}")


if __name__ == "__main__":
    main()
