"""--phrasing contest writes the contest's own wording only, in make and in curriculum specs."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from datagen.cli import main
from datagen.family import FAMILY_ORDER, load_families
from datagen.generate import Generator, Request
from datagen.solve import phrasings

FAMILIES = load_families()
CONTEST = {p.family: p.pattern for p in phrasings() if (p.lang, p.index) == ("zh", 0)}


def test_make_phrasing_contest_writes_only_the_contest_templates(tmp_path):
    out = tmp_path / "contest.json"
    assert main(["make", "--types", "all", "--n", "2800", "--phrasing", "contest", "--format", "contest",
                 "--seed", "3", "--out", str(out), "-q"]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 2800
    by_family = Counter()
    for row in rows:
        matched = [family for family, pattern in CONTEST.items() if pattern.fullmatch(row["problem"])]
        assert len(matched) == 1, row["problem"]
        by_family[matched[0]] += 1
    assert by_family == {family: 200 for family in FAMILY_ORDER}


def test_phrasing_contest_keeps_the_same_problems_in_contest_wording():
    mixed = Generator(Request(types=("add", "mean"), n=400, seed=9, lang="zh"))
    contest = Generator(Request(types=("add", "mean"), n=400, seed=9, lang="zh", phrasing="contest"))
    for i in range(400):
        a, b = mixed.item(i), contest.item(i)
        assert a["operands"] == b["operands"] and a["answer"] == b["answer"]
        assert b["template"] == "zh0"


@pytest.mark.slow
def test_default_mix_gives_the_documented_shares():
    n = 20000
    gen = Generator(Request(types=("add", "mul", "sqrt", "mean", "fraction"), n=n, seed=1))
    templates = Counter(gen.item(i)["template"][:3] for i in range(n))
    zh = sum(v for k, v in templates.items() if k.startswith("zh"))
    en = n - zh
    assert abs(zh / n - 0.5) < 0.02
    assert abs(templates["zh0"] / zh - 0.5) < 0.02  # the contest's own wording: half of zh
    assert abs(templates["zh1"] / zh - 0.25) < 0.02
    for k in ("en0", "en1", "en2"):
        assert abs(templates[k] / en - 1 / 3) < 0.02


@pytest.mark.parametrize("lang", ["en", "mix"])
def test_phrasing_contest_with_english_is_a_usage_error(tmp_path, capsys, lang):
    out = tmp_path / "x.json"
    assert main(["make", "--n", "10", "--phrasing", "contest", "--lang", lang, "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert "--phrasing" in err and "Chinese" in err
    assert not out.exists()


def spec_with(tmp_path: Path, source: dict, lang: str | None = None) -> Path:
    stage = {"name": "one", "size": 300, "sources": [source, {"kind": "synthetic", "ops": "*", "weight": 1}]}
    if lang:
        stage["lang"] = lang
    spec = {"name": "phrased", "seq_length": 256, "heldout": {"count": 5, "types": ["add"]}, "stages": [stage]}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def test_a_spec_synthetic_source_can_take_the_contest_phrasing(tmp_path):
    source = {"kind": "synthetic", "types": ["add", "linear_eq"], "weight": 2, "phrasing": "contest"}
    out = tmp_path / "out"
    assert main(["curriculum", "build", str(spec_with(tmp_path, source)), "--out", str(out),
                 "--skip-mindrecord", "-q"]) == 0
    rows = [json.loads(x) for x in (out / "stage1_one" / "train.jsonl").read_text().splitlines()]
    phrased = [r for r in rows if r["type"] in ("add", "linear_eq")]
    others = [r for r in rows if r["type"] == "mul"]
    assert len(phrased) == 200 and {r["template"] for r in phrased} == {"zh0"}
    assert {r["lang"] for r in others} == {"zh", "en"}  # the stage's other sources keep their mix


def test_a_spec_that_asks_contest_phrasing_in_english_names_the_key(tmp_path, capsys):
    source = {"kind": "synthetic", "types": ["add"], "weight": 1, "phrasing": "contest"}
    out = tmp_path / "out"
    assert main(["curriculum", "build", str(spec_with(tmp_path, source, lang="en")), "--out", str(out),
                 "--skip-mindrecord", "-q"]) == 2
    assert "stages[0].sources[0].phrasing" in capsys.readouterr().err
    assert not out.exists()
