"""`datagen train plan --device cpu`: the rendered files run as written, on MindFormers 1.9 and a CPU.

No harness: the test renders the tiny preset's plan of a 2-stage curriculum (8 records a stage,
two epochs each, the preset's CPU batch), runs ``bash run_all.sh`` (each stage's ``launch.sh``
through the plan's ``mindformers_entry.py`` and MindFormers' ``Trainer``, then both held-out
predictions, then the SQuAD entry's ``Trainer.evaluate``), and scores the predictions with
``datagen eval score``.  Checked on what MindFormers itself logs and writes:

* every class the rendered yaml files name is built through MindFormers' own registry, the CPU
  train wrapper through its ``auto_register`` from the plan's ``register/`` folder;
* stage 1 keeps two checkpoints (epochs 1 and 2) and stage 2 loads epoch 2's; predict and the
  SQuAD check load stage 2's epoch-2 file, the one ``plan.json`` names, while epoch 1's is kept
  beside it;
* ``datagen train logs`` reads the trainer's logs, and stage 2's loss starts where stage 1's ended.

Measured on 2 cores: about 4 minutes (two training processes of ~1 min each, mostly graph
compilation; predict ~30 s a set; SQuAD ~40 s), about 3 GB resident at most.
"""

from __future__ import annotations

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

# MindFormers copies auto_register modules to $OM_MODULES_CACHE (default ./modules), read at import time: keep
# them in the session's log folder (tests/conftest.py sets LOCAL_DEFAULT_PATH)
_LOGS = os.environ.get("LOCAL_DEFAULT_PATH", tempfile.gettempdir())
os.environ.setdefault("OM_MODULES_CACHE", os.path.join(_LOGS, "modules"))
pytest.importorskip("mindspore")
pytest.importorskip("mindformers")

from datagen.cli import main  # noqa: E402 (after the importorskip lines)

pytestmark = [pytest.mark.slow, pytest.mark.mindspore]  # trains or loads a model with MindSpore

ROOT = Path(__file__).parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "train"
_spec = importlib.util.spec_from_file_location("tiny_curriculum", FIXTURES / "tiny_curriculum.py")
tiny_curriculum = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny_curriculum)

RECORDS = 8  # 4 steps per epoch at the tiny preset's CPU batch of 2
STAGES = ("stage1_add", "stage2_sub")


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
    """A real 2-stage curriculum, a base checkpoint of the tiny model, and its --device cpu plan."""
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
    argv = ["train", "plan", str(curriculum), "--model", "tiny", "--mindformers", "1.9.0", "--device", "cpu"]
    argv += ["--out", str(out), "--epochs", "2", "--base-checkpoint", str(base)]
    argv += ["--squad-data", str(squad), "--squad-seq-length", "64", "--vocab-file", str(default_tokenizer_path())]
    argv += ["--predict-batch-size", "3", "--max-new-tokens", "3"]
    assert main(argv) == 0
    return out


@pytest.fixture(scope="module")
def ran(rendered):
    """``bash run_all.sh`` exactly as rendered: stages, predictions, SQuAD."""
    before = {p: p.read_bytes() for p in rendered.rglob("*") if p.is_file()}
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("LOCAL_DEFAULT_PATH", None)
    env.pop("PYTHONPATH", None)  # the plan needs only the installed mindformers, not this checkout
    done = subprocess.run(
        ["bash", str(rendered / "run_all.sh")], check=False, capture_output=True, text=True, env=env, timeout=1200
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert {p: p.read_bytes() for p in before} == before  # nothing the plan rendered was edited
    assert not (ROOT / "modules").exists()  # MindFormers' module cache stayed in the stage's output
    return done.stdout + done.stderr


def test_every_class_the_cpu_yaml_names_is_built_by_mindformers_registry(rendered, monkeypatch):
    import mindspore as ms
    from datagen.curricula.tokenizer import load_tokenizer
    from datagen.train import model as tm
    from datagen.train.presets import load_preset
    from mindformers import MindFormerConfig
    from mindformers.core import build_callback, build_lr, build_metric, build_optim
    from mindformers.dataset import build_dataset
    from mindformers.tools.hub.hub import HubConstants
    from mindformers.wrapper import build_wrapper

    monkeypatch.setenv("REGISTER_PATH", str(rendered / "register"))  # what launch.sh exports
    # what launch.sh's OM_MODULES_CACHE does, for a session that imported mindformers before this file
    monkeypatch.setattr(HubConstants, "OM_MODULES_CACHE", str(rendered / "modules"))
    entry = import_file(rendered / "mindformers_entry.py", "rendered_entry")
    for label in STAGES:
        config = MindFormerConfig(str(rendered / label / "finetune.yaml"))
        assert config.context.device_target == "CPU" and config.runner_config.sink_mode is False
        assert config.train_dataset.num_parallel_workers == min(8, os.cpu_count())
        callbacks = [build_callback(dict(c)) for c in config.callbacks]
        assert [type(c).__name__ for c in callbacks] == ["MFLossMonitor", "CheckpointMonitor"]
        schedule = build_lr({**dict(config.lr_schedule), "total_steps": 8})
        assert type(schedule).__name__ == "CosineWithWarmUpLR"
        assert float(schedule(ms.Tensor(0, ms.int32)).asnumpy()) == pytest.approx(1e-2)
        network = tm.build_model(load_preset("tiny"), dict(config.model.model_config.pet_config), seq_length=128)
        optimizer = build_optim(
            dict(config.optimizer), default_args={"params": network.trainable_params(), "learning_rate": schedule}
        )
        assert type(optimizer).__name__ == "AdamW" and len(optimizer.parameters) == 8  # A and B, wq wv, 2 layers
        wrapper = build_wrapper(
            dict(config.runner_wrapper), default_args={"network": network, "optimizer": optimizer}
        )
        assert type(wrapper).__name__ == "CpuTrainOneStepCell"
        assert type(wrapper).__mro__[1].__name__ == "MFTrainOneStepCell"
        dataset = build_dataset(config.train_dataset_task)
        batch = next(dataset.create_dict_iterator())
        assert dataset.get_dataset_size() == RECORDS // 2
        assert {k: tuple(v.shape) for k, v in batch.items()} == {"input_ids": (2, 129), "labels": (2, 129)}

    exporter = load_tokenizer()
    for path in (rendered / "predict" / "extrapolate.yaml", rendered / "eval" / "squad_eval.yaml"):
        tokenizer = entry.build_eval_tokenizer(str(path), None, str(rendered / "predict" / "predict.py"))
        text = "计算 4204.22 + -2369.17 等于多少？"
        assert tokenizer(text)["input_ids"][-len(exporter.encode(text)) :] == exporter.encode(text)
        assert tokenizer.pad_token_id == 128002
    squad = MindFormerConfig(str(rendered / "eval" / "squad_eval.yaml"))
    assert type(build_metric(dict(squad.metric))).__name__ == "EmF1Metric"
    assert squad.model.model_config.use_past is False and squad.context.postprocess_use_numpy is True


def test_run_all_trains_both_stages_and_stage_2_loads_stage_1s_last_epoch(rendered, ran):
    manifest = json.loads((rendered / "plan.json").read_text())
    names = {s["label"]: s["last_checkpoint"].format(rank=0) for s in manifest["stages"]}
    assert names == {label: "tiny_lora_rank_0-2_4.ckpt" for label in STAGES}
    for label in STAGES:
        kept = sorted(p.name for p in (rendered / label / "output" / "checkpoint" / "rank_0").glob("*.ckpt"))
        assert kept == ["tiny_lora_rank_0-1_4.ckpt", "tiny_lora_rank_0-2_4.ckpt"]
    log = (rendered / "stage2_sub" / "output" / "train.log").read_text()
    # MindFormers' own line naming the file stage 2 loads
    assert f"preloading `{rendered}/stage1_add/output/checkpoint/rank_0/tiny_lora_rank_0-2_4.ckpt`" in log


def test_predict_and_squad_take_the_named_epoch_and_eval_score_reads_the_predictions(
    rendered, ran, tmp_path, capsys
):
    last = f"{rendered}/stage2_sub/output/checkpoint/rank_0/tiny_lora_rank_0-2_4.ckpt"
    assert ran.count(f"loaded {last}") == 2  # both held-out sets
    assert f"evaluating {last}" in (rendered / "eval" / "squad_eval.log").read_text()
    assert re.fullmatch(
        r"F1 score: [\d.]+, Em score: [\d.]+, total_count: 2\n", (rendered / "eval" / "squad_eval.txt").read_text()
    )
    for name in ("in_distribution", "extrapolate"):
        rows = [json.loads(line) for line in (rendered / "predict" / f"predictions_{name}.jsonl").open()]
        prompts = [json.loads(line) for line in (rendered / "predict" / f"{name}.jsonl").open()]
        assert [r["id"] for r in rows] == [p["id"] for p in prompts] and len(rows) == 6
        gold = next(p for p in (rendered.parent / "cur" / "heldout").glob(f"*{name}*.jsonl"))
        report = tmp_path / f"{name}.json"
        argv = ["eval", "score", "--gold", str(gold), "--pred", str(rendered / "predict" / f"predictions_{name}.jsonl")]
        assert main([*argv, "--json", str(report)]) == 0
        scored = json.loads(report.read_text())
        assert (scored["n"], scored["without_prediction"], scored["rejected_predictions"]) == (6, 0, 0)


def test_train_logs_reads_the_trainers_logs_and_the_loss_carries_over(rendered, ran, tmp_path):
    assert main(["train", "logs", str(rendered), "--json", str(tmp_path / "steps.json")]) == 0
    stages = json.loads((tmp_path / "steps.json").read_text())["stages"]
    assert [(s["name"], s["steps"]) for s in stages] == [("stage1_add", 8), ("stage2_sub", 8)]
    first, second = stages
    assert first["last_loss"] < first["first_loss"]
    # stage 2 starts where stage 1 ended, not where a fresh model would (ln 128256 = 11.76)
    assert abs(second["first_loss"] - first["last_loss"]) < abs(second["first_loss"] - first["first_loss"])


def test_predict_batches_run_mindformers_generate_on_prompts_of_different_lengths(rendered):
    """What the NPU route's predict does (``generate``, batched); on a CPU only with a numpy argmax."""
    import mindspore as ms
    import numpy as np
    from mindformers.generation import logits_process

    predict = import_file(rendered / "predict" / "predict.py", "rendered_predict")
    config = yaml.safe_load((rendered / "predict" / "extrapolate.yaml").read_text(encoding="utf-8"))
    assert config["model"]["model_config"]["use_past"] is False  # no CPU kernels for incremental inference
    _, network = predict.build_from_config(str(rendered / "predict" / "extrapolate.yaml"))

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
