"""Every spec in configs/curricula/ builds, at --scale 0.01, from fixture data in the real formats.

The specs are read from the folder, so a new spec is covered without touching this file; a spec
that needs a data file this test has no fixture for fails here with the name to add.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
import yaml
from datagen.curricula.build import check_feasible, heldout_types, stage_counts
from datagen.curricula.spec import data_names, load_spec, scale_spec

from datagen.cli import main
from datagen.solve import canonical_key

ROOT = Path(__file__).parent.parent
SPECS = sorted((ROOT / "configs" / "curricula").glob("*.yaml"))
FIXTURES = Path(__file__).parent / "fixtures" / "specs"
DATA = {
    "contest": FIXTURES / "train.json",  # contest JSON Lines
    "belle": FIXTURES / "school_math_0.25M.json",  # BELLE: JSON Lines of Alpaca rows
    "alpaca": FIXTURES / "alpaca_data.json",  # Alpaca: one JSON list
}
SCALE = 0.01


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def keys(records: list[dict]) -> set:
    """Canonical forms (family + operand values) and the whitespace-normalised problem texts."""
    out = {("text", " ".join(r["problem"].split())) for r in records}
    return out | {canonical_key(r["type"], r["operands"]) for r in records if r.get("operands")}


def test_every_spec_is_covered_and_every_placeholder_has_a_fixture():
    assert len(SPECS) >= 8
    for path in SPECS:
        missing = data_names(load_spec(path)) - set(DATA)
        assert not missing, f"{path.name} needs --data {', '.join(sorted(missing))}: add a fixture to DATA"
    assert all(path.is_file() for path in DATA.values())


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_shipped_spec_is_feasible_at_full_size(path):
    check_feasible(load_spec(path))  # raises SpecError naming the key to change


@pytest.mark.mindspore
@pytest.mark.slow
@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_shipped_spec_builds_at_reduced_size_with_exports(path, tmp_path):
    spec = scale_spec(load_spec(path), SCALE)
    out = tmp_path / spec.name
    data = [arg for name in sorted(data_names(spec)) for arg in ("--data", f"{name}={DATA[name]}")]
    command = ["curriculum", "build", str(path), "--scale", str(SCALE), "--out", str(out), "-q", *data]
    assert main(command) == 0

    index = json.loads((out / "curriculum.json").read_text(encoding="utf-8"))
    assert index["name"] == spec.name and index["scale"] == SCALE
    assert [s["name"] for s in index["stages"]] == [s.name for s in spec.stages]
    assert yaml.safe_load((out / "spec.yaml").read_text(encoding="utf-8")) == spec.raw

    # held-out: the asked count of every type in each split, written where the index says
    types = heldout_types(spec)
    held = {}
    for entry in index["heldout"]:
        rows = read_jsonl(out / entry["path"])
        assert entry["count"] == len(rows) and entry["sha256"] == sha256(out / entry["path"])
        counts = {t: sum(1 for r in rows if r["type"] == t) for t in entry["types"]}
        assert counts == {t: spec.heldout.count_of(t) for t in entry["types"]}
        assert set(entry["types"]) <= set(types)
        held[entry["name"]] = rows
    assert set(held["in_distribution"][0]) >= {"id", "type", "problem", "answer", "operands"}
    assert {r["type"] for r in held["in_distribution"]} == set(types)

    trained = []
    for k, (stage, entry) in enumerate(zip(spec.stages, index["stages"]), start=1):
        stage_dir = out / entry["dir"]
        manifest = json.loads((stage_dir / "manifest.json").read_text(encoding="utf-8"))
        planned = stage_counts(spec, stage)
        rows = read_jsonl(stage_dir / "train.jsonl")
        assert (manifest["curriculum"], manifest["stage"], manifest["index"]) == (spec.name, stage.name, k)
        assert manifest["source_counts"] == planned
        assert manifest["records"] == entry["records"] == len(rows)
        assert sum(manifest["by_source"].values()) == len(rows)
        first_only = [s for s in stage.sources
                      if s.first is not None and s.weight is None and s.count is None]
        if first_only:  # `first` takes what the file has: every row of the small fixture, less leaks
            assert len(rows) <= sum(planned)
            rows_in_file = len(read_jsonl(DATA["contest"]))
            assert manifest["by_source"]["contest"] == min(first_only[0].first, rows_in_file) - sum(
                manifest["leaks_removed"].values())
        else:
            assert len(rows) == sum(planned)
        assert manifest["replayed"] == sum(n for s, n in zip(stage.sources, planned) if s.kind == "replay")
        conversation = json.loads((stage_dir / "conversation.json").read_text(encoding="utf-8"))
        assert len(conversation) == len(rows)
        mindrecord = manifest["export"]["mindrecord"]
        assert mindrecord["records"] == len(rows) and mindrecord["seq_length"] == spec.seq_length
        # no answer is cut: every record fits the window, and the export agrees
        assert manifest["truncated_answers"] == entry["truncated_answers"] == 0 == mindrecord["truncated"]
        assert manifest["window"]["overlong"] == 0 and manifest["window"]["policy"] == "refuse"
        assert manifest["window"]["longest"] <= spec.seq_length + 1
        assert mindrecord["tokenizer"]["sha256"].startswith("82e9d319")
        assert entry["mindrecord"] == f"{entry['dir']}/train.mindrecord"
        for name, digest in manifest["files"].items():
            assert sha256(stage_dir / name) == digest, name
        assert {"train.jsonl", "conversation.json", "train.mindrecord"} <= set(manifest["files"])
        assert manifest["spec"] == spec.raw
        trained.extend(rows)

    assert keys(held["in_distribution"] + held.get("extrapolate", [])) & keys(trained) == set()


def test_scale_multiplies_every_size_and_keeps_the_spec_valid():
    spec = load_spec(ROOT / "configs" / "curricula" / "proxy_shuffled.yaml")
    small = scale_spec(spec, 0.01)
    assert [s.size for s in small.stages] == [480]
    assert [src.count for src in small.stages[0].sources] == [120, 360]  # 12,000 and 36,000
    assert small.heldout.count == 10 and small.scale == 0.01
    assert small.raw["stages"][0]["size"] == 480 and spec.raw["stages"][0]["size"] == 48000  # a copy
    tiny = scale_spec(spec, 1e-5)  # every count at least 1, the stage grown to hold them
    assert [src.count for src in tiny.stages[0].sources] == [1, 1] and tiny.stages[0].size == 2
    baseline = scale_spec(load_spec(ROOT / "configs" / "curricula" / "contest_baseline.yaml"), 0.01)
    assert baseline.stages[0].sources[0].first == 1500 and baseline.heldout.count == 5


@pytest.mark.parametrize("factor", ["0", "-1", "1.5"])
def test_scale_outside_zero_to_one_is_refused(tmp_path, capsys, factor):
    out = tmp_path / "x"
    assert main(["curriculum", "build", str(SPECS[0]), "--scale", factor, "--out", str(out), "-q"]) == 2
    assert re.search(r"--scale: must be in \(0, 1\]", capsys.readouterr().err)
    assert not out.exists()
