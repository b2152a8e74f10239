"""The proxy's formats: the bare template (``123+456=``) through export, prediction prompts and
scoring, and the bare_reversed answer style read back by the scorer."""

from __future__ import annotations

from pathlib import Path

import pytest
from datagen.curricula.templates import TEMPLATES, TemplateError, human_turn, inference_prompt, strip_echo
from datagen.eval.compare import make_gold
from datagen.eval.gold import record_item
from datagen.eval.score import score_output

from datagen.generate import Generator, Request
from datagen.numbers import reverse_digits

SYMBOL = {"add": "+", "sub": "-", "mul": "*", "div": "/"}


def records(types=("add", "sub", "mul", "div"), n=200, style="contest", lang="mix"):
    generator = Generator(Request(types=types, n=n, seed=5, style=style, lang=lang))
    return [generator.item(i) for i in range(n)]


def test_bare_shows_every_arithmetic_phrasing_as_its_equation():
    rows = records()
    assert {r["lang"] for r in rows} == {"zh", "en"} and len({r["template"] for r in rows}) >= 5
    for r in rows:
        a, b = r["operands"]
        assert human_turn("bare", r["problem"]) == f"{a}{SYMBOL[r['type']]}{b}="


def test_bare_prompt_is_the_equation_inside_the_conversation():
    assert "bare" in TEMPLATES
    prompt = inference_prompt("bare", "Compute the product of 12 and 34.")
    assert prompt.endswith(" USER: 12*34= ASSISTANT:")


def test_bare_refuses_a_problem_that_is_not_two_operand_arithmetic():
    with pytest.raises(TemplateError, match="template bare: not a two-operand arithmetic problem"):
        human_turn("bare", "What is the mean of [1, 2, 3]?")
    # the scorer's echo removal still works: no bare prompt can have been echoed for it
    assert strip_echo("bare", "What is the mean of [1, 2, 3]?", "What is the mean of [1, 2, 3]? 2") == " 2"


@pytest.mark.mindspore
@pytest.mark.slow
def test_export_rejects_and_counts_rows_the_bare_template_cannot_show(tmp_path):
    from datagen.curricula import export as ex
    from datagen.curricula.tokenizer import load_tokenizer

    rows = [{"problem": "What is 3 + 4?", "solution": "7"},
            {"problem": "What is the mean of [1, 2, 3]?", "solution": "2"},
            {"problem": "Subtract 5 from 12.", "solution": "7"}]
    tokenizer = load_tokenizer(digits=1)
    summary = ex.export_mindrecord(rows, tmp_path / "t.mindrecord", "bare", tokenizer=tokenizer, digits=1,
                                   seq_length=64)
    assert (summary["rows"], summary["records"], summary["rejected"]) == (2, 2, 1)
    assert summary["rejects"][0]["field"] == "problem"
    assert "template bare" in summary["rejects"][0]["reason"]


def test_bare_reversed_writes_only_the_reversed_result():
    rows = records(("add", "sub"), n=100, style="bare_reversed", lang="en")
    plain = records(("add", "sub"), n=100, style="bare", lang="en")
    assert [r["problem"] for r in rows] == [r["problem"] for r in plain]  # same problems, paired
    for r, p in zip(rows, plain):
        assert r["solution"] == reverse_digits(p["solution"]) and r["answer"] == p["answer"]
        assert r["style"] == "bare_reversed"
    assert any(r["solution"] != p["solution"] for r, p in zip(rows, plain))


def test_scorer_reads_a_bare_reversed_answer_back():
    row = {"id": "x", "type": "add", "problem": "What is 123 + 456?", "answer": "579",
           "style": "bare_reversed"}
    item = record_item(row, 1, "gold:1")
    assert make_gold("579", style="bare_reversed").reversed
    assert score_output(" 975", item, "bare").strict is True
    assert score_output(" 579", item, "bare").strict is False


def test_reversed_curricula_get_reversed_heldout_records():
    from datagen.curricula.build import heldout_style
    from datagen.curricula.spec import load_spec

    configs = Path(__file__).parent.parent / "configs" / "curricula"
    assert heldout_style(load_spec(configs / "proxy_reversed.yaml")) == "reversed"
    assert heldout_style(load_spec(configs / "proxy_mul_reversed.yaml")) == "reversed"
    assert heldout_style(load_spec(configs / "proxy_plain.yaml")) == "contest"
