"""Held-out problems written inside other rows' text (BELLE, Alpaca, contest) never reach training."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from datagen.curricula.build import make_heldout
from datagen.curricula.spec import parse_spec

from datagen.cli import main
from datagen.family import load_families

FAMILIES = load_families()
SPEC = {
    "name": "planted",
    "seq_length": 256,
    "seed": 4,
    "heldout": {"count": 15, "types": ["add", "linear_eq", "growth", "discount"], "lang": "mix"},
    "stages": [{
        "name": "one",
        "sources": [
            {"kind": "belle", "path": "belle.json", "first": 1000},
            {"kind": "alpaca", "path": "alpaca.json", "first": 1000},
            {"kind": "contest", "path": "contest.json", "first": 1000},
        ],
    }],
}


def phrase(record: dict, lang: str, k: int) -> str:
    """The held-out problem in another phrasing than the one it was drawn with."""
    family = FAMILIES[record["type"]]
    values = tuple(record["operands"])
    config = family.config()
    scale = config.decimals
    if record["type"] == "growth":
        values = (round(float(values[0]) * 10**scale), int(values[1]))
    else:
        values = tuple(round(float(v) * 10**scale) for v in values)
    return family.render(config, values, lang, k, "contest")["problem"]


def belle_row(instruction: str, output: str = "\n答案：1") -> dict:
    return {"instruction": instruction, "input": "", "output": output}


def write(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture()
def planted(tmp_path):
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(SPEC, allow_unicode=True), encoding="utf-8")
    held = make_heldout(parse_spec(SPEC, str(spec_path)))["in_distribution"]
    by_type = {t: [r for r in held if r["type"] == t] for t in ("add", "linear_eq", "growth", "discount")}
    add, eq, growth, discount = (by_type[t][0] for t in ("add", "linear_eq", "growth", "discount"))
    clean_belle = [belle_row("题目：一本书有 240 页，小红每天看 30 页，几天能看完？", "\n240 ÷ 30 = 8\n答案：8"),
                   belle_row("题目：计算 1.5 + 2.25 等于多少？")]
    leaky_belle = [
        belle_row(f"题目：{add['problem']}"),  # the held-out text itself, after a prefix
        belle_row("题目：请帮我做一道题。", f"\n{phrase(eq, 'zh', 1)}\n答案：1"),  # in the answer, other words
        belle_row(f"题目：{phrase(growth, 'zh', 2)}请写出过程。"),
    ]
    a, b = add["operands"]
    clean_alpaca = [{"instruction": "What is 2 + 2?", "input": "", "output": "4"}]
    leaky_alpaca = [
        {"instruction": f"Question: {phrase(add, 'en', 0)} Show your work.", "input": "", "output": "1"},
        {"instruction": "Compute this:", "input": f"{a} + {b} = ?", "output": "1"},  # bare notation
        {"instruction": phrase(discount, "en", 2), "input": "", "output": "1"},
    ]
    clean_contest = [{"problem": "计算 1.00 + 2.00 等于多少？", "solution": "1.00 + 2.00 = 3.00"}]
    leaky_contest = [
        {"problem": f"题目：{add['problem']}", "solution": "1"},  # unclassified, so not caught by its key
        {"problem": f"小明问：{phrase(eq, 'en', 0)}", "solution": "1"},
    ]
    write(tmp_path / "belle.json", clean_belle + leaky_belle)
    write(tmp_path / "alpaca.json", clean_alpaca + leaky_alpaca)
    write(tmp_path / "contest.json", clean_contest + leaky_contest)
    return spec_path, {"word": 3, "alpaca": 3, "unknown": 2}, len(clean_belle + clean_alpaca + clean_contest)


def test_a_heldout_problem_inside_any_source_row_is_removed_and_counted(tmp_path, planted):
    spec_path, leaked, clean = planted
    out = tmp_path / "out"
    assert main(["curriculum", "build", str(spec_path), "--out", str(out), "--skip-mindrecord", "-q"]) == 0
    manifest = json.loads((out / "stage1_one" / "manifest.json").read_text())
    assert manifest["leaks_removed"] == leaked
    train = [json.loads(x) for x in (out / "stage1_one" / "train.jsonl").read_text().splitlines()]
    assert len(train) == clean
    assert {r["source"] for r in train} == {"belle", "alpaca", "contest"}


def test_problem_keys_read_every_phrasing_and_bare_notation_inside_text():
    from datagen.curricula.leak import problem_keys

    assert problem_keys("题目：计算 4204.22 + -2369.17 等于多少？\n答案：1835.05") == {
        ("add", "4204.22", "-2369.17")}
    assert problem_keys("Please: What is 4204.22 + (-2369.17)? thanks") == {("add", "4204.22", "-2369.17")}
    assert problem_keys("算一下 4204.22 + -2369.17 = ?") == {("add", "4204.22", "-2369.17")}
    assert problem_keys("题目：计算 ４２０４.２２ ＋ －２３６９.１７ 等于多少？") == {("add", "4204.22", "-2369.17")}
    assert ("linear_eq", "1", "-8") in problem_keys("Solve the equation x - 8 = 0 quickly")
    assert ("linear_eq", "1", "-8") in problem_keys("解方程 1x + -8 = 0")
    assert ("growth", "76.23", "12") in problem_keys(
        "Q: Last year's sales were 762300 yuan and this year's grew by 12%. Calculate this year's sales.")
    assert ("mean", "12", "45", "78") in problem_keys("老师说：求以下数据的平均值：[12, 45, 78]，快算")
    assert problem_keys("计算 14204.22 + -2369.17 等于多少？") == {("add", "14204.22", "-2369.17")}
    assert problem_keys("今天天气很好，我们去公园。") == set()


def test_heldout_scan_finds_only_heldout_keys():
    from datagen.curricula.leak import HeldoutScan

    scan = HeldoutScan({("add", "4204.22", "-2369.17"), ("linear_eq", "-1", "5"), ("text", "x")})
    assert scan.found("题目：计算 4204.22 + -2369.17 等于多少？") == ("add", "4204.22", "-2369.17")
    assert scan.found("What value of x satisfies -x + 5 = 0?") == ("linear_eq", "-1", "5")
    assert scan.found("计算 4204.22 + -2369.18 等于多少？") is None  # one cent off
    assert scan.found("计算 4204.22 - -2369.17 等于多少？") is None  # another operation
    assert scan.found_in({"problem": "题目：", "solution": "4204.22 + -2369.17 = 1835.05"}) == (
        "add", "4204.22", "-2369.17")
