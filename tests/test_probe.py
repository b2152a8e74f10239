"""The generated retention probe (train.probe_synth), the base-measurement cache key and the step-cost
floor of train.pretrained."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from datagen.train import pretrained as tp
from datagen.train import probe_synth
from datagen.train.probe import load_probe


def test_the_shipped_probe_is_what_the_generator_makes():
    shipped = json.loads(load_probe("reading_synth_zh_en").path.read_text(encoding="utf-8"))
    assert shipped == json.loads(json.dumps(probe_synth.generate(), ensure_ascii=False))


def test_the_generated_probe_is_bilingual_with_one_exact_span_per_answer():
    probe = load_probe()  # the default
    assert probe.name == "reading_synth_zh_en"
    langs = Counter(item.lang for item in probe.reading)
    assert langs == {"en": 160, "zh": 160}
    assert len({item.passage for item in probe.reading}) == 320
    for item in probe.reading:
        # the answer is a span of its passage, and the only one: the other person's fact differs
        assert item.passage.count(item.answer) == 1, item.id
    facts = Counter(row["fact"] for row in json.loads(probe.path.read_text(encoding="utf-8"))["reading"])
    assert facts == {"city": 80, "job": 80, "pets": 80, "colour": 80}
    assert {t.lang for t in probe.general} == {"en", "zh"}


def test_another_seed_gives_other_passages():
    a, b = probe_synth.generate(seed=1, per_lang=8), probe_synth.generate(seed=2, per_lang=8)
    assert [r["passage"] for r in a["reading"]] != [r["passage"] for r in b["reading"]]
    assert a == probe_synth.generate(seed=1, per_lang=8)


def _items():
    reading = [tp.Item("r1", "en", [1, 2, 3], [4, 5], "x"), tp.Item("r2", "zh", [1, 6], [7, 5], "y")]
    general = [tp.Item("g1", "en", [1], [8, 9])]
    return reading, general


def test_the_cache_key_changes_with_anything_that_decides_the_measurement():
    reading, general = _items()
    key = tp.probe_cache_key("abc", reading, general, 64, 4, 0)
    assert key == tp.probe_cache_key("abc", *_items(), 64, 4, 0)
    changed = [
        tp.probe_cache_key("abd", reading, general, 64, 4, 0),
        tp.probe_cache_key("abc", reading, general, 72, 4, 0),
        tp.probe_cache_key("abc", reading, general, 64, 2, 0),
        tp.probe_cache_key("abc", reading, general, 64, 4, 1),
        tp.probe_cache_key("abc", [reading[0], tp.Item("r2", "zh", [1, 6], [7, 9], "y")], general, 64, 4, 0),
        tp.probe_cache_key("abc", reading, [tp.Item("g1", "en", [1], [8, 10])], 64, 4, 0),
    ]
    assert len({key, *changed}) == len(changed) + 1


def test_step_flops_count_the_matmuls_of_a_lora_step():
    config = {"hidden_size": 4, "intermediate_size": 8, "vocab_size": 10, "num_heads": 2, "n_kv_heads": 1,
              "num_layers": 3}
    flops = tp.step_flops(config, batch=2, seq_length=5, lora_params=30)
    tokens = 10
    dense = 4 * 4 + 2 * 4 * 2 + 4 * 4 + 3 * 4 * 8  # wq, wk+wv (kv width 2), wo, three FFN matrices
    forward = 3 * (2 * tokens * (dense + 10) + 4 * 2 * 25 * 4) + 2 * tokens * 4 * 10
    assert flops == {"forward": forward, "train_step": 2 * forward + 2 * tokens * 30, "tokens": tokens}


def test_cost_line_names_the_gap():
    cost = {"batch": 8, "seq_length": 128, "flops_per_step": 2.5e11, "matmul_gflops": 50.0,
            "floor_seconds_per_step": 5.0, "seconds_per_step": 12.5, "compile_seconds": 30.0, "times_floor": 2.5}
    assert tp.cost_line(cost) == ("cost: 12.50 s per step of batch 8 x seq 128 (2.5x the floor); floor 5.00 s "
                                  "= 250.0 GFLOP / 50.0 GFLOP/s (a float32 matmul measured now)")


def test_the_probe_scores_with_evals_one_emf1_implementation():
    pytest.importorskip("mindformers")
    pytest.importorskip("jieba")
    from datagen.eval.squad import mindformers_pair, mindformers_score

    assert mindformers_pair("The town hall", "the town hall") == (1.0, 1)
    assert mindformers_pair("樱桃派。", "樱桃派") == (1.0, 1)  # its punctuation list is stripped
    f1, em = mindformers_pair("the hall", "the town hall")
    # jieba keeps spaces as words: ["the", " ", "hall"] against ["the", " ", "town", " ", "hall"], the
    # longest common run is "the", " " (2): precision 2/3, recall 2/5
    assert em == 0 and f1 == pytest.approx(2 * (2 / 3) * (2 / 5) / (2 / 3 + 2 / 5))
    assert mindformers_pair("Second line\nthe town hall", "the town hall")[1] == 0  # first line only
    pairs = [("The town hall", "the town hall"), ("the hall", "the town hall")]
    assert mindformers_score(pairs).f1 == pytest.approx(50 * (1 + f1))


@pytest.mark.slow  # three curriculum builds: 112 s on the loaded 2-core machine (~15 s of CPU)
def test_a_bench_scores_every_spec_on_the_first_specs_heldout_problems(tmp_path):
    """contest_baseline asks its held-out problems in Chinese, arith_staged half in English: built with the
    first spec's held-out block they share every problem; built with their own they do not."""
    from datagen.curricula.spec import load_spec
    from datagen.train import bench
    from datagen.train.presets import configs_dir

    fixtures = Path(__file__).parent / "fixtures" / "specs"
    data = [f"contest={fixtures / 'train.json'}", f"belle={fixtures / 'school_math_0.25M.json'}"]
    baseline, staged = (load_spec(configs_dir() / "curricula" / f"{n}.yaml") for n in ("contest_baseline",
                                                                                        "arith_staged"))
    assert baseline.raw["heldout"]["lang"] == "zh" and "lang" not in staged.raw["heldout"]
    small = {**baseline.raw["heldout"], "count": 6}
    assert bench.common_heldout(staged.raw, small)["heldout"] == small
    assert bench.common_heldout(staged.raw, None) is staged.raw
    say = lambda _m: None  # noqa: E731
    built = {spec.name: bench.prepare(spec, 120, tmp_path / "common" / spec.name, data, say, small)[0]
             for spec in (baseline, staged)}
    agreement = bench.heldout_agreement(built)
    for split, per in agreement.items():
        n = per["contest_baseline"]["n"]
        assert n > 0 and per["arith_staged"] == {"same": n, "n": n, "theirs": n}, split
    own = {"contest_baseline": built["contest_baseline"],
           "arith_staged": bench.prepare(staged, 120, tmp_path / "own", data, say,
                                         {**staged.raw["heldout"], "count": 6})[0]}
    mixed = bench.heldout_agreement(own)["in_distribution"]["arith_staged"]
    assert 0 < mixed["same"] < mixed["n"]  # the Chinese half only
    assert "arith_staged" in bench.agreement_line(agreement)
