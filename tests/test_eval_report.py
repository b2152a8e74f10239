"""The contest score and ``datagen eval report``: markdown, JSON and the accuracy chart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from datagen.eval.metric import Scoreboard, contest_score
from datagen.eval.report import ReportError, build_report, markdown, ratio_from_params

from datagen.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "eval"


def test_contest_score_matches_the_published_ranking():
    # REFERENCE §1: 1st place 71.61 % at ratio 0.00679 scored 0.7992
    assert contest_score(0.00679, 0.7161) == pytest.approx(0.7992, abs=5e-5)
    assert contest_score(0.0, 1.0) == pytest.approx(1.0)
    assert contest_score(5_111_808 / 8_030_000_000, 0.20) == pytest.approx(0.3 * (1 - 0.000636589) + 0.14)


def test_params_are_checked():
    params = {"trainable": 5_111_808, "total": 8_030_000_000, "ratio": 5_111_808 / 8_030_000_000}
    assert ratio_from_params(params, "p.json")["ratio"] == pytest.approx(0.000636589, rel=1e-6)
    assert ratio_from_params({"trainable": 1, "total": 4}, "p.json")["ratio"] == 0.25
    with pytest.raises(ReportError, match="p.json: field 'ratio' is 0.5 but trainable / total"):
        ratio_from_params({"trainable": 1, "total": 4, "ratio": 0.5}, "p.json")
    with pytest.raises(ReportError, match="field 'ratio' is missing"):
        ratio_from_params({"total": 4}, "p.json")
    with pytest.raises(ReportError, match="field 'ratio' must be a number in"):
        ratio_from_params({"ratio": 2}, "p.json")


def test_scoreboard_groups():
    board = Scoreboard()
    board.add("add", "zh", "digits=1", True, True, True)
    board.add("add", "en", "digits=2", False, True, True)
    board.add("div", "zh", None, False, False, False)
    board.add("div", "zh", None, None, False, False)  # unjudged
    d = board.as_dict()
    assert (d["n"], d["strict"], d["lenient"], d["unjudged"]) == (3, 1 / 3, 2 / 3, 1)
    assert d["by_type"]["add"]["strict"] == 0.5 and d["by_type"]["div"]["strict"] == 0.0
    assert d["by_type_lang"]["add"]["zh"]["strict"] == 1.0 and d["by_type_lang"]["add"]["en"]["strict"] == 0.0
    assert list(d["by_type_difficulty"]) == ["add"]
    assert list(d["by_type_difficulty"]["add"]) == ["digits=1", "digits=2"]
    assert list(d["by_lang"]) == ["zh", "en"]


GATE_FAIL = {"gate": {"pass": False, "f1_margin": 1.117, "em_margin": -0.753, "base": {"f1": 59.87, "em": 44.17},
                      "fraction": 0.9, "metric": "mindformers", "f1": 55.0, "em": 39.0, "f1_gate": 53.883,
                      "em_gate": 39.753},
             "official": {"f1": 61.19, "em": 46.05, "count": 291, "answered": 291},
             "cjk": {"f1": 68.31, "em": 49.14, "count": 291, "answered": 291},
             "diagnostics": ["official", "cjk"]}


def test_markdown_report():
    score = {"n": 100, "strict": 0.7161, "lenient": 0.80,
             "by_type": {"add": {"n": 50, "strict": 0.9, "lenient": 0.95},
                         "div": {"n": 50, "strict": 0.5322, "lenient": 0.65}}}
    report = build_report({"trainable": 54_525_952, "total": 8_030_000_000, "ratio": 0.00679}, 0.7161, "strict",
                          score, GATE_FAIL)
    assert report["score"] == pytest.approx(0.7992, abs=5e-5)
    assert report["valid"] is False and report["retention_pass"] is False
    text = markdown(report)
    assert "**0.7992**" in text and "71.61 %" in text
    assert "| SQuAD EM (MindFormers EmF1Metric) | 39.000 (gate 39.753, margin -0.753) |" in text
    assert "| retention gate (≥ 90 % of base F1 59.870 / EM 44.170) | **FAIL** (the entry would not count) |" in text
    assert "| SQuAD official (diagnostic) | F1 61.190 / EM 46.050 |" in text
    assert "| div | 50 | 53.22 % | 65.00 % |" in text
    assert "54,525,952 / 8,030,000,000" in text


@pytest.mark.slow
def test_the_chart_shows_the_gate_verdict():
    pytest.importorskip("matplotlib")
    from datagen.eval.report import accuracy_figure, gate_caption

    report = build_report({"ratio": 0.001, "trainable": None, "total": None}, 0.5, "strict", None, GATE_FAIL)
    caption = gate_caption(report)
    assert caption.startswith("SQuAD retention gate (mindformers): FAIL") and "EM 39.000 (gate 39.753)" in caption
    fig = accuracy_figure({"add": {"strict": 0.5, "lenient": 0.6}}, "t", caption)
    assert [t.get_text() for t in fig.texts] == [caption]
    assert gate_caption(build_report({"ratio": 0.001, "trainable": None, "total": None}, 0.5, "strict")) is None


@pytest.mark.slow
def test_report_command(tmp_path, capsys):
    score = tmp_path / "score.json"
    score.write_text(json.dumps({"n": 10, "strict": 0.6, "lenient": 0.7,
                                 "by_type": {"add": {"n": 5, "strict": 0.8, "lenient": 0.8},
                                             "mul": {"n": 5, "strict": 0.4, "lenient": 0.6}}}))
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"trainable": 3_407_872, "total": 8_030_000_000,
                                  "ratio": 3_407_872 / 8_030_000_000, "preset": "llama3_8b"}))
    squad = tmp_path / "squad.json"
    assert main(["eval", "squad", "--pred", str(FIXTURES / "squad_tiny_pred.json"),
                 "--gold", str(FIXTURES / "squad_tiny.json"), "--gate-metric", "official", "--base-f1", "50",
                 "--base-em", "50", "--json", str(squad), "-q"]) == 0
    md, out, png = tmp_path / "r.md", tmp_path / "r.json", tmp_path / "r.png"
    assert main(["eval", "report", "--score", str(score), "--params", str(params), "--squad", str(squad),
                 "--md", str(md), "--json", str(out), "--plot", str(png)]) == 0
    report = json.loads(out.read_text())
    expected = (1 - 3_407_872 / 8_030_000_000) * 0.3 + 0.6 * 0.7
    assert report["score"] == pytest.approx(expected)
    assert report["score_lenient"] == pytest.approx((1 - 3_407_872 / 8_030_000_000) * 0.3 + 0.7 * 0.7)
    assert report["valid"] is True and report["retention_pass"] is True
    assert f"**{expected:.4f}**" in md.read_text() and md.read_text() in capsys.readouterr().out
    assert png.read_bytes()[:4] == b"\x89PNG"
    # a ratio given directly, with a percent sign; the accuracy from --score
    assert main(["eval", "report", "--score", str(score), "--ratio", "0.0424%", "--json", str(out), "-q"]) == 2
    assert "--json:" in capsys.readouterr().err  # exists: kept without --force
    assert main(["eval", "report", "--score", str(score), "--ratio", "0.0424%", "--json", str(out), "-q",
                 "--force"]) == 0
    assert json.loads(out.read_text())["score"] == pytest.approx((1 - 0.000424) * 0.3 + 0.42)


def test_report_command_errors(tmp_path, capsys):
    assert main(["eval", "report", "--accuracy", "0.7"]) == 2
    assert "--params PARAMS.json" in capsys.readouterr().err
    assert main(["eval", "report", "--ratio", "0.001"]) == 2
    assert "--score REPORT.json" in capsys.readouterr().err
    assert main(["eval", "report", "--ratio", "0.001", "--accuracy", "71.6"]) == 2
    assert "not in [0, 1]" in capsys.readouterr().err
    params = tmp_path / "p.json"
    params.write_text('{"trainable": 1}')
    assert main(["eval", "report", "--params", str(params), "--accuracy", "0.5"]) == 2
    assert f"{params}: field 'ratio' is missing" in capsys.readouterr().err
    assert main(["eval", "report", "--ratio", "0.001", "--accuracy", "71.6%", "-q"]) == 0
    old = tmp_path / "old_squad.json"
    old.write_text('{"retention": {"pass": true}}')
    assert main(["eval", "report", "--ratio", "0.001", "--accuracy", "0.5", "--squad", str(old)]) == 2
    assert "field 'gate' is missing" in capsys.readouterr().err


def test_plot_without_matplotlib_names_the_extra(tmp_path, monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    png = tmp_path / "r.png"
    assert main(["eval", "report", "--ratio", "0.001", "--accuracy", "0.5", "--plot", str(png)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == ("datagen eval report: error: --plot needs matplotlib, which is not installed; "
                           "pip install '.[plot]'")
    assert not png.exists()
