"""Shards by index: parts concatenate to the one-process bytes, resume after a kill, same on Ray."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from datagen import shard
from datagen.cli import main

ROOT = Path(__file__).parent.parent
MAKE = ["make", "--n", "3000", "--seed", "5", "--types", "all", "-q"]


def parts_of(out: Path, n: int) -> list[Path]:
    return [shard.part_path(out, k, n) for k in range(n)]


def joined(out: Path, n: int) -> bytes:
    return b"".join(p.read_bytes() for p in parts_of(out, n))


@pytest.fixture(scope="module")
def one_process(tmp_path_factory) -> bytes:
    out = tmp_path_factory.mktemp("one") / "all.jsonl"
    assert main([*MAKE, "--workers", "1", "--out", str(out)]) == 0
    return out.read_bytes()


def test_shard_bounds_cover_every_index_once():
    for total in (0, 1, 7, 3000, 10**7 + 3):
        for n in (1, 3, 7, 16):
            spans = [shard.bounds(total, k, n) for k in range(n)]
            assert spans[0][0] == 0 and spans[-1][1] == total
            assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))


@pytest.mark.parametrize("n", [1, 3, 7])
def test_make_parts_concatenate_to_one_process_bytes(tmp_path, one_process, n):
    out = tmp_path / "p.jsonl"
    assert main([*MAKE, "--workers", "2", "--out", str(out), "--shards", str(n)]) == 0
    assert joined(out, n) == one_process
    rows = [json.loads(line) for line in joined(out, n).decode().splitlines()]
    assert len({(r["type"], tuple(r["operands"])) for r in rows}) == len(rows) == 3000  # unique across parts
    index = json.loads(shard.set_path(out).read_text())
    assert index["items"] == 3000 and [p["part"] for p in index["files"]] == list(range(n))
    for k, path in enumerate(parts_of(out, n)):
        manifest = json.loads(shard.manifest_path(path).read_text())
        lo, hi = shard.bounds(3000, k, n)
        assert manifest["items"] == hi - lo and manifest["first"] == lo
        assert manifest["files"][0]["sha256"] == shard.sha256_file(path)
        assert sum(v["zh"] + v["en"] for v in manifest["by_type"].values()) == hi - lo
        assert shard.marker_path(path).read_text().strip() == shard.sha256_file(shard.manifest_path(path))


def test_single_shard_commands_write_the_same_parts(tmp_path, one_process):
    out = tmp_path / "p.jsonl"
    for k in (2, 0, 1):  # any order, any machine: names come from K
        assert main([*MAKE, "--out", str(out), "--shard", f"{k}/3"]) == 0
    assert joined(out, 3) == one_process
    assert not shard.set_path(out).exists()  # one part at a time does not claim the whole set


def test_rerun_skips_finished_parts_and_remakes_a_damaged_one(tmp_path, one_process, capsys):
    out = tmp_path / "p.jsonl"
    assert main([*MAKE, "--out", str(out), "--shards", "3"]) == 0
    kept = shard.part_path(out, 0, 3).stat().st_mtime_ns
    damaged = shard.part_path(out, 1, 3)
    damaged.write_bytes(damaged.read_bytes()[:-10])
    shard.marker_path(shard.part_path(out, 2, 3)).unlink()
    capsys.readouterr()
    assert main([*MAKE[:-1], "--out", str(out), "--shards", "3"]) == 0
    assert "2 part(s) written, 1 already complete (skipped), of 3" in capsys.readouterr().err
    assert shard.part_path(out, 0, 3).stat().st_mtime_ns == kept
    assert joined(out, 3) == one_process


def test_a_part_made_with_other_options_is_refused(tmp_path, capsys):
    out = tmp_path / "p.jsonl"
    assert main([*MAKE, "--out", str(out), "--shard", "0/2"]) == 0
    before = shard.part_path(out, 0, 2).read_bytes()
    assert main(["make", "--n", "3000", "--seed", "6", "--types", "all", "-q", "--out", str(out),
                 "--shard", "0/2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "made with other options; pass --force" in err
    assert shard.part_path(out, 0, 2).read_bytes() == before


@pytest.mark.parametrize("bad", ["3/3", "1", "a/b", "-1/2", "0/0"])
def test_bad_shard_is_one_line_exit_2(tmp_path, capsys, bad):
    assert main([*MAKE, "--out", str(tmp_path / "p.jsonl"), f"--shard={bad}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--shard" in err
    assert list(tmp_path.iterdir()) == []


def test_killed_shard_run_resumes_to_the_same_bytes(tmp_path):
    n, parts = 120_000, 12
    out = tmp_path / "big.jsonl"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "datagen.cli", "make", "--n", str(n), "--seed", "1", "-q", "--out", str(out)]
    assert subprocess.run([*cmd[:-2], "--workers", "1", "--out", str(tmp_path / "one.jsonl")], env=env).returncode == 0
    proc = subprocess.Popen([*cmd, "--shards", str(parts), "--workers", "1"], env=env)
    deadline = time.monotonic() + 60
    while not shard.marker_path(shard.part_path(out, 1, parts)).exists():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = [k for k in range(parts) if shard.marker_path(shard.part_path(out, k, parts)).exists()]
    assert 2 <= len(done) < parts  # killed midway
    stamps = {k: shard.part_path(out, k, parts).stat().st_mtime_ns for k in done}
    assert subprocess.run([*cmd, "--shards", str(parts), "--workers", "2"], env=env).returncode == 0
    assert {k: shard.part_path(out, k, parts).stat().st_mtime_ns for k in done} == stamps  # kept, not redone
    assert joined(out, parts) == (tmp_path / "one.jsonl").read_bytes()


@pytest.mark.slow
def test_ray_local_two_cpus_gives_the_plain_bytes(tmp_path, one_process):
    pytest.importorskip("ray")
    out = tmp_path / "r.jsonl"
    assert main([*MAKE, "--out", str(out), "--shards", "3", "--engine", "ray", "--workers", "2"]) == 0
    assert joined(out, 3) == one_process
