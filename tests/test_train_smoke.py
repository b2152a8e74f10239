"""`datagen train smoke`: tiny MindFormers Llama, the plan's LoRA, MindDataset, loss falls, predictions."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

from datagen.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "train"
_spec = importlib.util.spec_from_file_location("tiny_curriculum", FIXTURES / "tiny_curriculum.py")
tiny_curriculum = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny_curriculum)

needs_mindspore = pytest.mark.skipif(
    importlib.util.find_spec("mindspore") is None or importlib.util.find_spec("mindformers") is None,
    reason="MindSpore and MindFormers (the [mindspore] extra) are not installed",
)


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    if importlib.util.find_spec("mindspore") is None or importlib.util.find_spec("mindformers") is None:
        pytest.skip("MindSpore and MindFormers are not installed")
    root = tmp_path_factory.mktemp("smoke")
    curriculum = tiny_curriculum.build(root / "data" / "cur")
    out = root / "run"
    # relative paths, from a working directory that is neither the curriculum nor the run folder
    # (the run works inside its folder; `train smoke runs/synthetic` used to crash there)
    previous = os.getcwd()
    os.chdir(root / "data")
    try:
        code = main(
            ["train", "smoke", "cur", "--out", "../run", "--steps", "30", "--predict-limit", "4",
             "--json", "../smoke-summary.json"]
        )
    finally:
        os.chdir(previous)
    return curriculum, out, code


@pytest.mark.mindspore
@pytest.mark.slow
@needs_mindspore
def test_smoke_trains_and_the_loss_falls(smoke_run):
    _, out, code = smoke_run
    assert code == 0
    summary = json.loads((out / "smoke.json").read_text())
    assert summary["trainable"] == summary["expected_trainable"] == 3_584  # tiny: rank 8 on wq|wv
    assert [s["label"] for s in summary["stages"]] == ["stage1_add", "stage2_sub"]
    for stage in summary["stages"]:
        assert stage["steps"] == 30
        assert stage["loss_after"] < stage["loss_before"]
    assert summary["loss_fell"] is True
    assert summary["pet_config"]["target_modules"] == ".*wq|.*wv"  # the plan's own pet_config
    assert summary["vocabulary"] < 1000


@pytest.mark.mindspore
@pytest.mark.slow
@needs_mindspore
def test_smoke_predictions_have_the_ascend_predict_layout(smoke_run):
    import numpy as np

    _, out, _ = smoke_run
    prompts = [json.loads(line) for line in (out / "plan" / "predict" / "in_distribution.jsonl").open()][:4]
    batches = np.load(out / "predictions_in_distribution.npy", allow_pickle=True)
    assert len(batches) == 1 and list(batches[0]) == ["text_generation_text"]
    texts = batches[0]["text_generation_text"]
    assert len(texts) == 4
    assert all(text.startswith(p["prompt"]) for text, p in zip(texts, prompts))  # texts echo the prompt
    rows = [json.loads(line) for line in (out / "predictions_in_distribution.jsonl").open()]
    assert [r["id"] for r in rows] == [p["id"] for p in prompts]
    assert [p["prompt"] + r["output"] for r, p in zip(rows, prompts)] == texts


@pytest.mark.mindspore
@pytest.mark.slow
@needs_mindspore
def test_smoke_log_is_read_by_train_logs(smoke_run, capsys):
    _, out, _ = smoke_run
    assert main(["train", "logs", str(out / "train.log"), "--json", str(out / "steps.json")]) == 0
    data = json.loads((out / "steps.json").read_text())
    assert [s["steps"] for s in data["stages"]] == [30, 30]


@pytest.mark.mindspore
@pytest.mark.slow
@needs_mindspore
def test_smoke_predictions_are_scored_by_eval_score(smoke_run):
    if importlib.util.find_spec("datagen.eval.cli") is None:
        pytest.skip("datagen eval score is not there yet")
    curriculum, out, _ = smoke_run
    report = out / "score.json"
    assert (
        main(
            [
                "eval",
                "score",
                "--gold",
                str(curriculum / "heldout" / "in_distribution.jsonl"),
                "--pred",
                str(out / "predictions_in_distribution.npy"),
                "--allow-pickle",
                "--allow-partial",
                "-q",
                "--json",
                str(report),
            ]
        )
        == 0
    )
    assert json.loads(report.read_text())["n"] == 4
    assert (
        main(
            [
                "eval",
                "score",
                "--gold",
                str(curriculum / "heldout" / "in_distribution.jsonl"),
                "--pred",
                str(out / "predictions_in_distribution.jsonl"),
                "--allow-partial",
                "-q",
            ]
        )
        == 0
    )


def test_missing_stage_mindrecord_exits_2_before_anything_is_written(tmp_path, capsys):
    curriculum = tiny_curriculum.build(tmp_path / "cur", fake_mindrecords=True)
    (curriculum / "stage1_add" / "train.mindrecord").unlink()
    out = tmp_path / "run"
    assert main(["train", "smoke", str(curriculum), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "stage 1 (add)" in err and "train.mindrecord is missing" in err
    assert not out.exists()


def test_without_mindspore_it_says_what_to_install(tmp_path, capsys, monkeypatch):
    curriculum = tiny_curriculum.build(tmp_path / "cur", fake_mindrecords=True)
    real_find_spec = importlib.util.find_spec

    def no_mindformers(name, *args, **kwargs):
        return None if name == "mindformers" else real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", no_mindformers)
    assert main(["train", "smoke", str(curriculum), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("needs mindformers, which is not installed; pip install '.[mindspore]'")
    assert "mindformers" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "run").exists()


@pytest.mark.mindspore
@pytest.mark.slow
@needs_mindspore
def test_smoke_with_relative_paths_records_final_absolute_ones(smoke_run):
    curriculum, out, code = smoke_run
    assert code == 0
    summary = json.loads((out / "smoke.json").read_text())
    assert summary["out"] == str(out) and summary["curriculum"] == str(curriculum)
    assert summary["options"]["source"] == str(curriculum)
    assert [p["npy"] for p in summary["predictions"]] == [
        str(out / "predictions_in_distribution.npy"), str(out / "predictions_extrapolate.npy")]
    assert not any(".tmp-" in p.name for p in out.parent.iterdir())  # staged, then renamed
    printed = json.loads((out.parent / "smoke-summary.json").read_text())
    assert printed["trainable"] == summary["trainable"] and printed["loss_fell"] is True


@pytest.mark.mindspore
@pytest.mark.slow
@needs_mindspore
def test_a_second_smoke_into_the_same_folder_needs_force(smoke_run, capsys):
    curriculum, out, _ = smoke_run
    before = (out / "smoke.json").read_bytes()
    assert main(["train", "smoke", str(curriculum), "--out", str(out), "--steps", "1"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"datagen train smoke: error: --out: {out} exists; pass --force to replace it")
    assert (out / "smoke.json").read_bytes() == before


@pytest.mark.mindspore
@pytest.mark.slow
@needs_mindspore
def test_smoke_is_reproducible(smoke_run, tmp_path):
    curriculum, out, _ = smoke_run
    again = tmp_path / "again"
    again.mkdir()
    (again / "old.txt").write_text("an earlier run")
    assert (
        main(
            ["train", "smoke", str(curriculum), "--out", str(again), "--steps", "30", "--predict-limit", "4",
             "--force"]
        )
        == 0
    )
    assert not (again / "old.txt").exists()  # --force replaced the folder whole
    first, second = (json.loads((d / "smoke.json").read_text()) for d in (out, again))
    assert [(s["loss_before"], s["loss_after"]) for s in first["stages"]] == [
        (s["loss_before"], s["loss_after"]) for s in second["stages"]
    ]
    assert (out / "predictions_extrapolate.jsonl").read_text() == (
        again / "predictions_extrapolate.jsonl"
    ).read_text()


@pytest.mark.mindspore
@pytest.mark.slow
@needs_mindspore
def test_prediction_prompt_tokens_are_the_training_records_prefix(smoke_run):
    from datagen.curricula.templates import inference_prompt
    from datagen.train.model import read_records
    from datagen.train.predict_script import prompt_ids
    from datagen.train.smoke import load_tokenizer

    curriculum, _, _ = smoke_run
    manifest = json.loads((curriculum / "curriculum.json").read_text())
    rows = [json.loads(line) for line in (curriculum / "stage1_add" / "train.jsonl").open()][:3]
    records = list(read_records(curriculum / "stage1_add" / "train.mindrecord", limit=3))
    tokenizer = load_tokenizer(3)
    for row, (input_ids, labels) in zip(rows, records):
        ids = prompt_ids(tokenizer, inference_prompt(manifest["template"], row["problem"]), 128000)
        assert input_ids[: len(ids)].tolist() == ids
        assert (labels[: len(ids)] == -100).all() and labels[
            len(ids)
        ] != -100  # the answer starts right after


@pytest.mark.slow
def test_standalone_predict_tokenizer_matches_the_exporter():
    pytest.importorskip("tiktoken")
    from datagen.curricula.tokenizer import default_tokenizer_path, load_tokenizer
    from datagen.train.predict_script import Llama3Tokenizer

    texts = [
        "计算 4204.22 + -2369.17 等于多少？",
        "### Response: ASSISTANT: 1835.05 <|end_of_text|>",
        "Ｆｕｌｌ　width 12345",
    ]
    for digits in (3, 1):
        exporter = load_tokenizer(digits=digits)
        standalone = Llama3Tokenizer(str(default_tokenizer_path()), digits=digits)
        for text in texts:
            assert standalone.encode(text) == exporter.encode(text)
        assert (standalone.bos_id, standalone.eos_id, standalone.pad_id) == (128000, 128001, 128002)


def test_prediction_files_group_texts_per_batch(tmp_path):
    np = pytest.importorskip("numpy")
    from datagen.train.predict_script import write_predictions

    npy, jsonl = tmp_path / "p.npy", tmp_path / "p.jsonl"
    write_predictions(
        str(npy), str(jsonl), ["a", "b", "c"], ["P1", "P2", "P3"], [" 1", " 2", " 3"], batch_size=2
    )
    batches = np.load(npy, allow_pickle=True)
    assert [b["text_generation_text"] for b in batches] == [["P1 1", "P2 2"], ["P3 3"]]
    assert [json.loads(line) for line in jsonl.open()] == [
        {"id": "a", "output": " 1"},
        {"id": "b", "output": " 2"},
        {"id": "c", "output": " 3"},
    ]


@pytest.mark.mindspore
@pytest.mark.slow
@needs_mindspore
def test_rendered_predict_script_runs_greedy_on_cpu(smoke_run, tmp_path):
    import mindspore as ms
    import numpy as np
    from datagen.curricula.tokenizer import default_tokenizer_path
    from datagen.train import model as tm
    from datagen.train import predict_script
    from datagen.train.curriculum import load_curriculum
    from datagen.train.plan import Lora, PlanOptions, render_plan, write_plan
    from datagen.train.presets import load_preset

    curriculum, _, _ = smoke_run
    preset = load_preset("tiny")
    options = PlanOptions(model="tiny", cards=1, device_target="CPU", predict_batch_size=4, max_new_tokens=2)
    plan = render_plan(load_curriculum(curriculum), preset, options, tmp_path / "run")
    write_plan(plan, tmp_path / "run")
    network = tm.build_model(preset, Lora(**plan.manifest["lora"]).pet_config(), seq_length=128)
    checkpoint = tmp_path / "tiny_lora.ckpt"
    ms.save_checkpoint(network, str(checkpoint))
    predict = tmp_path / "run" / "predict"
    rows = [json.loads(line) for line in (predict / "extrapolate.jsonl").read_text().splitlines()[:4]]
    (predict / "four.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    code = predict_script.main(
        [
            "--config",
            str(predict / "extrapolate.yaml"),
            "--input",
            str(predict / "four.jsonl"),
            "--out",
            str(tmp_path / "p.npy"),
            "--jsonl",
            str(tmp_path / "p.jsonl"),
            "--load_checkpoint",
            str(checkpoint),
            "--vocab_file",
            str(default_tokenizer_path()),
            "--greedy",
            "--device_target",
            "CPU",
        ]
    )
    assert code == 0
    texts = np.load(tmp_path / "p.npy", allow_pickle=True)[0]["text_generation_text"]
    assert len(texts) == 4 and all(t.startswith(r["prompt"]) for t, r in zip(texts, rows))
    assert [json.loads(line)["id"] for line in (tmp_path / "p.jsonl").open()] == [r["id"] for r in rows]
