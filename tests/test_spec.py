"""Curriculum specs: the shipped ones load; mistakes are reported with the bad key."""

from __future__ import annotations

from pathlib import Path

import pytest
from datagen.curricula.spec import SpecError, load_spec, parse_spec

CONFIGS = Path(__file__).parent.parent / "configs" / "curricula"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_specs_load(path):
    spec = load_spec(path)
    assert spec.stages and spec.name == path.stem


def test_baseline_spec_takes_the_first_150k_contest_rows_with_the_chinese_prefix():
    spec = load_spec(CONFIGS / "contest_baseline.yaml")
    (stage,) = spec.stages
    (source,) = stage.sources
    assert (source.kind, source.first, source.path) == ("contest", 150000, "{contest}")
    assert spec.template == "alpaca_zh"


def test_staged_spec_goes_easy_to_hard_with_replay_and_word_problems():
    spec = load_spec(CONFIGS / "arith_staged.yaml")
    assert len(spec.stages) >= 3
    kinds = [{s.kind for s in stage.sources} for stage in spec.stages]
    assert all("replay" in k for k in kinds[1:]) and all("belle" in k for k in kinds)
    digits = [max(s.options["digits"] for s in st.sources if s.kind == "synthetic" and "digits" in s.options)
              for st in spec.stages]
    assert digits == sorted(digits)


def minimal(**stage_changes):
    stage = {"name": "a", "size": 10, "sources": [{"kind": "synthetic", "types": ["add"], "weight": 1}]}
    stage.update(stage_changes)
    return {"name": "x", "stages": [stage]}


@pytest.mark.parametrize(
    "data, key",
    [
        ({"stages": []}, "name"),
        ({"name": "x", "stages": []}, "stages"),
        ({"name": "x", "colour": 1, "stages": [{}]}, "colour"),
        ({**minimal(), "template": "chatml"}, "template"),
        ({**minimal(), "seq_length": 0}, "seq_length"),
        (minimal(style="fancy"), "stages[0].style"),
        (minimal(sources=[{"kind": "synthetic", "types": ["cube"], "weight": 1}]), "stages[0].sources[0].types"),
        (minimal(sources=[{"kind": "synthetic", "types": ["add"], "weight": 0}]), "stages[0].sources[0].weight"),
        (minimal(sources=[{"kind": "synthetic", "ops": "+%", "weight": 1}]), "stages[0].sources[0].ops"),
        (minimal(sources=[{"kind": "belle", "weight": 1}]), "stages[0].sources[0].path"),
        (minimal(sources=[{"kind": "replay", "stage": "a", "weight": 1}]), "stages[0].sources[0].stage"),
        (minimal(sources=[{"kind": "synthetic", "types": ["add"], "weight": 1, "options": {"digit": 2}}]),
         "stages[0].sources[0].options.digit"),
        (minimal(size=None), "stages[0].size"),
        ({**minimal(), "heldout": {"count": -1}}, "heldout.count"),
    ],
)
def test_spec_errors_name_the_bad_key(data, key):
    with pytest.raises(SpecError) as err:
        parse_spec(data, "bad.yaml")
    assert str(err.value).startswith(f"bad.yaml: {key}:")
