"""MindFormers yaml for ``train plan``: the stage, predict and SQuAD eval configs from shared blocks.

Each config starts from its template in ``configs/mindformers/`` and goes through the same steps:
the run keys (paths, checkpoint, parallel switch), the trainer's model name, the device context,
and the model section (the preset's dimensions, the LoRA ``pet_config``).  Only what differs is
set per kind: the training schedule and layout for a stage, the decode settings and tokenizer for
predict and eval.  Pure functions: nothing here touches the file system except reading templates.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING

import yaml
from datagen.train.presets import Preset, configs_dir

from datagen.errors import UsageError

if TYPE_CHECKING:
    from datagen.train.profiles import Profile

TOKENIZERS = {
    "llama3": {"type": "Llama3Tokenizer", "pad_token": "<|reserved_special_token_0|>"},
    "llama": {"type": "LlamaTokenizer"},
    "internlm": {"type": "InternLMTokenizer"},
}
# what MindFormers needs to run a Llama on a CPU (REFERENCE §6)
CPU_MODEL_CONFIG = {
    "compute_dtype": "float32",
    "param_init_type": "float32",
    "embedding_init_type": "float32",
    "layernorm_compute_type": "float32",
    "softmax_compute_type": "float32",
    "rotary_dtype": "float32",
    "use_flash_attention": False,
    "use_rope_slice": True,
    "fused_rms_norm": False,
}


# MindFormers' greedy ``generate`` takes mint.argmax (ArgMaxExt: no CPU kernel in MindSpore 2.9);
# sampling from the top 1 token with the numpy post-processing is the same choice through its config
CPU_GREEDY = {"do_sample": True, "top_k": 1, "top_p": 1.0}
# MFTrainOneStepCell with an overflow check that has a CPU kernel (train/cpu_train_step.py)
CPU_WRAPPER = {"type": "CpuTrainOneStepCell", "auto_register": "cpu_train_step.CpuTrainOneStepCell"}


def cpu_workers(cores: int | None) -> int:
    """Dataset workers on a CPU host: the template's 8 at most, one per core."""
    return max(1, min(8, cores or 1))


class PlanError(UsageError, ValueError):
    """An option or path the plan cannot use; the message names it."""


@dataclass(frozen=True)
class Lora:
    rank: int
    alpha: float
    dropout: float
    targets: str

    def pet_config(self) -> dict:
        return {
            "pet_type": "lora",
            "lora_rank": self.rank,
            "lora_alpha": self.alpha,
            "lora_dropout": self.dropout,
            "target_modules": self.targets,
        }


@dataclass(frozen=True)
class RunKeys:
    """The top-level keys every rendered config sets: where it writes, what it loads."""

    seed: int
    output_dir: str
    load_checkpoint: str
    src_strategy: str
    auto_trans_ckpt: bool
    use_parallel: bool


def load_template(name: str) -> dict:
    path = configs_dir() / "mindformers" / name
    if not path.is_file():
        raise PlanError(f"yaml template {path} is missing")
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def render_model_config(
    preset: Preset,
    seq_length: int,
    pet_config: dict | None = None,
    *,
    batch_size: int = 1,
    cpu: bool = False,
    template: dict | None = None,
) -> dict:
    """``model.model_config`` for ``preset``: template defaults, then the preset's dimensions."""
    template = template or load_template(preset.template)
    config = copy.deepcopy(template["model"]["model_config"])
    config.pop("pet_config", None)
    config.update(copy.deepcopy(preset.model_config))
    config["type"] = preset.config_type
    config["seq_length"] = int(seq_length)
    config["batch_size"] = int(batch_size)
    if preset.model_config.get("n_kv_heads") is None:
        config.pop("n_kv_heads", None)
    if cpu:
        config.update(CPU_MODEL_CONFIG)
    if pet_config:
        config["pet_config"] = dict(pet_config)
    return config


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data):  # write each section out in full, no &id001 anchors
        return True


def dump_yaml(data: dict, header: str) -> str:
    body = yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=120
    )
    return "".join(f"# {line}\n" for line in header.splitlines()) + body


def base_config(
    template: dict, preset: Preset, run: RunKeys, *, device_target: str, max_device_memory: str
) -> dict:
    """A copy of ``template`` with the blocks every kind shares: run keys, trainer, context, arch."""
    config = copy.deepcopy(template)
    config.update(
        {
            "seed": run.seed,
            "output_dir": run.output_dir,
            "load_checkpoint": run.load_checkpoint,
            "src_strategy_path_or_dir": run.src_strategy,
            "auto_trans_ckpt": run.auto_trans_ckpt,
            "use_parallel": run.use_parallel,
        }
    )
    config["trainer"]["model_name"] = preset.trainer_model_name
    config["context"]["device_target"] = device_target
    config["context"]["max_device_memory"] = max_device_memory
    config["model"]["arch"]["type"] = preset.arch
    return config


def parallel_layout(cards: int, model_parallel: int) -> dict:
    if cards <= 0:
        raise PlanError(f"--cards must be positive, got {cards}")
    if model_parallel <= 0 or cards % model_parallel:
        raise PlanError(f"--model-parallel {model_parallel} does not divide --cards {cards}")
    return {"data_parallel": cards // model_parallel, "model_parallel": model_parallel, "pipeline_stage": 1}


CHECKPOINT_CALLBACKS = ("CheckpointMonitor", "CheckpointMointor")  # the r1.2+ name, the r1.1 one


def finetune_config(
    preset: Preset,
    template: dict,
    lora: Lora,
    *,
    profile: Profile,
    seq_length: int,
    dataset: str,
    load_checkpoint: str,
    output_dir: str,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    warmup_ratio: float,
    cards: int,
    model_parallel: int,
    steps_per_epoch: int,
    auto_trans_ckpt: bool,
    src_strategy: str,
    seed: int,
    device_target: str,
    max_device_memory: str,
    sink_size: int = 2,
    workers: int | None = None,
) -> dict:
    """One stage's finetune yaml: the shared blocks, then schedule, dataset, layout and checkpoints.

    On a CPU (``device_target`` CPU) three more keys change: no dataset sinking (it needs a device
    queue), ``workers`` dataset workers, and the train wrapper: ``CpuTrainOneStepCell``
    (``train/cpu_train_step.py``, registered by MindFormers from ``$REGISTER_PATH`` through
    ``auto_register``), whose overflow check the CPU can run; the wrapper's other keys stay.
    """
    layout = parallel_layout(cards, model_parallel)
    run = RunKeys(seed, output_dir, load_checkpoint, src_strategy, auto_trans_ckpt, cards > 1)
    config = base_config(
        template, preset, run, device_target=device_target, max_device_memory=max_device_memory
    )
    config.update({"resume_training": False, "run_mode": "finetune"})
    config["runner_config"].update({"epochs": epochs, "batch_size": batch_size, "sink_size": sink_size})
    config["optimizer"] = {**copy.deepcopy(profile.optimizer), "learning_rate": learning_rate}
    config["lr_schedule"].update({"learning_rate": learning_rate, "warmup_ratio": warmup_ratio})
    dataset_section = config["train_dataset"]
    dataset_section["data_loader"]["dataset_dir"] = dataset
    dataset_section["batch_size"] = batch_size
    config["train_dataset_task"]["dataset_config"] = dataset_section
    config["parallel"]["enable_parallel_optimizer"] = cards > 1
    config["parallel_config"].update(layout)
    for callback in config["callbacks"]:
        if callback.get("type") in CHECKPOINT_CALLBACKS:
            callback["type"] = profile.checkpoint_callback
            callback["prefix"] = f"{preset.name}_lora"
            callback["save_checkpoint_steps"] = max(1, steps_per_epoch)
    config["model"]["model_config"] = render_model_config(
        preset, seq_length, lora.pet_config(), template=template, cpu=device_target == "CPU"
    )
    if device_target == "CPU":
        config["runner_config"]["sink_mode"] = False
        dataset_section["num_parallel_workers"] = cpu_workers(workers)
        kept = {k: v for k, v in config["runner_wrapper"].items() if k != "type"}
        config["runner_wrapper"] = {**CPU_WRAPPER, **kept}
    return config


def inference_config(
    preset: Preset,
    template_name: str,
    lora: Lora,
    *,
    seq_length: int,
    load_checkpoint: str,
    src_strategy: str,
    auto_trans_ckpt: bool,
    output_dir: str,
    batch_size: int,
    max_new_tokens: int,
    vocab_file: str,
    seed: int,
    device_target: str,
    max_device_memory: str,
    eval_dataset: str | None = None,
    workers: int | None = None,
) -> dict:
    """The predict or the SQuAD eval yaml: one card, greedy, LoRA named as in the checkpoint.

    Off the CPU the model runs in the preset's ``inference_model_config`` dtype (the one the base
    model's scores were measured in).
    """
    template = load_template(template_name)
    run = RunKeys(seed, output_dir, load_checkpoint, src_strategy, auto_trans_ckpt, False)
    config = base_config(
        template, preset, run, device_target=device_target, max_device_memory=max_device_memory
    )
    config["runner_config"]["batch_size"] = batch_size
    model_config = render_model_config(
        preset,
        seq_length,
        lora.pet_config(),
        batch_size=batch_size,
        template=template,
        cpu=device_target == "CPU",
    )
    model_config.update(
        {
            "max_decode_length": seq_length,
            "max_new_tokens": max_new_tokens,
            "do_sample": False,
            "top_k": 1,
            "use_past": device_target != "CPU",
        }
    )
    if device_target != "CPU":
        model_config.update(copy.deepcopy(preset.inference_model_config))
    else:
        model_config.update(CPU_GREEDY)
        config["context"]["postprocess_use_numpy"] = True
    config["model"]["model_config"] = model_config
    tokenizer = dict(config["processor"]["tokenizer"])
    tokenizer.pop("pad_token", None)
    tokenizer.update(TOKENIZERS.get(preset.tokenizer, {}))
    tokenizer["vocab_file"] = vocab_file
    config["processor"]["tokenizer"] = tokenizer
    if eval_dataset is not None:
        config["eval_dataset"]["data_loader"]["dataset_dir"] = eval_dataset
        if device_target == "CPU":
            config["eval_dataset"]["num_parallel_workers"] = cpu_workers(workers)
        config["eval_dataset_task"]["dataset_config"] = config["eval_dataset"]
    return config
