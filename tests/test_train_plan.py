"""`datagen train plan`: staged MindFormers yaml, launch scripts, predict inputs, SQuAD eval."""

from __future__ import annotations

import importlib.util
import json
import os
import stat
from pathlib import Path

import pytest
import yaml
from datagen.curricula.templates import inference_prompt
from datagen.train.curriculum import CurriculumError, load_curriculum

from datagen.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "train"
_spec = importlib.util.spec_from_file_location("tiny_curriculum", FIXTURES / "tiny_curriculum.py")
tiny_curriculum = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny_curriculum)


@pytest.fixture()
def curriculum(tmp_path):
    return tiny_curriculum.build(tmp_path / "cur", fake_mindrecords=True)


def plan(curriculum, out, *extra):
    return main(
        [
            "train",
            "plan",
            str(curriculum),
            "--model",
            "llama3_8b",
            "--cards",
            "4",
            "--out",
            str(out),
            "--base-checkpoint",
            "/models/llama3-8B.ckpt",
            *extra,
        ]
    )


def load(path: Path) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_plan_renders_every_stage_and_chains_checkpoints(curriculum, tmp_path, capsys):
    out = tmp_path / "run"
    assert plan(curriculum, out, "--batch-size", "4", "--lr", "2e-5") == 0
    first, second = load(out / "stage1_add" / "finetune.yaml"), load(out / "stage2_sub" / "finetune.yaml")
    assert first["load_checkpoint"] == "/models/llama3-8B.ckpt"
    assert first["output_dir"] == f"{out.resolve()}/stage1_add/output"
    assert second["load_checkpoint"] == f"{first['output_dir']}/checkpoint"
    assert second["src_strategy_path_or_dir"] == f"{first['output_dir']}/strategy"
    assert first["resume_training"] is False and second["resume_training"] is False
    assert first["run_mode"] == "finetune" and first["use_parallel"] is True
    # the contest's layout: 4 cards as data_parallel 1 x model_parallel 4, no checkpoint transform
    assert first["parallel_config"]["data_parallel"] == 1 and first["parallel_config"]["model_parallel"] == 4
    assert first["auto_trans_ckpt"] is False and second["auto_trans_ckpt"] is False
    assert (
        first["train_dataset"]["data_loader"]["dataset_dir"]
        == f"{curriculum.resolve()}/stage1_add/train.mindrecord"
    )
    assert first["train_dataset_task"]["dataset_config"]["data_loader"]["dataset_dir"].endswith(
        "stage1_add/train.mindrecord"
    )
    assert (first["runner_config"]["epochs"], second["runner_config"]["epochs"]) == (
        2,
        1,
    )  # stage's own, default
    assert first["runner_config"]["batch_size"] == first["train_dataset"]["batch_size"] == 4
    assert first["lr_schedule"]["learning_rate"] == first["optimizer"]["learning_rate"] == 2e-5
    model_config = first["model"]["model_config"]
    assert model_config["seq_length"] == 128  # the curriculum's, not the preset's 256
    assert (model_config["hidden_size"], model_config["n_kv_heads"], model_config["vocab_size"]) == (
        4096,
        8,
        128256,
    )
    assert model_config["pet_config"] == {
        "pet_type": "lora",
        "lora_rank": 12,
        "lora_alpha": 24,
        "lora_dropout": 0.05,
        "target_modules": ".*wq|.*wv",
    }
    manifest = json.loads((out / "plan.json").read_text())
    assert manifest["params"]["trainable"] == 5_111_808
    assert [s["load_checkpoint"] for s in manifest["stages"]][1] == second["load_checkpoint"]


def test_launch_scripts_are_executable_and_use_msrun(curriculum, tmp_path):
    out = tmp_path / "run"
    assert plan(curriculum, out) == 0
    launch = (out / "stage2_sub" / "launch.sh").read_text()
    assert os.stat(out / "stage2_sub" / "launch.sh").st_mode & stat.S_IXUSR
    assert 'bash scripts/msrun_launcher.sh "run_mindformer.py --config ' in launch
    assert (
        f'--load_checkpoint {out.resolve()}/stage1_add/output/checkpoint --auto_trans_ckpt False" 4 8118'
        in launch
    )
    run_all = (out / "run_all.sh").read_text().splitlines()
    order = [line for line in run_all if line.startswith("echo")]
    assert [line.split('"')[1] for line in order] == [
        "== stage1_add",
        "== stage2_sub",
        "== predict in_distribution",
        "== predict extrapolate",
        "== SQuAD retention",
    ]
    for script in (
        "run_all.sh",
        "stage1_add/launch.sh",
        "predict/predict_extrapolate.sh",
        "eval/squad_eval.sh",
    ):
        assert (out / script).read_text().startswith("#!/usr/bin/env bash\n")
        assert os.stat(out / script).st_mode & stat.S_IXUSR


def test_predict_inputs_use_the_training_template(curriculum, tmp_path):
    out = tmp_path / "run"
    assert plan(curriculum, out) == 0
    template = json.loads((curriculum / "curriculum.json").read_text())["template"]
    heldout = [
        json.loads(line) for line in (curriculum / "heldout" / "extrapolate.jsonl").read_text().splitlines()
    ]
    prompts = [json.loads(line) for line in (out / "predict" / "extrapolate.jsonl").read_text().splitlines()]
    assert [p["id"] for p in prompts] == [h["id"] for h in heldout]
    assert [p["prompt"] for p in prompts] == [inference_prompt(template, h["problem"]) for h in heldout]
    assert prompts[0]["prompt"].endswith("### Response: ASSISTANT:")
    config = load(out / "predict" / "extrapolate.yaml")
    assert config["run_mode"] == "predict" and config["use_parallel"] is False
    assert config["load_checkpoint"] == f"{out.resolve()}/stage2_sub/output/checkpoint"
    assert config["model"]["model_config"]["pet_config"]["lora_rank"] == 12
    assert config["model"]["model_config"]["do_sample"] is False
    script = (out / "predict" / "predict_extrapolate.sh").read_text()
    assert "ckpt_strategy_rank_0.ckpt" in script and "predictions_extrapolate.npy" in script
    assert (out / "predict" / "predict.py").read_text() == (
        Path(__file__).parents[1] / "train" / "predict_script.py"
    ).read_text()


def test_squad_eval_yaml_checks_the_last_stage(curriculum, tmp_path):
    out = tmp_path / "run"
    assert plan(curriculum, out, "--squad-data", "/data/squad8192.mindrecord") == 0
    config = load(out / "eval" / "squad_eval.yaml")
    assert config["run_mode"] == "eval" and config["metric"]["type"] == "EmF1Metric"
    assert config["eval_dataset"]["data_loader"]["dataset_dir"] == "/data/squad8192.mindrecord"
    assert config["model"]["model_config"]["seq_length"] == 8192
    assert config["load_checkpoint"] == f"{out.resolve()}/stage2_sub/output/checkpoint"


def test_one_card_plan_has_no_parallel_or_checkpoint_transform(curriculum, tmp_path):
    out = tmp_path / "run"
    assert plan(curriculum, out, "--cards", "1") == 0
    second = load(out / "stage2_sub" / "finetune.yaml")
    assert second["use_parallel"] is False and second["auto_trans_ckpt"] is False
    assert second["src_strategy_path_or_dir"] == ""
    assert second["parallel_config"]["data_parallel"] == 1
    launch = (out / "stage1_add" / "launch.sh").read_text()
    assert "msrun_launcher.sh" not in launch and "python run_mindformer.py --config" in launch


def test_sharded_mindrecord_is_passed_as_its_first_file(tmp_path):
    cur = tiny_curriculum.build(tmp_path / "cur", fake_mindrecords=True, shards=2)
    assert load_curriculum(cur).stages[0].shards == 2
    assert plan(cur, tmp_path / "run") == 0
    first = load(tmp_path / "run" / "stage1_add" / "finetune.yaml")
    assert first["train_dataset"]["data_loader"]["dataset_dir"].endswith("stage1_add/train.mindrecord0")


def test_missing_stage_mindrecord_is_one_message_and_nothing_written(curriculum, tmp_path, capsys):
    (curriculum / "stage2_sub" / "train.mindrecord").unlink()
    out = tmp_path / "run"
    assert plan(curriculum, out) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "stage 2 (sub)" in err and "stage2_sub/train.mindrecord is missing" in err
    assert not out.exists()
    assert not list(tmp_path.glob(".run*"))


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--model", "gpt5"], "unknown model 'gpt5'"),
        (["--targets", "model.layers.0.attention.wq"], "matches no Linear module"),
        (["--cards", "4", "--model-parallel", "3"], "--model-parallel 3 does not divide --cards 4"),
    ],
)
def test_bad_options_exit_2_and_write_nothing(curriculum, tmp_path, capsys, argv, needle):
    out = tmp_path / "run"
    assert plan(curriculum, out, *argv) == 2
    assert needle in capsys.readouterr().err
    assert not out.exists()


def test_not_a_curriculum_and_non_empty_out_are_refused(tmp_path, curriculum, capsys):
    assert plan(tmp_path, tmp_path / "run") == 2
    assert "curriculum.json is missing" in capsys.readouterr().err
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    assert plan(curriculum, out) == 2
    assert "pass --force" in capsys.readouterr().err
    assert plan(curriculum, out, "--force") == 0
    assert (out / "keep.txt").read_text() == "x" and (out / "run_all.sh").is_file()


def test_curriculum_without_mindrecords_names_the_stage(curriculum):
    manifest = json.loads((curriculum / "curriculum.json").read_text())
    manifest["stages"][0]["mindrecord"] = None
    (curriculum / "curriculum.json").write_text(json.dumps(manifest))
    with pytest.raises(CurriculumError, match=r"stage 1 \(add\): no MindRecord"):
        load_curriculum(curriculum)


@pytest.mark.mindspore
@pytest.mark.slow
def test_rendered_yaml_loads_with_mindformers_config_loader(curriculum, tmp_path):
    pytest.importorskip("mindspore")
    pytest.importorskip("mindformers")
    from unittest import mock

    from mindformers import MindFormerConfig
    from mindformers.tools.register import template

    out = tmp_path / "run"
    assert plan(curriculum, out) == 0
    unused = []

    def warn(message, *args):
        text = message % args if args else message
        if "useless" in text:
            unused.append(text)

    with mock.patch.object(template.logger, "warning", side_effect=warn):
        first = MindFormerConfig(str(out / "stage1_add" / "finetune.yaml"))
        second = MindFormerConfig(str(out / "stage2_sub" / "finetune.yaml"))
        predict = MindFormerConfig(str(out / "predict" / "in_distribution.yaml"))
        squad = MindFormerConfig(str(out / "eval" / "squad_eval.yaml"))
    # MindFormers 1.9 keeps `processor` out of eval configs; older releases read the tokenizer there
    assert [u for u in unused if "processor" not in u] == []
    assert second.load_checkpoint == f"{first.output_dir}/checkpoint"
    assert first.model.model_config.pet_config.target_modules == ".*wq|.*wv"
    assert first.runner_config.epochs == 2 and first.parallel_config.model_parallel == 4
    assert first.train_dataset_task.dataset_config.input_columns == ["input_ids", "labels"]
    assert predict.run_mode == "predict" and predict.model.model_config.pet_config.lora_rank == 12
    assert squad.metric.type == "EmF1Metric"
