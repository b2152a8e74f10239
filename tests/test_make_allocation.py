"""datagen make over several families: a family with a small space gives all it has, the rest spread."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from datagen.cli import main
from datagen.family import load_families
from datagen.generate import Generator, Request


def types_of(path) -> Counter:
    return Counter(json.loads(line)["type"] for line in path.read_text(encoding="utf-8").splitlines())


@pytest.mark.slow
def test_readme_make_every_family_step_by_step_runs(tmp_path, capsys):
    # README: datagen make --types all --n 20000 --style steps --lang zh
    out = tmp_path / "all.jsonl"
    assert main(["make", "--types", "all", "--n", "20000", "--style", "steps", "--lang", "zh",
                 "--out", str(out)]) == 0
    counts = types_of(out)
    assert sum(counts.values()) == 20000 and len(counts) == 14
    assert max(counts.values()) - min(counts.values()) <= 1  # every default space holds an even share
    assert "the rest went to" not in capsys.readouterr().err


def test_pow_default_space_is_the_contest_range():
    pow_family = load_families()["pow"]
    config = pow_family.config()
    assert (config.digits, config.decimals, config.negative, config.exponents) == ((1, 3), 2, True, (1, 5))
    assert sum(space.size for space in pow_family.spaces(config)) == 5 * (1999 + 18000 + 180000)


def test_a_small_family_gives_all_it_has_and_the_summary_says_so(tmp_path, capsys):
    # 1-digit square roots of integers: 10 problems; 1-digit rectangles: 81
    out = tmp_path / "d1.jsonl"
    assert main(["make", "--types", "add,sqrt,area", "--digits", "1", "--n", "3000", "--out", str(out)]) == 0
    counts = types_of(out)
    assert counts == {"sqrt": 10, "area": 81, "add": 3000 - 91}
    err = " ".join(capsys.readouterr().err.split())
    assert "sqrt: all 10 distinct problems its options allow (an even share was 1,000)" in err
    assert "area: all 81 distinct problems" in err
    problems = [json.loads(line)["problem"] for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(set(problems)) == 3000  # spreading never repeats a problem


def test_when_all_families_together_are_too_small_make_still_refuses(tmp_path, capsys):
    out = tmp_path / "x.jsonl"
    assert main(["make", "--types", "sqrt,area", "--digits", "1", "--n", "200", "--out", str(out), "-q"]) == 2
    assert "needs 100 distinct problems but its difficulty options allow only 10" in capsys.readouterr().err
    assert not out.exists()


def test_spreading_changes_nothing_when_every_family_has_room():
    request = Request(types=("add", "pow", "fraction"), n=3000, seed=5)
    plain, spread = Generator(request), Generator(Request(**{**request.__dict__, "spread": True}))
    assert [plain.item(i) for i in range(0, 3000, 7)] == [spread.item(i) for i in range(0, 3000, 7)]
    assert spread.capped == []
