"""eval score end to end: echo removal, gold reading, prediction formats, matching, the command."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from datagen.curricula.templates import inference_prompt
from datagen.eval.compare import make_gold
from datagen.eval.gold import read_gold
from datagen.eval.predictions import Prediction, align, read_predictions
from datagen.eval.score import GoldItem, cut_continuation, remove_echo, score_output

from datagen.cli import main
from datagen.errors import DatagenError, InputError
from datagen.generate import Generator, Request

TYPES = ("add", "sub", "mul", "div", "sqrt", "linear_eq", "mean", "fraction")


@pytest.fixture(scope="module")
def records() -> list[dict]:
    generator = Generator(Request(types=TYPES, n=64, seed=5, lang="mix"))
    return [generator.item(i) for i in range(64)]


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def npy_batches(texts: list[str], batch: int) -> np.ndarray:
    """MindFormers predict output (REFERENCE §5): a list of {"text_generation_text": [...]} per batch."""
    batches = [{"text_generation_text": texts[i:i + batch]} for i in range(0, len(texts), batch)]
    array = np.empty(len(batches), dtype=object)
    array[:] = batches
    return array


def item(problem: str, answer: str, family: str = "add") -> GoldItem:
    return GoldItem("x", 1, family, "zh", problem, make_gold(answer, family=family), (answer,))


# --- echo removal and the answer turn ---------------------------------------------------------

PROBLEM = "计算 4204.22 + -2369.17 等于多少？"


@pytest.mark.parametrize("template", ["raw", "alpaca", "zh_prefix", "alpaca_zh"])
def test_echoed_prompt_is_removed_for_every_template(template):
    output = inference_prompt(template, PROBLEM) + " 4204.22 + -2369.17 = 1835.05"
    assert remove_echo(output, PROBLEM, template).strip() == "4204.22 + -2369.17 = 1835.05"
    assert remove_echo(output, PROBLEM).strip() == "4204.22 + -2369.17 = 1835.05"  # auto
    assert score_output(output, item(PROBLEM, "1835.05")).strict is True


def test_echoed_problem_numbers_never_count():
    # the model only repeats the question: its operands are not an answer
    gold = item("计算 5 + 0 等于多少？", "5")
    for output in ("计算 5 + 0 等于多少？", inference_prompt("alpaca", "计算 5 + 0 等于多少？")):
        verdict = score_output(output, gold)
        assert (verdict.strict, verdict.extracted) == (False, None)
    # a repeated question inside the answer is blanked too
    gold = item("What is 7 + 1?", "8")
    assert score_output("What is 7 + 1? What is 7 + 1? I don't know", gold).extracted is None
    assert score_output("What is 7 + 1? 8", gold).strict is True


def test_every_stop_string_holds_a_hint():
    from datagen.eval.score import END_TOKENS, PROMPT_STARTS, STOP_HINTS

    assert all(any(hint in stop for hint in STOP_HINTS) for stop in PROMPT_STARTS + END_TOKENS)


def test_the_next_turn_is_cut_off():
    assert cut_continuation("1835.05</s>USER: 计算 1 + 2 ASSISTANT: 3") == "1835.05"
    assert cut_continuation("= 12\n\n### Instruction:\n计算 1 + 2\n\n### Response: 3") == "= 12\n\n"
    # an echo that was not stripped (a different wording) is skipped up to the response
    assert cut_continuation(inference_prompt("alpaca", "another problem") + " 42").strip() == "42"
    gold = item(PROBLEM, "1835.05")
    assert score_output("= 1835.05\nUSER: 计算 1 + 2 等于多少？ ASSISTANT: = 3", gold).strict is True


def test_echo_with_a_trap_answer():
    gold = item(PROBLEM, "1835.05")
    prompt = inference_prompt("alpaca_zh", PROBLEM)
    verdict = score_output(prompt + " 答案是 11835.05", gold)  # the gold's digits inside a wrong number
    assert (verdict.strict, verdict.lenient, verdict.extracted) == (False, True, "11835.05")
    verdict = score_output(prompt + " The answer is 1,835.050.", gold)
    assert (verdict.strict, verdict.lenient, verdict.extracted) == (True, False, "1,835.050")
    verdict = score_output(prompt + " 结果为 1.83505e3", gold)
    assert (verdict.strict, verdict.extracted) == (True, "1.83505e3")


def test_unknown_template_is_a_usage_error(tmp_path, records, capsys):
    gold = write_jsonl(tmp_path / "g.jsonl", records[:2])
    pred = write_jsonl(tmp_path / "p.jsonl", [{"id": r["id"], "output": "1"} for r in records[:2]])
    assert main(["eval", "score", "--gold", str(gold), "--pred", str(pred), "--template", "chatml"]) == 2
    assert "unknown template 'chatml'" in capsys.readouterr().err


def test_lenient_uses_the_output_without_echo():
    gold = item("计算 1835.05 + 0 等于多少？", "1835.05")
    verdict = score_output(inference_prompt("alpaca_zh", "计算 1835.05 + 0 等于多少？") + " 不知道", gold)
    assert (verdict.strict, verdict.lenient) == (False, False)
    verdict = score_output("答案是 11835.05", gold)
    assert (verdict.strict, verdict.lenient, verdict.extracted) == (False, True, "11835.05")


# --- gold --------------------------------------------------------------------------------------

def test_records_are_read_with_type_language_and_difficulty(tmp_path, records):
    gold = read_gold(write_jsonl(tmp_path / "g.jsonl", records))
    assert [i.id for i in gold.items] == [r["id"] for r in records]
    first = gold.items[0]
    assert (first.type, first.lang, first.gold.answer) == (records[0]["type"], records[0]["lang"], records[0]["answer"])
    assert first.bucket.startswith("digits=")
    assert gold.counts == {"record": 64}
    sqrt = next(i for i, r in zip(gold.items, records) if r["answer_policy"] == "sig40")
    assert sqrt.gold.policy == "sig40" and not sqrt.gold.short


@pytest.mark.parametrize("line, message", [
    ("{not json", "g.jsonl:2: not valid JSON"),
    ('{"problem": "x", "answer": "1.2.3"}', "g.jsonl:2: answer: '1.2.3' is not an exact number"),
    ('{"problem": "x", "answer": "1", "answer_policy": "sig28"}', "g.jsonl:2: answer_policy: "),
    ('{"answer": "1"}', "g.jsonl:2: problem: missing"),
    ('{"problem": "x", "answer": [1]}', "g.jsonl:2: answer: must be a string, got list"),
    ('{"question": "x"}', "g.jsonl:2: neither a record"),
    ("[1, 2]", "g.jsonl:2: not a JSON object"),
])
def test_bad_gold_rows_name_file_line_and_field(tmp_path, line, message):
    path = tmp_path / "g.jsonl"
    path.write_text('{"problem": "计算 1 + 1 等于多少？", "answer": "2"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_gold(path)


class Resolved(types.SimpleNamespace):
    pass


def fake_contest(answers: dict[str, tuple[str, str, str]]) -> types.ModuleType:
    module = types.ModuleType("datagen.curricula.contest")

    def resolve(problem):
        if problem not in answers:
            return None
        family, answer, policy = answers[problem]
        return Resolved(type=family, operands=[], answer=answer, answer_policy=policy)

    module.resolve = resolve
    return module


def test_contest_rows_are_re_derived_exactly(tmp_path, monkeypatch):
    rows = [
        {"problem": "计算 2415.96 / -2695.89 等于多少？", "solution": "-0.8961641"},
        {"problem": "解方程 -39x + 20 = 0", "solution": "方程的解为：0.5128205128205128"},
        {"problem": "Find $x$.", "solution": "So $x = \\boxed{\\frac{3}{4}}$."},
        {"problem": "Prove it.", "solution": "Done, $\\boxed{x^2 + 1}$."},
    ]
    monkeypatch.setitem(sys.modules, "datagen.curricula.contest", fake_contest({
        rows[0]["problem"]: ("div", "-241596/269589", "exact"),
        rows[1]["problem"]: ("linear_eq", "20/39", "exact"),
    }))
    gold = read_gold(write_jsonl(tmp_path / "contest.jsonl", rows))
    a, b, c, d = gold.items
    assert (a.type, a.lang, a.gold.numerator, a.gold.denominator, a.source) == ("div", "zh", -80532, 89863, "contest")
    assert "-0.8961641" in a.strings  # the contest's number string, for the lenient metric
    assert (b.type, b.gold.answer) == ("linear_eq", "20/39")
    assert (c.type, c.lang, c.gold.answer, c.source) == ("competition", "en", "3/4", "solution")
    assert (d.gold, d.source) == (None, "unjudged")
    assert score_output("-0.8961641", a).strict is True  # rounded to 7 decimals: within one unit
    assert score_output("-0.8961", a).strict is True  # truncated
    assert score_output("-0.896", a).strict is True
    assert score_output("-0.89", a).strict is False  # 2 significant digits: not enough to name the value
    assert score_output("-0.9", a).strict is False
    assert score_output("x = 3/4", c).strict is True
    assert score_output("x = 3/4", d).strict is None


def test_contest_rows_without_the_contest_module_are_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "datagen.curricula.contest", None)  # as if the module were not installed
    path = write_jsonl(tmp_path / "c.jsonl", [{"problem": "计算 1 + 1 等于多少？", "solution": "1 + 1 = 2"}])
    with pytest.raises(DatagenError, match=r"c.jsonl:1: a contest-format row .* curricula.contest"):
        read_gold(path)


# --- predictions -------------------------------------------------------------------------------

def test_npy_needs_allow_pickle_and_says_why(tmp_path):
    path = tmp_path / "p.npy"
    np.save(path, npy_batches(["a", "b", "c"], 2), allow_pickle=True)
    with pytest.raises(DatagenError, match="unpickles, which can run arbitrary code; pass --allow-pickle"):
        read_predictions(path)
    preds = read_predictions(path, allow_pickle=True)
    assert [p.output for p in preds] == ["a", "b", "c"]
    assert preds[2].where.endswith("batch 1, text 0")


def test_npy_that_is_not_numpy_is_never_unpickled(tmp_path):
    import pickle

    path = tmp_path / "evil.npy"
    path.write_bytes(pickle.dumps(["x"]))
    with pytest.raises(DatagenError, match="not a .npy file"):
        read_predictions(path, allow_pickle=True)


def test_npy_with_a_wrong_structure_names_the_batch(tmp_path):
    path = tmp_path / "p.npy"
    array = np.empty(2, dtype=object)
    array[:] = [{"text_generation_text": ["a"]}, {"other": 1}]
    np.save(path, array, allow_pickle=True)
    with pytest.raises(DatagenError, match=r"p.npy: batch 1: text_generation_text: missing"):
        read_predictions(path, allow_pickle=True)


def test_jsonl_predictions_errors_name_the_line(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": "a", "output": "1"}\n{"id": "b"}\n', encoding="utf-8")
    with pytest.raises(DatagenError, match=r"p.jsonl:2: output: missing"):
        read_predictions(path)
    path.write_text('{"id": "a", "output": 5}\n', encoding="utf-8")
    with pytest.raises(DatagenError, match=r"p.jsonl:1: output: must be a string, got int"):
        read_predictions(path)


def preds(*ids) -> list[Prediction]:
    return [Prediction(i, f"out-{i}", f"p.jsonl:{k + 1}") for k, i in enumerate(ids)]


def test_align_by_id_and_by_order():
    assert align(["a", "b"], preds("b", "a"), "g", "p") == ["out-a", "out-b"]
    assert align(["a", "b"], preds(None, None), "g", "p") == ["out-None", "out-None"]
    assert align([None, None], preds("x", "y"), "g", "p") == ["out-x", "out-y"]  # gold without ids: order


def test_count_mismatch_says_which_side_is_short():
    with pytest.raises(DatagenError, match="the predictions are short by 1 .*'c'"):
        align(["a", "b", "c"], preds("a", "b"), "g", "p")
    with pytest.raises(DatagenError, match="the gold is short by 1 .*'z' is not in the gold"):
        align(["a", "b"], preds("a", "b", "z"), "g", "p")
    with pytest.raises(DatagenError, match=r"matched by order\): the predictions side is short by 2"):
        align([None, None, None], preds(None), "g", "p")
    with pytest.raises(DatagenError, match=r"matched by order\): the gold side is short by 1"):
        align([None], preds(None, None), "g", "p")
    with pytest.raises(DatagenError, match="duplicate id 'a'"):
        align(["a", "b"], preds("a", "a"), "g", "p")
    assert align(["a", "b", "c"], preds("a", "c"), "g", "p", partial=True) == ["out-a", None, "out-c"]


# --- the command -------------------------------------------------------------------------------

def answer_texts(records) -> list[str]:
    """Right answers in varied forms for even items, wrong ones for odd items."""
    texts = []
    for k, r in enumerate(records):
        if k % 2:
            texts.append("我不知道" if k % 4 == 1 else f"The answer is {r['answer']}9.")
        elif r["lang"] == "zh":
            texts.append(f"所以结果为{r['answer']}。")
        else:
            texts.append(f"The answer is $\\boxed{{{r['answer']}}}$.")
    return texts


def test_score_command_reports_by_type_and_language(tmp_path, records, capsys):
    gold = write_jsonl(tmp_path / "heldout.jsonl", records)
    pred = write_jsonl(tmp_path / "pred.jsonl", [{"id": r["id"], "output": t}
                                                 for r, t in zip(records, answer_texts(records))])
    rc = main(["eval", "score", "--gold", str(gold), "--pred", str(pred), "--json", str(tmp_path / "r.json"),
               "--items", str(tmp_path / "items.jsonl"), "--plot", str(tmp_path / "acc.png")])
    assert rc == 0
    report = json.loads((tmp_path / "r.json").read_text())
    expected = sum(1 for k in range(64) if k % 2 == 0)
    assert report["n"] == 64 and report["strict"] == expected / 64
    assert report["overall"]["strict_correct"] == 32
    assert set(report["by_type"]) == set(TYPES)
    assert sum(row["n"] for row in report["by_lang"].values()) == 64
    assert report["by_type_difficulty"]
    items = [json.loads(line) for line in (tmp_path / "items.jsonl").read_text().splitlines()]
    assert [i["id"] for i in items] == [r["id"] for r in records]
    assert all(set(i) >= {"id", "strict", "lenient", "extracted"} for i in items)
    assert [i["strict"] for i in items] == [k % 2 == 0 for k in range(64)]
    assert items[1]["extracted"] is None and items[1]["lenient"] is False
    assert items[3]["strict"] is False and items[3]["lenient"] is True  # "<answer>9" contains the answer
    assert (tmp_path / "acc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    captured = capsys.readouterr()
    assert "datagen eval score: 64 items" in captured.err and "all" in captured.err  # summaries on stderr
    assert captured.out == ""


def test_score_command_reads_smoke_style_npy_and_jsonl(tmp_path, records, capsys):
    """The files train smoke writes: .npy texts echo the prompt; .jsonl holds the continuation."""
    gold = write_jsonl(tmp_path / "heldout.jsonl", records)
    continuations = [" " + r["solution"] for r in records]
    texts = [inference_prompt("alpaca_zh", r["problem"]) + c for r, c in zip(records, continuations)]
    np.save(tmp_path / "pred.npy", npy_batches(texts, 8), allow_pickle=True)
    write_jsonl(tmp_path / "pred.jsonl", [{"id": r["id"], "output": c} for r, c in zip(records, continuations)])
    reports = {}
    for name, extra in (("pred.npy", ["--allow-pickle"]), ("pred.jsonl", [])):
        out = tmp_path / f"{name}.json"
        assert main(["eval", "score", "--gold", str(gold), "--pred", str(tmp_path / name), "--json", str(out),
                     "-q", *extra]) == 0
        reports[name] = json.loads(out.read_text())
    assert reports["pred.npy"]["strict"] == reports["pred.jsonl"]["strict"] > 0.8
    assert reports["pred.npy"]["lenient"] == reports["pred.jsonl"]["lenient"] == 1.0
    # without the flag, the .npy is refused with the reason, exit code 2
    assert main(["eval", "score", "--gold", str(gold), "--pred", str(tmp_path / "pred.npy")]) == 2
    assert "--allow-pickle" in capsys.readouterr().err


def test_score_command_with_the_smoke_writer(tmp_path, records):
    predict_script = pytest.importorskip("datagen.train.predict_script")
    gold = write_jsonl(tmp_path / "heldout.jsonl", records)
    prompts = [inference_prompt("alpaca", r["problem"]) for r in records[:32]]
    continuations = [" " + r["solution"] for r in records[:32]]
    npy, jsonl = tmp_path / "p.npy", tmp_path / "p.jsonl"
    predict_script.write_predictions(str(npy), str(jsonl), [r["id"] for r in records[:32]], prompts,
                                     continuations, 8)
    for path, extra in ((npy, ["--allow-pickle"]), (jsonl, [])):
        assert main(["eval", "score", "--gold", str(gold), "--pred", str(path), "-q", *extra]) == 2
        out = tmp_path / "r.json"
        assert main(["eval", "score", "--gold", str(gold), "--pred", str(path), "--allow-partial",
                     "--json", str(out), "--force", "-q", *extra]) == 0
        report = json.loads(out.read_text())
        assert report["n"] == 32 and report["without_prediction"] == 32 and report["lenient"] == 1.0


def test_score_command_errors_are_one_line_exit_2(tmp_path, records, capsys):
    gold = write_jsonl(tmp_path / "heldout.jsonl", records)
    pred = write_jsonl(tmp_path / "pred.jsonl", [{"id": r["id"], "output": "1"} for r in records[:-1]])
    assert main(["eval", "score", "--gold", str(gold), "--pred", str(pred)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("datagen eval score: error:") and "predictions are short by 1" in err
    assert main(["eval", "score", "--gold", str(tmp_path / "missing.jsonl"), "--pred", str(pred)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("datagen eval score: error:") and "missing.jsonl: no such file" in err


# --- which number is the answer (issue: restated operands, units, several markers) -----------

DIV_10_3 = "计算 10 / 3 等于多少？"
GROWTH = "去年销售额为 250 万元，今年销售额增加了 12%，请计算今年的销售额。"


@pytest.mark.parametrize("output, problem, answer, family", [
    ("10 / 3 = ", DIV_10_3, "10/3", "div"),
    ("计算 10 / 3", DIV_10_3, "10/3", "div"),
    ("10/3", DIV_10_3, "10/3", "div"),
    ("7 / 28 = ", "计算 7 / 28 等于多少？", "0.25", "div"),
    ("What is 7 / 28?", "计算 7 / 28 等于多少？", "0.25", "div"),
    ("5 + 0", "计算 5 + 0 等于多少？", "5", "add"),
    ("将分数 14/58 进行简化", "将分数 14/58 进行简化。", "7/29", "fraction"),
])
def test_restated_operands_never_count(output, problem, answer, family):
    verdict = score_output(output, item(problem, answer, family))
    assert (verdict.strict, verdict.extracted) == (False, None)


@pytest.mark.parametrize("output, expected", [
    ("10 / 3 = 10/3", "10/3"),  # an exact fraction stated as the result
    ("结果为 10/3", "10/3"),
    ("$\\boxed{10/3}$", "10/3"),  # \boxed{} states its content as the result
    ("10 / 3 = 20/6", "20/6"),  # equal value; only fraction problems ask for the reduced form
    ("10 / 3 = 3.33", "3.33"),
    ("10 / 3 ≈ 3.333", "3.333"),  # the problem's own 10 / 3 before ≈ is not the answer
])
def test_exact_non_terminating_fractions_are_accepted(output, expected):
    verdict = score_output(output, item(DIV_10_3, "10/3", "div"))
    assert (verdict.strict, verdict.extracted) == (True, expected)


@pytest.mark.parametrize("output", ["391 cm²", "面积：391 cm²", "面积为 391 cm²。", "The area is 391 m²", "391 cm2"])
def test_a_superscript_unit_is_not_an_exponent(output):
    verdict = score_output(output, item("一个长方形的长为 17 厘米，宽为 23 厘米，请计算其面积。", "391", "area"))
    assert (verdict.strict, verdict.extracted) == (True, "391")


@pytest.mark.parametrize("output, problem, answer, family, expected", [
    # an aside in parentheses after the result is a check
    ("7.5 / 0.25 = 30 (since 0.25 × 30 = 7.5)", "计算 7.5 / 0.25 等于多少？", "30", "div", "30"),
    # a percentage the problem gives is not the result
    ("今年的销售额为 280 万元，增长率为 12%", GROWTH, "280", "growth", "280"),
    # an exact value before ≈ is the answer ...
    ("17/37 ≈ 0.459", "将分数 34/74 进行简化。", "17/37", "fraction", "17/37"),
    # ... unless it is the problem's own a / b, then the approximation is
    ("17/37 ≈ 0.459", "计算 17 / 37 等于多少？", "17/37", "div", "0.459"),
    # a decimal before ≈ is what was rounded
    ("3.323 = 3.32 + 0.003\n0.003 < 0.005\n3.323 ≈ 3.32", "把 3.323 四舍五入到百分位。", "3.32", "add", "3.32"),
    # the last relation wins over earlier steps, an operand of the next step is not a result
    ("(6 + 2 + 4) / 3 = 12 / 3 = 4\nThe mean is 4", "Calculate the average of [6, 2, 4].", "4", "mean", "4"),
    ("5 + 0 = 5", "计算 5 + 0 等于多少？", "5", "add", "5"),  # equal to an operand, still the result
    ("√26 ≈ 5.099", "计算 26 的平方根？", "5.099019513592784830028224109022781989564", "sqrt", "5.099"),
])
def test_which_marker_wins(output, problem, answer, family, expected):
    gold = GoldItem("x", 1, family, "zh", problem, make_gold(answer, "sig40" if family == "sqrt" else "exact",
                                                               family), (answer,))
    verdict = score_output(output, gold)
    assert (verdict.strict, verdict.extracted) == (True, expected)


DISCOUNT_90_60 = "商品原价为 90 元，打折后的价格为 60 元，请计算打折的折扣比例。"


@pytest.mark.parametrize("output, problem, answer, family, expected, right", [
    # the fraction before ≈ is the answer only when the value after ≈ is its rounding: a percent is not
    ("Discount = 30/90 = 1/3 ≈ 33.33%", DISCOUNT_90_60, "100/3", "discount", "33.33", True),
    ("折扣比例 = 30/90 = 1/3 ≈ 33.33%", DISCOUNT_90_60, "100/3", "discount", "33.33", True),
    ("30/90 = 1/3 ≈ 0.333", "将分数 30/90 进行简化。", "1/3", "fraction", "1/3", True),
    ("1/3 ≈ 0.5", "将分数 30/90 进行简化。", "1/3", "fraction", "0.5", False),  # not its rounding
    # a thousands space
    ("面积为 317 800 平方厘米", "一个长方形的长为 400 厘米，宽为 794.5 厘米，请计算其面积。", "317800", "area",
     "317 800", True),
    ("The area is 317 800 cm²", "一个长方形的长为 400 厘米，宽为 794.5 厘米，请计算其面积。", "317800", "area",
     "317 800", True),
])
def test_approximations_and_thousands_spaces(output, problem, answer, family, expected, right):
    verdict = score_output(output, item(problem, answer, family))
    assert (verdict.strict, verdict.extracted) == (right, expected)


def test_zero_never_matches_a_nonzero_gold():
    for output, answer in (("0", "5"), ("答案：0", "-3"), ("= 0.00", "1/367"), ("0/7", "2/7"), ("0e5", "12")):
        assert score_output(output, item("计算 1 + 1 等于多少？", answer)).strict is False, output
    assert score_output("= 0", item("计算 5 - 5 等于多少？", "0", "sub")).strict is True
    assert score_output("0.00", item("计算 5 - 5 等于多少？", "0", "sub")).strict is True


# --- the edge layer: readers, --force, streams, the library API --------------------------------

def test_gold_and_predictions_with_bom_crlf_and_blank_lines(tmp_path, records):
    body = "\r\n".join(json.dumps(r, ensure_ascii=False) for r in records[:4]) + "\r\n\r\n"
    gold = tmp_path / "g.jsonl"
    gold.write_bytes(b"\xef\xbb\xbf" + body.encode("utf-8"))
    pred = tmp_path / "p.jsonl"
    lines = [json.dumps({"id": r["id"], "output": f"答案：{r['answer']}"}, ensure_ascii=False) for r in records[:4]]
    pred.write_bytes(b"\xef\xbb\xbf" + "\r\n\r\n".join(lines).encode("utf-8"))
    out = tmp_path / "r.json"
    assert main(["eval", "score", "--gold", str(gold), "--pred", str(pred), "--json", str(out), "-q"]) == 0
    report = json.loads(out.read_text())
    assert (report["n"], report["strict"]) == (4, 1.0)


def test_a_bad_prediction_row_stops_or_is_collected(tmp_path, records, capsys):
    gold = write_jsonl(tmp_path / "g.jsonl", records[:4])
    rows = [json.dumps({"id": r["id"], "output": f"答案：{r['answer']}"}, ensure_ascii=False) for r in records[:4]]
    rows[2] = rows[2][:-7]  # a truncated line, as a killed job leaves it
    pred = tmp_path / "p.jsonl"
    pred.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert main(["eval", "score", "--gold", str(gold), "--pred", str(pred)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"datagen eval score: error: {pred}:3: not valid JSON") and "Traceback" not in err
    out = tmp_path / "r.json"
    assert main(["eval", "score", "--gold", str(gold), "--pred", str(pred), "--bad-pred", "collect",
                 "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert (report["n"], report["overall"]["strict_correct"], report["rejected_predictions"]) == (4, 3, 1)
    assert report["rejects"][0]["line"] == 3 and report["rejects"][0]["file"] == str(pred)
    assert "1 prediction rows could not be read" in capsys.readouterr().err
    # matched by order, the rejected row keeps its place
    no_ids = tmp_path / "p2.jsonl"
    no_ids.write_text('{"output": "1"}\n{"output": \n' + "\n".join(
        json.dumps({"output": f"答案：{r['answer']}"}, ensure_ascii=False) for r in records[2:4]) + "\n",
        encoding="utf-8")
    items = tmp_path / "items.jsonl"
    assert main(["eval", "score", "--gold", str(gold), "--pred", str(no_ids), "--bad-pred", "collect",
                 "--items", str(items), "-q"]) == 0
    verdicts = [json.loads(line) for line in items.read_text().splitlines()]
    assert [v["strict"] for v in verdicts][1:] == [False, True, True]


def test_every_output_is_refused_without_force_and_kept(tmp_path, records, capsys):
    gold = write_jsonl(tmp_path / "g.jsonl", records[:4])
    pred = write_jsonl(tmp_path / "p.jsonl", [{"id": r["id"], "output": r["answer"]} for r in records[:4]])
    for option in ("--json", "--items", "--plot"):
        target = tmp_path / f"existing{option}"
        target.write_text("keep", encoding="utf-8")
        assert main(["eval", "score", "--gold", str(gold), "--pred", str(pred), option, str(target)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"datagen eval score: error: {option}: {target} exists; pass --force")
        assert target.read_text(encoding="utf-8") == "keep"
        assert main(["eval", "score", "--gold", str(gold), "--pred", str(pred), option, str(target), "--force",
                     "-q"]) == 0
        assert target.read_text(encoding="utf-8", errors="replace") != "keep"
    same = tmp_path / "same.json"
    assert main(["eval", "score", "--gold", str(gold), "--pred", str(pred), "--json", str(same),
                 "--items", str(same)]) == 2
    assert "--items and --json are both" in capsys.readouterr().err and not same.exists()


def test_json_to_stdout_is_data_and_the_summary_goes_to_stderr(tmp_path, records, capsys):
    gold = write_jsonl(tmp_path / "g.jsonl", records[:4])
    pred = write_jsonl(tmp_path / "p.jsonl", [{"id": r["id"], "output": r["answer"]} for r in records[:4]])
    assert main(["eval", "score", "--gold", str(gold), "--pred", str(pred), "--json", "-"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["n"] == 4
    assert "datagen eval score: 4 items" in captured.err


def test_plot_without_matplotlib_is_one_line_naming_the_extra(tmp_path, records, monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    gold = write_jsonl(tmp_path / "g.jsonl", records[:4])
    pred = write_jsonl(tmp_path / "p.jsonl", [{"id": r["id"], "output": r["answer"]} for r in records[:4]])
    out = tmp_path / "r.json"
    assert main(["eval", "score", "--gold", str(gold), "--pred", str(pred), "--json", str(out),
                 "--plot", str(tmp_path / "a.png")]) == 2
    assert capsys.readouterr().err == ("datagen eval score: error: --plot needs matplotlib, which is not installed; "
                                       "pip install '.[plot]'\n")
    assert not out.exists()  # refused before any work


def test_the_library_gives_the_command_numbers(tmp_path, records):
    from datagen.eval.scoring import score_files, score_records

    texts = answer_texts(records)
    gold = write_jsonl(tmp_path / "g.jsonl", records)
    pred = write_jsonl(tmp_path / "p.jsonl", [{"id": r["id"], "output": t} for r, t in zip(records, texts)])
    out = tmp_path / "r.json"
    assert main(["eval", "score", "--gold", str(gold), "--pred", str(pred), "--json", str(out), "-q"]) == 0
    command = json.loads(out.read_text())
    in_memory = score_records(records, texts)
    from_files = score_files(gold, pred).report
    for report in (in_memory, from_files):
        for key in ("n", "strict", "lenient", "overall", "by_type", "by_lang", "by_type_lang", "by_type_difficulty"):
            assert report[key] == command[key], key
    with pytest.raises(DatagenError, match="63 outputs for 64 gold records"):
        score_records(records, texts[:-1])


def test_item_lines_are_json_as_json_dumps_writes_them():
    from datagen.eval.score import Verdict
    from datagen.eval.scoring import _item_line

    gold = GoldItem(None, 7, "div", "zh", "p", make_gold("-8/7"), ("-8/7",))
    for verdict in (Verdict(True, False, "-8/7"), Verdict(None, True, None), Verdict(False, False, '1"\\2')):
        line = _item_line(gold, verdict)
        assert line == json.dumps({"id": "line-7", "type": "div", "lang": "zh", "answer": "-8/7",
                                   "strict": verdict.strict, "lenient": verdict.lenient,
                                   "extracted": verdict.extracted}, ensure_ascii=False) + "\n"


def test_npy_without_numpy_names_the_extra(tmp_path, monkeypatch):
    path = tmp_path / "p.npy"
    np.save(path, npy_batches(["a"], 1), allow_pickle=True)
    monkeypatch.setitem(sys.modules, "numpy", None)
    with pytest.raises(DatagenError, match=r"needs numpy, which is not installed; pip install '\.\[data\]'"):
        read_predictions(path, allow_pickle=True)


def test_echo_removal_cuts_where_strip_echo_does():
    import random

    from datagen.curricula.templates import TEMPLATES, human_turn, strip_echo

    # a template that rewrites the problem (bare: 123+456=) echoes no copy of it to cut
    plain = [name for name, t in TEMPLATES.items() if t.rewrite is None]

    def by_strip_echo(output: str, problem: str, template: str) -> str:
        names = plain if template == "auto" else (template,)
        rest = min((strip_echo(name, problem, output) for name in names), key=len)
        return rest.replace(problem, "\n") if problem in rest else rest

    rng = random.Random(7)
    for _ in range(3000):
        problem = rng.choice(["计算 1 + 2 等于多少？", "What is 7 + 1?", "aa", "将分数 14/58 进行简化。"])
        pieces = [problem, " 42", "\n答案：3", "aaa", "</s>", "USER: "]
        for name in plain:
            pieces += [inference_prompt(name, problem), human_turn(name, problem)]
        output = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 4)))
        for template in ("auto", *plain):
            assert remove_echo(output, problem, template) == by_strip_echo(output, problem, template), output
