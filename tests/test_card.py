"""Provenance: dataset cards name every source with counts, licences and hashes; save_to_disk round-trips."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

from datagen.curricula.sources import LICENCES

from datagen import shard
from datagen.card import load_rows, read_card
from datagen.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
MIXED = FIXTURES / "curricula" / "mixed.yaml"
CONTEST = FIXTURES / "contest" / "train_sample.json"
BELLE = FIXTURES / "belle" / "school_math_sample.json"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_curriculum_card_names_every_source_with_counts_and_hashes(tmp_path):
    out, saved = tmp_path / "mixed", tmp_path / "saved"
    assert main(["curriculum", "build", str(MIXED), "--out", str(out), "--skip-mindrecord", "-q",
                 "--data", f"contest={CONTEST}", "--data", f"belle={BELLE}", "--save-to-disk", str(saved)]) == 0
    front = read_card(out / "README.md")
    meta = front["datagen"]
    assert front["pretty_name"] == "curriculum mixed" and front["language"] == ["zh", "en"]
    stages = [json.loads((out / d / "manifest.json").read_text()) for d in ("stage1_one", "stage2_two")]
    expected = [(s["stage"], rows) for s in stages for rows in s["source_counts"]]
    assert [(src["name"].split(":")[0], src["rows"]) for src in meta["sources"]] == expected
    kinds = [src["kind"] for src in meta["sources"]]
    assert kinds == ["synthetic", "contest", "belle", "synthetic", "replay"]
    assert [src["licence"] for src in meta["sources"]] == [LICENCES[k] for k in kinds]
    by_kind = {src["kind"]: src for src in meta["sources"]}
    assert by_kind["contest"]["sha256"] == sha(CONTEST) and by_kind["belle"]["sha256"] == sha(BELLE)
    assert {i["sha256"] for i in meta["inputs"]} == {sha(CONTEST), sha(BELLE)}
    outputs = {o["path"]: o["sha256"] for o in meta["outputs"]}
    assert outputs["stage1_one/train.jsonl"] == sha(out / "stage1_one" / "train.jsonl")
    assert outputs["heldout/in_distribution.jsonl"] == sha(out / "heldout" / "in_distribution.jsonl")
    trained = Counter(r["type"] for d in ("stage1_one", "stage2_two") for r in read(out / d / "train.jsonl"))
    assert meta["families"] == dict(trained) and meta["rows"] == sum(trained.values())
    # the datasets copy: every stage and held-out set, row for row
    splits = load_rows(saved)
    assert splits["stage1_one"] == read(out / "stage1_one" / "train.jsonl")
    assert splits["stage2_two"] == read(out / "stage2_two" / "train.jsonl")
    assert splits["heldout_extrapolate"] == read(out / "heldout" / "extrapolate.jsonl")
    assert (saved / "README.md").read_text() == (out / "README.md").read_text()


def test_make_card_and_save_to_disk_round_trip(tmp_path):
    out, saved, card = tmp_path / "p.jsonl", tmp_path / "ds", tmp_path / "card.md"
    assert main(["make", "--n", "300", "--seed", "4", "--out", str(out), "--card", str(card),
                 "--save-to-disk", str(saved), "-q"]) == 0
    rows = read(out)
    assert load_rows(saved) == rows
    meta = read_card(card)["datagen"]
    assert meta["seed"] == 4 and meta["options"]["n"] == 300 and meta["command"].startswith("datagen make")
    assert meta["families"] == dict(Counter(r["type"] for r in rows))
    assert meta["outputs"] == [{"path": "p.jsonl", "bytes": out.stat().st_size, "sha256": sha(out)}]
    assert meta["sources"] == [{"name": "synthetic", "kind": "synthetic", "licence": LICENCES["synthetic"],
                                "rows": 300}]


def test_a_complete_set_of_parts_has_its_card(tmp_path):
    out = tmp_path / "p.jsonl"
    assert main(["make", "--n", "300", "--out", str(out), "--parts", "3", "-q"]) == 0
    meta = read_card(tmp_path / "p.jsonl.README.md")["datagen"]
    parts = [shard.part_path(out, k, 3) for k in range(3)]
    assert [(o["path"], o["sha256"]) for o in meta["outputs"]] == [(p.name, sha(p)) for p in parts]
    rows = [r for p in parts for r in read(p)]
    assert meta["rows"] == 300 and meta["families"] == dict(Counter(r["type"] for r in rows))


def test_export_cards_name_the_input_and_every_output(tmp_path):
    rows = tmp_path / "r.jsonl"
    assert main(["make", "--n", "120", "--seed", "8", "--out", str(rows), "-q"]) == 0
    single, card = tmp_path / "c.json", tmp_path / "c.md"
    assert main(["export", "--in", str(rows), "--to", "conversation", "--out", str(single), "--card", str(card),
                 "-q"]) == 0
    meta = read_card(card)["datagen"]
    assert meta["sources"][0]["sha256"] == sha(rows) and meta["sources"][0]["rows"] == 120
    assert meta["outputs"][0]["sha256"] == sha(single)
    assert meta["families"] == dict(sorted(Counter(r["type"] for r in read(rows)).items()))
    out = tmp_path / "p.json"
    assert main(["export", "--in", str(rows), "--to", "conversation", "--out", str(out), "--parts", "2", "-q"]) == 0
    meta = read_card(tmp_path / "p.json.README.md")["datagen"]
    parts = [shard.part_path(out, k, 2) for k in range(2)]
    assert [(o["path"], o["sha256"]) for o in meta["outputs"]] == [(p.name, sha(p)) for p in parts]
    assert meta["rows"] == 120 and meta["inputs"] == [{"path": str(rows), "bytes": rows.stat().st_size,
                                                       "sha256": sha(rows)}]
