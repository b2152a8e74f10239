"""Decontamination: every planted benchmark item (zh and en, respaced, repunctuated) is found; nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from datagen.curricula.decontam import load_benchmarks
from datagen.curricula.leak import NgramIndex, tokens

from datagen.cli import main
from datagen.generate import Generator, Request

FIXTURES = Path(__file__).parent / "fixtures"
SQUAD = FIXTURES / "eval" / "squad_tiny.json"
BELLE = FIXTURES / "belle" / "school_math_sample.json"
# a Chinese reading benchmark (CMRC-like), one item per line
ZH_ITEMS = [
    "长江是亚洲第一长河，全长约六千三百公里，发源于青藏高原的唐古拉山脉各拉丹冬峰西南侧，最终注入东海。",
    "故宫位于北京中轴线的中心，是明清两代的皇家宫殿，旧称紫禁城，占地面积约七十二万平方米。",
    "熊猫主要生活在中国四川、陕西和甘肃的山区，以竹子为主要食物，是中国的国家一级保护动物。",
]


def contest_test_set() -> list[dict]:
    gen = Generator(Request(types=("add", "sub", "mul", "div"), n=40, seed=999, lang="zh", phrasing="contest",
                            format="contest"))
    return [json.loads(line) for line in gen.chunk(0, 40)[0].splitlines()]


def training_mix() -> list[dict]:
    gen = Generator(Request(types=("add", "sub", "mul", "div", "pow", "sqrt", "mean", "fraction"), n=3000, seed=5))
    rows = [json.loads(line) for line in gen.chunk(0, 3000)[0].splitlines()]
    belle = [json.loads(line) for line in BELLE.read_text(encoding="utf-8-sig").splitlines() if line.strip()]
    return rows + [{"id": f"belle{k}", **r} for k, r in enumerate(belle) if isinstance(r.get("output"), str)]


def planted(contest: list[dict]) -> list[dict]:
    squad = json.loads(SQUAD.read_text())["data"]
    context = squad[0]["paragraphs"][0]["context"]
    question = squad[1]["paragraphs"][0]["qas"][0]["question"]
    wide = str.maketrans("0123456789.+-", "０１２３４５６７８９．＋－")
    first = contest[0]["problem"]  # 计算 A op B 等于多少？
    a, op, b = first.removeprefix("计算 ").removesuffix(" 等于多少？").split(" ")
    fourth = contest[3]["problem"].removeprefix("计算 ").removesuffix(" 等于多少？").split(" ")
    family = {"+": "add", "-": "sub", "*": "mul", "/": "div"}[fourth[1]]
    zh = ZH_ITEMS[1]
    return [
        # zh contest problem, no spaces, full-width, inside a word problem
        {"id": "plant-zh-contest", "instruction": "题目：" + first.replace(" ", "").translate(wide), "input": "",
         "output": "答案见下"},
        # the same problem in English words (canonical form: family + operands)
        {"id": "plant-en-contest", "problem": f"Please compute ({a}) {op} ({b}).", "solution": "see below"},
        # a generated record whose operands are a test problem's, phrased in English
        {"id": "plant-record", "type": family, "lang": "en", "operands": [fourth[0], fourth[2]],
         "problem": f"What is {fourth[0]} {fourth[1]} {fourth[2]}?", "solution": "?"},
        # 20 words of a SQuAD context, respaced and repunctuated, case changed
        {"id": "plant-en-context", "problem": "Read: " + "  ".join(context.upper().split()[3:23]).replace(",", " ;"),
         "solution": "ok"},
        # a short SQuAD question (fewer than 13 tokens: matched whole)
        {"id": "plant-en-question", "instruction": f"Q -- {question.lower().rstrip('?')} ??", "output": "x"},
        # a zh passage, spaces between characters, ASCII punctuation
        {"id": "plant-zh-passage", "problem": "阅读：" + " ".join(zh[2:30]).replace("，", ","),
         "solution": "好"},
    ]


@pytest.fixture()
def files(tmp_path):
    contest = contest_test_set()
    (tmp_path / "contest_test.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in contest), encoding="utf-8")
    (tmp_path / "zh_reading.jsonl").write_text(
        "".join(json.dumps({"id": f"zh{k}", "context": t}, ensure_ascii=False) + "\n"
                for k, t in enumerate(ZH_ITEMS)), encoding="utf-8")
    return tmp_path, contest


def run_audit(folder: Path, rows: list[dict], name: str) -> tuple[dict, list[dict]]:
    train = folder / f"{name}.jsonl"
    train.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    out = folder / f"{name}-audit"
    assert main(["audit", str(train), "--against", str(SQUAD), str(folder / "contest_test.jsonl"),
                 str(folder / "zh_reading.jsonl"), "--out", str(out), "-q"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    removed = [json.loads(line) for line in (out / "removed.jsonl").read_text().splitlines()]
    kept = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    assert len(kept) + len(removed) == len(rows) == summary["rows"]
    return summary, removed


def test_clean_mix_loses_nothing(files):
    folder, _ = files
    summary, removed = run_audit(folder, training_mix(), "clean")
    assert removed == [] and summary["removed"] == 0


def test_every_planted_item_is_found_and_nothing_else(files):
    folder, contest = files
    plants = planted(contest)
    mix = training_mix()
    rows = mix[:1000] + plants[:3] + mix[1000:] + plants[3:]
    summary, removed = run_audit(folder, rows, "planted")
    assert sorted(r["row"]["id"] for r in removed) == sorted(p["id"] for p in plants)
    how = {r["row"]["id"]: (r["how"], Path(r["benchmark"]).name) for r in removed}
    assert how == {
        "plant-zh-contest": ("canonical", "contest_test.jsonl"),
        "plant-en-contest": ("canonical", "contest_test.jsonl"),
        "plant-record": ("canonical", "contest_test.jsonl"),
        "plant-en-context": ("ngram", "squad_tiny.json"),
        "plant-en-question": ("ngram", "squad_tiny.json"),
        "plant-zh-passage": ("ngram", "zh_reading.jsonl"),
    }
    assert summary["removed"] == 6 and summary["against"][str(SQUAD)] == 10  # 2 contexts + 8 questions


def test_tokens_ignore_spacing_punctuation_and_width():
    assert tokens("计算 12.5 + -3 等于多少？") == tokens("计算１２．５＋－３等于多少?") == \
        ["计", "算", "12.5", "+", "-", "3", "等", "于", "多", "少"]
    assert tokens("Super-Bowl, 50!") == ["super", "bowl", "50"]
    assert tokens("5 - 3") != tokens("5 + 3")


def test_ngram_length_is_configurable():
    index = NgramIndex(n=5, min_tokens=5)
    assert index.add("one two three four five six", 0)
    assert index.found("x two three four five six y") == (0, "two three four five six")
    assert index.found("one two three four x six") is None
    assert not NgramIndex(n=13).add("too short", 1)


def test_missing_benchmark_is_one_line_exit_2(tmp_path, capsys):
    train = tmp_path / "t.jsonl"
    train.write_text('{"problem": "x", "solution": "y"}\n')
    assert main(["audit", str(train), "--against", str(tmp_path / "nope.json"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nope.json" in err and "--against" in err
    assert not (tmp_path / "o").exists()


def test_load_benchmarks_counts_items_per_file(files):
    folder, _ = files
    bench = load_benchmarks([SQUAD, folder / "zh_reading.jsonl"])
    assert bench.per_file == {str(SQUAD): 10, str(folder / "zh_reading.jsonl"): 3}


def test_a_curriculum_naming_benchmarks_drops_their_rows_from_every_stage(tmp_path):
    contest = FIXTURES / "specs" / "train.json"
    rows = [json.loads(line) for line in contest.read_text(encoding="utf-8-sig").splitlines() if line.strip()]
    bench = tmp_path / "test.jsonl"  # three of the contest file's own problems, respaced
    bench.write_text("".join(json.dumps({"problem": r["problem"].replace(" ", "")}, ensure_ascii=False) + "\n"
                             for r in rows[:3]), encoding="utf-8")
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"""name: bench
seq_length: 256
benchmarks: [{bench.name}]
heldout: {{count: 5, types: [add]}}
stages:
  - name: one
    size: 30
    sources:
      - {{kind: synthetic, ops: "+", weight: 1}}
      - {{kind: contest, path: "{contest}", first: 10}}
""", encoding="utf-8")
    out = tmp_path / "run"
    assert main(["curriculum", "build", str(spec), "--out", str(out), "--skip-mindrecord", "-q"]) == 0
    manifest = json.loads((out / "stage1_one" / "manifest.json").read_text())
    trained = {r["problem"] for r in (json.loads(x) for x in (out / "stage1_one" / "train.jsonl").open())}
    leaked = {r["problem"] for r in rows[:3]} & trained
    assert leaked == set() and sum(manifest["benchmark_removed"].values()) == manifest["source_counts"][1] - \
        sum(1 for r in (json.loads(x) for x in (out / "stage1_one" / "train.jsonl").open()) if r["source"] == "contest")
    assert manifest["benchmark_removed"] == {f"canonical {bench}": 3}
