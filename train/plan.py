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
from datagen.train.profiles import DEFAULT_VERSION, Profile, profile_for

from datagen.output import atomic_open, check_target, staged

PREDICT_SCRIPT = Path(__file__).with_name("predict_script.py")
SQUAD_ENTRY = Path(__file__).with_name("squad_entry.py")
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
    max_device_memory: str = "58GB"
    seed: int = 0
    mindformers: str = DEFAULT_VERSION  # the MindFormers release on the NPU host


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
    warnings: list[str]

    @property
    def seq_length(self) -> int:
        return self.curriculum.seq_length

    @property
    def multi(self) -> bool:
        return self.cards > 1

    @property
    def global_batch(self) -> int:
        return self.batch_size * self.layout["data_parallel"]


def resolve(curriculum: Curriculum, preset: Preset, options: PlanOptions, out_dir: str | Path) -> Resolved:
    """Fill in the defaults (the preset's, the curriculum's) and reject what cannot run."""
    lora = resolve_lora(preset, options)
    count = count_lora(preset, lora.rank, lora.targets, lora.alpha)
    profile = profile_for(options.mindformers)
    cards = options.cards or preset.train.cards
    if cards <= 0:
        raise PlanError(f"--cards must be positive, got {cards}")
    model_parallel = options.model_parallel or math.gcd(preset.train.model_parallel, cards)
    layout = parallel_layout(cards, model_parallel)
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
    home = _check_path(options.mindformers_home, "--mf-home")
    warnings = []
    if layout["data_parallel"] > 1:
        warnings.append(checkpoint_disk_warning(preset, count, layout))
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
        device_target=options.device_target,
        max_device_memory=options.max_device_memory,
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
        config=config,
    )


def stage_files(plan: Resolved, planned: PlannedStage, previous: PlannedStage | None, position: int) -> dict:
    """``<label>/finetune.yaml`` and ``<label>/launch.sh`` of one planned stage."""
    total = len(plan.curriculum.stages)
    label, multi = planned.label, plan.multi
    profile = plan.profile
    origin = "the base checkpoint" if previous is None else f"{previous.label}'s checkpoint"
    header = (
        f"Stage {position} of {total} of curriculum {plan.curriculum.name!r}: {planned.name}\n"
        f"{planned.records:,} records x {planned.epochs} epoch(s), batch {plan.batch_size} x "
        f"{plan.layout['data_parallel']} data-parallel = {planned.global_batch} per step "
        f"({planned.steps_per_epoch:,} steps per epoch)\n"
        f"loads {origin} with resume_training False (weights carry over; optimizer and "
        f"schedule restart)\nMindFormers {profile.releases}: {profile.checkpoint_callback}, "
        f"{profile.optimizer['type']}\n"
        f"rendered by `datagen train plan` from configs/mindformers/{plan.preset.template}"
    )
    command = (
        f"{plan.preset.entry} --config {plan.run_root}/{label}/finetune.yaml --run_mode finetune "
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


def final_checkpoint(plan: Resolved, last: PlannedStage) -> Checkpoint:
    return Checkpoint(
        label=last.label,
        folder=f"{last.output}/checkpoint",
        strategy_dir=f"{last.output}/strategy" if plan.multi else "",
        strategy_file=f"{last.output}/strategy/ckpt_strategy_rank_0.ckpt" if plan.multi else "",
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
        auto_trans_ckpt=plan.multi,
        output_dir=f"{run_root}/predict/output",
        batch_size=options.predict_batch_size,
        max_new_tokens=options.max_new_tokens,
        vocab_file=plan.vocab_file,
        seed=options.seed,
        device_target=options.device_target,
        max_device_memory=options.max_device_memory,
    )
    files[f"predict/{name}.yaml"] = dump_yaml(
        config,
        (
            f"Greedy prediction of held-out set {name!r} ({len(records):,} prompts) with "
            f"{checkpoint.label}'s checkpoint.\nPrompts use template {curriculum.template!r}, "
            "the one the training data was exported with.\n"
            "rendered by `datagen train plan` from configs/mindformers/predict_llama.yaml"
        ),
    )
    args = [
        f'--config "{run_root}/predict/{name}.yaml"',
        f'--input "{run_root}/predict/{name}.jsonl"',
        f'--out "{run_root}/predict/predictions_{name}.npy"',
        f'--jsonl "{run_root}/predict/predictions_{name}.jsonl"',
        f'--load_checkpoint "{checkpoint.folder}"',
        f'--vocab_file "{plan.vocab_file}"',
        f"--digits {curriculum.digits}",
    ]
    if checkpoint.strategy_file:
        args.append(f'--strategy "{checkpoint.strategy_file}"')
    files[f"predict/predict_{name}.sh"] = predict_script(
        name, len(records), checkpoint.label, run_root, args, plan.home
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
        src_strategy=checkpoint.strategy_dir,
        auto_trans_ckpt=plan.multi,
        output_dir=f"{run_root}/eval/output",
        batch_size=1,
        max_new_tokens=20,
        vocab_file=plan.vocab_file,
        seed=options.seed,
        device_target=options.device_target,
        max_device_memory=options.max_device_memory,
        eval_dataset=plan.squad_data,
    )
    command = (
        f'python "{run_root}/eval/squad_eval.py" --config "{run_root}/eval/squad_eval.yaml" '
        f'--load_checkpoint "{checkpoint.folder}"'
    )
    if plan.preset.tokenizer == "llama3":
        if plan.profile.needs_research_tokenizer:
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
                + (f"Runs in {dtype}, the dtype the base scores were measured in.\n" if dtype else "")
                + "Run by eval/squad_eval.py (MindFormers' Trainer.evaluate with the Llama3 tokenizer "
                "registered and passed in).\n"
                "rendered by `datagen train plan` from configs/mindformers/eval_squad_llama.yaml"
            ),
        ),
        "eval/squad_eval.py": SQUAD_ENTRY.read_text(encoding="utf-8"),
        "eval/squad_eval.sh": squad_script(checkpoint.label, run_root, plan.squad_data, command, plan.home),
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
            "version": plan.options.mindformers,
            "profile": plan.profile.name,
            "releases": plan.profile.releases,
            "checkpoint_callback": plan.profile.checkpoint_callback,
            "optimizer": plan.profile.optimizer["type"],
            "tokenizer": plan.profile.tokenizer_source,
            "contest_zip": plan.profile.contest_zip,
        },
        "cards": plan.cards,
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
            "entry": "eval/squad_eval.py",
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
