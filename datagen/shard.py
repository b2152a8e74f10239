"""Work split by index: shard plans, part names, completion markers, manifests and the engines.

A run of ``total`` items in ``N`` parts gives part ``K`` the items ``[total*K//N, total*(K+1)//N)``;
every item is addressed by its global index (the generator's keyed bijections), so the parts,
concatenated in order, are the one-process output byte for byte, whatever ran them. Part ``K`` of
``OUT`` is ``OUT.part-0000K-of-0000N``; beside it ``.manifest.json`` (counts, hashes, the options)
and, written last, the completion marker ``.done`` (the manifest's sha256). A rerun skips every
part whose marker matches its manifest, whose files are intact and whose options are the same.
Names come from K, never from completion order, so a local process pool, Ray tasks and a Slurm
array (``--shard $SLURM_ARRAY_TASK_ID/N``) write the same files. Commands hand this module a
*writer* (``"module:function"``, called as ``writer(options, k, n, part_path)``) that writes the
part atomically and returns ``{"files": [paths], "items": int, ...counts}``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import resource
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from datagen import __version__, signals
from datagen.errors import DatagenError, MissingExtraError, OutputError, UsageError
from datagen.output import atomic_open, sha256_file, write_json

ENGINES = ("local", "ray")
SET_SUFFIX = ".parts.json"
PROTOBUF_ENV = "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION"


def parse_shard(text: str, option: str = "--shard") -> tuple[int, int]:
    """``K/N`` -> (K, N) with 0 <= K < N."""
    k, sep, n = str(text).partition("/")
    try:
        k_i, n_i = int(k), int(n)
    except ValueError:
        raise UsageError(f"expected K/N (part K of N, counted from 0), got {text!r}", field=option) from None
    if not sep or n_i < 1 or not 0 <= k_i < n_i:
        raise UsageError(f"expected K/N with 0 <= K < N, got {text!r}", field=option)
    return k_i, n_i


def bounds(total: int, k: int, n: int) -> tuple[int, int]:
    """The items of part ``k`` of ``n``: an even split by index, the same for any engine."""
    return total * k // n, total * (k + 1) // n


def part_path(out: str | Path, k: int, n: int) -> Path:
    out = Path(out)
    return out.with_name(f"{out.name}.part-{k:05d}-of-{n:05d}")


def manifest_path(part: Path) -> Path:
    return part.with_name(part.name + ".manifest.json")


def marker_path(part: Path) -> Path:
    return part.with_name(part.name + ".done")


def set_path(out: str | Path) -> Path:
    out = Path(out)
    return out.with_name(out.name + SET_SUFFIX)




def file_entry(path: Path, root: Path | None = None) -> dict:
    """A file's name (relative to ``root``, default its folder), size and sha256."""
    name = str(path.relative_to(root)) if root is not None else path.name
    return {"path": name, "bytes": path.stat().st_size, "sha256": sha256_file(path)}


def options_digest(options: dict) -> str:
    return hashlib.sha256(json.dumps(options, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class Task:
    """One part of a run: everything a process (or a Ray worker) needs, and picklable."""

    writer: str  # "module:function"
    options: dict
    out: str
    k: int
    n: int


def _writer(ref: str) -> Callable[[dict, int, int, Path], dict]:
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def finished(task: Task, force: bool = False) -> dict | None:
    """The manifest of a complete part made with the same options, else None.

    A complete part made with other options is refused (it would mix two runs) unless ``force``.
    """
    part = part_path(task.out, task.k, task.n)
    marker, manifest = marker_path(part), manifest_path(part)
    if not marker.is_file() or not manifest.is_file():
        return None
    if marker.read_text(encoding="utf-8").strip() != sha256_file(manifest):
        return None
    data = json.loads(manifest.read_text(encoding="utf-8"))
    if data.get("options_sha256") != options_digest(task.options):
        if force:
            return None
        raise OutputError(f"{part} was made with other options; pass --force to make it again",
                          field="--shard")
    for entry in data.get("files", []):
        path = part.parent / entry["path"]
        if not path.is_file() or path.stat().st_size != entry["bytes"] or sha256_file(path) != entry["sha256"]:
            return None
    return data


def run_part(task: Task, force: bool = False) -> dict:
    """Write part ``task.k`` unless it is already complete; return its manifest (``skipped`` added).

    A complete part with the same options is kept even with ``force``: it would be the same bytes.
    """
    done = finished(task, force)
    if done is not None:
        return {**done, "skipped": True}
    part = part_path(task.out, task.k, task.n)
    for stale in (marker_path(part), manifest_path(part)):
        stale.unlink(missing_ok=True)
    remove_orphans(part)
    started = time.perf_counter()
    info = dict(_writer(task.writer)(task.options, task.k, task.n, part))
    seconds = time.perf_counter() - started
    files = [file_entry(Path(p), part.parent) for p in info.pop("files")]
    manifest = {
        "datagen_version": __version__, "writer": task.writer, "part": task.k, "parts": task.n,
        **info, "files": files, "options": task.options, "options_sha256": options_digest(task.options),
        # what making it took (the worker's peak memory so far: a pool or Ray worker makes several parts)
        "seconds": round(seconds, 3), "pid": os.getpid(),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    write_json(manifest_path(part), manifest)
    with atomic_open(marker_path(part)) as handle:
        handle.write(sha256_file(manifest_path(part)) + "\n")
    return {**manifest, "skipped": False}


def _run_part_forced(task: Task) -> dict:
    return run_part(task, force=True)


def _run_part_kept(task: Task) -> dict:
    return run_part(task, force=False)


def remove_orphans(part: Path) -> None:
    """Temporary files of this part left by a killed run (datagen.output names them .NAME.tmp-PID-N)."""
    import shutil

    for path in part.parent.glob(f".{part.name}*.tmp-*"):
        pid = path.name.rsplit(".tmp-", 1)[1].split("-")[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
            continue  # its writer still runs
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


# ---- engines -------------------------------------------------------------------------------------


def _local(tasks: list[Task], workers: int, force: bool) -> list[dict]:
    call = _run_part_forced if force else _run_part_kept
    if workers <= 1 or len(tasks) <= 1:
        return [call(t) for t in tasks]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    ctx = multiprocessing.get_context("fork")
    try:
        with ProcessPoolExecutor(min(workers, len(tasks)), mp_context=ctx,
                                 initializer=signals.worker_init) as pool:
            return list(pool.map(call, tasks))
    except BrokenProcessPool:
        raise DatagenError("a shard worker process died (killed?); finished parts are kept",
                           hint="rerun the same command to make the rest") from None


def _ray(tasks: list[Task], workers: int, force: bool, address: str | None) -> list[dict]:
    # MindSpore's generated protobuf modules need the pure-Python protobuf; Ray would load the C one first
    # (in this process and in its workers), after which `import mindspore` fails
    os.environ.setdefault(PROTOBUF_ENV, "python")
    try:
        with signals.held():
            import ray
    except ImportError:
        raise MissingExtraError("--engine ray", "ray", "distributed") from None
    started = not ray.is_initialized()
    if started:
        # a checkout's code (not an installed copy) in every local worker: its root on their path
        root = str(Path(__file__).resolve().parent.parent)
        path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
        env = {PROTOBUF_ENV: os.environ[PROTOBUF_ENV]}
        kwargs = {"address": address} if address else {
            "num_cpus": workers, "include_dashboard": False, "runtime_env": {"env_vars": {**env, "PYTHONPATH": path}},
        }
        ray.init(log_to_driver=False, logging_level="ERROR", **{"runtime_env": {"env_vars": env}, **kwargs})
    try:
        remote = ray.remote(num_cpus=1, max_retries=0)(_run_part_forced if force else _run_part_kept)
        refs = [remote.remote(t) for t in tasks]
        try:
            return ray.get(refs)
        except ray.exceptions.RayTaskError as exc:
            cause = exc.as_instanceof_cause()
            if isinstance(cause, DatagenError):
                raise cause from None
            raise
    finally:
        if started:
            ray.shutdown()


def run_parts(tasks: list[Task], engine: str = "local", workers: int = 1, *, address: str | None = None,
              force: bool = False) -> list[dict]:
    """Run ``tasks`` on ``engine``; the manifests come back in part order (names come from K)."""
    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r} (choose from {', '.join(ENGINES)})", field="--engine")
    if engine == "ray":
        return _ray(tasks, workers, force, address)
    return _local(tasks, workers, force)


def write_set(out: str | Path, manifests: list[dict], extra: dict | None = None) -> dict:
    """The set manifest ``OUT.parts.json``: every part in order, its counts and hashes."""
    out = Path(out)
    parts = [{"part": m["part"], "items": m.get("items"), "files": m["files"]} for m in manifests]
    data = {"datagen_version": __version__, "out": out.name, "parts": len(manifests),
            "items": sum(m.get("items") or 0 for m in manifests), "files": parts,
            "options": manifests[0]["options"] if manifests else {}, **(extra or {})}
    write_json(set_path(out), data)
    return data


def concatenate(paths: Iterable[Path], target: Path) -> str:
    """Join parts into ``target`` (atomically); the sha256 of the result."""
    h = hashlib.sha256()
    with atomic_open(target, "wb") as handle:
        for path in paths:
            with open(path, "rb") as source:
                for chunk in iter(lambda s=source: s.read(1 << 20), b""):
                    h.update(chunk)
                    handle.write(chunk)
    return h.hexdigest()


# ---- the command-line face, the same for make, curriculum build and export --------------------------


def add_options(parser: argparse.ArgumentParser, *, workers: bool = False) -> None:
    """--shard, --parts, --engine, --ray-address (and --workers, for a command without its own)."""
    g = parser.add_argument_group("shards (past one machine)")
    if workers:
        workers_default = min(os.cpu_count() or 1, 8)
        g.add_argument("--workers", type=int, default=workers_default,
                       help="with --parts: parts made at a time; the output is identical for any value "
                            f"(default: the CPUs, at most 8: {workers_default})")
    g.add_argument("--shard", metavar="K/N", help="write only part K of N (counted from 0) to OUT.part-K-of-N, "
                   "with a manifest and a .done marker; e.g. from a Slurm array: --shard $SLURM_ARRAY_TASK_ID/16")
    g.add_argument("--parts", type=int, metavar="N", help="write all N parts (finished ones are skipped) on "
                   "--engine, --workers at a time")
    g.add_argument("--engine", choices=ENGINES, default="local",
                   help="what runs the parts: local processes (default) or Ray tasks")
    g.add_argument("--ray-address", metavar="ADDR", help="a Ray cluster to join (default: start Ray locally "
                   "with --workers CPUs)")


def requested(args: argparse.Namespace) -> bool:
    return getattr(args, "shard", None) is not None or getattr(args, "parts", None) is not None


def plan(args: argparse.Namespace) -> tuple[list[int], int]:
    """(the parts this command runs, N)."""
    if args.shard is not None and args.parts is not None:
        raise UsageError("give --shard K/N (one part) or --parts N (all parts), not both", field="--shard")
    if args.shard is not None:
        k, n = parse_shard(args.shard)
        return [k], n
    if args.parts < 1:
        raise UsageError(f"must be at least 1, got {args.parts}", field="--parts")
    return list(range(args.parts)), args.parts


def run_command(args: argparse.Namespace, writer: str, options: dict, out: str | Path,
                log: Callable[[str], None] = lambda message: None) -> list[dict]:
    """Run the parts a command line asks for; with all of them, write the set manifest too."""
    if str(out) == "-":
        raise UsageError("parts are files named after --out; give a path, not '-'", field="--out")
    ks, n = plan(args)
    tasks = [Task(writer, options, str(out), k, n) for k in ks]
    manifests = run_parts(tasks, args.engine, getattr(args, "workers", 1) or 1, address=args.ray_address,
                          force=getattr(args, "force", False))
    skipped = sum(1 for m in manifests if m["skipped"])
    if len(ks) == n:
        write_set(out, manifests)
    log(f"{len(manifests) - skipped} part(s) written, {skipped} already complete (skipped), of {n}; "
        f"parts: {part_path(out, 0, n).name} …" + (f"; set: {set_path(out).name}" if len(ks) == n else ""))
    return manifests
