"""datagen curriculum build: stages, held-out sets that never leak, exports and manifests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import curricula.build as build_module
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


def test_the_leak_check_would_catch_a_leak(tmp_path, monkeypatch):
    # with the held-out filter switched off the same spec leaks, so the check above can fail
    monkeypatch.setattr(build_module, "record_key", lambda record: ("never", id(record)))
    out = tmp_path / "leaks"
    assert main(["curriculum", "build", str(LEAKY), "--out", str(out), "--skip-mindrecord", "-q"]) == 0
    assert overlap(out)


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


def test_same_spec_and_seed_build_identical_training_files(tmp_path):
    for name in ("a", "b"):
        assert main(["curriculum", "build", str(LEAKY), "--out", str(tmp_path / name), "--skip-mindrecord",
                     "-q"]) == 0
    for rel in ("stage1_easy/train.jsonl", "stage2_more/train.jsonl", "heldout/in_distribution.jsonl"):
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()


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
    assert "already exists" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "mine"
