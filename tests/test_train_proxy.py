"""datagen train proxy: a small Llama trained from scratch on a built curriculum learns something
measurable, the report has accuracy per type against steps, and a seed repeats exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("mindspore")
pytest.importorskip("mindformers")

from datagen.cli import main  # noqa: E402

SPEC = Path(__file__).parent / "fixtures" / "proxy" / "tiny_add.yaml"


@pytest.fixture(scope="module")
def curriculum(tmp_path_factory):
    out = tmp_path_factory.mktemp("proxy") / "cur"
    assert main(["curriculum", "build", str(SPEC), "--out", str(out), "-q"]) == 0
    return out


def proxy(curriculum, out, steps, *extra):
    code = main(["train", "proxy", str(curriculum), "--out", str(out), "--steps", str(steps),
                 "--batch-size", "64", "-q", *extra])
    assert code == 0
    return json.loads((out / "proxy.json").read_text())


def test_proxy_learns_beyond_an_untrained_model(curriculum, tmp_path):
    report = proxy(curriculum, tmp_path / "run", 350, "--eval-every", "175", "--eval-limit", "100")
    curve = [c for c in report["curve"] if c["split"] == "in_distribution" and c["type"] == "add"]
    assert [c["step"] for c in curve] == [0, 175, 350]
    untrained, trained = curve[0]["strict"], report["final"]["in_distribution"]["by_type"]["add"]["strict"]
    assert untrained == 0.0
    assert trained > untrained
    assert report["losses"][-1] < report["losses"][0] / 2
    assert report["final"]["in_distribution"]["overall"]["n"] == 100
    for name in ("proxy.md", "proxy_accuracy.png", "predictions_in_distribution.jsonl",
                 "predictions_extrapolate.jsonl"):
        assert (tmp_path / "run" / name).stat().st_size > 0
    # the scorer's own report is kept beside the predictions
    score = json.loads((tmp_path / "run" / "score_in_distribution.json").read_text())
    assert score["by_type"]["add"]["strict"] == trained


def test_same_seed_and_budget_repeat_exactly(curriculum, tmp_path):
    a = proxy(curriculum, tmp_path / "a", 40, "--eval-every", "0", "--heldout-limit", "30")
    b = proxy(curriculum, tmp_path / "b", 40, "--eval-every", "0", "--heldout-limit", "30")
    assert a["losses"] == b["losses"]
    assert a["final"] == b["final"]


def test_a_curriculum_without_mindrecord_is_a_clear_error(tmp_path, capsys):
    out = tmp_path / "nomr"
    assert main(["curriculum", "build", str(SPEC), "--out", str(out), "--skip-mindrecord", "-q"]) == 0
    assert main(["train", "proxy", str(out), "--out", str(tmp_path / "run"), "--steps", "5"]) == 2
    assert "MindRecord" in capsys.readouterr().err
