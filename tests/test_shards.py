"""Shards by index: parts concatenate to the one-process bytes, resume after a kill, same on Ray."""

from __future__ import annotations

import importlib.util
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
    assert main([*MAKE, "--workers", "2", "--out", str(out), "--parts", str(n)]) == 0
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
    assert main([*MAKE, "--out", str(out), "--parts", "3"]) == 0
    kept = shard.part_path(out, 0, 3).stat().st_mtime_ns
    damaged = shard.part_path(out, 1, 3)
    damaged.write_bytes(damaged.read_bytes()[:-10])
    shard.marker_path(shard.part_path(out, 2, 3)).unlink()
    capsys.readouterr()
    assert main([*MAKE[:-1], "--out", str(out), "--parts", "3"]) == 0
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


def test_a_worker_process_refusal_reads_as_in_one_process(tmp_path, capsys):
    out = tmp_path / "p.jsonl"
    assert main([*MAKE, "--out", str(out), "--shard", "1/3"]) == 0
    assert main(["make", "--n", "3000", "--seed", "6", "--types", "all", "-q", "--out", str(out), "--parts", "3",
                 "--workers", "2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err == f"datagen make: error: --shard: {shard.part_path(out, 1, 3)} was made with other options; " \
        "pass --force to make it again\n"


def test_every_user_error_crosses_a_process_whole():
    # a worker's error is pickled back to the command; MissingExtraError's constructor takes other arguments
    import pickle

    from datagen.errors import MissingExtraError, OutputError

    extra = pickle.loads(pickle.dumps(MissingExtraError("--engine ray", "ray", "distributed")))
    assert (str(extra), extra.extra, extra.package) == (
        "--engine ray needs ray, which is not installed; pip install '.[distributed]'", "distributed", "ray")
    output = pickle.loads(pickle.dumps(OutputError("exists", path="a", line=3, field="--shard")))
    assert str(output) == "a:3: --shard: exists"


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
    proc = subprocess.Popen([*cmd, "--parts", str(parts), "--workers", "1"], env=env)
    deadline = time.monotonic() + 60
    writing = f".{shard.part_path(out, 2, parts).name}.tmp-"

    def part_2_half_written() -> bool:
        for p in tmp_path.iterdir():
            try:
                if p.name.startswith(writing) and p.stat().st_size > 0:
                    return True
            except FileNotFoundError:  # renamed meanwhile
                pass
        return False

    while not part_2_half_written():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = [k for k in range(parts) if shard.marker_path(shard.part_path(out, k, parts)).exists()]
    assert 2 <= len(done) < parts  # killed midway
    stamps = {k: shard.part_path(out, k, parts).stat().st_mtime_ns for k in done}
    assert part_2_half_written()  # the killed part's half-written file is left by SIGKILL
    assert subprocess.run([*cmd, "--parts", str(parts), "--workers", "2"], env=env).returncode == 0
    assert not any(".tmp-" in p.name for p in tmp_path.iterdir())  # cleared by the rerun
    assert {k: shard.part_path(out, k, parts).stat().st_mtime_ns for k in done} == stamps  # kept, not redone
    assert joined(out, parts) == (tmp_path / "one.jsonl").read_bytes()


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="the distributed extra is not installed")
def test_ray_local_two_cpus_gives_the_plain_bytes(tmp_path, one_process, records):
    # in a child process: Ray in this one would load the protobuf that MindSpore's later import refuses
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = tmp_path / "r.jsonl"
    cmd = [sys.executable, "-m", "datagen.cli", *MAKE, "--out", str(out), "--parts", "3", "--engine", "ray",
           "--workers", "2"]
    assert subprocess.run(cmd, env=env).returncode == 0
    assert joined(out, 3) == one_process
    conv, one = tmp_path / "c.json", tmp_path / "one.json"
    assert main(["export", "--in", str(records), "--to", "conversation", "--out", str(one), "-q"]) == 0
    cmd = [sys.executable, "-m", "datagen.cli", "export", "--in", str(records), "--to", "conversation", "--out",
           str(conv), "--parts", "3", "--engine", "ray", "--workers", "2", "-q"]
    assert subprocess.run(cmd, env=env).returncode == 0
    assert joined(conv, 3) == one.read_bytes()


# ---- export in parts ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("rec") / "rec.jsonl"
    assert main(["make", "--n", "700", "--seed", "2", "--out", str(path), "-q"]) == 0
    text = path.read_text(encoding="utf-8").splitlines(keepends=True)
    text.insert(5, "\n")
    text.insert(300, "{bad json\n")  # a blank line and a bad row: counted where they are, in their part
    path.write_text("".join(text), encoding="utf-8")
    return path


@pytest.mark.parametrize("n", [1, 3, 7])
def test_conversation_parts_concatenate_to_one_process_bytes(tmp_path, records, n):
    one = tmp_path / "one.json"
    assert main(["export", "--in", str(records), "--to", "conversation", "--out", str(one), "-q"]) == 0
    out = tmp_path / "conv.json"
    assert main(["export", "--in", str(records), "--to", "conversation", "--out", str(out), "--parts", str(n),
                 "--workers", "2", "-q"]) == 0
    assert joined(out, n) == one.read_bytes()
    manifests = [json.loads(shard.manifest_path(p).read_text()) for p in parts_of(out, n)]
    assert sum(m["items"] for m in manifests) == 700 and sum(m["rejected"] for m in manifests) == 1
    rejects = [json.loads(line) for p in parts_of(out, n)
               for line in (p.with_name(p.name + ".rejects.jsonl").read_text().splitlines()
                            if p.with_name(p.name + ".rejects.jsonl").exists() else [])]
    assert [r["line"] for r in rejects] == [301]  # the line of the original file


def test_conversation_parts_join_when_early_parts_hold_no_conversation(tmp_path):
    rows = tmp_path / "few.jsonl"  # 3 lines, the first two of no use: most of 7 parts are empty
    good = json.dumps({"problem": "1 + 1", "solution": "2"})
    rows.write_text("\n{not json\n" + good + "\n", encoding="utf-8")
    one = tmp_path / "one.json"
    assert main(["export", "--in", str(rows), "--to", "conversation", "--out", str(one), "-q"]) == 0
    for n in (2, 3, 7):
        out = tmp_path / f"p{n}.json"
        assert main(["export", "--in", str(rows), "--to", "conversation", "--out", str(out), "--parts", str(n),
                     "-q"]) == 0
        assert joined(out, n) == one.read_bytes()
        assert json.loads(joined(out, n)) == json.loads(one.read_text())


def read_dataset(data) -> list[tuple[list, list]]:
    return [(row["input_ids"].tolist(), row["labels"].tolist())
            for row in data.create_dict_iterator(output_numpy=True, num_epochs=1)]


@pytest.mark.parametrize("n", [1, 3, 7])
def test_mindrecord_parts_read_as_one_list_give_the_one_process_records(tmp_path, records, n):
    pytest.importorskip("mindspore")
    import mindspore.dataset as ds
    from datagen.curricula.export_parts import index_path, mindrecord_dataset

    one = tmp_path / "one.mindrecord"
    assert main(["export", "--in", str(records), "--to", "mindrecord", "--out", str(one), "--seq-length", "64",
                 "--workers", "0", "-q"]) == 0
    expected = read_dataset(ds.MindDataset(str(one), columns_list=["input_ids", "labels"], shuffle=False))
    out = tmp_path / "mr.mindrecord"
    assert main(["export", "--in", str(records), "--to", "mindrecord", "--out", str(out), "--seq-length", "64",
                 "--parts", str(n), "-q"]) == 0
    index = json.loads(index_path(out).read_text())
    assert index["dataset_files"] == [p.name for p in parts_of(out, n)] and index["records"] == 700
    assert read_dataset(mindrecord_dataset(index_path(out))) == expected
    for p in parts_of(out, n):  # standalone files: each opens on its own
        assert len(read_dataset(ds.MindDataset(str(p), columns_list=["input_ids", "labels"], shuffle=False))) \
            == json.loads(shard.manifest_path(p).read_text())["items"]


def test_mindrecord_total_is_trimmed_or_padded_to_data_parallel_times_batch(tmp_path, records, capsys):
    pytest.importorskip("mindspore")
    from datagen.curricula.export_parts import index_path, mindrecord_dataset

    base = ["export", "--in", str(records), "--to", "mindrecord", "--seq-length", "64", "--parts", "3",
            "--data-parallel", "4", "--batch-size", "6"]
    trimmed = tmp_path / "t.mindrecord"
    assert main([*base, "--out", str(trimmed)]) == 0
    assert "700 records trimmed 4 to 696, a multiple of data-parallel 4 x batch 6" in capsys.readouterr().err
    assert len(read_dataset(mindrecord_dataset(index_path(trimmed)))) == 696
    padded = tmp_path / "p.mindrecord"
    assert main([*base, "--out", str(padded), "--fit", "pad"]) == 0
    assert "700 records padded 20 to 720" in capsys.readouterr().err
    shards = [read_dataset(mindrecord_dataset(index_path(padded), shard_id=k, num_shards=4)) for k in range(4)]
    assert [len(s) for s in shards] == [180] * 4
    first = read_dataset(mindrecord_dataset(index_path(trimmed)))[0]
    assert sum(row == first for s in shards for row in s) >= 21  # the 20 pads are copies of the first record


# ---- curriculum build in parts --------------------------------------------------------------------------

FIXTURES = ROOT / "tests" / "fixtures"
MIXED = FIXTURES / "curricula" / "mixed.yaml"
DATA = ["--data", f"contest={FIXTURES / 'contest' / 'train_sample.json'}",
        "--data", f"belle={FIXTURES / 'belle' / 'school_math_sample.json'}"]
STAGE_FILES = ("stage1_one/train.jsonl", "stage1_one/conversation.json", "stage2_two/train.jsonl",
               "stage2_two/conversation.json")


@pytest.fixture(scope="module")
def whole_build(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cb") / "one"
    assert main(["curriculum", "build", str(MIXED), "--out", str(out), "-q", *DATA]) == 0
    return out


@pytest.mark.parametrize("n", [1, 3, 7])
def test_curriculum_parts_concatenate_to_one_process_bytes(tmp_path, whole_build, n):
    out = tmp_path / "cb"
    skip = ["--skip-mindrecord"] if n != 3 else []
    assert main(["curriculum", "build", str(MIXED), "--out", str(out), "--parts", str(n), "--workers", "2",
                 "-q", *DATA, *skip]) == 0
    for name in STAGE_FILES:
        assert b"".join((p / name).read_bytes() for p in parts_of(out, n)) == (whole_build / name).read_bytes()
    for name in ("heldout/in_distribution.jsonl", "heldout/extrapolate.jsonl", "spec.yaml"):
        assert (parts_of(out, n)[0] / name).read_bytes() == (whole_build / name).read_bytes()
    if n == 3:
        pytest.importorskip("mindspore")
        import mindspore.dataset as ds

        def rows(files):
            return read_dataset(ds.MindDataset([str(f) for f in files], columns_list=["input_ids", "labels"],
                                               shuffle=False))

        assert rows(p / "stage1_one" / "train.mindrecord" for p in parts_of(out, n)) == \
            rows([whole_build / "stage1_one" / "train.mindrecord"])
