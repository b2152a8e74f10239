"""Render a staged MindFormers LoRA run for a built curriculum: yaml, launch scripts, predict, eval.

Pure rendering (``render_plan`` returns the files as text) around a thin writer (``write_plan``
puts them in place all at once).  Layout of a run directory::

    plan.json                      what was planned: model, LoRA, parameter ratio, stages, files
    run_all.sh                     every stage in order, then the predictions and the SQuAD check
    stage<k>_<name>/finetune.yaml  MindFormers config of stage k
    stage<k>_<name>/launch.sh      msrun launch of stage k; writes stage<k>_<name>/output/
    predict/predict.py             greedy prediction (a copy of train/predict_script.py)
    predict/<set>.yaml, <set>.jsonl, predict_<set>.sh   per held-out set
    eval/squad_eval.yaml, squad_eval.sh                 SQuAD F1/EM retention check

Stage k+1 loads stage k's checkpoint folder with ``resume_training: False``: the weights
(LoRA included) carry over, the optimizer and the learning-rate schedule restart.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from curricula.templates import inference_prompt
from train.curriculum import Curriculum, read_heldout
from train.params import LoraCount, count_lora
from train.presets import Preset, configs_dir

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
PREDICT_SCRIPT = Path(__file__).with_name("predict_script.py")


class PlanError(ValueError):
    """An option or path the plan cannot use; the message names it."""


@dataclass(frozen=True)
class PlanOptions:
    model: str = "llama3_8b"
    cards: int | None = None
    model_parallel: int = 1
    rank: int | None = None
    alpha: float | None = None
    dropout: float | None = None
    targets: str | None = None
    learning_rate: float | None = None
    epochs: int | None = None
    batch_size: int | None = None
    warmup_ratio: float = 0.03
    base_checkpoint: str | None = None
    vocab_file: str | None = None
    squad_data: str | None = None
    squad_seq_length: int = 8192
    mindformers_home: str = "/home/ma-user/work/mindformers"
    run_root: str | None = None  # where the run directory will be on the NPU host
    data_root: str | None = None  # where the curriculum will be on the NPU host
    predict_batch_size: int = 8
    max_new_tokens: int = 64
    master_port: int = 8118
    device_target: str = "Ascend"
    max_device_memory: str = "58GB"
    seed: int = 0


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


def resolve_lora(preset: Preset, options: PlanOptions) -> Lora:
    lora = Lora(
        rank=options.rank if options.rank is not None else preset.lora.rank,
        alpha=options.alpha if options.alpha is not None else preset.lora.alpha,
        dropout=options.dropout if options.dropout is not None else preset.lora.dropout,
        targets=options.targets if options.targets is not None else preset.lora.targets,
    )
    if not 0 <= lora.dropout < 1:
        raise PlanError(f"--dropout must be in [0, 1), got {lora.dropout}")
    if lora.alpha <= 0:
        raise PlanError(f"--alpha must be positive, got {lora.alpha}")
    return lora


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


@dataclass
class PlannedStage:
    label: str
    index: int
    name: str
    records: int
    epochs: int
    batch_size: int
    global_batch: int
    steps_per_epoch: int
    dataset: str
    load_checkpoint: str
    output: str
    config: dict = field(repr=False)


@dataclass
class Plan:
    files: dict[str, str]  # relative path → text
    executables: set[str]
    manifest: dict
    stages: list[PlannedStage]
    count: LoraCount
    warnings: list[str] = field(default_factory=list)


def _abs(path: str | Path) -> str:
    return os.path.abspath(os.path.expanduser(str(path)))


def _check_path(path: str, what: str) -> str:
    if any(ch.isspace() for ch in path) or any(ch in path for ch in "\"'$`\\"):
        raise PlanError(
            f"{what} {path!r} contains spaces or shell quotes, which the msrun launcher "
            "cannot pass through; use a plain path"
        )
    return path


def parallel_layout(cards: int, model_parallel: int) -> dict:
    if cards <= 0:
        raise PlanError(f"--cards must be positive, got {cards}")
    if model_parallel <= 0 or cards % model_parallel:
        raise PlanError(f"--model-parallel {model_parallel} does not divide --cards {cards}")
    return {"data_parallel": cards // model_parallel, "model_parallel": model_parallel, "pipeline_stage": 1}


def finetune_config(
    preset: Preset,
    template: dict,
    lora: Lora,
    *,
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
    options: PlanOptions,
) -> dict:
    config = copy.deepcopy(template)
    layout = parallel_layout(cards, model_parallel)
    config.update(
        {
            "seed": options.seed,
            "output_dir": output_dir,
            "load_checkpoint": load_checkpoint,
            "src_strategy_path_or_dir": src_strategy,
            "auto_trans_ckpt": auto_trans_ckpt,
            "resume_training": False,
            "run_mode": "finetune",
            "use_parallel": cards > 1,
        }
    )
    config["trainer"]["model_name"] = preset.trainer_model_name
    config["runner_config"].update({"epochs": epochs, "batch_size": batch_size})
    config["optimizer"]["learning_rate"] = learning_rate
    config["lr_schedule"].update({"learning_rate": learning_rate, "warmup_ratio": warmup_ratio})
    dataset_section = config["train_dataset"]
    dataset_section["data_loader"]["dataset_dir"] = dataset
    dataset_section["batch_size"] = batch_size
    config["train_dataset_task"]["dataset_config"] = dataset_section
    config["parallel"]["enable_parallel_optimizer"] = layout["data_parallel"] > 1
    config["parallel_config"].update(layout)
    for callback in config["callbacks"]:
        if callback.get("type") == "CheckpointMonitor":
            callback["prefix"] = f"{preset.name}_lora"
            callback["save_checkpoint_steps"] = max(1, steps_per_epoch)
    config["context"]["device_target"] = options.device_target
    config["context"]["max_device_memory"] = options.max_device_memory
    config["model"]["model_config"] = render_model_config(
        preset, seq_length, lora.pet_config(), template=template, cpu=options.device_target == "CPU"
    )
    config["model"]["arch"]["type"] = preset.arch
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
    options: PlanOptions,
    eval_dataset: str | None = None,
) -> dict:
    """The predict or the SQuAD eval yaml: one card, greedy, LoRA named as in the checkpoint."""
    template = load_template(template_name)
    config = copy.deepcopy(template)
    config.update(
        {
            "seed": options.seed,
            "output_dir": output_dir,
            "load_checkpoint": load_checkpoint,
            "src_strategy_path_or_dir": src_strategy,
            "auto_trans_ckpt": auto_trans_ckpt,
            "use_parallel": False,
        }
    )
    config["trainer"]["model_name"] = preset.trainer_model_name
    config["runner_config"]["batch_size"] = batch_size
    config["context"]["device_target"] = options.device_target
    config["context"]["max_device_memory"] = options.max_device_memory
    model_config = render_model_config(
        preset,
        seq_length,
        lora.pet_config(),
        batch_size=batch_size,
        template=template,
        cpu=options.device_target == "CPU",
    )
    model_config.update(
        {
            "max_decode_length": seq_length,
            "max_new_tokens": max_new_tokens,
            "do_sample": False,
            "top_k": 1,
            "use_past": options.device_target != "CPU",
        }
    )
    config["model"]["model_config"] = model_config
    config["model"]["arch"]["type"] = preset.arch
    tokenizer = dict(config["processor"]["tokenizer"])
    tokenizer.pop("pad_token", None)
    tokenizer.update(TOKENIZERS.get(preset.tokenizer, {}))
    tokenizer["vocab_file"] = vocab_file
    config["processor"]["tokenizer"] = tokenizer
    if eval_dataset is not None:
        config["eval_dataset"]["data_loader"]["dataset_dir"] = eval_dataset
        config["eval_dataset_task"]["dataset_config"] = config["eval_dataset"]
    return config


def _script(lines: list[str]) -> str:
    return "#!/usr/bin/env bash\n" + "\n".join(lines) + "\n"


def render_plan(curriculum: Curriculum, preset: Preset, options: PlanOptions, out_dir: str | Path) -> Plan:
    """Every file of the run directory as text, nothing written."""
    lora = resolve_lora(preset, options)
    count = count_lora(preset, lora.rank, lora.targets, lora.alpha)
    cards = options.cards or preset.train.cards
    layout = parallel_layout(cards, options.model_parallel)
    batch_size = options.batch_size or preset.train.batch_size
    learning_rate = options.learning_rate if options.learning_rate is not None else preset.train.learning_rate
    if batch_size <= 0:
        raise PlanError(f"--batch-size must be positive, got {batch_size}")
    if learning_rate <= 0:
        raise PlanError(f"--lr must be positive, got {learning_rate}")
    if options.epochs is not None and options.epochs <= 0:
        raise PlanError(f"--epochs must be positive, got {options.epochs}")
    run_root = _check_path(_abs(options.run_root or out_dir), "run root")
    data_root = _check_path(_abs(options.data_root or curriculum.root), "data root")
    base_checkpoint = _check_path(
        options.base_checkpoint or f"{run_root}/base/{preset.name}.ckpt", "--base-checkpoint"
    )
    vocab_file = _check_path(options.vocab_file or f"{run_root}/base/tokenizer.model", "--vocab-file")
    squad_data = _check_path(
        options.squad_data or f"{run_root}/base/squad{options.squad_seq_length}.mindrecord", "--squad-data"
    )
    home = _check_path(options.mindformers_home, "--mindformers-home")
    seq_length = curriculum.seq_length
    template = load_template(preset.template)
    multi = cards > 1
    global_batch = batch_size * layout["data_parallel"]
    curriculum_root = Path(curriculum.root).resolve()

    files: dict[str, str] = {}
    warnings: list[str] = []
    executables: set[str] = set()
    stages: list[PlannedStage] = []
    previous: PlannedStage | None = None
    for stage in curriculum.stages:
        label = stage.label
        epochs = options.epochs or stage.epochs or preset.train.epochs
        dataset = f"{data_root}/{stage.mindrecord.resolve().relative_to(curriculum_root).as_posix()}"
        output = f"{run_root}/{label}/output"
        load = base_checkpoint if previous is None else f"{previous.output}/checkpoint"
        strategy = f"{previous.output}/strategy" if previous is not None and multi else ""
        steps_per_epoch = stage.records // global_batch if stage.records else 0
        if stage.records and not steps_per_epoch:
            warnings.append(
                f"{label}: {stage.records:,} records make no full batch of {global_batch} "
                f"({batch_size} x {layout['data_parallel']} cards); lower --batch-size"
            )
        config = finetune_config(
            preset,
            template,
            lora,
            seq_length=seq_length,
            dataset=dataset,
            load_checkpoint=load,
            output_dir=output,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            warmup_ratio=options.warmup_ratio,
            cards=cards,
            model_parallel=options.model_parallel,
            steps_per_epoch=steps_per_epoch,
            auto_trans_ckpt=multi,
            src_strategy=strategy,
            options=options,
        )
        planned = PlannedStage(
            label=label,
            index=stage.index,
            name=stage.name,
            records=stage.records,
            epochs=epochs,
            batch_size=batch_size,
            global_batch=global_batch,
            steps_per_epoch=steps_per_epoch,
            dataset=dataset,
            load_checkpoint=load,
            output=output,
            config=config,
        )
        position = len(stages) + 1
        origin = "the base checkpoint" if previous is None else f"{previous.label}'s checkpoint"
        header = (
            f"Stage {position} of {len(curriculum.stages)} of curriculum {curriculum.name!r}: {stage.name}\n"
            f"{stage.records:,} records x {epochs} epoch(s), batch {batch_size} x {layout['data_parallel']} "
            f"data-parallel = {global_batch} per step ({steps_per_epoch:,} steps per epoch)\n"
            f"loads {origin} with resume_training False (weights carry over; optimizer and "
            f"schedule restart)\nrendered by `datagen train plan` from configs/mindformers/{preset.template}"
        )
        files[f"{label}/finetune.yaml"] = dump_yaml(config, header)
        command = (
            f"{preset.entry} --config {run_root}/{label}/finetune.yaml --run_mode finetune "
            f"--use_parallel {multi} --load_checkpoint {load} --auto_trans_ckpt {multi}"
        )
        check = (
            ""
            if previous is None
            else f'ls "$LOAD"/rank_0/*.ckpt >/dev/null 2>&1 || {{ echo "{label}: {previous.label} left no '
            f'checkpoint in $LOAD (run it first)" >&2; exit 1; }}'
        )
        files[f"{label}/launch.sh"] = _script(
            [
                (
                    f"# Stage {position} of {len(curriculum.stages)}: {stage.name} "
                    f"({stage.records:,} records, {epochs} epoch(s)) on {cards} card(s); loads {origin}."
                ),
                "# Rendered by `datagen train plan`.",
                "# Needs a MindFormers source checkout (scripts/msrun_launcher.sh, run_mindformer.py).",
                "set -euo pipefail",
                f'MINDFORMERS_HOME="${{MINDFORMERS_HOME:-{home}}}"',
                f'LOAD="{load}"',
                f'OUTPUT="{output}"',
                f'test -e "$LOAD" || {{ echo "{label}: checkpoint $LOAD not found" >&2; exit 1; }}',
                *([check] if check else []),
                'mkdir -p "$OUTPUT/msrun_log"',
                'cd "$MINDFORMERS_HOME"',
                (
                    f'bash scripts/msrun_launcher.sh "{command}" {cards} {options.master_port} '
                    '"$OUTPUT/msrun_log" True 7200'
                ),
                (
                    f'ls "$OUTPUT"/checkpoint/rank_0/*.ckpt >/dev/null 2>&1 || '
                    f'{{ echo "{label}: no checkpoint under $OUTPUT/checkpoint; '
                    'see $OUTPUT/msrun_log/worker_0.log" >&2; exit 1; }'
                ),
                f'echo "{label}: done; checkpoints in $OUTPUT/checkpoint"',
            ]
        )
        executables.add(f"{label}/launch.sh")
        stages.append(planned)
        previous = planned

    last = stages[-1]
    final_checkpoint = f"{last.output}/checkpoint"
    final_strategy = f"{last.output}/strategy" if multi else ""
    strategy_file = f"{last.output}/strategy/ckpt_strategy_rank_0.ckpt" if multi else ""
    predict_files = []
    files["predict/predict.py"] = PREDICT_SCRIPT.read_text(encoding="utf-8")
    for heldout in curriculum.heldout:
        records = read_heldout(heldout)
        name = heldout.name
        lines = [
            json.dumps(
                {"id": r["id"], "prompt": inference_prompt(curriculum.template, r["problem"])},
                ensure_ascii=False,
            )
            for r in records
        ]
        files[f"predict/{name}.jsonl"] = "".join(line + "\n" for line in lines)
        config = inference_config(
            preset,
            "predict_llama.yaml",
            lora,
            seq_length=seq_length,
            load_checkpoint=final_checkpoint,
            src_strategy=final_strategy,
            auto_trans_ckpt=multi,
            output_dir=f"{run_root}/predict/output",
            batch_size=options.predict_batch_size,
            max_new_tokens=options.max_new_tokens,
            vocab_file=vocab_file,
            options=options,
        )
        files[f"predict/{name}.yaml"] = dump_yaml(
            config,
            (
                f"Greedy prediction of held-out set {name!r} ({len(records):,} prompts) with {last.label}'s "
                f"checkpoint.\nPrompts use template {curriculum.template!r}, the one the training data "
                f"was exported with.\n"
                "rendered by `datagen train plan` from configs/mindformers/predict_llama.yaml"
            ),
        )
        args = [
            f'--config "{run_root}/predict/{name}.yaml"',
            f'--input "{run_root}/predict/{name}.jsonl"',
            f'--out "{run_root}/predict/predictions_{name}.npy"',
            f'--jsonl "{run_root}/predict/predictions_{name}.jsonl"',
            f'--load_checkpoint "{final_checkpoint}"',
            f'--vocab_file "{vocab_file}"',
            f"--digits {curriculum.digits}",
        ]
        if strategy_file:
            args.append(f'--strategy "{strategy_file}"')
        files[f"predict/predict_{name}.sh"] = _script(
            [
                (
                    f"# Predict held-out set {name!r} ({len(records):,} prompts) on one card "
                    f"with {last.label}'s checkpoint;"
                ),
                "# writes predictions_<set>.npy (the contest's format) and",
                "# predictions_<set>.jsonl ({id, output}).",
                "set -euo pipefail",
                f'MINDFORMERS_HOME="${{MINDFORMERS_HOME:-{home}}}"',
                'export PYTHONPATH="$MINDFORMERS_HOME:${PYTHONPATH:-}"',
                f'python "{run_root}/predict/predict.py" ' + " \\\n    ".join(args),
            ]
        )
        executables.add(f"predict/predict_{name}.sh")
        predict_files.append(
            {
                "name": name,
                "prompts": len(records),
                "input": f"predict/{name}.jsonl",
                "yaml": f"predict/{name}.yaml",
                "script": f"predict/predict_{name}.sh",
                "npy": f"predict/predictions_{name}.npy",
                "jsonl": f"predict/predictions_{name}.jsonl",
                "heldout": str(heldout.path),
            }
        )

    squad = inference_config(
        preset,
        "eval_squad_llama.yaml",
        lora,
        seq_length=options.squad_seq_length,
        load_checkpoint=final_checkpoint,
        src_strategy=final_strategy,
        auto_trans_ckpt=multi,
        output_dir=f"{run_root}/eval/output",
        batch_size=1,
        max_new_tokens=20,
        vocab_file=vocab_file,
        options=options,
        eval_dataset=squad_data,
    )
    files["eval/squad_eval.yaml"] = dump_yaml(
        squad,
        (
            f"SQuAD retention check of {last.label}'s checkpoint with MindFormers' EmF1Metric.\n"
            "Gate (REFERENCE §1): F1 >= 53.883 and EM >= 39.753 (90 % of the base model's 59.870 / 44.170).\n"
            "rendered by `datagen train plan` from configs/mindformers/eval_squad_llama.yaml"
        ),
    )
    files["eval/squad_eval.sh"] = _script(
        [
            f"# SQuAD F1/EM of {last.label}'s checkpoint; the score line is copied to eval/squad_eval.txt.",
            "set -euo pipefail",
            f'MINDFORMERS_HOME="${{MINDFORMERS_HOME:-{home}}}"',
            f'LOG="{run_root}/eval/squad_eval.log"',
            f'test -e "{squad_data}" || {{ echo "SQuAD MindRecord {squad_data} not found" >&2; exit 1; }}',
            'cd "$MINDFORMERS_HOME"',
            (
                f'python {preset.entry} --config "{run_root}/eval/squad_eval.yaml" --run_mode eval '
                "--use_parallel False "
                f'--load_checkpoint "{final_checkpoint}" --auto_trans_ckpt {multi} > "$LOG" 2>&1'
            ),
            f'grep "F1 score" "$LOG" | tail -1 | tee "{run_root}/eval/squad_eval.txt"',
        ]
    )
    executables.add("eval/squad_eval.sh")

    run_all = [
        "# Every stage in order, then the held-out predictions and the SQuAD check.",
        "# Rendered by `datagen train plan`; stops at the first failure.",
        "set -euo pipefail",
        'HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"',
    ]
    for planned in stages:
        run_all.append(f'echo "== {planned.label}" && bash "$HERE/{planned.label}/launch.sh"')
    for item in predict_files:
        run_all.append(f'echo "== predict {item["name"]}" && bash "$HERE/{item["script"]}"')
    run_all.append('echo "== SQuAD retention" && bash "$HERE/eval/squad_eval.sh"')
    files["run_all.sh"] = _script(run_all)
    executables.add("run_all.sh")

    manifest = {
        "curriculum": {
            "name": curriculum.name,
            "path": str(curriculum.root),
            "template": curriculum.template,
            "seq_length": seq_length,
            "digits": curriculum.digits,
        },
        "model": preset.name,
        "cards": cards,
        "parallel": layout,
        "lora": asdict(lora),
        "params": count.as_dict(),
        "learning_rate": learning_rate,
        "batch_size": batch_size,
        "run_root": run_root,
        "data_root": data_root,
        "base_checkpoint": base_checkpoint,
        "vocab_file": vocab_file,
        "squad_data": squad_data,
        "stages": [
            {k: v for k, v in asdict(s).items() if k != "config"}
            | {"yaml": f"{s.label}/finetune.yaml", "launch": f"{s.label}/launch.sh"}
            for s in stages
        ],
        "predict": predict_files,
        "eval": {"yaml": "eval/squad_eval.yaml", "script": "eval/squad_eval.sh"},
        "run_all": "run_all.sh",
    }
    manifest["warnings"] = warnings
    files["plan.json"] = json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"
    return Plan(
        files=files, executables=executables, manifest=manifest, stages=stages, count=count, warnings=warnings
    )


def write_plan(plan: Plan, out_dir: str | Path, force: bool = False) -> Path:
    """Write the plan's files into ``out_dir``: built in a folder beside it, then moved into place.

    A new directory appears whole.  With ``force`` an existing one keeps everything the plan
    does not render (stage outputs, checkpoints, logs); the plan's own files are replaced.
    """
    target = Path(out_dir)
    if target.exists() and not target.is_dir():
        raise PlanError(f"{target} exists and is not a directory")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise PlanError(f"{target} is not empty; pass --force to re-render the plan in it")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        for relative, text in plan.files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
            if relative in plan.executables:
                path.chmod(0o755)
        if not target.exists():
            os.replace(staging, target)
            return target
        for relative in plan.files:
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / relative, target / relative)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
