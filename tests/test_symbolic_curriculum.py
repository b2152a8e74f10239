"""The symbolic families in curriculum specs: groups, options, held-out splits that never leak."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from datagen.curricula.spec import SpecError, parse_spec

from datagen.cli import main
from datagen.family import SYMBOLIC_ORDER
from datagen.solve import canonical_key

FIXTURES = Path(__file__).parent / "fixtures" / "curricula"


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.slow
def test_symbolic_curriculum_builds_with_clean_extrapolated_heldout(tmp_path):
    out = tmp_path / "symbolic"
    assert main(["curriculum", "build", str(FIXTURES / "symbolic.yaml"), "--out", str(out),
                 "--skip-mindrecord", "-q"]) == 0
    index = json.loads((out / "curriculum.json").read_text())
    held = {h["name"]: read(out / h["path"]) for h in index["heldout"]}
    trained = [r for s in index["stages"] for r in read(out / s["train"])]
    keys = {canonical_key(r["type"], r["operands"]) for r in trained}
    for rows in held.values():
        assert not keys & {canonical_key(r["type"], r["operands"]) for r in rows}
    assert {r["type"] for r in trained} == set(SYMBOLIC_ORDER)  # the group in stage 2 expands
    easy = read(out / index["stages"][0]["train"])
    assert all(r["difficulty"]["terms"] <= 4 for r in easy if r["type"] == "mixed")
    assert all(r["difficulty"]["roots"] == "rational" for r in easy if r["type"] == "quadratic")
    far = {t: [r for r in held["extrapolate"] if r["type"] == t] for t in ("mixed", "gcd", "unit")}
    # beyond the last stage that trains each family (stage 2, default options)
    assert min(r["difficulty"]["terms"] for r in far["mixed"]) == 7  # more terms than 3-6
    assert min(r["difficulty"]["digits"][0] for r in far["gcd"]) == 3  # bigger numbers than 1-2 digits
    assert min(r["difficulty"]["digits"][0] for r in far["unit"]) == 4
    assert all(r["answer_policy"] == "symbolic" for r in held["in_distribution"] if r["type"] == "surd")


def test_spec_names_an_unknown_family_and_accepts_groups():
    spec = parse_spec({"name": "x", "stages": [{"name": "a", "size": 10, "sources": [
        {"kind": "synthetic", "types": ["symbolic", "add"], "weight": 1}]}]})
    assert spec.stages[0].sources[0].types == (*SYMBOLIC_ORDER, "add")
    try:
        parse_spec({"name": "x", "stages": [{"name": "a", "size": 10, "sources": [
            {"kind": "synthetic", "types": ["radicals"], "weight": 1}]}]}, "spec.yaml")
    except SpecError as exc:
        assert "spec.yaml: stages[0].sources[0].types: unknown family 'radicals'" in str(exc)
    else:
        raise AssertionError("unknown family accepted")
