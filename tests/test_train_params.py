"""`datagen train params`: LoRA counts from module names and shapes, MindFormers' matching rule."""

from __future__ import annotations

import json

import pytest
from datagen.train.params import TargetError, backbone, contest_score, count_lora, llama_tree, match_targets
from datagen.train.presets import PresetError, available_presets, load_preset

from datagen.cli import main


@pytest.mark.parametrize(
    "model, rank, targets, trainable",
    [
        ("llama3_8b", 12, ".*wq|.*wv", 5_111_808),
        ("llama3_8b", 8, ".*wq|.*wv", 3_407_872),
        ("llama3_8b", 64, ".*wq|.*wk|.*wv|.*wo", 54_525_952),
        ("internlm_7b", 8, ".*wq|.*wk|.*wv|.*wo", 8_388_608),
    ],
)
def test_reference_counts_are_reproduced(model, rank, targets, trainable):
    assert count_lora(load_preset(model), rank, targets).trainable == trainable


def test_llama3_ratio_uses_the_contest_denominator_and_reports_the_true_total():
    count = count_lora(load_preset("llama3_8b"), 12, ".*wq|.*wv")
    assert count.total == 8_030_000_000
    assert count.total_from_shapes == 8_030_261_248
    assert count.ratio == pytest.approx(5_111_808 / 8_030_000_000)
    assert f"{count.ratio:.4%}" == "0.0637%"  # seed 001's figure


def test_internlm_ratio_matches_seed_002():
    count = count_lora(load_preset("internlm_7b"), 8, ".*wq|.*wk|.*wv|.*wo")
    assert count.total == count.total_from_shapes == 7_321_948_160
    assert round(count.ratio * 100, 4) == 0.1146


def test_contest_score_formula_matches_the_public_ranking():
    assert contest_score(0.00679, 0.7161) == pytest.approx(0.7992, abs=5e-5)
    assert contest_score(0.0, 1.0) == 1.0


def test_targets_match_each_modules_own_name_with_re_match():
    scope = backbone(llama_tree(load_preset("tiny")))
    replaced, _ = match_targets(scope, "wq")  # re.match anchors at the start only
    assert [path for path, _ in replaced] == ["model.layers.0.attention.wq", "model.layers.1.attention.wq"]
    replaced, _ = match_targets(scope, "model.layers.0.attention.wq")  # full paths never match
    assert replaced == []
    replaced, _ = match_targets(scope, ".*lm_head")  # the output layer is outside LoRA's scope
    assert replaced == []


def test_a_regex_matching_only_containers_is_an_error_listing_the_module_names():
    with pytest.raises(TargetError) as error:
        count_lora(load_preset("llama3_8b"), 8, ".*attention")
    message = str(error.value)
    assert "matches no Linear module" in message
    assert "wq, wk, wv, wo, w1, w2, w3" in message
    assert "attention" in message


def test_unknown_preset_names_the_choices():
    with pytest.raises(PresetError, match="unknown model 'gpt5'.*llama3_8b"):
        load_preset("gpt5")
    assert {"llama3_8b", "llama_7b", "internlm_7b", "tiny"} <= set(available_presets())


def test_cli_json_has_trainable_total_and_ratio(capsys):
    assert (
        main(
            [
                "train",
                "params",
                "--model",
                "llama3_8b",
                "--rank",
                "12",
                "--alpha",
                "24",
                "--targets",
                ".*wq|.*wv",
                "--json",
                "-",
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert (data["trainable"], data["total"]) == (5_111_808, 8_030_000_000)
    assert data["ratio"] == pytest.approx(0.000636589, rel=1e-6)
    assert data["total_from_shapes"] == 8_030_261_248
    assert "5,111,808" in captured.err  # the table is a summary beside the data


def test_cli_json_path_writes_the_file_and_refuses_to_replace_it(tmp_path, capsys):
    target = tmp_path / "params.json"
    assert main(["train", "params", "--rank", "8", "--json", str(target)]) == 0
    captured = capsys.readouterr()
    assert json.loads(target.read_text())["trainable"] == 3_407_872
    assert captured.out == "" and "3,407,872" in captured.err
    assert main(["train", "params", "--rank", "12", "--json", str(target)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"datagen train params: error: --json: {target} exists; pass --force to replace it")
    assert json.loads(target.read_text())["trainable"] == 3_407_872
    assert main(["train", "params", "--rank", "12", "--json", str(target), "--force"]) == 0
    assert json.loads(target.read_text())["trainable"] == 5_111_808


@pytest.mark.parametrize("argv", [["--rank", "4", "--json"], ["--json", "--rank", "4"]])
def test_the_old_bare_json_flag_still_prints_json_with_a_warning(capsys, argv):
    assert main(["train", "params", "--targets", ".*wq|.*wv", *argv]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["rank"] == 4
    assert captured.err.strip() == ("datagen train params: warning: --json without a PATH is deprecated; "
                                    "it means --json - (stdout)")


def test_cli_text_prints_ratio_and_scores(capsys):
    assert main(["train", "params", "--model", "llama3_8b", "--rank", "8", "--accuracy", "0.7"]) == 0
    out = capsys.readouterr().out
    assert "3,407,872" in out and "0.042439%" in out
    assert "accuracy  70.00%  ->  0.7899" in out


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--model", "nope"], "unknown model 'nope'"),
        (["--targets", ".*attention"], "the Linear names are: wq, wk, wv, wo, w1, w2, w3"),
        (["--targets", "(wq"], "not a valid regular expression"),
    ],
)
def test_cli_bad_input_exits_2_with_one_message(capsys, argv, needle):
    assert main(["train", "params", *argv]) == 2
    err = capsys.readouterr().err
    assert needle in err
    assert len(err.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def mindformers():
    pytest.importorskip("mindspore")
    return pytest.importorskip("mindformers")


@pytest.mark.mindspore
@pytest.mark.slow
@pytest.mark.parametrize("targets", [".*wq|.*wv", ".*wq|.*wk|.*wv|.*wo", ".*w1|.*w3", "w"])
def test_tiny_count_equals_mindformers_get_pet_model(mindformers, targets):
    from datagen.train import model as tm

    preset = load_preset("tiny")
    pet = {
        "pet_type": "lora",
        "lora_rank": 4,
        "lora_alpha": 8,
        "lora_dropout": 0.0,
        "target_modules": targets,
    }
    network = tm.build_model(preset, pet, vocab_size=512, seq_length=16)
    assert tm.trainable_count(network) == count_lora(preset, 4, targets).trainable


@pytest.mark.mindspore
@pytest.mark.slow
def test_tiny_total_equals_mindformers_parameter_count(mindformers):
    from datagen.train import model as tm

    preset = load_preset("tiny")
    network = tm.build_model(preset, None, seq_length=16)
    assert tm.total_count(network) == count_lora(preset, 8, ".*wq").total_from_shapes == 16_490_816


def test_cli_module_imports_no_heavy_dependency():
    import subprocess
    import sys

    code = (
        "import argparse, sys, train.cli; train.cli.add_parser(argparse.ArgumentParser().add_subparsers()); "
        "print(sorted(m for m in ('mindspore', 'mindformers', 'matplotlib', 'numpy') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
