"""datagen curriculum build: stages, held-out sets that never leak, exports and manifests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import datagen.curricula.build as build_module
import pytest

from datagen.cli import main
from datagen.solve import canonical_key

FIXTURES = Path(__file__).parent / "fixtures"
LEAKY = FIXTURES / "curricula" / "leaky.yaml"
MIXED = FIXTURES / "curricula" / "mixed.yaml"
DATA = ["--data", f"contest={FIXTURES / 'contest' / 'train_sample.json'}",
        "--data", f"belle={FIXTURES / 'belle' / 'school_math_sample.json'}"]


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def keys(records):
    return {canonical_key(r["type"], r["operands"]) for r in records if r.get("operands")}


def overlap(out: Path) -> set:
    index = json.loads((out / "curriculum.json").read_text())
    held = set().union(*(keys(read(out / h["path"])) for h in index["heldout"]))
    trained = set().union(*(keys(read(out / s["train"])) for s in index["stages"]))
    return held & trained


@pytest.mark.slow
def test_heldout_never_meets_training_by_canonical_form(tmp_path):
    out = tmp_path / "leaky"
    assert main(["curriculum", "build", str(LEAKY), "--out", str(out), "--skip-mindrecord", "-q"]) == 0
    assert overlap(out) == set()
    removed = [sum(json.loads((out / s / "manifest.json").read_text())["leaks_removed"].values())
               for s in ("stage1_easy", "stage2_more")]
    assert all(r > 0 for r in removed)  # the spaces are small enough that the filter had work to do
    index = json.loads((out / "curriculum.json").read_text())
    assert [s["records"] for s in index["stages"]] == [3000, 4000]
    assert {h["name"] for h in index["heldout"]} == {"in_distribution", "extrapolate"}
    far = read(out / "heldout" / "extrapolate.jsonl")
    assert min(max(r["difficulty"]["digits"]) for r in far) == 3  # beyond the trained 1-2 digits


@pytest.mark.slow
def test_the_leak_check_would_catch_a_leak(tmp_path, monkeypatch):
    # with the held-out filter switched off the same spec leaks, so the check above can fail
    monkeypatch.setattr(build_module, "record_key", lambda record: ("never", id(record)))
    out = tmp_path / "leaks"
    assert main(["curriculum", "build", str(LEAKY), "--out", str(out), "--skip-mindrecord", "-q"]) == 0
    assert overlap(out)


@pytest.mark.mindspore
@pytest.mark.slow
def test_build_mixes_every_source_and_writes_manifests_and_exports(tmp_path):
    out = tmp_path / "mixed"
    assert main(["curriculum", "build", str(MIXED), "--out", str(out), "-q", *DATA]) == 0
    index = json.loads((out / "curriculum.json").read_text())
    one = json.loads((out / "stage1_one" / "manifest.json").read_text())
    assert one["by_source"] == {"belle": 4, "contest": 10, "synthetic": 46}
    # every bad row of the files this stage read is counted, with its file and line
    assert one["rejected_rows"] == 6
    assert sorted((Path(r["file"]).name, r["line"]) for r in one["rejects_sample"]) == [
        ("school_math_sample.json", 4), *(("train_sample.json", n) for n in range(24, 29))]
    assert json.loads((out / "stage2_two" / "manifest.json").read_text())["rejected_rows"] == 0
    assert set(one["files"]) >= {"train.jsonl", "conversation.json", "train.mindrecord"}
    assert len(one["files"]["train.jsonl"]) == 64
    assert one["spec"]["name"] == "mixed"
    assert one["export"]["mindrecord"]["tokenizer"]["sha256"].startswith("82e9d319")
    two = read(out / "stage2_two" / "train.jsonl")
    assert sum(1 for r in two if r.get("replay_of") == "one") == 10
    contest_rows = [r for r in read(out / "stage1_one" / "train.jsonl") if r["source"] == "contest"]
    assert all(r["verdict"] == "agrees" for r in contest_rows)
    conversation = json.loads((out / "stage1_one" / "conversation.json").read_text())
    assert len(conversation) == 60 and conversation[0]["conversations"][0]["from"] == "human"
    assert index["stages"][1]["mindrecord"] == "stage2_two/train.mindrecord"


@pytest.mark.slow
def test_same_spec_and_seed_build_identical_training_files(tmp_path):
    for name in ("a", "b"):
        assert main(["curriculum", "build", str(LEAKY), "--out", str(tmp_path / name), "--skip-mindrecord",
                     "-q"]) == 0
    for rel in ("stage1_easy/train.jsonl", "stage2_more/train.jsonl", "heldout/in_distribution.jsonl"):
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()


@pytest.mark.mindspore
@pytest.mark.parametrize(
    "extra, message",
    [
        ([], "--data contest=PATH"),
        (["--data", "contest=/nonexistent/train.json"], "does not exist"),
    ],
)
def test_missing_data_is_a_clear_error_and_leaves_nothing(tmp_path, capsys, extra, message):
    out = tmp_path / "x"
    assert main(["curriculum", "build", str(MIXED), "--out", str(out), "-q", *extra]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_an_existing_output_folder_is_not_overwritten(tmp_path, capsys):
    out = tmp_path / "exists"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["curriculum", "build", str(LEAKY), "--out", str(out), "--skip-mindrecord", "-q"]) == 2
    assert f"--out: {out} exists; pass --force to replace it" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "mine"


ROOT = Path(__file__).resolve().parents[1]
SLOW = FIXTURES / "curricula" / "slow.yaml"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


# what a shell does to a background job: SIGINT ignored across exec, and Python then leaves it so
IGNORING_SIGINT = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
                   "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])")


def start_build(spec: Path, out: Path, *extra: str, ignore_sigint: bool = False) -> subprocess.Popen:
    command = ["-m", "datagen.cli", "curriculum", "build", str(spec), "--out", str(out), *extra]
    prefix = [sys.executable, "-c", IGNORING_SIGINT] if ignore_sigint else [sys.executable]
    return subprocess.Popen([*prefix, *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV,
                            start_new_session=True)


def finish(process: subprocess.Popen, timeout: float = 60) -> tuple[int, list[str]]:
    try:
        code = process.wait(timeout=timeout)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    lines = process.stderr.read().decode().splitlines()
    return code, lines


def wait_for_line(process: subprocess.Popen, start: str) -> list[str]:
    seen = []
    for raw in process.stderr:
        seen.append(raw.decode().rstrip("\n"))
        if seen[-1].startswith(start):
            return seen
    raise AssertionError(f"the build ended before printing {start!r}: {seen}")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "code", "word", "ignore_sigint"),
    [
        (signal.SIGTERM, 143, "terminated", False),
        (signal.SIGINT, 130, "interrupted", False),
        # the reported "Ctrl-C is ignored": a build started with SIGINT ignored ran to completion
        (signal.SIGINT, 130, "interrupted", True),
    ],
)
def test_a_signal_during_a_build_leaves_nothing_and_says_so(tmp_path, signum, code, word, ignore_sigint):
    out = tmp_path / "slow"
    process = start_build(SLOW, out, "--skip-mindrecord", ignore_sigint=ignore_sigint)
    wait_for_line(process, "held-out in_distribution")
    assert next(p.name for p in tmp_path.iterdir()).startswith(".slow.tmp-")  # building, staged
    os.killpg(process.pid, signum)
    got, lines = finish(process)
    assert got == code
    assert lines[-1] == f"datagen curriculum build: {word}; nothing partial was left at the output path"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.mindspore
@pytest.mark.slow
def test_ctrl_c_while_mindspore_loads_still_ends_the_build_cleanly(tmp_path):
    # the MindRecord build imports MindSpore first (seconds); an interrupt inside that import used to
    # come out as "needs MindSpore" (exit 2) or an interpreter abort (exit 134)
    pytest.importorskip("mindspore")
    out = tmp_path / "leaky"
    process = start_build(LEAKY, out)
    time.sleep(1.2)  # inside the import (0.2 s to 3 s after the start here)
    os.killpg(process.pid, signal.SIGINT)
    got, lines = finish(process)
    assert got == 130
    assert lines[-1] == "datagen curriculum build: interrupted; nothing partial was left at the output path"
    assert not any("Fatal Python error" in line or "Traceback" in line for line in lines)
    assert list(tmp_path.iterdir()) == []


def strings(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, str):
        yield value


@pytest.mark.mindspore
@pytest.mark.slow
def test_manifests_record_run_relative_paths_never_the_staging_folder(tmp_path):
    out = tmp_path / "mixed"
    assert main(["curriculum", "build", str(MIXED), "--out", str(out), "-q", *DATA]) == 0
    for path in out.rglob("*.json"):
        if path.name == "conversation.json":
            continue
        texts = list(strings(json.loads(path.read_text())))
        assert not [t for t in texts if ".tmp-" in t or str(tmp_path) + "/." in t], path
    one = json.loads((out / "stage1_one" / "manifest.json").read_text())
    assert [f["path"] for f in one["export"]["mindrecord"]["files"]] == [
        "stage1_one/train.mindrecord", "stage1_one/train.mindrecord.db"]
    assert one["export"]["conversation"]["files"][0]["path"] == "stage1_one/conversation.json"
    assert sorted(p.name for p in (out / "stage1_one").iterdir()) == [
        "conversation.json", "manifest.json", "train.jsonl", "train.mindrecord", "train.mindrecord.db"]


@pytest.mark.mindspore
@pytest.mark.slow
def test_force_replaces_the_old_folder_only_when_the_new_one_is_complete(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "old.txt").write_text("old")
    # a build that fails half-way (missing data) keeps the old folder as it was
    assert main(["curriculum", "build", str(MIXED), "--out", str(out), "--force", "-q",
                 "--data", f"contest={FIXTURES / 'contest' / 'train_sample.json'}"]) == 2
    assert sorted(p.name for p in out.iterdir()) == ["old.txt"]
    assert main(["curriculum", "build", str(LEAKY), "--out", str(out), "--skip-mindrecord", "--force", "-q",
                 "--json", str(tmp_path / "index.json")]) == 0
    assert "old.txt" not in {p.name for p in out.iterdir()} and (out / "curriculum.json").is_file()
    assert json.loads((tmp_path / "index.json").read_text())["stages"][0]["train"] == "stage1_easy/train.jsonl"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.json", "run"]


@pytest.mark.slow
def test_an_empty_folder_made_for_the_output_is_used_without_force(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    assert main(["curriculum", "build", str(LEAKY), "--out", str(out), "--skip-mindrecord", "-q"]) == 0
    assert (out / "curriculum.json").is_file()


def test_a_read_only_output_folder_is_one_line_and_no_work(readonly_dir, capsys):
    out = readonly_dir / "run"
    assert main(["curriculum", "build", str(LEAKY), "--out", str(out), "--skip-mindrecord"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"datagen curriculum build: error: --out: cannot write {out}: ")
    assert err.count("\n") == 1 and "Traceback" not in err and "held-out" not in err
    assert list(readonly_dir.iterdir()) == []
