"""The README's `datagen eval` commands run as written (fixture inputs under the names shown)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from datagen.cli import main
from datagen.generate import Generator, Request

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "eval"


def readme_eval_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### `datagen eval`"):]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL).group(1)
    return [line for line in block.splitlines() if line.startswith("datagen eval")]


@pytest.fixture()
def inputs(tmp_path, monkeypatch):
    """The files the README's commands name, made from fixtures, in the working directory."""
    monkeypatch.chdir(tmp_path)
    generator = Generator(Request(types=("add", "div", "fraction", "growth"), n=40, seed=3, lang="mix"))
    records = [generator.item(i) for i in range(40)]
    gold = Path("runs/synthetic/heldout/in_distribution.jsonl")  # what `curriculum build` wrote
    gold.parent.mkdir(parents=True)
    gold.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                                     encoding="utf-8")
    predictions = (json.dumps({"id": r["id"], "output": f"答案：{r['answer']}"}, ensure_ascii=False) for r in records)
    Path("preds.jsonl").write_text("".join(p + "\n" for p in predictions), encoding="utf-8")
    squad = json.loads((FIXTURES / "squad_mf.json").read_text(encoding="utf-8"))
    Path("dev-v1.1.json").write_text(json.dumps(squad, ensure_ascii=False), encoding="utf-8")
    generations = []
    for article in squad["data"]:
        for paragraph in article["paragraphs"]:
            qa = paragraph["qas"][0]
            generations.append({"id": qa["id"], "output": qa["answers"][0]["text"] + "\nMore text."})
    Path("squad_generations.jsonl").write_text(
        "".join(json.dumps(g, ensure_ascii=False) + "\n" for g in generations), encoding="utf-8")
    Path("params.json").write_text(json.dumps({"trainable": 5_111_808, "total": 8_030_000_000,
                                               "ratio": 5_111_808 / 8_030_000_000}), encoding="utf-8")
    return tmp_path


@pytest.mark.mindspore
@pytest.mark.slow
def test_readme_eval_commands_run_as_written(inputs, capsys):
    commands = readme_eval_commands()
    assert [shlex.split(c)[2] for c in commands] == ["score", "squad", "report"]
    for command in commands:
        argv = shlex.split(command)[1:]
        if argv[1] == "squad":
            pytest.importorskip("mindformers")
        assert main(argv) == 0, command
    score = json.loads(Path("score.json").read_text())
    assert score["n"] == 40 and score["strict"] == 1.0
    squad = json.loads(Path("squad.json").read_text())
    assert squad["mindformers"]["em"] == 100.0 and squad["gate"]["pass"] is True
    report = Path("report.md").read_text(encoding="utf-8")
    assert "retention gate" in report and "| pass |" in report
    assert report in capsys.readouterr().out
