"""SQuAD v1.1: official F1/EM on a fixture with known values, the CJK-aware variant, retention."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datagen.cli import main
from eval.squad import (
    CJK,
    OFFICIAL,
    Retention,
    cjk_tokens,
    evaluate,
    generation_answer,
    normalize_answer,
    score_one,
)

FIXTURES = Path(__file__).parent / "fixtures" / "eval"
GOLD = FIXTURES / "squad_tiny.json"
PRED = FIXTURES / "squad_tiny_pred.json"


def load(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_official_normalisation():
    assert normalize_answer("The  Denver Broncos!") == "denver broncos"
    assert normalize_answer("an apple, a pear") == "apple pear"
    assert normalize_answer("1.5") == "15"  # ASCII punctuation goes, decimal points too
    assert normalize_answer("-5") == "5"
    assert normalize_answer("北京。") == "北京。"  # full-width punctuation stays


def test_official_f1_and_em_per_answer():
    f1, em = score_one("Levi's Stadium in Santa Clara", ["Santa Clara, California", "Levi's Stadium"])
    assert f1 == pytest.approx(4 / 7) and em == 0  # best over the ground truths
    assert score_one("Gold Anniversary!", ["the gold anniversary"]) == (1.0, 1.0)
    assert score_one("nothing in common", ["Denver"]) == (0.0, 0.0)
    assert score_one("denver denver", ["denver"])[0] == pytest.approx(2 / 3)  # multiset overlap


def test_official_scores_on_the_fixture():
    score = evaluate(load(GOLD), load(PRED), OFFICIAL)
    # q1 1, q2 4/7, q3 1, q4 1 (1.5 == 15 officially), q5 0, q6 0, q7 unanswered 0, q8 1
    assert score.f1 == pytest.approx(100 * 4 / 7)
    assert score.em == pytest.approx(50.0)
    assert (score.total, score.answered) == (8, 7)


def test_cjk_variant_differs_where_it_should():
    assert cjk_tokens("北京大学。") == ["北", "京", "大", "学"]
    assert cjk_tokens("Levi's Stadium在北京") == ["levis", "stadium", "在", "北", "京"]
    assert cjk_tokens("１.５ million") == ["1.5", "million"]  # full-width digits, decimal kept
    # Chinese without spaces: partial credit per character, and 。 is punctuation
    assert score_one("北京大学。", ["北京"], OFFICIAL) == (0.0, 0.0)
    assert score_one("北京大学。", ["北京"], CJK) == (pytest.approx(2 / 3), 0.0)
    assert score_one("北京。", ["北京"], OFFICIAL) == (0.0, 0.0)
    assert score_one("北京。", ["北京"], CJK) == (1.0, 1.0)
    # a decimal point is not punctuation
    assert score_one("15 million", ["1.5 million"], OFFICIAL) == (1.0, 1.0)
    assert score_one("15 million", ["1.5 million"], CJK) == (0.5, 0.0)
    # English answers score the same
    assert score_one("Levi's Stadium in Santa Clara", ["Levi's Stadium"], CJK)[0] == pytest.approx(4 / 7)
    score = evaluate(load(GOLD), load(PRED), CJK)
    assert score.f1 == pytest.approx(100 * 241 / 336)
    assert score.em == pytest.approx(50.0)


def test_retention_gate_and_margins():
    r = Retention(57.0, 40.0)
    assert r.f1_gate == pytest.approx(53.883) and r.em_gate == pytest.approx(39.753)
    assert r.passed and r.f1_margin == pytest.approx(3.117) and r.em_margin == pytest.approx(0.247)
    assert not Retention(53.8, 45.0).passed
    assert not Retention(60.0, 39.7).passed
    assert "FAIL" in Retention(53.8, 45.0).line() and "-0.083" in Retention(53.8, 45.0).line()


def test_squad_command(tmp_path, capsys):
    out = tmp_path / "squad.json"
    assert main(["eval", "squad", "--pred", str(PRED), "--gold", str(GOLD), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["official"]["f1"] == pytest.approx(100 * 4 / 7)
    assert result["cjk"]["f1"] == pytest.approx(100 * 241 / 336)
    assert result["retention"]["pass"] is True
    assert result["retention"]["f1_margin"] == pytest.approx(100 * 4 / 7 - 53.883)
    text = capsys.readouterr().out
    assert "retention PASS" in text and "1 questions have no prediction" in text
    assert main(["eval", "squad", "--pred", str(PRED), "--gold", str(GOLD), "--base-f1", "70", "-q",
                 "--json", str(out)]) == 0
    assert json.loads(out.read_text())["retention"]["pass"] is False


def test_squad_command_reads_generations_as_json_lines(tmp_path):
    lines = [
        {"id": "q1", "output": "Denver Broncos\nThey won 24-10."},  # the first line is the answer
        {"id": "q5", "output": "Read the passage.\n### Response: ASSISTANT: 北京</s>USER: again"},
    ]
    pred = tmp_path / "gen.jsonl"
    pred.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    out = tmp_path / "s.json"
    assert main(["eval", "squad", "--pred", str(pred), "--gold", str(GOLD), "--json", str(out), "-q"]) == 0
    result = json.loads(out.read_text())
    assert result["official"]["em"] == pytest.approx(100 * 2 / 8)  # echo and next turn removed
    assert result["official"]["total"] == 8 and result["official"]["answered"] == 2


def test_squad_command_reads_npy_generations_by_question_order(tmp_path, capsys):
    import numpy as np

    order = ["q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8"]
    answers = load(PRED)
    texts = [f"Context... Question?\n\n### Response: {answers.get(q, '')}" for q in order]
    array = np.empty(2, dtype=object)
    array[:] = [{"text_generation_text": texts[:4]}, {"text_generation_text": texts[4:]}]
    np.save(tmp_path / "squad.npy", array, allow_pickle=True)
    out = tmp_path / "s.json"
    assert main(["eval", "squad", "--pred", str(tmp_path / "squad.npy"), "--gold", str(GOLD)]) == 2
    assert "--allow-pickle" in capsys.readouterr().err
    assert main(["eval", "squad", "--pred", str(tmp_path / "squad.npy"), "--gold", str(GOLD), "--allow-pickle",
                 "--json", str(out), "-q"]) == 0
    result = json.loads(out.read_text())
    assert result["official"]["f1"] == pytest.approx(100 * 4 / 7)  # q7's empty answer scores 0 as before
    array[:] = [{"text_generation_text": texts[:4]}, {"text_generation_text": texts[4:7]}]
    np.save(tmp_path / "squad.npy", array, allow_pickle=True)
    assert main(["eval", "squad", "--pred", str(tmp_path / "squad.npy"), "--gold", str(GOLD), "--allow-pickle"]) == 2
    assert "the predictions side is short by 1" in capsys.readouterr().err


def test_generation_answer():
    assert generation_answer("  Denver Broncos \nmore") == "Denver Broncos"
    assert generation_answer("prompt ### Response: ASSISTANT: 北京</s>") == "北京"
    assert generation_answer("北京</s>USER: q ### Response: 上海") == "北京"
    assert generation_answer("") == ""


def test_squad_command_errors(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": "1.1"}', encoding="utf-8")
    assert main(["eval", "squad", "--pred", str(PRED), "--gold", str(bad)]) == 2
    assert "field 'data' is missing" in capsys.readouterr().err
    assert main(["eval", "squad", "--pred", str(PRED), "--gold", str(GOLD), "--gate", "1.5"]) == 2
