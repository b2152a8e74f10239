"""Render a staged MindFormers LoRA run for a built curriculum: yaml, launch scripts, predict, eval.

Pure rendering (``render_plan`` returns the files as text) around a thin writer (``write_plan``
puts them in place all at once).  Layout of a run directory::

    plan.json                      what was planned: model, LoRA, parameter ratio, stages, files
    run_all.sh                     every stage in order, then the predictions and the SQuAD check
    stage<k>_<name>/finetune.yaml  MindFormers config of stage k
    stage<k>_<name>/launch.sh      launch of stage k (msrun on several cards, python run_mindformer.py
                                   on one, the plan's entry with --device cpu); writes stage<k>_<name>/output/
    mindformers_entry.py           MindFormers' Trainer: the CPU finetune and the SQuAD check
    register/cpu_train_step.py     --device cpu only: the train wrapper the stage yaml names
    predict/predict.py             greedy prediction (a copy of train/predict_script.py)
    predict/<set>.yaml, <set>.jsonl, predict_<set>.sh   per held-out set
    eval/squad_eval.yaml, squad_eval.sh                 SQuAD F1/EM retention check

Predict and the SQuAD check take each rank's file the plan names (``last_checkpoint``: the last
stage's final checkpoint), merged by predict.py when there are several ranks.

Stage k+1 loads stage k's checkpoint folder with ``resume_training: False``: the weights
(LoRA included) carry over, the optimizer and the learning-rate schedule restart.  Every stage
has the same layout, so each rank loads its own shard and no stage transforms a checkpoint
(stage 1 loads the complete base checkpoint, as the contest did).  The names that differ between
MindFormers releases come from the ``--mindformers`` profile (``train/profiles.py``).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from datagen.curricula.templates import inference_prompt
from datagen.train.curriculum import Curriculum, Heldout, Stage, read_heldout
from datagen.train.params import LoraCount, count_lora
from datagen.train.plan_scripts import (
    StageLaunch,
    launch_script,
    predict_script,
    run_all_script,
    squad_script,
)
from datagen.train.plan_yaml import (  # noqa: F401  (re-exported: train.model and train.proxy import them here)
    CHECKPOINT_CALLBACKS,
    CPU_MODEL_CONFIG,
    TOKENIZERS,
    Lora,
    PlanError,
    dump_yaml,
    finetune_config,
    inference_config,
    load_template,
    parallel_layout,
    render_model_config,
)
from datagen.train.presets import Preset
from datagen.train.profiles import CPU_DEFAULT_VERSION, DEFAULT_VERSION, Profile, profile_for

from datagen.output import atomic_open, check_target, staged

PREDICT_SCRIPT = Path(__file__).with_name("predict_script.py")
MINDFORMERS_ENTRY = Path(__file__).with_name("mindformers_entry.py")
CPU_TRAIN_STEP = Path(__file__).with_name("cpu_train_step.py")
RESEARCH_TOKENIZER = "research/llama3/llama3_tokenizer.py"  # relative to the MindFormers checkout
BYTES_PER_PARAM = {"float32": 4, "float16": 2, "bfloat16": 2}


@dataclass(frozen=True)
class PlanOptions:
    model: str = "llama3_8b"
    cards: int | None = None
    model_parallel: int | None = None  # default: the preset's, capped by the cards
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
    max_device_memory: str = "58GB"  # of a 64 GB card (the contest's Atlas 800T A2 64G)
    seed: int = 0
    mindformers: str | None = None  # the MindFormers release on the host (None: see mindformers_version)
    device: str = "npu"  # "cpu": the whole plan runs here, on MindFormers' Trainer, before paying for NPUs
    cores: int | None = None  # the CPU host's cores (default: this machine's)


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
    sink_size: int  # 0: no dataset sinking
    # the last checkpoint's name in each rank_<r>/ ({rank}): MindSpore's <prefix>_rank_<r>-<epoch>_<step>,
    # epochs counted in sinks of sink_size steps when sinking
    last_checkpoint: str
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


@dataclass(frozen=True)
class Resolved:
    """The options with every default filled in and checked: what each piece of the plan reads."""

    curriculum: Curriculum
    preset: Preset
    options: PlanOptions
    lora: Lora
    count: LoraCount
    cards: int
    layout: dict
    batch_size: int
    learning_rate: float
    run_root: str
    data_root: str
    base_checkpoint: str
    vocab_file: str
    squad_data: str
    home: str
    template: dict
    profile: Profile
    version: str
    warnings: list[str]

    @property
    def seq_length(self) -> int:
        return self.curriculum.seq_length

    @property
    def multi(self) -> bool:
        return self.cards > 1

    @property
    def cpu(self) -> bool:
        return self.options.device == "cpu"

    @property
    def device_target(self) -> str:
        return "CPU" if self.cpu else self.options.device_target

    @property
    def launcher(self) -> str:
        """How a stage starts: the plan's entry on a CPU, one process on one card, msrun on several."""
        return "entry" if self.cpu else "python" if self.cards == 1 else "msrun"

    @property
    def global_batch(self) -> int:
        return self.batch_size * self.layout["data_parallel"]


def mindformers_version(options: PlanOptions) -> str:
    """``--mindformers``, else the contest's release on an NPU, the installed one on a CPU (1.9.0 if none)."""
    if options.mindformers:
        return options.mindformers
    if options.device != "cpu":
        return DEFAULT_VERSION
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mindformers")
    except PackageNotFoundError:
        return CPU_DEFAULT_VERSION


def resolve(curriculum: Curriculum, preset: Preset, options: PlanOptions, out_dir: str | Path) -> Resolved:
    """Fill in the defaults (the preset's, the curriculum's) and reject what cannot run."""
    lora = resolve_lora(preset, options)
    count = count_lora(preset, lora.rank, lora.targets, lora.alpha)
    version = mindformers_version(options)
    profile = profile_for(version)
    if options.device not in ("npu", "cpu"):
        raise PlanError(f"--device {options.device}: expected npu or cpu")
    cpu = options.device == "cpu"
    if cpu and (options.cards or 1) > 1:
        raise PlanError(f"--device cpu runs on one process; --cards {options.cards} needs NPUs")
    cards = 1 if cpu else options.cards or preset.train.cards
    if cards <= 0:
        raise PlanError(f"--cards must be positive, got {cards}")
    model_parallel = options.model_parallel or math.gcd(preset.train.model_parallel, cards)
    layout = parallel_layout(cards, model_parallel)
    batch_size = options.batch_size or preset.train.batch_size
    if cpu and not options.batch_size and preset.train.cpu_batch_tokens:
        batch_size = max(1, preset.train.cpu_batch_tokens // curriculum.seq_length)
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
    home = _check_path(options.mindformers_home, "--mf-home")
    warnings = []
    if layout["data_parallel"] > 1:
        warnings.append(checkpoint_disk_warning(preset, count, layout))
    if cpu and options.mindformers:
        installed = mindformers_version(PlanOptions(device="cpu"))
        if profile_for(installed).name != profile.name:
            warnings.append(
                f"--device cpu runs the MindFormers installed here ({installed}, profile "
                f"{profile_for(installed).name}), but --mindformers {options.mindformers} renders profile "
                f"{profile.name}'s names ({profile.checkpoint_callback}, {profile.optimizer['type']}); "
                "leave --mindformers out to render for the installed release"
            )
    if profile.saves_network_copy and not cpu:
        warnings.append(network_copy_warning(preset, count, profile))
    return Resolved(
        curriculum=curriculum,
        preset=preset,
        options=options,
        lora=lora,
        count=count,
        cards=cards,
        layout=layout,
        batch_size=batch_size,
        learning_rate=learning_rate,
        run_root=run_root,
        data_root=data_root,
        base_checkpoint=base_checkpoint,
        vocab_file=vocab_file,
        squad_data=squad_data,
        home=home,
        template=load_template(preset.template),
        profile=profile,
        version=version,
        warnings=warnings,
    )


def checkpoint_disk_warning(preset: Preset, count: LoraCount, layout: dict) -> str:
    """What a data-parallel layout costs on disk: every replica saves the whole frozen model."""
    width = BYTES_PER_PARAM.get(str(preset.model_config.get("param_init_type", "float32")), 4)
    copy_gb = count.total_from_shapes * width / 1e9
    replicas, cards = layout["data_parallel"], layout["data_parallel"] * layout["model_parallel"]
    return (
        f"data_parallel {replicas} x model_parallel {layout['model_parallel']}: each of the {replicas} "
        f"data-parallel replicas saves a whole copy of the model, frozen weights included, "
        f"about {replicas * copy_gb:.1f} GB per checkpoint ({replicas} x {copy_gb:.1f} GB; two kept per "
        f"stage), and the global batch is {replicas} x --batch-size; --model-parallel {cards} saves one "
        "copy split over the cards"
    )


def network_copy_warning(preset: Preset, count: LoraCount, profile: Profile) -> str:
    """r1.1-r1.5's checkpoint callback also writes the network's weights to ``checkpoint_network/``."""
    width = BYTES_PER_PARAM.get(str(preset.model_config.get("param_init_type", "float32")), 4)
    copy_gb = count.total_from_shapes * width / 1e9
    return (
        f"MindFormers {profile.releases}: {profile.checkpoint_callback} also saves the network's weights "
        f"(save_network_params defaults to True) to output/checkpoint_network/, about {copy_gb:.1f} GB per "
        "stage on top of the checkpoints (the ranks' shards together; r1.6+ default to False)"
    )


def sink_size_for(steps_per_epoch: int, wanted: int) -> int:
    """The largest sink size up to ``wanted`` that divides an epoch's steps.

    MindFormers runs ``int(steps / sink_size × epochs)`` sinks of ``sink_size`` steps (r1.1
    ``trainer/utils.py:163``, r1.8 ``:213``): 1 step under sink_size 2 trains none, an odd count
    loses steps.
    """
    if steps_per_epoch <= 0:
        return wanted
    return max(size for size in range(1, wanted + 1) if steps_per_epoch % size == 0)


def checkpoint_prefix(config: dict) -> str:
    """The checkpoint callback's ``prefix`` (MindFormers appends ``_rank_<r>``: r1.1 and 1.9 alike)."""
    return next(c["prefix"] for c in config["callbacks"] if c.get("type") in CHECKPOINT_CALLBACKS)


def plan_stage(
    plan: Resolved, stage: Stage, previous: PlannedStage | None, warnings: list[str]
) -> PlannedStage:
    """Stage ``stage``'s numbers, paths and finetune config; it loads ``previous``'s checkpoint."""
    options, preset = plan.options, plan.preset
    label = stage.label
    epochs = options.epochs or stage.epochs or preset.train.epochs
    curriculum_root = Path(plan.curriculum.root).resolve()
    dataset = f"{plan.data_root}/{stage.mindrecord.resolve().relative_to(curriculum_root).as_posix()}"
    output = f"{plan.run_root}/{label}/output"
    load = plan.base_checkpoint if previous is None else f"{previous.output}/checkpoint"
    strategy = f"{previous.output}/strategy" if previous is not None and plan.multi else ""
    global_batch = plan.global_batch
    steps_per_epoch = stage.records // global_batch if stage.records else 0
    if stage.records and not steps_per_epoch:
        warnings.append(
            f"{label}: {stage.records:,} records make no full batch of {global_batch} "
            f"({plan.batch_size} x {plan.layout['data_parallel']} data-parallel); lower --batch-size"
        )
    wanted = int(plan.template["runner_config"].get("sink_size", 1))
    sink_size = 1 if plan.cpu else sink_size_for(steps_per_epoch, wanted)
    if not plan.cpu and sink_size != wanted:
        warnings.append(
            f"{label}: {steps_per_epoch:,} steps per epoch is no multiple of the contest's sink_size "
            f"{wanted}, which would drop steps; rendered with sink_size {sink_size}"
        )
    config = finetune_config(
        preset,
        plan.template,
        plan.lora,
        seq_length=plan.seq_length,
        dataset=dataset,
        load_checkpoint=load,
        output_dir=output,
        epochs=epochs,
        batch_size=plan.batch_size,
        learning_rate=plan.learning_rate,
        warmup_ratio=options.warmup_ratio,
        cards=plan.cards,
        model_parallel=plan.layout["model_parallel"],
        steps_per_epoch=steps_per_epoch,
        auto_trans_ckpt=False,
        src_strategy=strategy,
        profile=plan.profile,
        seed=options.seed,
        device_target=plan.device_target,
        max_device_memory=options.max_device_memory,
        sink_size=sink_size,
        workers=options.cores or os.cpu_count(),
    )
    epochs_named, step_named = (
        (epochs * steps_per_epoch // sink_size, sink_size) if not plan.cpu else (epochs, steps_per_epoch)
    )
    return PlannedStage(
        label=label,
        index=stage.index,
        name=stage.name,
        records=stage.records,
        epochs=epochs,
        batch_size=plan.batch_size,
        global_batch=global_batch,
        steps_per_epoch=steps_per_epoch,
        dataset=dataset,
        load_checkpoint=load,
        output=output,
        sink_size=sink_size if not plan.cpu else 0,
        last_checkpoint=f"{checkpoint_prefix(config)}_rank_{{rank}}-{epochs_named}_{step_named}.ckpt",
        config=config,
    )


def stage_files(plan: Resolved, planned: PlannedStage, previous: PlannedStage | None, position: int) -> dict:
    """``<label>/finetune.yaml`` and ``<label>/launch.sh`` of one planned stage."""
    total = len(plan.curriculum.stages)
    label, multi = planned.label, plan.multi
    profile = plan.profile
    origin = "the base checkpoint" if previous is None else f"{previous.label}'s checkpoint"
    sinking = (
        f"dataset sinking in {planned.sink_size}-step sinks" if planned.sink_size else "no dataset sinking"
    )
    where = (
        "CPU (--device cpu): runner_wrapper CpuTrainOneStepCell (register/cpu_train_step.py: "
        "MFTrainOneStepCell with an IsFinite overflow check, which the CPU has a kernel for), no sinking"
        if plan.cpu
        else f"max_device_memory {plan.options.max_device_memory}: sized for a 64 GB card (Atlas 800T A2 "
        "64G); lower it on a 32 GB card"
    )
    header = (
        f"Stage {position} of {total} of curriculum {plan.curriculum.name!r}: {planned.name}\n"
        f"{planned.records:,} records x {planned.epochs} epoch(s), batch {plan.batch_size} x "
        f"{plan.layout['data_parallel']} data-parallel = {planned.global_batch} per step "
        f"({planned.steps_per_epoch:,} steps per epoch, {sinking})\n"
        f"last checkpoint: output/checkpoint/rank_<r>/{planned.last_checkpoint.replace('{rank}', '<r>')}\n"
        f"loads {origin} with resume_training False (weights carry over; optimizer and "
        f"schedule restart)\nMindFormers {profile.releases}: {profile.checkpoint_callback}, "
        f"{profile.optimizer['type']}\n{where}\n"
        f"rendered by `datagen train plan` from configs/mindformers/{plan.preset.template}"
    )
    yaml_path = f"{plan.run_root}/{label}/finetune.yaml"
    if plan.launcher == "entry":
        command = f'"{plan.run_root}/mindformers_entry.py" --run_mode finetune --config "{yaml_path}"'
    else:
        command = (
            f"{plan.preset.entry} --config {yaml_path} --run_mode finetune "
            f"--use_parallel {multi} --load_checkpoint {planned.load_checkpoint} --auto_trans_ckpt False"
        )
    launch = StageLaunch(
        label=label,
        position=position,
        total=total,
        name=planned.name,
        records=planned.records,
        epochs=planned.epochs,
        cards=plan.cards,
        origin=origin,
        previous_label=None if previous is None else previous.label,
        load=planned.load_checkpoint,
        output=planned.output,
        command=command,
        master_port=plan.options.master_port,
        launcher=plan.launcher,
        register_path=f"{plan.run_root}/register" if plan.cpu else "",
    )
    return {
        f"{label}/finetune.yaml": dump_yaml(planned.config, header),
        f"{label}/launch.sh": launch_script(launch, plan.home),
    }


@dataclass(frozen=True)
class Checkpoint:
    """What predict and eval load: the last stage's checkpoint folder and, on several cards, its strategy."""

    label: str
    folder: str
    strategy_dir: str
    strategy_file: str
    name: str  # the file each rank_<r>/ holds ({rank}), the stage's last
    ranks: int

    def args(self, work_dir: str) -> list[str]:
        """predict.py's options that take exactly this checkpoint (merged once per source, in ``work_dir``)."""
        args = [
            f'--load_checkpoint "{self.folder}"',
            f'--checkpoint_name "{self.name}"',
            f"--ranks {self.ranks}",
            f'--work_dir "{work_dir}"',
        ]
        if self.strategy_file:
            args.append(f'--strategy "{self.strategy_file}"')
        return args


def final_checkpoint(plan: Resolved, last: PlannedStage) -> Checkpoint:
    return Checkpoint(
        label=last.label,
        folder=f"{last.output}/checkpoint",
        strategy_dir=f"{last.output}/strategy" if plan.multi else "",
        strategy_file=f"{last.output}/strategy/ckpt_strategy_rank_0.ckpt" if plan.multi else "",
        name=last.last_checkpoint,
        ranks=plan.cards,
    )


def predict_files(plan: Resolved, heldout: Heldout, checkpoint: Checkpoint) -> tuple[dict, dict]:
    """The prompts, yaml and script predicting one held-out set, and its manifest entry."""
    curriculum, options, run_root = plan.curriculum, plan.options, plan.run_root
    records = read_heldout(heldout)
    name = heldout.name
    lines = [
        json.dumps(
            {"id": r["id"], "prompt": inference_prompt(curriculum.template, r["problem"])},
            ensure_ascii=False,
        )
        for r in records
    ]
    files = {f"predict/{name}.jsonl": "".join(line + "\n" for line in lines)}
    config = inference_config(
        plan.preset,
        "predict_llama.yaml",
        plan.lora,
        seq_length=plan.seq_length,
        load_checkpoint=checkpoint.folder,
        src_strategy=checkpoint.strategy_dir,
        auto_trans_ckpt=False,
        output_dir=f"{run_root}/predict/output",
        batch_size=options.predict_batch_size,
        max_new_tokens=options.max_new_tokens,
        vocab_file=plan.vocab_file,
        seed=options.seed,
        device_target=plan.device_target,
        max_device_memory=options.max_device_memory,
    )
    files[f"predict/{name}.yaml"] = dump_yaml(
        config,
        (
            f"Greedy prediction of held-out set {name!r} ({len(records):,} prompts) with "
            f"{checkpoint.label}'s checkpoint\n({checkpoint.name.replace('{rank}', '<r>')} of each rank, merged "
            "by predict.py when there are several).\nPrompts use template {curriculum.template!r}, "
            "the one the training data was exported with.\n"
            "rendered by `datagen train plan` from configs/mindformers/predict_llama.yaml"
        ),
    )
    args = [
        f'--config "{run_root}/predict/{name}.yaml"',
        f'--input "{run_root}/predict/{name}.jsonl"',
        f'--out "{run_root}/predict/predictions_{name}.npy"',
        f'--jsonl "{run_root}/predict/predictions_{name}.jsonl"',
        *checkpoint.args(f"{run_root}/predict"),
        f'--vocab_file "{plan.vocab_file}"',
        f"--digits {curriculum.digits}",
    ]
    if plan.cpu:
        args += ["--greedy", "--device_target CPU"]  # generate's argmax has no CPU kernel
    files[f"predict/predict_{name}.sh"] = predict_script(
        name, len(records), checkpoint.label, run_root, args, None if plan.cpu else plan.home
    )
    entry = {
        "name": name,
        "prompts": len(records),
        "input": f"predict/{name}.jsonl",
        "yaml": f"predict/{name}.yaml",
        "script": f"predict/predict_{name}.sh",
        "npy": f"predict/predictions_{name}.npy",
        "jsonl": f"predict/predictions_{name}.jsonl",
        "heldout": str(heldout.path),
    }
    return files, entry


def squad_files(plan: Resolved, checkpoint: Checkpoint) -> dict:
    """``eval/squad_eval.yaml`` and ``eval/squad_eval.sh``: EmF1Metric on the last checkpoint."""
    options, run_root = plan.options, plan.run_root
    squad = inference_config(
        plan.preset,
        "eval_squad_llama.yaml",
        plan.lora,
        seq_length=options.squad_seq_length,
        load_checkpoint=checkpoint.folder,
        src_strategy="",
        auto_trans_ckpt=False,
        output_dir=f"{run_root}/eval/output",
        batch_size=1,
        max_new_tokens=20,
        vocab_file=plan.vocab_file,
        seed=options.seed,
        device_target=plan.device_target,
        max_device_memory=options.max_device_memory,
        eval_dataset=plan.squad_data,
        workers=options.cores or os.cpu_count(),
    )
    resolve = f'python "{run_root}/predict/predict.py" --print_checkpoint ' + " ".join(
        checkpoint.args(f"{run_root}/predict")
    )
    command = (
        f'python "{run_root}/mindformers_entry.py" --run_mode eval --config "{run_root}/eval/squad_eval.yaml" '
        '--load_checkpoint "$CHECKPOINT"'
    )
    if plan.preset.tokenizer == "llama3":
        if plan.profile.needs_research_tokenizer and not plan.cpu:
            command += f' --tokenizer-module "$MINDFORMERS_HOME/{RESEARCH_TOKENIZER}"'
        else:
            command += f' --datagen-tokenizer "{run_root}/predict/predict.py"'
    dtype = plan.preset.inference_model_config.get("compute_dtype")
    return {
        "eval/squad_eval.yaml": dump_yaml(
            squad,
            (
                f"SQuAD retention check of {checkpoint.label}'s checkpoint with MindFormers' EmF1Metric.\n"
                "Gate (REFERENCE §1): F1 >= 53.883 and EM >= 39.753 (90 % of the base model's "
                "59.870 / 44.170).\n"
                + (
                    f"Runs in {dtype}, the dtype the base scores were measured in.\n"
                    if dtype and not plan.cpu
                    else ""
                )
                + (
                    "CPU: greedy as top-1 sampling with numpy post-processing (generate's argmax has no CPU "
                    "kernel), use_past off.\n"
                    if plan.cpu
                    else ""
                )
                + "Run by mindformers_entry.py (MindFormers' Trainer.evaluate with the Llama3 tokenizer "
                "registered and passed in) on exactly\n"
                f"{checkpoint.name.replace('{rank}', '<r>')} of each rank (merged by predict.py when there are "
                "several), which squad_eval.sh passes.\n"
                "rendered by `datagen train plan` from configs/mindformers/eval_squad_llama.yaml"
            ),
        ),
        "eval/squad_eval.sh": squad_script(
            checkpoint.label, run_root, plan.squad_data, resolve, command, None if plan.cpu else plan.home
        ),
    }


def plan_manifest(
    plan: Resolved, stages: list[PlannedStage], predict: list[dict], warnings: list[str]
) -> dict:
    curriculum = plan.curriculum
    return {
        "curriculum": {
            "name": curriculum.name,
            "path": str(curriculum.root),
            "template": curriculum.template,
            "seq_length": plan.seq_length,
            "digits": curriculum.digits,
        },
        "model": plan.preset.name,
        "mindformers": {
            "version": plan.version,
            "profile": plan.profile.name,
            "releases": plan.profile.releases,
            "checkpoint_callback": plan.profile.checkpoint_callback,
            "optimizer": plan.profile.optimizer["type"],
            "tokenizer": plan.profile.tokenizer_source,
            "contest_zip": plan.profile.contest_zip,
        },
        "device": plan.options.device,
        "cards": plan.cards,
        "launcher": plan.launcher,
        "parallel": plan.layout,
        "lora": asdict(plan.lora),
        "params": plan.count.as_dict(),
        "learning_rate": plan.learning_rate,
        "batch_size": plan.batch_size,
        "run_root": plan.run_root,
        "data_root": plan.data_root,
        "base_checkpoint": plan.base_checkpoint,
        "vocab_file": plan.vocab_file,
        "squad_data": plan.squad_data,
        "stages": [
            {k: v for k, v in asdict(s).items() if k != "config"}
            | {"yaml": f"{s.label}/finetune.yaml", "launch": f"{s.label}/launch.sh"}
            for s in stages
        ],
        "predict": predict,
        "eval": {
            "yaml": "eval/squad_eval.yaml",
            "script": "eval/squad_eval.sh",
            "entry": "mindformers_entry.py",
        },
        "run_all": "run_all.sh",
        "warnings": warnings,
    }


def render_plan(curriculum: Curriculum, preset: Preset, options: PlanOptions, out_dir: str | Path) -> Plan:
    """Every file of the run directory as text, nothing written."""
    plan = resolve(curriculum, preset, options, out_dir)
    files: dict[str, str] = {}
    executables: set[str] = set()
    warnings: list[str] = list(plan.warnings)
    if options.run_root is None and not os.path.exists(plan.base_checkpoint):
        warnings.append(
            f"stage 1 loads the base checkpoint {plan.base_checkpoint}, which does not exist; put it "
            "there, or pass --base-checkpoint (and --run-root when the plan runs on another host)"
        )
    stages: list[PlannedStage] = []
    previous: PlannedStage | None = None
    for stage in curriculum.stages:
        planned = plan_stage(plan, stage, previous, warnings)
        files.update(stage_files(plan, planned, previous, len(stages) + 1))
        executables.add(f"{planned.label}/launch.sh")
        stages.append(planned)
        previous = planned

    checkpoint = final_checkpoint(plan, stages[-1])
    files["predict/predict.py"] = PREDICT_SCRIPT.read_text(encoding="utf-8")
    files["mindformers_entry.py"] = MINDFORMERS_ENTRY.read_text(encoding="utf-8")
    if plan.cpu:
        files["register/cpu_train_step.py"] = CPU_TRAIN_STEP.read_text(encoding="utf-8")
    predict = []
    for heldout in curriculum.heldout:
        predict_set, entry = predict_files(plan, heldout, checkpoint)
        files.update(predict_set)
        executables.add(entry["script"])
        predict.append(entry)
    files.update(squad_files(plan, checkpoint))
    executables.add("eval/squad_eval.sh")
    files["run_all.sh"] = run_all_script(
        [s.label for s in stages], [(item["name"], item["script"]) for item in predict]
    )
    executables.add("run_all.sh")

    manifest = plan_manifest(plan, stages, predict, warnings)
    files["plan.json"] = json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"
    return Plan(
        files=files,
        executables=executables,
        manifest=manifest,
        stages=stages,
        count=plan.count,
        warnings=warnings,
    )


def write_plan(plan: Plan, out_dir: str | Path, force: bool = False) -> Path:
    """Write the plan's files into ``out_dir``; a refusal or an interruption leaves nothing half-written.

    A new directory is built beside the target and appears whole.  With ``force`` an existing one
    keeps everything the plan does not render (stage outputs, checkpoints, logs); each of the
    plan's own files is replaced atomically.
    """
    target = Path(out_dir)
    check_target(target, force, option="--out", directory=True)
    if not target.exists():
        with staged(target, directory=True) as folder:
            for relative, text in plan.files.items():
                _write(folder / relative, text, relative in plan.executables)
        return target
    for relative, text in plan.files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(path, "w") as handle:
            handle.write(text)
        if relative in plan.executables:
            path.chmod(0o755)
    return target


def _write(path: Path, text: str, executable: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")
    if executable:
        path.chmod(0o755)
