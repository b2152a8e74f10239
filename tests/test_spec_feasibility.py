"""A spec that asks more than its spaces can give fails before any work, naming the key to change."""

from __future__ import annotations

import json

import datagen.curricula.build as build_module
import pytest
from datagen.curricula.build import HELDOUT_CLASS_SHARE, check_feasible, heldout_configs, make_heldout, seed_of
from datagen.curricula.spec import SpecError, parse_spec

from datagen.cli import main
from datagen.generate import Generator, Request

# pow as it was before its default became the contest's range: 300 problems, 30 may be held out
SMALL_POW = {"set": {"pow.digits": "1-2", "pow.decimals": 0, "pow.negative": False, "pow.exponents": "2-4"}}


def write_spec(tmp_path, data: dict):
    path = tmp_path / "spec.yaml"
    path.write_text(json.dumps(data), encoding="utf-8")  # JSON is YAML
    return path


def build(tmp_path, data: dict, capsys, *extra) -> tuple[int, str]:
    out = tmp_path / "out"
    code = main(["curriculum", "build", str(write_spec(tmp_path, data)), "--out", str(out), "-q",
                 "--skip-mindrecord", *extra])
    return code, " ".join(capsys.readouterr().err.split())


def one_stage(sources: list[dict], size: int = 100, **top) -> dict:
    return {"name": "t", **top, "stages": [{"name": "a", "size": size, "sources": sources}]}


def test_heldout_larger_than_a_class_allows_fails_before_reading_any_data(tmp_path, capsys):
    data = one_stage([
        {"kind": "synthetic", "types": ["add", "pow"], "weight": 1, "options": SMALL_POW},
        # a file that does not exist: the feasibility message must come first, before any reading
        {"kind": "contest", "path": str(tmp_path / "missing.json"), "weight": 1},
    ], heldout={"count": 500})
    code, err = build(tmp_path, data, capsys)
    assert code == 2
    assert ("heldout.count: 500 pow problems asked for the in_distribution set, but the pow space of "
            "stages[0].sources[0] (digits 1-2, decimals 0, negative false, exponents 2-4) has 300 problems "
            "and at most 10% of each class may be held out (30); lower heldout.count, set "
            "heldout.per_type.pow: 30, or widen pow's space in stages[0].sources[0].options") in err
    assert "--allow-duplicates" not in err  # curriculum build has no such option
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.yaml"]


def test_a_contest_only_spec_names_heldout_options_as_the_space_to_widen(tmp_path, capsys):
    data = {"name": "base", "heldout": {"count": 500, "options": SMALL_POW},
            "stages": [{"name": "b", "sources": [{"kind": "contest", "path": "{contest}", "first": 10}]}]}
    code, err = build(tmp_path, data, capsys)
    assert code == 2
    assert "the default pow space (digits 1-2" in err and "widen pow's space in heldout.options" in err
    assert "--data contest" not in err  # checked before the data placeholders


def test_per_type_count_makes_the_same_spec_buildable(tmp_path, capsys):
    data = one_stage([{"kind": "synthetic", "types": ["add", "pow"], "weight": 1, "options": SMALL_POW}],
                     heldout={"count": 40, "per_type": {"pow": 30}, "types": ["add", "pow"]})
    code, _ = build(tmp_path, data, capsys)
    assert code == 0
    rows = [json.loads(line) for line in
            (tmp_path / "out" / "heldout" / "in_distribution.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sum(r["type"] == "pow" for r in rows) == 30 and sum(r["type"] == "add" for r in rows) == 40
    assert len({(r["type"], *r["operands"]) for r in rows}) == 70


def test_per_type_over_the_class_rule_names_its_own_key(tmp_path, capsys):
    data = one_stage([{"kind": "synthetic", "types": ["pow"], "weight": 1, "options": SMALL_POW}],
                     heldout={"count": 10, "per_type": {"pow": 31}})
    code, err = build(tmp_path, data, capsys)
    assert code == 2 and "heldout.per_type.pow: 31 pow problems asked" in err
    assert "lower heldout.per_type.pow to at most 30" in err


def test_per_type_of_a_family_that_is_not_held_out_is_refused():
    spec = parse_spec(one_stage([{"kind": "synthetic", "types": ["add"], "weight": 1}],
                                heldout={"per_type": {"sqrt": 5}}), "x.yaml")
    with pytest.raises(SpecError, match=r"^x.yaml: heldout.per_type.sqrt: sqrt is not held out"):
        check_feasible(spec)


def test_per_type_key_and_value_are_validated():
    base = one_stage([{"kind": "synthetic", "types": ["add"], "weight": 1}])
    with pytest.raises(SpecError, match=r"^x.yaml: heldout.per_type.cube: unknown key"):
        parse_spec({**base, "heldout": {"per_type": {"cube": 5}}}, "x.yaml")
    with pytest.raises(SpecError, match=r"^x.yaml: heldout.per_type.add: must be an integer >= 1"):
        parse_spec({**base, "heldout": {"per_type": {"add": 0}}}, "x.yaml")


def test_extrapolate_shortage_names_heldout_extrapolate(tmp_path, capsys):
    # trained on 3-4 digit sums; an extrapolate split of 1-digit sums has 100 problems, 10 may be held out
    data = one_stage([{"kind": "synthetic", "types": ["add"], "weight": 1,
                       "options": {"digits": "3-4", "decimals": 0, "negative": False}}],
                     heldout={"count": 50, "extrapolate": {"digits": 1}})
    code, err = build(tmp_path, data, capsys)
    assert code == 2
    assert "heldout.count: 50 add problems asked for the extrapolate set, but the extrapolated add" in err
    assert "widen add's space in heldout.extrapolate" in err


def test_synthetic_source_smaller_than_its_share_names_the_source(tmp_path, capsys):
    data = one_stage([{"kind": "synthetic", "types": ["sqrt"], "weight": 1, "options": {"digits": 1}}],
                     size=50, heldout={"count": 1, "types": ["sqrt"]})
    code, err = build(tmp_path, data, capsys)
    assert code == 2
    assert ("stages[0].sources[0]: 51 sqrt problems asked (an even share of its 50 rows and room for "
            "the 1 held-out problem it skips), but its options (digits 1, decimals 0, steps_sig 10) allow "
            "only 10; lower stages[0].size or stages[0].sources[0].weight, or widen sqrt's space in "
            "stages[0].sources[0].options") in err
    assert "--allow-duplicates" not in err


def test_replay_asking_more_than_its_stage_names_the_count(tmp_path, capsys):
    data = {"name": "r", "heldout": {"count": 1, "types": ["add"]}, "stages": [
        {"name": "a", "size": 10, "sources": [{"kind": "synthetic", "types": ["add"], "weight": 1}]},
        {"name": "b", "size": 30, "sources": [{"kind": "synthetic", "types": ["add"], "weight": 1},
                                              {"kind": "replay", "stage": "a", "count": 20}]},
    ]}
    code, err = build(tmp_path, data, capsys)
    assert code == 2
    assert ("stages[1].sources[1]: a replay of stage a asks 20 rows, the stage has 10; "
            "lower stages[1].sources[1].count") in err


def test_heldout_drawn_per_family_is_the_joint_generators_bytes():
    spec = parse_spec(one_stage([{"kind": "synthetic", "ops": "+-*/", "weight": 1,
                                  "options": {"digits": "1-3", "decimals": 1}}],
                                heldout={"count": 37, "lang": "mix"}, seed=5), "x.yaml")
    drawn = make_heldout(spec)["in_distribution"]
    configs = heldout_configs(spec, ("add", "sub", "mul", "div"))["in_distribution"]
    joint = Generator(Request(types=("add", "sub", "mul", "div"), n=4 * 37,
                              seed=seed_of(spec.seed, spec.heldout.seed, "in_distribution"), lang="mix",
                              configs=configs, class_share=HELDOUT_CLASS_SHARE))
    expected = [joint.item(i) for i in range(4 * 37)]
    strip = ("id", "source", "split")
    assert [{k: v for k, v in r.items() if k not in strip} for r in drawn] == [
        {k: v for k, v in r.items() if k not in strip} for r in expected]


def test_a_stage_source_that_still_runs_short_at_build_time_never_suggests_allow_duplicates(
        tmp_path, capsys, monkeypatch):
    # switch the up-front check off to reach the generator's own refusal
    monkeypatch.setattr(build_module, "check_feasible", lambda spec: None)
    data = one_stage([{"kind": "synthetic", "types": ["sqrt"], "weight": 1, "options": {"digits": 1}}],
                     size=50, heldout={"count": 1, "types": ["add"]})
    code, err = build(tmp_path, data, capsys)
    assert code == 2 and "sqrt" in err and "allow only 10" in err
    assert "--allow-duplicates" not in err


def test_an_external_file_with_too_few_rows_names_the_source_and_what_to_lower(tmp_path, capsys):
    belle = tmp_path / "school_math.jsonl"
    rows = [{"instruction": f"题目：{k} + 1 = ?", "input": "", "output": f"答案：{k + 1}"} for k in range(5)]
    belle.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    data = one_stage([{"kind": "synthetic", "types": ["add"], "weight": 1},
                      {"kind": "belle", "path": str(belle), "weight": 1}], size=20,
                     heldout={"count": 1, "types": ["add"]})
    code, err = build(tmp_path, data, capsys)
    assert code == 2
    assert (f"stages[0].sources[1]: the belle file {belle} has 5 usable rows, 10 requested; lower the "
            "stage's size or stages[0].sources[1].weight") in err
