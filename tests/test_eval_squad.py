"""SQuAD: the gate on MindFormers' EmF1Metric, official F1/EM with known values, the CJK variant, retention."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from datagen.eval.squad import (
    CJK,
    OFFICIAL,
    Retention,
    cjk_tokens,
    evaluate,
    generation_answer,
    normalize_answer,
    score_one,
)

from datagen.cli import main
from datagen.errors import EXIT_GATE_FAIL, MissingExtraError

FIXTURES = Path(__file__).parent / "fixtures" / "eval"
GOLD = FIXTURES / "squad_tiny.json"
PRED = FIXTURES / "squad_tiny_pred.json"
MF_GOLD = FIXTURES / "squad_mf.json"  # 22 paragraphs, 34 questions, English and Chinese
MF_GENERATIONS = FIXTURES / "squad_mf_generations.jsonl"


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


def test_squad_command_gates_on_the_protocol_questions(tmp_path, capsys):
    # MindFormers' protocol: qas[0] of each paragraph -> q1 and q5 only
    out = tmp_path / "squad.json"
    rc = main(["eval", "squad", "--pred", str(PRED), "--gold", str(GOLD), "--gate-metric", "official",
               "--json", str(out)])
    result = json.loads(out.read_text())
    assert result["official"] == {"f1": 50.0, "em": 50.0, "count": 2, "answered": 2}
    assert result["cjk"]["f1"] == pytest.approx(100 * (1 + 2 / 3) / 2)
    assert result["mindformers"] is None and result["diagnostics"] == ["mindformers", "cjk"]
    gate = result["gate"]
    assert set(gate) >= {"pass", "f1_margin", "em_margin", "base"}
    assert gate["base"] == {"f1": 59.87, "em": 44.17} and gate["metric"] == "official"
    assert gate["pass"] is False and gate["f1_margin"] == pytest.approx(50.0 - 53.883)
    assert rc == EXIT_GATE_FAIL == 1  # a failed gate is its own documented exit code
    err = capsys.readouterr().err
    assert "retention FAIL" in err and "not MindFormers' EmF1Metric" in err
    assert main(["eval", "squad", "--pred", str(PRED), "--gold", str(GOLD), "--gate-metric", "official",
                 "--base-f1", "50", "--base-em", "50", "-q", "--json", str(out), "--force"]) == 0
    assert json.loads(out.read_text())["gate"]["pass"] is True


def test_squad_json_is_refused_without_force_and_kept(tmp_path, capsys):
    out = tmp_path / "squad.json"
    out.write_text("keep me", encoding="utf-8")
    assert main(["eval", "squad", "--pred", str(PRED), "--gold", str(GOLD), "--gate-metric", "official",
                 "--json", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("datagen eval squad: error: --json:") and "--force" in err
    assert out.read_text(encoding="utf-8") == "keep me"


def test_old_metric_option_still_works_and_warns(tmp_path, capsys):
    out = tmp_path / "squad.json"
    main(["eval", "squad", "--pred", str(PRED), "--gold", str(GOLD), "--metric", "cjk", "--json", str(out), "-q"])
    assert json.loads(out.read_text())["gate"]["metric"] == "cjk"
    assert "--metric is now --gate-metric" in capsys.readouterr().err


def test_without_mindformers_the_gate_names_the_extra(tmp_path, monkeypatch, capsys):
    for name in ("mindformers", "mindformers.core", "mindformers.core.metric", "mindformers.core.metric.metric"):
        monkeypatch.setitem(sys.modules, name, None)  # as if it were not installed
    out = tmp_path / "squad.json"
    assert main(["eval", "squad", "--pred", str(PRED), "--gold", str(GOLD), "--json", str(out), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "needs mindformers, which is not installed; pip install '.[mindspore]'" in err
    assert "--gate-metric official" in err
    assert not out.exists()  # nothing half-done


@pytest.fixture(scope="module")
def emf1_metric():
    pytest.importorskip("jieba")
    from datagen.eval.squad import emf1_metric as load

    try:
        return load()
    except MissingExtraError:
        pytest.skip("MindFormers is not installed")


@pytest.mark.mindspore
def test_the_gate_is_mindformers_own_number(tmp_path, emf1_metric, capsys):
    out = tmp_path / "squad.json"
    rc = main(["eval", "squad", "--pred", str(MF_GENERATIONS), "--gold", str(MF_GOLD), "--json", str(out), "-q"])
    result = json.loads(out.read_text())
    # EmF1Metric itself, the way MindFormers' trainer calls it, on the same generations
    dataset, generations = load(MF_GOLD), {}
    for line in MF_GENERATIONS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        generations[row["id"]] = row["output"]
    gens, labels = [], []
    for article in dataset["data"]:
        for paragraph in article["paragraphs"]:
            qa = paragraph["qas"][0]
            gens.append(generations[qa["id"]])
            labels.append(qa["answers"][0]["text"])
    emf1_metric.clear()
    emf1_metric.update(gens, labels)
    direct = emf1_metric.eval()
    capsys.readouterr()
    assert result["mindformers"]["count"] == len(labels) == 22
    assert abs(result["mindformers"]["f1"] - direct["F1"]) <= 1e-6
    assert abs(result["mindformers"]["em"] - direct["Em"]) <= 1e-6
    # EmF1Metric keeps '.' and spaces for EM: far from the official number on the same answers
    assert result["official"]["em"] - result["mindformers"]["em"] > 10
    assert result["gate"]["metric"] == "mindformers"
    assert result["gate"]["pass"] is (direct["F1"] >= 53.883 and direct["Em"] >= 39.753)
    assert rc == (0 if result["gate"]["pass"] else 1)


def test_squad_command_reads_generations_as_json_lines(tmp_path):
    lines = [
        {"id": "q1", "output": "Denver Broncos\nThey won 24-10."},  # the first line is the answer
        {"id": "q5", "output": "Read the passage.\n### Response: ASSISTANT: 北京</s>USER: again"},
    ]
    pred = tmp_path / "gen.jsonl"
    pred.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    out = tmp_path / "s.json"
    main(["eval", "squad", "--pred", str(pred), "--gold", str(GOLD), "--gate-metric", "official",
          "--json", str(out), "-q"])
    result = json.loads(out.read_text())
    assert result["official"]["em"] == pytest.approx(100.0)  # echo and next turn removed
    assert result["official"]["count"] == 2 and result["official"]["answered"] == 2


def test_squad_command_reads_npy_generations_by_order(tmp_path, capsys):
    import numpy as np

    every = ["q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8"]
    answers = load(PRED)
    out = tmp_path / "s.json"
    for order in (every, ["q1", "q5"]):  # one per question, or one per paragraph (the protocol)
        texts = [f"Context... Question?\n\n### Response: {answers.get(q, '')}" for q in order]
        array = np.empty(1, dtype=object)
        array[:] = [{"text_generation_text": texts}]
        np.save(tmp_path / "squad.npy", array, allow_pickle=True)
        assert main(["eval", "squad", "--pred", str(tmp_path / "squad.npy"), "--gold", str(GOLD),
                     "--gate-metric", "official"]) == 2
        assert "--allow-pickle" in capsys.readouterr().err
        main(["eval", "squad", "--pred", str(tmp_path / "squad.npy"), "--gold", str(GOLD), "--allow-pickle",
              "--gate-metric", "official", "--json", str(out), "-q", "--force"])
        assert json.loads(out.read_text())["official"]["f1"] == pytest.approx(50.0)
    array[:] = [{"text_generation_text": texts[:1]}]
    np.save(tmp_path / "squad.npy", array, allow_pickle=True)
    assert main(["eval", "squad", "--pred", str(tmp_path / "squad.npy"), "--gold", str(GOLD), "--allow-pickle",
                 "--gate-metric", "official"]) == 2
    assert "1 predictions without ids match neither the 2 paragraphs" in capsys.readouterr().err


def test_generation_answer():
    assert generation_answer("  Denver Broncos \nmore") == "Denver Broncos"
    assert generation_answer("\n\n  北京\n上海") == "北京"  # MindFormers strips, then takes line 1
    assert generation_answer("prompt ### Response: ASSISTANT: 北京</s>") == "北京"
    assert generation_answer("北京</s>USER: q ### Response: 上海") == "北京"
    assert generation_answer("北京<|end_of_text|>上海") == "北京"
    assert generation_answer("") == ""


def test_squad_command_errors(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": "1.1"}', encoding="utf-8")
    assert main(["eval", "squad", "--pred", str(PRED), "--gold", str(bad)]) == 2
    assert "field 'data' is missing" in capsys.readouterr().err
    assert main(["eval", "squad", "--pred", str(PRED), "--gold", str(GOLD), "--gate", "1.5"]) == 2
    assert "--gate: expected a fraction in (0, 1], got 1.5" in capsys.readouterr().err
    assert main(["eval", "squad", "--pred", str(tmp_path / "none.json"), "--gold", str(GOLD),
                 "--gate-metric", "official"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("datagen eval squad: error:") and "none.json: no such file" in err
    assert "Traceback" not in err
