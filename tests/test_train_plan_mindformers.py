"""The rendered plan executed by MindFormers itself on the CPU (1.9 profile, tiny preset).

* every class the rendered yaml files name (callbacks, optimizer, lr schedule, dataset, wrapper,
  tokenizer, metric) is built through MindFormers' own registry;
* the 2-stage plan is trained by MindFormers' trainer path (``MindFormerConfig`` + ``Trainer``,
  what ``run_mindformer.py`` calls), each stage in its own process (tests/mindformers_stage.py
  applies the CPU-only overrides in memory; the rendered files are not changed); stage 2 loads
  stage 1's last checkpoint through its own ``load_checkpoint``; ``datagen train logs`` reads the
  trainer's logs;
* the plan's SQuAD entry evaluates stage 2's checkpoint with MindFormers' ``Trainer.evaluate``
  and ``EmF1Metric`` on a two-question SQuAD-format MindRecord;
* the predict script's batching runs MindFormers' own ``generate`` on prompts of different lengths.

Measured on 2 cores: about 2.5 minutes in all, most of it the two training processes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

# MindFormers opens its log folder at import time, under $LOCAL_DEFAULT_PATH (default ./output)
os.environ.setdefault("LOCAL_DEFAULT_PATH", tempfile.mkdtemp(prefix="datagen-mf-"))
pytest.importorskip("mindspore")
pytest.importorskip("mindformers")

from datagen.cli import main

pytestmark = [pytest.mark.slow, pytest.mark.mindspore]  # trains or loads a model with MindSpore

ROOT = Path(__file__).parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "train"
_spec = importlib.util.spec_from_file_location("tiny_curriculum", FIXTURES / "tiny_curriculum.py")
tiny_curriculum = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny_curriculum)

BATCH = 2
RECORDS = 8  # 4 steps per epoch at batch 2: stage 1 trains 2 epochs, stage 2 one


def load(path: Path) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def import_file(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SQUAD = [
    ("Context: The sky is blue. Question: What colour is the sky? Answer:", "blue"),
    ("Context: Paris is in France. Question: Where is Paris? Answer:", "France"),
]


def write_squad(path: Path, seq_length: int = 64) -> None:
    """Two questions in the layout of MindFormers' SQuAD eval MindRecord: prompt ids, answer ids, padded."""
    import numpy as np
    from datagen.curricula.tokenizer import load_tokenizer
    from mindspore.mindrecord import FileWriter

    tokenizer, pad = load_tokenizer(), 128002
    writer = FileWriter(str(path), 1, overwrite=True)
    writer.add_schema(
        {"input_ids": {"type": "int32", "shape": [-1]}, "labels": {"type": "int32", "shape": [-1]}}
    )
    rows = []
    for question, answer in SQUAD:
        ids, labels = [128000, *tokenizer.encode(question)], tokenizer.encode(answer)
        rows.append(
            {
                "input_ids": np.array(ids + [pad] * (seq_length - len(ids)), np.int32),
                "labels": np.array(labels + [pad] * (seq_length - len(labels)), np.int32),
            }
        )
    writer.write_raw_data(rows)
    writer.commit()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """A real 2-stage curriculum, a base checkpoint of the tiny model, and its 1.9 plan."""
    import mindspore as ms
    from datagen.curricula.tokenizer import default_tokenizer_path
    from datagen.train import model as tm
    from datagen.train.presets import load_preset

    root = tmp_path_factory.mktemp("mf")
    curriculum = tiny_curriculum.build(root / "cur", records=RECORDS)
    tm.cpu_context()
    base = root / "base" / "tiny.ckpt"
    base.parent.mkdir()
    ms.save_checkpoint(tm.build_model(load_preset("tiny"), None, seed=0, seq_length=128), str(base))
    squad = root / "squad64.mindrecord"
    write_squad(squad)
    out = root / "run"
    argv = ["train", "plan", str(curriculum), "--model", "tiny", "--mindformers", "1.9.0", "--out", str(out)]
    argv += ["--batch-size", str(BATCH), "--base-checkpoint", str(base)]
    argv += ["--squad-data", str(squad), "--squad-seq-length", "64"]
    argv += [
        "--vocab-file",
        str(default_tokenizer_path()),
        "--predict-batch-size",
        "3",
        "--max-new-tokens",
        "3",
    ]
    assert main(argv) == 0
    return out


def test_every_class_the_1_9_yaml_names_is_built_by_mindformers_registry(rendered):
    import mindspore as ms
    from datagen.curricula.tokenizer import load_tokenizer
    from datagen.train import model as tm
    from datagen.train.presets import load_preset
    from mindformers import MindFormerConfig
    from mindformers.core import build_callback, build_lr, build_metric, build_optim
    from mindformers.dataset import build_dataset
    from mindformers.wrapper import build_wrapper

    squad_entry = import_file(rendered / "eval" / "squad_eval.py", "rendered_squad_eval")
    for label in ("stage1_add", "stage2_sub"):
        config = MindFormerConfig(str(rendered / label / "finetune.yaml"))
        callbacks = [build_callback(dict(c)) for c in config.callbacks]
        assert [type(c).__name__ for c in callbacks] == ["MFLossMonitor", "CheckpointMonitor"]
        schedule = build_lr({**dict(config.lr_schedule), "total_steps": 8})
        assert type(schedule).__name__ == "CosineWithWarmUpLR"
        peak = float(schedule(ms.Tensor(0, ms.int32)).asnumpy())
        assert peak == pytest.approx(1e-2)  # the tiny preset's learning rate
        network = tm.build_model(
            load_preset("tiny"), dict(config.model.model_config.pet_config), seq_length=128
        )
        optimizer = build_optim(
            dict(config.optimizer),
            default_args={"params": network.trainable_params(), "learning_rate": schedule},
        )
        # LoRA's A and B on wq and wv of 2 layers: 8 trainable tensors
        assert type(optimizer).__name__ == "AdamW" and len(optimizer.parameters) == 8
        wrapper = build_wrapper(
            dict(config.runner_wrapper), default_args={"network": network, "optimizer": optimizer}
        )
        assert type(wrapper).__name__ == "MFTrainOneStepCell"
        config.train_dataset_task.dataset_config.num_parallel_workers = 1  # CPU-only: 2 cores here
        dataset = build_dataset(config.train_dataset_task)
        batch = next(dataset.create_dict_iterator())
        assert dataset.get_dataset_size() == RECORDS // BATCH
        assert {k: tuple(v.shape) for k, v in batch.items()} == {"input_ids": (2, 129), "labels": (2, 129)}

    exporter = load_tokenizer()
    for path in (rendered / "predict" / "extrapolate.yaml", rendered / "eval" / "squad_eval.yaml"):
        tokenizer = squad_entry.build_eval_tokenizer(
            str(path), None, str(rendered / "predict" / "predict.py")
        )
        text = "计算 4204.22 + -2369.17 等于多少？"
        assert tokenizer(text)["input_ids"][-len(exporter.encode(text)) :] == exporter.encode(text)
        assert tokenizer.pad_token_id == 128002
        assert tokenizer.decode([[128000, *exporter.encode(text), 128001]], skip_special_tokens=True) == [
            text
        ]
    squad = MindFormerConfig(str(rendered / "eval" / "squad_eval.yaml"))
    assert type(build_metric(dict(squad.metric))).__name__ == "EmF1Metric"
    config = MindFormerConfig(str(rendered / "eval" / "squad_eval.yaml"))
    eval_dataset = dict(config.eval_dataset_task)
    assert eval_dataset["type"] == "CausalLanguageModelDataset"


def _digest(value) -> str:
    import numpy as np

    return hashlib.sha256(np.ascontiguousarray(value.asnumpy()).tobytes()).hexdigest()


@pytest.fixture(scope="module")
def trained(rendered):
    """Both stages trained by MindFormers' trainer, one process each, in plan order."""
    before = {p: p.read_bytes() for p in rendered.rglob("*.yaml")}
    reports = []
    for label in ("stage1_add", "stage2_sub"):
        report = rendered / f"{label}.report.json"
        env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        env.pop("LOCAL_DEFAULT_PATH", None)
        harness = [sys.executable, str(Path(__file__).with_name("mindformers_stage.py"))]
        command = [*harness, str(rendered / label / "finetune.yaml"), str(report)]
        done = subprocess.run(command, check=False, capture_output=True, text=True, env=env, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        reports.append(json.loads(report.read_text()))
    assert {p: p.read_bytes() for p in rendered.rglob("*.yaml")} == before  # overrides stayed in memory
    return reports


def test_mindformers_trainer_trains_both_stages_and_stage_2_loads_stage_1(rendered, trained):
    import mindspore as ms
    from datagen.train.predict_script import last_checkpoint

    first, second = trained
    assert first["load_checkpoint"].endswith("base/tiny.ckpt")
    assert second["load_checkpoint"] == f"{rendered}/stage1_add/output/checkpoint"
    # stage 1: base weights loaded, LoRA new; stage 2: every weight loaded, LoRA from stage 1's last file
    assert (
        sorted(n.rsplit(".", 1)[-1] for n in first["loads"][0]["not_loaded"])
        == ["mindpet_delta_lora_a"] * 4 + ["mindpet_delta_lora_b"] * 4
    )
    assert second["loads"][0]["not_loaded"] == []
    stage1_last = last_checkpoint(str(rendered / "stage1_add" / "output" / "checkpoint" / "rank_0"))
    assert stage1_last.endswith("-2_4.ckpt")  # epoch 2, step 4 of 4
    saved = {
        k: _digest(v) for k, v in ms.load_checkpoint(stage1_last).items() if "lora" in k and "adam" not in k
    }
    assert second["loads"][0]["lora"] == saved and len(saved) == 8
    assert last_checkpoint(str(rendered / "stage2_sub" / "output" / "checkpoint" / "rank_0")).endswith(
        "-1_4.ckpt"
    )


def test_train_logs_reads_the_trainers_logs_and_the_loss_carries_over(rendered, trained, tmp_path, capsys):
    assert main(["train", "logs", str(rendered), "--json", str(tmp_path / "steps.json")]) == 0
    stages = json.loads((tmp_path / "steps.json").read_text())["stages"]
    assert [(s["name"], s["steps"]) for s in stages] == [("stage1_add", 8), ("stage2_sub", 4)]
    first, second = stages
    print(
        f"stage 1 loss {first['first_loss']:.4f} -> {first['last_loss']:.4f}; "
        f"stage 2 loss {second['first_loss']:.4f} -> {second['last_loss']:.4f}"
    )
    assert first["last_loss"] < first["first_loss"] and second["last_loss"] < second["first_loss"]
    # stage 2 starts where stage 1 ended, not where a fresh model would (ln 128256 = 11.76)
    assert abs(second["first_loss"] - first["last_loss"]) < abs(second["first_loss"] - first["first_loss"])


def test_squad_entry_evaluates_the_last_stage_with_mindformers_evaluate(rendered, trained):
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    env.pop("LOCAL_DEFAULT_PATH", None)
    command = [sys.executable, str(Path(__file__).with_name("mindformers_stage.py")), "--eval", str(rendered)]
    done = subprocess.run(command, check=False, capture_output=True, text=True, env=env, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "tokenizer Llama3Tokenizer from" in output and "predict/predict.py" in output
    assert f"{rendered}/stage2_sub/output/checkpoint" in output  # what it loaded: the last stage's folder
    assert re.search(r"F1 score: [\d.]+, Em score: [\d.]+, total_count: 2", output)
    assert sorted(p.name for p in (rendered / "eval").iterdir() if p.suffix == ".yaml") == ["squad_eval.yaml"]


def test_predict_batches_run_mindformers_generate_on_prompts_of_different_lengths(rendered):
    import mindspore as ms
    import numpy as np
    from mindformers.generation import logits_process

    predict = import_file(rendered / "predict" / "predict.py", "rendered_predict")
    config = load(rendered / "predict" / "extrapolate.yaml")
    config["model"]["model_config"]["use_past"] = False  # CPU-only: no incremental-inference kernels
    cpu_yaml = rendered / "predict" / "cpu_extrapolate.yaml"
    cpu_yaml.write_text(yaml.safe_dump(config), encoding="utf-8")
    _, network = predict.build_from_config(str(cpu_yaml))
    cpu_yaml.unlink()

    def numpy_argmax(logits, axis=-1):
        return ms.Tensor(np.argmax(logits.asnumpy(), axis))

    network.argmax = numpy_argmax  # CPU-only: ArgMaxExt has no CPU kernel in MindSpore 2.9
    original = logits_process.GreedySearchLogitsProcessor.process_ms

    def greedy_in_numpy(self, logits, sequence_ids, **kwargs):
        return numpy_argmax(logits)

    logits_process.GreedySearchLogitsProcessor.process_ms = greedy_in_numpy
    try:
        tokenizer = predict.Llama3Tokenizer(config["processor"]["tokenizer"]["vocab_file"])
        prompts = [p["prompt"] for p in predict.read_inputs(str(rendered / "predict" / "extrapolate.jsonl"))]
        prompts = [prompts[0], prompts[0] + " 请一步一步算。", prompts[1] + " 只写结果，不要解释过程。"]
        ids = [predict.prompt_ids(tokenizer, p, tokenizer.bos_id) for p in prompts]
        assert len({len(i) for i in ids}) == 3
        with pytest.raises(ValueError, match="padded to same length"):
            network.generate(ids, do_sample=False, max_new_tokens=3, pad_token_id=tokenizer.pad_id)
        batched = predict.generate_continuations(
            network, ids, batch_size=3, max_new_tokens=3, pad_id=tokenizer.pad_id
        )
        alone = [
            predict.generate_continuations(
                network, [i], batch_size=3, max_new_tokens=3, pad_id=tokenizer.pad_id
            )[0]
            for i in ids
        ]
    finally:
        logits_process.GreedySearchLogitsProcessor.process_ms = original
    assert batched == alone
    assert all(1 <= len(new) <= 3 for new in batched)
    assert all(tokenizer.pad_id not in new for new in batched)
