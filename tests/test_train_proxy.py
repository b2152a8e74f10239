"""datagen train proxy: a small Llama trained from scratch on a built curriculum learns something
measurable, the report has accuracy per type (and digit count) against steps, a seed repeats
exactly, and a seed starts curricula with different vocabularies from the same weights."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.mindspore]  # trains or loads a model with MindSpore

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
    # an untrained model hits a 1-2 digit sum now and then; training must clear that by far
    assert untrained <= 0.03
    assert trained >= untrained + 0.08
    assert report["losses"][-1] < report["losses"][0] / 2
    assert report["final"]["in_distribution"]["overall"]["n"] == 100
    for name in ("proxy.md", "proxy_accuracy.png", "predictions_in_distribution.jsonl",
                 "predictions_extrapolate.jsonl"):
        assert (tmp_path / "run" / name).stat().st_size > 0
    # the scorer's own report is kept beside the predictions, and agrees with `datagen eval score`
    score = json.loads((tmp_path / "run" / "score_in_distribution.json").read_text())
    assert score["by_type"]["add"]["strict"] == trained
    run = tmp_path / "run"
    assert main(["eval", "score", "--gold", str(run / "gold_in_distribution.jsonl"), "--pred",
                 str(run / "predictions_in_distribution.jsonl"), "--json", str(run / "cli.json"), "-q"]) == 0
    assert json.loads((run / "cli.json").read_text())["by_type"] == score["by_type"]
    digits = report["final"]["in_distribution"]["by_type_difficulty"]["add"]
    assert set(digits) == {"digits=1", "digits=2"} and sum(t["n"] for t in digits.values()) == 100
    assert report["options"]["schedule"] == "constant" and report["peak_rss_mb"] > 0


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


def test_a_seed_gives_curricula_with_different_vocabularies_the_same_start():
    import numpy as np
    from datagen.train import model as tm
    from datagen.train.plan import render_model_config
    from datagen.train.presets import load_preset
    from datagen.train.proxy import paired_tables

    tm.cpu_context()
    preset = load_preset("proxy")

    def start(real_ids):
        token_map = tm.TokenMap.from_ids(real_ids)
        config = render_model_config(preset, 16, cpu=True)
        config.update(vocab_size=token_map.size, batch_size=4, bos_token_id=1, eos_token_id=2, pad_token_id=3)
        tm.set_seed(3)
        network = tm.build_from_model_config(config, None)
        paired_tables(network, token_map, 3)
        return token_map, {p.name: p.asnumpy() for p in network.get_parameters()}

    small_map, small = start([1, 2, 3, 15, 16, 17, 10])
    large_map, large = start([1, 2, 3, 15, 16, 17, 10, 12, 220, 482])
    assert small.keys() == large.keys()
    for name in small:
        if name.endswith(("embedding_weight", "lm_head.weight")):
            rows = [int(np.flatnonzero(large_map.ids == real)[0]) for real in small_map.ids]
            assert np.array_equal(small[name], large[name][rows]), name
            assert 0.005 < float(large[name].std()) < 0.02
        else:
            assert np.array_equal(small[name], large[name]), name
    assert not np.array_equal(small["lm_head.weight"], small["model.tok_embeddings.embedding_weight"])
