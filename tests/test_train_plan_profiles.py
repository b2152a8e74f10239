"""`datagen train plan --mindformers VERSION`: release profiles, the contest's layout and numerics, warnings.

Rendering only (no MindSpore): what each profile writes, compared with the contest's finetune yaml
key by key (tests/fixtures/train/contest_lora_dis_256_facts.json), and the pure pieces of the
predict script (padding, checkpoint picking).  tests/test_train_plan_mindformers.py builds and
trains what these files name with MindFormers itself.
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
from pathlib import Path

import pytest
import yaml
from datagen.train import predict_script
from datagen.train.profiles import PROFILES, profile_for

from datagen.cli import build_parser, main

FIXTURES = Path(__file__).parent / "fixtures" / "train"
_spec = importlib.util.spec_from_file_location("tiny_curriculum", FIXTURES / "tiny_curriculum.py")
tiny_curriculum = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny_curriculum)


@pytest.fixture()
def curriculum(tmp_path):
    return tiny_curriculum.build(tmp_path / "cur", fake_mindrecords=True)


def plan(curriculum, out, *extra):
    return main(
        ["train", "plan", str(curriculum), "--model", "llama3_8b", "--cards", "4", "--out", str(out), *extra]
    )


def load(path: Path) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def stage_yamls(out: Path) -> list[dict]:
    return [load(out / label / "finetune.yaml") for label in ("stage1_add", "stage2_sub")]


def flatten(data, prefix: str = "") -> dict:
    """Key paths as the fixture writes them: ``a.b``, lists of mappings as ``a[0].b``."""
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(data, list) and data and isinstance(data[0], dict):
        out = {}
        for number, value in enumerate(data):
            out.update(flatten(value, f"{prefix}[{number}]"))
        return out
    return {prefix: data}


@pytest.mark.slow
def test_contest_profile_renders_the_contest_names_layout_and_numerics(curriculum, tmp_path):
    out = tmp_path / "run"
    assert plan(curriculum, out, "--mindformers", "1.1.0") == 0
    for config in stage_yamls(out):
        assert [c["type"] for c in config["callbacks"]] == ["MFLossMonitor", "CheckpointMointor"]
        assert config["optimizer"] == {
            "type": "FP32StateAdamWeightDecay",
            "beta1": 0.9,
            "beta2": 0.95,
            "eps": 1e-8,
            "learning_rate": 1e-5,
        }
        model_config = config["model"]["model_config"]
        assert (model_config["compute_dtype"], model_config["param_init_type"]) == ("bfloat16", "bfloat16")
        assert config["runner_wrapper"] == {
            "type": "MFTrainOneStepCell",
            "scale_sense": 1.0,
            "use_clip_grad": True,
        }
        layout = config["parallel_config"]
        assert (layout["data_parallel"], layout["model_parallel"]) == (1, 4)
        assert config["parallel"]["strategy_ckpt_config"]["only_trainable_params"] is False
        assert config["auto_trans_ckpt"] is False
    first = stage_yamls(out)[0]
    assert first["load_checkpoint"].endswith("/base/llama3_8b.ckpt")
    launch = (out / "stage1_add" / "launch.sh").read_text()
    assert "--auto_trans_ckpt False" in launch and '" 4 8118' in launch
    manifest = json.loads((out / "plan.json").read_text())
    assert manifest["mindformers"]["profile"] == "r1.1" and manifest["parallel"]["model_parallel"] == 4


def test_version_1_9_renders_checkpointmonitor_and_adamw_with_betas(curriculum, tmp_path):
    out = tmp_path / "run"
    assert plan(curriculum, out, "--mindformers", "1.9.0") == 0
    for config in stage_yamls(out):
        assert config["callbacks"][1]["type"] == "CheckpointMonitor"
        assert config["optimizer"] == {
            "type": "AdamW",
            "betas": [0.9, 0.95],
            "eps": 1e-8,
            "learning_rate": 1e-5,
        }
    script = (out / "eval" / "squad_eval.sh").read_text()
    assert f'--datagen-tokenizer "{out.resolve()}/predict/predict.py"' in script
    assert "--tokenizer-module" not in script


@pytest.mark.parametrize(
    "version, profile, callback, optimizer",
    [
        ("1.1.0", "r1.1", "CheckpointMointor", "FP32StateAdamWeightDecay"),
        ("r1.1", "r1.1", "CheckpointMointor", "FP32StateAdamWeightDecay"),
        ("1.2.0", "r1.2-r1.5", "CheckpointMonitor", "FP32StateAdamWeightDecay"),
        ("v1.5.0", "r1.2-r1.5", "CheckpointMonitor", "FP32StateAdamWeightDecay"),
        ("1.6.0", "1.6+", "CheckpointMonitor", "AdamW"),
        ("1.9.0", "1.6+", "CheckpointMonitor", "AdamW"),
        ("1.10.1rc1", "1.6+", "CheckpointMonitor", "AdamW"),
    ],
)
def test_each_release_maps_to_its_profile(version, profile, callback, optimizer):
    chosen = profile_for(version)
    assert (chosen.name, chosen.checkpoint_callback, chosen.optimizer["type"]) == (
        profile,
        callback,
        optimizer,
    )


@pytest.mark.parametrize("version", ["2.0.0", "1.0.2", "0.8", "latest", "1"])
def test_versions_outside_the_profiles_are_refused_before_writing(curriculum, tmp_path, capsys, version):
    out = tmp_path / "run"
    assert plan(curriculum, out, "--mindformers", version) == 2
    err = capsys.readouterr().err
    assert f"--mindformers {version}" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.slow
def test_research_tokenizer_is_imported_for_r1_1_to_r1_5(curriculum, tmp_path):
    for version in ("1.1.0", "1.3.0"):
        out = tmp_path / f"run{version}"
        assert plan(curriculum, out, "--mindformers", version) == 0
        script = (out / "eval" / "squad_eval.sh").read_text()
        assert '--tokenizer-module "$MINDFORMERS_HOME/research/llama3/llama3_tokenizer.py"' in script
        assert f'python "{out.resolve()}/mindformers_entry.py" --run_mode eval' in script
        assert (out / "mindformers_entry.py").read_text() == (
            Path(__file__).parents[1] / "train" / "mindformers_entry.py"
        ).read_text()


def test_mindformers_flag_is_no_prefix_of_another_plan_flag():
    parser = build_parser()
    train = next(
        a for a in parser._subparsers._group_actions[0].choices["train"]._actions if a.dest == "action"
    )
    flags = [o for action in train.choices["plan"]._actions for o in action.option_strings]
    assert "--mindformers" in flags
    assert [f for f in flags if f != "--mindformers" and f.startswith("--mindformers")] == []


def test_inference_yamls_use_the_base_measurements_dtype(curriculum, tmp_path):
    out = tmp_path / "run"
    assert plan(curriculum, out) == 0
    for path in ("eval/squad_eval.yaml", "predict/extrapolate.yaml"):
        model_config = load(out / path)["model"]["model_config"]
        assert (model_config["compute_dtype"], model_config["param_init_type"]) == ("float16", "float16")
    assert stage_yamls(out)[0]["model"]["model_config"]["compute_dtype"] == "bfloat16"


@pytest.mark.slow
def test_data_parallel_layout_warns_of_its_checkpoint_disk_cost(curriculum, tmp_path, capsys):
    out = tmp_path / "run"
    assert plan(curriculum, out, "--model-parallel", "1") == 0
    err = capsys.readouterr().err
    layout = stage_yamls(out)[0]["parallel_config"]
    assert (layout["data_parallel"], layout["model_parallel"]) == (4, 1)
    # 8,030,261,248 parameters x 2 bytes (bf16) = 16.06 GB a copy, one per data-parallel replica
    assert "each of the 4 data-parallel replicas saves a whole copy" in err
    assert "about 64.2 GB per checkpoint (4 x 16.1 GB" in err and "--model-parallel 4" in err
    warnings = json.loads((out / "plan.json").read_text())["warnings"]
    assert any("64.2 GB" in w for w in warnings)
    assert plan(curriculum, tmp_path / "contest") == 0
    assert "GB per checkpoint" not in capsys.readouterr().err


def test_eight_cards_keep_model_parallel_4_and_warn_for_two_replicas(curriculum, tmp_path, capsys):
    assert plan(curriculum, tmp_path / "run", "--cards", "8") == 0
    layout = stage_yamls(tmp_path / "run")[0]["parallel_config"]
    assert (layout["data_parallel"], layout["model_parallel"]) == (2, 4)
    assert "about 32.1 GB per checkpoint (2 x 16.1 GB" in capsys.readouterr().err


@pytest.mark.slow
def test_missing_base_checkpoint_is_warned_where_the_plan_looks(curriculum, tmp_path, capsys):
    base = tmp_path / "llama3-8B.ckpt"
    assert plan(curriculum, tmp_path / "a", "--base-checkpoint", str(base)) == 0
    assert f"base checkpoint {base}, which does not exist" in capsys.readouterr().err
    base.write_bytes(b"weights")
    assert plan(curriculum, tmp_path / "b", "--base-checkpoint", str(base)) == 0
    assert "does not exist" not in capsys.readouterr().err
    # the default path, RUN_DIR/base/llama3_8b.ckpt, is named
    assert plan(curriculum, tmp_path / "c") == 0
    assert (
        f"{(tmp_path / 'c').resolve()}/base/llama3_8b.ckpt, which does not exist" in capsys.readouterr().err
    )
    # paths on another host are not checked here
    assert plan(curriculum, tmp_path / "d", "--run-root", "/npu/run") == 0
    assert "does not exist" not in capsys.readouterr().err


def test_existing_run_dir_is_refused_before_any_work_and_force_keeps_outputs(tmp_path, curriculum, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "run_all.sh").write_text("old")  # an empty folder counts as absent; this one is not empty
    # refused even with a bad curriculum: the --force check comes first
    assert plan(tmp_path / "nowhere", out) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    (out / "stage1_add" / "output" / "checkpoint").mkdir(parents=True)
    (out / "stage1_add" / "output" / "checkpoint" / "kept.ckpt").write_bytes(b"x")
    assert plan(curriculum, out, "--force") == 0
    assert (out / "stage1_add" / "output" / "checkpoint" / "kept.ckpt").read_bytes() == b"x"
    assert (out / "mindformers_entry.py").is_file() and os.access(out / "run_all.sh", os.X_OK)
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".run")]


def test_rendered_stage_yaml_matches_the_contest_yaml_key_by_key(curriculum, tmp_path):
    """Against the contest's yaml as first committed publicly: Kahsolt/MindSpore-2024-AI-model-develop-challenge,
    P2#模型微调赛题/stage1/experiments/finetune_trials/run-0/run_llama3_8b_8k_800T_A2_64G_lora_dis_256.yaml
    (commit 63be1ea, blob 09a994a4); the fixture holds its flattened values, not the file."""
    facts = json.loads((FIXTURES / "contest_lora_dis_256_facts.json").read_text(encoding="utf-8"))
    cur = tiny_curriculum.build(tmp_path / "cur256", fake_mindrecords=True, seq_length=256)
    out = tmp_path / "run"
    assert plan(cur, out, "--mindformers", "1.1.0") == 0
    rendered = flatten(load(out / "stage1_add" / "finetune.yaml"))
    different = {
        k: (rendered.get(k, "<absent>"), v) for k, v in facts["equal"].items() if rendered.get(k) != v
    }
    assert different == {}
    assert sorted(k for k in facts["chosen"] if k not in rendered) == []
    assert [
        k for k in rendered if any(k == p or k.startswith((p + ".", p + "[")) for p in facts["contest_only"])
    ] == []
    listed = set(facts["equal"]) | set(facts["chosen"]) | set(facts["plan_only"])
    assert sorted(set(rendered) - listed) == []
    assert len(facts["equal"]) >= 100  # nearly every key the two files share has the contest's value


def test_profiles_are_documented_in_the_readme_and_train_docs():
    root = Path(__file__).parents[1]
    readme, docs = (root / "README.md").read_text(), (root / "docs" / "train.md").read_text()
    for profile in PROFILES.values():
        assert profile.name in readme and profile.name in docs


def test_pad_batch_right_pads_every_row_to_the_longest():
    batch = predict_script.pad_batch([[1, 5, 6], [1, 7], [1, 8, 9, 10, 11]], pad_id=128002)
    assert batch.tolist() == [
        [1, 5, 6, 128002, 128002],
        [1, 7, 128002, 128002, 128002],
        [1, 8, 9, 10, 11],
    ]


def test_generate_continuations_fills_the_batch_and_cuts_at_each_prompts_length():
    calls = []

    class Echo:
        """generate's contract: equal-length rows; returns each row's valid part + new ids."""

        def set_train(self, mode):
            pass

        def generate(self, batch, do_sample, max_new_tokens, pad_token_id):
            calls.append(batch.shape)
            rows = []
            for row in batch.tolist():
                valid = max(i for i, t in enumerate(row) if t != pad_token_id) + 1
                rows.append(row[:valid] + [900 + valid] * max_new_tokens)
            return rows

    prompts = [[1, 5, 6], [1, 7], [1, 8, 9, 10, 11]]
    new = predict_script.generate_continuations(Echo(), prompts, batch_size=2, max_new_tokens=2, pad_id=0)
    assert new == [[903, 903], [902, 902], [905, 905]]
    assert calls == [(2, 3), (2, 5)]  # the last prompt's batch was filled to 2 rows


def _touch(path: Path, age: float) -> None:
    path.write_bytes(b"")
    stamp = time.time() - age
    os.utime(path, (stamp, stamp))


def test_checkpoints_are_picked_by_epoch_and_step_not_by_name_or_time(tmp_path):
    folder = tmp_path / "checkpoint" / "rank_0"
    folder.mkdir(parents=True)
    _touch(folder / "llama3_8b_lora_rank_0-10_4.ckpt", age=300)  # oldest file, latest epoch
    _touch(folder / "llama3_8b_lora_rank_0-9_4.ckpt", age=10)
    _touch(folder / "llama3_8b_lora_rank_0-2_40.ckpt", age=5)
    assert predict_script.last_checkpoint(str(folder)).endswith("-10_4.ckpt")
    _touch(folder / "llama3_8b_lora_rank_0-10_12.ckpt", age=400)
    assert predict_script.find_checkpoint(str(tmp_path / "checkpoint")).endswith("-10_12.ckpt")
    (tmp_path / "checkpoint" / "rank_1").mkdir()
    _touch(tmp_path / "checkpoint" / "rank_1" / "x_rank_1-99_1.ckpt", age=0)
    assert "/rank_0/" in predict_script.find_checkpoint(str(tmp_path / "checkpoint"))


# What each branch's source says (mindspore-lab/mindformers, read with git show):
# * scripts/msrun_launcher.sh takes "[EXECUTE_ORDER] [WORKER_NUM] [MASTER_PORT] [LOG_DIR] [JOIN]
#   [CLUSTER_TIME_OUT]" on r1.1.0 (usage :36, parsed :64), r1.5.0 (:62, :90) and r1.8.0 (:61, :89);
#   r1.5.0 (:146-150) and r1.8.0 (:147-150) print "You should use python instead of using msrun while
#   running a single rank" and exit 0 when WORKER_NUM is 1 (r1.1.0 has no such check);
# * run_mindformer.py's argparse has --config, --run_mode, --use_parallel (str2bool), --load_checkpoint
#   and --auto_trans_ckpt (str2bool) on r1.1.0 (:51-127), r1.5.0 (:84-172) and r1.8.0 (:82-170);
# * the snapshot has no r1.9 branch; the 1.9.0 wheel ships neither file (the --device cpu route).
MSRUN_ARGS = ("WORKER_NUM", "MASTER_PORT", "LOG_DIR", "JOIN", "CLUSTER_TIME_OUT")
RUN_MINDFORMER_FLAGS = {"--config", "--run_mode", "--use_parallel", "--load_checkpoint", "--auto_trans_ckpt"}
SINGLE_WORKER_REFUSED = {"1.1.0": False, "1.5.0": True, "1.8.0": True}


def _launch_line(text: str, start: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(start))


@pytest.mark.parametrize("version", sorted(SINGLE_WORKER_REFUSED))
def test_one_card_runs_run_mindformer_in_one_process_and_four_go_through_msrun(curriculum, tmp_path, version):
    import shlex

    one, four = tmp_path / "one", tmp_path / "four"
    assert plan(curriculum, one, "--mindformers", version, "--cards", "1") == 0
    assert plan(curriculum, four, "--mindformers", version) == 0
    single = (one / "stage1_add" / "launch.sh").read_text()
    assert "msrun" not in single  # r1.5+'s launcher exits 0 without training for one worker
    words = shlex.split(_launch_line(single, "python run_mindformer.py"))
    flags = {w for w in words if w.startswith("--")}
    assert flags <= RUN_MINDFORMER_FLAGS and flags == RUN_MINDFORMER_FLAGS
    assert words[words.index("--use_parallel") + 1] == "False"
    assert "$OUTPUT/train.log" in single

    multi = (four / "stage1_add" / "launch.sh").read_text()
    words = shlex.split(_launch_line(multi, "bash scripts/msrun_launcher.sh"))
    order, rest = words[2], words[3:]
    assert len(rest) == len(MSRUN_ARGS) and rest[0] == "4" and rest[3] == "True"
    inner = shlex.split(order)
    assert inner[0] == "run_mindformer.py" and {w for w in inner if w.startswith("--")} == RUN_MINDFORMER_FLAGS
    assert inner[inner.index("--use_parallel") + 1] == "True"
    assert "msrun_log/worker_0.log" in multi


def test_checkpoint_network_copy_is_counted_for_r1_1_to_r1_5_only(curriculum, tmp_path, capsys):
    for version, warned in (("1.1.0", True), ("1.5.0", True), ("1.6.0", False), ("1.9.0", False)):
        assert plan(curriculum, tmp_path / version, "--mindformers", version) == 0
        err = capsys.readouterr().err
        assert ("checkpoint_network/, about 16.1 GB per stage" in err) is warned, version


@pytest.mark.parametrize(
    "records, batch, sink, steps", [(2, 2, 1, 1), (10, 2, 1, 5), (8, 2, 2, 4), (24, 2, 2, 12)]
)
def test_sink_size_divides_each_epochs_steps(tmp_path, capsys, records, batch, sink, steps):
    """MindFormers trains int(steps / sink_size x epochs) sinks: 1 step under sink_size 2 would train 0."""
    cur = tiny_curriculum.build(tmp_path / "cur", fake_mindrecords=True, records=records)
    out = tmp_path / "run"
    assert plan(cur, out, "--batch-size", str(batch)) == 0
    err = capsys.readouterr().err
    for config in stage_yamls(out):
        assert config["runner_config"]["sink_size"] == sink
        assert config["runner_config"]["sink_mode"] is True
    manifest = json.loads((out / "plan.json").read_text())
    first = manifest["stages"][0]
    assert first["steps_per_epoch"] == steps and first["sink_size"] == sink
    epochs = first["epochs"]
    # the name MindSpore gives the last file: <prefix>_rank_<r>-<sinks>_<sink_size>
    assert first["last_checkpoint"] == f"llama3_8b_lora_rank_{{rank}}-{epochs * steps // sink}_{sink}.ckpt"
    assert ("no multiple of the contest's sink_size 2" in err) is (sink != 2)


@pytest.fixture()
def fake_transform(monkeypatch):
    """mindspore.transform_checkpoints as it picks its inputs: the alphabetically last .ckpt of each rank
    folder (MindSpore 2.9 parallel/checkpoint_transform.py:516-520, ``rank_ckpts.sort()`` then the last)."""
    ms = pytest.importorskip("mindspore")
    calls = []

    def transform(src, dst, prefix, src_strategy, dst_strategy):
        import glob

        chosen = {}
        for rank_dir in sorted(glob.glob(os.path.join(src, "rank_[0-9]*"))):
            files = sorted(glob.glob(os.path.join(rank_dir, "*.ckpt")))
            chosen[os.path.basename(rank_dir)] = os.path.basename(files[-1])
        os.makedirs(os.path.join(dst, "rank_0"))
        Path(dst, "rank_0", f"{prefix}0.ckpt").write_text(json.dumps(chosen))
        calls.append(chosen)

    monkeypatch.setattr(ms, "transform_checkpoints", transform)
    return calls


def _two_epochs_kept(root: Path, ranks: int = 2) -> Path:
    """What keep_checkpoint_max 2 leaves after 150 sinks of 2 steps: epoch 75 and epoch 150 per rank."""
    folder = root / "checkpoint"
    for rank in range(ranks):
        (folder / f"rank_{rank}").mkdir(parents=True)
        for epoch in (75, 150):
            (folder / f"rank_{rank}" / f"llama3_8b_lora_rank_{rank}-{epoch}_2.ckpt").write_bytes(b"w" * epoch)
    (root / "strategy.ckpt").write_bytes(b"s")
    return folder


def test_merge_takes_the_last_epoch_not_the_alphabetically_last_file(tmp_path, fake_transform):
    folder = _two_epochs_kept(tmp_path)
    assert sorted(p.name for p in (folder / "rank_0").iterdir())[-1].endswith("-75_2.ckpt")  # the trap
    merged = predict_script.find_checkpoint(str(folder), str(tmp_path / "strategy.ckpt"), str(tmp_path / "w"))
    assert json.loads(Path(merged).read_text()) == {
        "rank_0": "llama3_8b_lora_rank_0-150_2.ckpt",
        "rank_1": "llama3_8b_lora_rank_1-150_2.ckpt",
    }


def test_merge_takes_exactly_the_named_checkpoint_and_is_rebuilt_when_it_changes(tmp_path, fake_transform):
    folder = _two_epochs_kept(tmp_path)
    strategy, work = str(tmp_path / "strategy.ckpt"), str(tmp_path / "w")
    named = "llama3_8b_lora_rank_{rank}-75_2.ckpt"  # a plan may name an earlier epoch: it gets that one
    first = predict_script.find_checkpoint(str(folder), strategy, work, named, 2)
    assert json.loads(Path(first).read_text())["rank_1"] == "llama3_8b_lora_rank_1-75_2.ckpt"
    again = predict_script.find_checkpoint(str(folder), strategy, work, named, 2)
    assert again == first and len(fake_transform) == 1  # same source: the merge is reused
    shard = folder / "rank_1" / "llama3_8b_lora_rank_1-75_2.ckpt"
    shard.write_bytes(b"retrained")  # re-training rewrites the file: new size and time
    rebuilt = predict_script.find_checkpoint(str(folder), strategy, work, named, 2)
    assert rebuilt != first and len(fake_transform) == 2
    assert not Path(first).exists()  # the stale merge is gone
    assert sorted(os.listdir(Path(work) / "merged_checkpoint")) == [Path(rebuilt).parents[1].name]
    with pytest.raises(SystemExit, match=r"rank_0/llama3_8b_lora_rank_0-9_2.ckpt: the checkpoint the plan names"):
        predict_script.find_checkpoint(str(folder), strategy, work, "llama3_8b_lora_rank_{rank}-9_2.ckpt", 2)


def test_predict_and_squad_scripts_name_the_last_stages_final_checkpoint(curriculum, tmp_path):
    out = tmp_path / "run"
    assert plan(curriculum, out, "--batch-size", "4") == 0  # 48 records: 12 steps, 1 epoch in stage 2
    name = "llama3_8b_lora_rank_{rank}-6_2.ckpt"
    assert json.loads((out / "plan.json").read_text())["stages"][1]["last_checkpoint"] == name
    squad = (out / "eval" / "squad_eval.sh").read_text()
    predict = (out / "predict" / "predict_extrapolate.sh").read_text()
    for text in (squad, predict):
        assert f'--checkpoint_name "{name}"' in text and "--ranks 4" in text
        assert f'--work_dir "{out.resolve()}/predict"' in text
    assert 'CHECKPOINT="$(python' in squad and '--load_checkpoint "$CHECKPOINT"' in squad
    assert load(out / "eval" / "squad_eval.yaml")["auto_trans_ckpt"] is False


def test_cpu_plan_runs_one_process_without_a_checkout_and_refuses_cards(curriculum, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "plan", str(curriculum), "--model", "tiny", "--device", "cpu", "--out", str(out)]) == 0
    launch = (out / "stage1_add" / "launch.sh").read_text()
    assert "MINDFORMERS_HOME" not in launch and "msrun" not in launch
    assert f'python "{out.resolve()}/mindformers_entry.py" --run_mode finetune' in launch
    assert f'export REGISTER_PATH="{out.resolve()}/register"' in launch
    assert 'export OM_MODULES_CACHE="$OUTPUT/modules"' in launch
    config = stage_yamls(out)[0]
    assert config["runner_wrapper"] == {
        "type": "CpuTrainOneStepCell",
        "auto_register": "cpu_train_step.CpuTrainOneStepCell",
        "scale_sense": 1.0,
        "use_clip_grad": True,
    }
    assert config["train_dataset"]["batch_size"] == 2  # the tiny preset's cpu_batch_tokens 256 // seq 128
    assert (out / "register" / "cpu_train_step.py").is_file()
    for path in ("predict/predict_extrapolate.sh", "eval/squad_eval.sh"):
        assert "MINDFORMERS_HOME" not in (out / path).read_text()
    assert "--greedy \\\n    --device_target CPU" in (out / "predict" / "predict_extrapolate.sh").read_text()
    assert json.loads((out / "plan.json").read_text())["mindformers"]["version"] == "1.9.0"  # the installed one
    assert main(["train", "plan", str(curriculum), "--model", "tiny", "--device", "cpu", "--cards", "4",
                 "--out", str(tmp_path / "four")]) == 2
    err = capsys.readouterr().err
    assert "--device cpu runs on one process; --cards 4 needs NPUs" in err
    assert not (tmp_path / "four").exists()


def test_cpu_plan_for_another_release_than_the_installed_one_is_warned(curriculum, tmp_path, capsys):
    argv = ["train", "plan", str(curriculum), "--model", "tiny", "--device", "cpu", "--mindformers", "1.1.0"]
    assert main([*argv, "--out", str(tmp_path / "run")]) == 0
    assert "--device cpu runs the MindFormers installed here (1.9.0, profile 1.6+)" in capsys.readouterr().err
