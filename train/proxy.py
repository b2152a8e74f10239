"""``datagen train proxy``: train a small Llama from scratch on a curriculum, on the CPU, and
score it on the curriculum's own held-out sets, type by type and digit count by digit count.

The model reads the stages' exported MindRecords in order (Llama3 ids, so tokenisation
effects such as ``--digits 1`` stay real) through a vocabulary compacted to the ids that
occur.  The learning rate warms up, then stays constant (or decays on a cosine) over the whole
step budget; the batches are drawn by a seeded generator, and the held-out sets are decoded
greedily with the training template and judged by eval's own scoring functions: the same seed
and budget give the same accuracy twice.

Runs are paired across curricula: a seed fixes the batch order and every initial weight, the
embedding and output rows included (drawn per real token id, so two curricula whose compacted
vocabularies differ still start from the same row for a shared token).
"""

from __future__ import annotations

import json
import math
import os
import resource
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from datagen.curricula.prompt import format_for_tokenizer
from datagen.curricula.templates import inference_prompt
from datagen.train.curriculum import Curriculum, load_curriculum, read_heldout

from datagen.errors import DatagenError
from datagen.output import atomic_open

IGNORE = -100
SCHEDULES = ("constant", "cosine")
EMBEDDING_SIGMA = 0.01  # MindSpore's Normal() initializer, which MindFormers' Llama uses for both tables
# a run is still rising when the evaluation subset gains more than this over the last quarter
RISING_POINTS = 5.0


class ProxyError(DatagenError, RuntimeError):
    """A proxy run cannot go on; the message says why."""


@dataclass
class ProxyOptions:
    curriculum: str
    out: str
    steps: int = 8000  # every seed of proxy_reversed past its jump (docs/proxy.md); ~5 min on 2 cores
    minutes: float | None = None
    batch_size: int = 128
    learning_rate: float = 1e-3
    schedule: str = "constant"  # after the linear warm-up
    warmup_steps: int = 100
    weight_decay: float = 0.01
    seed: int = 0
    preset: str = "proxy"
    layers: int | None = None
    hidden: int | None = None
    eval_every: int = 250
    eval_limit: int = 400  # held-out items per split on the learning curve (the same items each time)
    heldout_limit: int | None = None  # items per split at the final evaluation (None: all)
    max_new_tokens: int | None = None  # default: the longest trained answer + 1
    decode_batch: int = 128
    tokenizer: str | None = None


@dataclass
class StageData:
    name: str
    input_ids: object  # numpy int32 [n, width], compact ids
    labels: object
    records: int


@dataclass
class ProxyResult:
    out: str
    steps: int = 0
    seconds: float = 0.0
    parameters: int = 0
    vocabulary: int = 0
    seq_length: int = 0
    shared_prefix: int = 0
    peak_rss_mb: float = 0.0
    stage_steps: list = field(default_factory=list)
    losses: list = field(default_factory=list)
    curve: list = field(default_factory=list)  # accuracy on the first eval_limit items per split, every eval
    rising: dict = field(default_factory=dict)  # per split: points gained over the last quarter of the budget
    final: dict = field(default_factory=dict)


@contextmanager
def _inside(path: Path):
    """MindFormers writes ./output and its log folder where it runs: keep both in the run folder."""
    previous, saved = os.getcwd(), os.environ.get("LOCAL_DEFAULT_PATH")
    os.environ["LOCAL_DEFAULT_PATH"] = str(path / "output")
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)
        if saved is None:
            os.environ.pop("LOCAL_DEFAULT_PATH", None)
        else:
            os.environ["LOCAL_DEFAULT_PATH"] = saved


def split_steps(total: int, records: list[int]) -> list[int]:
    """Steps per stage in proportion to its records (largest remainder), every stage at least one."""
    whole = sum(records)
    exact = [total * r / whole for r in records]
    steps = [max(1, int(x)) for x in exact]
    order = sorted(range(len(records)), key=lambda k: exact[k] - int(exact[k]), reverse=True)
    k = 0
    while sum(steps) < total:
        steps[order[k % len(order)]] += 1
        k += 1
    while sum(steps) > total and max(steps) > 1:
        steps[steps.index(max(steps))] -= 1
    return steps


def read_stage(tm, stage):
    """A stage's MindRecord as two int32 arrays (read with MindDataset, filled in place)."""
    import numpy as np

    ids = labels = None
    count = 0
    for k, (a, b) in enumerate(tm.read_records(stage.mindrecord)):
        if ids is None:
            ids = np.empty((stage.records, len(a)), dtype=np.int32)
            labels = np.empty_like(ids)
        if k >= len(ids):
            raise ProxyError(f"stage {stage.name}: {stage.mindrecord} holds more records than curriculum.json says")
        ids[k], labels[k] = a, b
        count = k + 1
    if not count:
        raise ProxyError(f"stage {stage.name}: {stage.mindrecord} holds no records")
    return ids[:count], labels[:count]


def real_length(row, pad_id: int) -> int:
    """Tokens before the trailing padding."""
    import numpy as np

    nonpad = np.flatnonzero(row != pad_id)
    return int(nonpad[-1]) + 1 if len(nonpad) else 0


def shared_prefix(arrays, prompts) -> int:
    """Length of the token run after BOS that every training row and every prompt shares."""
    first = arrays[0][0]
    limit = min(min(a.shape[1] for a in arrays), min(len(p) for p in prompts)) - 1
    cut = 0
    while cut < limit:
        token = first[1 + cut]
        if not all(bool((a[:, 1 + cut] == token).all()) for a in arrays):
            break
        if any(p[1 + cut] != token for p in prompts):
            break
        cut += 1
    # keep the last shared token: the model needs a position to predict the first real token from
    return max(0, cut - 1)


def run_proxy(options: ProxyOptions, echo: Callable[[str], None] | None = None) -> ProxyResult:
    say = echo or (lambda _m: None)
    curriculum = load_curriculum(Path(options.curriculum).resolve())
    missing = [s for s in curriculum.stages if s.mindrecord is None]
    if missing:
        raise ProxyError(f"stage {missing[0].name} has no MindRecord; build the curriculum without --skip-mindrecord")
    if not curriculum.heldout:
        raise ProxyError(f"{options.curriculum}: the curriculum has no held-out set to score")
    out = Path(options.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    with _inside(out):
        return _run(options, curriculum, out, say)


def _run(options: ProxyOptions, curriculum: Curriculum, out: Path, say) -> ProxyResult:
    import numpy as np
    from datagen.train import model as tm
    from datagen.train.plan import render_model_config
    from datagen.train.presets import load_preset
    from datagen.train.smoke import load_tokenizer

    started = time.time()
    tm.cpu_context()
    preset = load_preset(options.preset)
    special_real = {k: int(preset.model_config[k]) for k in ("bos_token_id", "eos_token_id", "pad_token_id")}
    pad_real, bos_real = special_real["pad_token_id"], special_real["bos_token_id"]
    tokenizer = load_tokenizer(curriculum.digits, options.tokenizer)

    chat = format_for_tokenizer(getattr(tokenizer, "name", None)).name  # the prompt the curriculum trained on
    heldout = {}
    for held in curriculum.heldout:
        rows = read_heldout(held, options.heldout_limit)
        prompts = [[bos_real, *tokenizer.encode(inference_prompt(curriculum.template, r["problem"], chat))]
                   for r in rows]
        heldout[held.name] = (held, rows, prompts)

    say(f"reading {len(curriculum.stages)} stage MindRecord(s)")
    raw_stages, used, longest, answer_max = [], set(special_real.values()), 0, 0
    for stage in curriculum.stages:
        ids, labels = read_stage(tm, stage)
        used.update(np.unique(ids).tolist())
        longest = max(longest, max(real_length(row, pad_real) for row in ids))
        trained = int((labels != IGNORE).sum(axis=1).max())
        if trained == 0:
            raise ProxyError(f"stage {stage.name}: no record keeps a trained token within seq_length "
                             f"{curriculum.seq_length} (the prompts fill the window); rebuild with a larger seq_length")
        answer_max = max(answer_max, trained)
        raw_stages.append((stage, ids, labels))
    for _, _, prompts in heldout.values():
        for p in prompts:
            used.update(p)
    # every sample starts with the same BOS + system text + "USER:": dropping that shared prefix
    # (RoPE is relative) shortens the window without changing what can be learned
    cut = shared_prefix([ids for _, ids, _ in raw_stages], [p for _, _, ps in heldout.values() for p in ps])
    if cut:
        raw_stages = [(stage, np.concatenate([ids[:, :1], ids[:, 1 + cut:]], axis=1),
                       np.concatenate([labels[:, :1], labels[:, 1 + cut:]], axis=1))
                      for stage, ids, labels in raw_stages]
        longest -= cut
        heldout = {name: (held, rows, [p[:1] + p[1 + cut:] for p in prompts])
                   for name, (held, rows, prompts) in heldout.items()}
    token_map = tm.TokenMap.from_ids(used)
    special = {k: int(token_map.to_compact(np.array([v]))[0]) for k, v in special_real.items()}
    max_new = options.max_new_tokens or answer_max + 1
    prompt_max = max(len(p) for _, _, prompts in heldout.values() for p in prompts)
    # the exact window: every padded position costs as much as a real one (2 x 64 on 20 tokens is ~25 %
    # faster than on 24)
    seq_length = max(longest - 1, prompt_max + max_new)
    stages = []
    for stage, ids, labels in raw_stages:
        width = min(ids.shape[1], seq_length + 1)
        ids_c = token_map.to_compact(ids[:, :width])
        labels_c = token_map.to_compact(labels[:, :width])
        if width < seq_length + 1:  # pad out to the model's window
            extra = seq_length + 1 - width
            ids_c = np.pad(ids_c, ((0, 0), (0, extra)), constant_values=special["pad_token_id"])
            labels_c = np.pad(labels_c, ((0, 0), (0, extra)), constant_values=IGNORE)
        stages.append(StageData(stage.name, ids_c, labels_c, len(ids)))

    model_config = render_model_config(preset, seq_length, cpu=True)
    model_config.update(special, vocab_size=token_map.size, batch_size=options.batch_size)
    if options.layers:
        model_config["num_layers"] = options.layers
    if options.hidden:
        model_config["hidden_size"] = options.hidden
        model_config["intermediate_size"] = 3 * options.hidden
    result = ProxyResult(out=str(out), vocabulary=token_map.size, seq_length=seq_length, shared_prefix=cut)

    def build():
        tm.set_seed(options.seed)
        network = tm.build_from_model_config(model_config, None)
        paired_tables(network, token_map, options.seed)
        return network

    total_steps = options.steps
    if options.minutes:
        total_steps = _steps_for_minutes(build, stages, options, special, started, say)
    network = build()
    result.parameters = tm.total_count(network)
    result.steps = total_steps
    say(f"{preset.name} ({model_config['num_layers']}x{model_config['hidden_size']}): {result.parameters:,} "
        f"parameters, vocabulary {token_map.size:,} (compacted), window {seq_length}; {total_steps:,} steps "
        f"of batch {options.batch_size}, {options.schedule} learning rate {options.learning_rate:g}")

    stage_steps = split_steps(total_steps, [s.records for s in stages])
    step_fn = _step_function(network, total_steps, options)
    checkpoints = sorted({0, total_steps, *range(options.eval_every, total_steps, options.eval_every)}) \
        if options.eval_every else [0, total_steps]

    def evaluate(step: int, final: bool = False):
        for name, (_held, rows, prompts) in heldout.items():
            count = len(rows) if final else min(len(rows), options.eval_limit)
            texts = _decode(network, prompts[:count], token_map, tokenizer, special, max_new, seq_length,
                            options)
            subset = min(count, options.eval_limit)
            # the curve follows the same items at every step, the final evaluation included
            curve_report = score_answers(rows[:subset], texts[:subset], curriculum.template)
            for family, tally in curve_report["by_type"].items():
                result.curve.append({"step": step, "split": name, "type": family, "strict": tally["strict"],
                                     "n": tally["n"]})
            overall = curve_report["overall"]
            result.curve.append({"step": step, "split": name, "type": "all", "strict": overall["strict"],
                                 "n": overall["n"]})
            report = curve_report
            if final:
                report = score_answers(rows, texts, curriculum.template)
                write_scored(out, name, rows, texts, report)
                result.final[name] = _summary(report)
            say(f"step {step:>6,}: {name} strict {_pct(report['overall']['strict'])} "
                + " ".join(f"{t} {_pct(v['strict'])}" for t, v in report["by_type"].items()))

    evaluate(0)
    rng = np.random.default_rng(options.seed)
    done = 0
    progress = _progress(total_steps, say)
    for stage, steps in zip(stages, stage_steps):
        result.stage_steps.append({"stage": stage.name, "steps": steps, "records": stage.records,
                                   "start": done})
        order = np.empty(0, dtype=np.int64)
        for _ in range(steps):
            if len(order) < options.batch_size:
                order = np.concatenate([order, rng.permutation(stage.records)])
            batch, order = order[: options.batch_size], order[options.batch_size:]
            if stage.records < options.batch_size:
                batch = rng.choice(stage.records, options.batch_size)
            loss = step_fn(stage.input_ids[batch], stage.labels[batch])
            result.losses.append(round(loss, 5))
            done += 1
            progress(done, loss)
            if done in checkpoints and done != total_steps:
                evaluate(done)
    evaluate(total_steps, final=True)
    result.rising = rise_over_last_quarter(result.curve, total_steps)
    result.seconds = round(time.time() - started, 1)
    result.peak_rss_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    for split, points in result.rising.items():
        if points > RISING_POINTS:
            say(f"{split}: accuracy rose {points:.1f} points over the last quarter of the budget; "
                "the run may not be past its jump (give more --steps)")
    write_report(result, options, curriculum, out)
    return result


def paired_tables(network, token_map, seed: int) -> None:
    """Redraw the embedding and output rows per real token id, so a seed starts every curriculum alike.

    The other weights already agree across curricula (their shapes do not depend on the vocabulary).
    """
    import mindspore as ms
    import numpy as np

    for parameter in network.get_parameters():
        if parameter.name.endswith(("tok_embeddings.embedding_weight", "lm_head.weight")):
            rows, width = parameter.shape
            if rows != token_map.size:
                raise ProxyError(f"{parameter.name} has {rows} rows for a vocabulary of {token_map.size}")
            table = 0 if "embedding" in parameter.name else 1
            values = np.stack([
                np.random.default_rng([seed, table, int(real) + 1]).normal(0.0, EMBEDDING_SIGMA, width)
                for real in token_map.ids
            ]).astype(np.float32)
            parameter.set_data(ms.Tensor(values))


def learning_rates(schedule: str, steps: int, peak: float, warmup: int) -> list[float]:
    """Per-step learning rates: a linear warm-up, then constant or a cosine decay to zero."""
    if schedule not in SCHEDULES:
        raise ProxyError(f"schedule: {schedule!r} is not one of {', '.join(SCHEDULES)}")
    warmup = max(1, min(warmup, steps // 4 or 1))
    rates = []
    for step in range(steps):
        if step < warmup:
            rates.append(peak * (step + 1) / warmup)
        elif schedule == "constant":
            rates.append(peak)
        else:
            progress = (step - warmup) / max(1, steps - warmup)
            rates.append(peak * 0.5 * (1 + math.cos(math.pi * progress)))
    return rates


def rise_over_last_quarter(curve: list[dict], total_steps: int) -> dict[str, float]:
    """Per split: accuracy points gained (all types) from the last evaluation at or before 3/4 of the
    budget to the end; a large rise means the budget ends before the jump has levelled off."""
    out = {}
    for split in sorted({c["split"] for c in curve}):
        points = sorted((c["step"], c["strict"]) for c in curve
                        if c["split"] == split and c["type"] == "all" and c["strict"] is not None)
        if len(points) < 2:
            continue
        # only an evaluation in the second half of the budget says whether the curve has levelled off
        before = [acc for step, acc in points if total_steps / 2 <= step <= 0.75 * total_steps]
        if before:
            out[split] = round(100 * (points[-1][1] - before[-1]), 1)
    return out


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _progress(total: int, say):
    started = time.time()
    every = max(1, total // 20)

    def tick(done: int, loss: float) -> None:
        if done % every == 0 or done == total:
            rate = done / max(1e-9, time.time() - started)
            say(f"step {done:>6,}/{total:,} loss {loss:.4f} ({rate:.1f} steps/s)")

    return tick


def _step_function(network, total_steps: int, options: ProxyOptions):
    """One training step (MindSpore's TrainOneStepCell, AdamW); the schedule spans the whole budget,
    so a cosine decays across the stages, not within each."""
    import mindspore as ms
    import numpy as np
    from mindspore import nn

    rates = learning_rates(options.schedule, total_steps, options.learning_rate, options.warmup_steps)
    lrs = np.asarray(rates, dtype=np.float32)
    optimizer = nn.AdamWeightDecay(network.trainable_params(), learning_rate=ms.Tensor(lrs),
                                   weight_decay=options.weight_decay)
    cell = nn.TrainOneStepCell(network, optimizer)

    def run(input_ids, labels) -> float:
        cell.set_train(True)
        loss = cell(ms.Tensor(input_ids, ms.int32), ms.Tensor(labels, ms.int32))
        return float(loss.asnumpy().reshape(-1)[0])

    return run


def _steps_for_minutes(build, stages, options: ProxyOptions, special, started: float, say) -> int:
    """Turn a wall-clock budget into a step budget by timing a few steps (the schedule needs a count)."""
    import numpy as np

    network = build()
    step_fn = _step_function(network, 100, options)
    first = stages[0]
    batch = np.arange(options.batch_size) % first.records
    step_fn(first.input_ids[batch], first.labels[batch])  # compile
    tick = time.time()
    for _ in range(5):
        step_fn(first.input_ids[batch], first.labels[batch])
    per_step = (time.time() - tick) / 5
    left = options.minutes * 60 - (time.time() - started)
    steps = max(10, int(0.8 * left / per_step))  # a fifth of the budget for decoding and scoring
    say(f"{options.minutes:g} min budget: {per_step * 1000:.0f} ms/step -> {steps:,} steps")
    return steps


def _decode(network, prompts, token_map, tokenizer, special, max_new, seq_length, options) -> list[str]:
    from datagen.train.predict_script import greedy_decode

    compact = [token_map.to_compact(p).tolist() for p in prompts]
    new = greedy_decode(network, compact, max_new, special["eos_token_id"], pad_id=special["pad_token_id"],
                        seq_length=seq_length, batch_size=options.decode_batch)
    drop = {int(token_map.ids[v]) for v in special.values()}
    network.set_train(True)
    return [tokenizer.decode([i for i in token_map.to_real(ids) if i not in drop]) for ids in new]


def score_answers(rows: list[dict], texts: list[str], template: str) -> dict:
    """Judge decoded answers with eval's own functions (the one place the proxy calls eval).

    Returns the report ``datagen eval score --json`` writes: overall, by type, by type and
    difficulty (``digits=N``, the longer operand).
    """
    from datagen.eval.gold import record_item
    from datagen.eval.metric import Scoreboard
    from datagen.eval.score import score_output

    board = Scoreboard()
    for line, (row, text) in enumerate(zip(rows, texts), 1):
        item = record_item(row, line, f"held-out item {line}")
        verdict = score_output(text, item, template)
        board.add(item.type, item.lang, item.bucket, verdict.strict, verdict.lenient,
                  verdict.extracted is not None)
    return board.as_dict()


def write_scored(out: Path, split: str, rows: list[dict], texts: list[str], report: dict) -> None:
    """The final evaluation's gold, predictions and score report, as `datagen eval score` would read them."""
    gold, pred = out / f"gold_{split}.jsonl", out / f"predictions_{split}.jsonl"
    with atomic_open(gold) as handle:
        for r in rows:
            handle.write(json.dumps(r, ensure_ascii=False) + "\n")
    with atomic_open(pred) as handle:
        for r, text in zip(rows, texts):
            handle.write(json.dumps({"id": r["id"], "output": text}, ensure_ascii=False) + "\n")
    with atomic_open(out / f"score_{split}.json") as handle:
        json.dump({"gold": str(gold), "pred": str(pred), **report}, handle, ensure_ascii=False, indent=2)
        handle.write("\n")


def _summary(data: dict) -> dict:
    """The parts of an eval report the proxy keeps: overall, by type, by type and digits."""
    def tally(t: dict) -> dict:
        return {"strict": t.get("strict"), "lenient": t.get("lenient"), "n": t.get("n")}

    return {
        "overall": tally(data["overall"]),
        "by_type": {k: tally(v) for k, v in data.get("by_type", {}).items()},
        "by_type_difficulty": {k: {b: tally(v) for b, v in rows.items()}
                               for k, rows in data.get("by_type_difficulty", {}).items()},
    }


def write_report(result: ProxyResult, options: ProxyOptions, curriculum: Curriculum, out: Path) -> None:
    report = {"curriculum": curriculum.name, "curriculum_dir": str(curriculum.root), "template": curriculum.template,
              "digits": curriculum.digits, "options": asdict(options), **asdict(result)}
    with atomic_open(out / "proxy.json") as handle:
        json.dump(report, handle, ensure_ascii=False, indent=1)
        handle.write("\n")
    with atomic_open(out / "proxy.md") as handle:
        handle.write(markdown(report))
    plot_curve(result.curve, out / "proxy_accuracy.png", curriculum.name)


def markdown(report: dict) -> str:
    o = report["options"]
    head = (f"{report['parameters']:,} parameters, vocabulary {report['vocabulary']:,}, window "
            f"{report['seq_length']}, {report['steps']:,} steps of batch {o['batch_size']}, {o['schedule']} "
            f"learning rate {o['learning_rate']:g} after {o['warmup_steps']} warm-up steps, "
            f"seed {o['seed']}, "
            f"{report['seconds']:.0f} s, peak memory {report['peak_rss_mb']:,.0f} MB.")
    lines = [f"# Proxy run: {report['curriculum']}", "", head, ""]
    rising = [f"{split} +{points:.1f} points" for split, points in report.get("rising", {}).items()
              if points > RISING_POINTS]
    if rising:
        lines += [(f"Still rising over the last quarter of the budget ({', '.join(rising)}): the run may "
                   "end before its jump has levelled off."), ""]
    for split, data in report["final"].items():
        lines += [f"## {split}", "", "| type | strict | lenient | n |", "|---|---:|---:|---:|"]
        for family, t in data["by_type"].items():
            lines.append(f"| {family} | {_pct(t['strict'])} | {_pct(t['lenient'])} | {t['n']} |")
        o_ = data["overall"]
        lines.append(f"| **all** | **{_pct(o_['strict'])}** | {_pct(o_['lenient'])} | {o_['n']} |")
        lines.append("")
        digits = data.get("by_type_difficulty") or {}
        if digits:
            lines += ["| type | digits | strict | n |", "|---|---|---:|---:|"]
            for family, buckets in digits.items():
                for bucket, t in buckets.items():
                    shown = bucket.replace("digits=", "")
                    lines.append(f"| {family} | {shown} | {_pct(t['strict'])} | {t['n']} |")
            lines.append("")
    return "\n".join(lines) + "\n"


def plot_curve(curve: list[dict], path: Path, title: str) -> None:
    """Accuracy per type against training steps: one panel per split, so the extrapolate lines
    can never hide under the in-distribution ones."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = {"in_distribution": 0, "extrapolate": 1}
    splits = sorted({c["split"] for c in curve}, key=lambda s: (order.get(s, 2), s))
    types = sorted({c["type"] for c in curve if c["type"] != "all"})
    colours = {t: plt.cm.tab10(k % 10) for k, t in enumerate(types)}
    colours["all"] = "black"
    fig, axes = plt.subplots(1, len(splits) or 1, figsize=(5.2 * max(1, len(splits)), 4.2), dpi=110,
                             sharey=True, squeeze=False)
    top = max([100 * c["strict"] for c in curve if c["strict"] is not None] or [0])
    for ax, split in zip(axes[0], splits):
        style = "-" if split == "in_distribution" else "--"
        for family in types + ["all"]:
            points = [(c["step"], c["strict"], c["n"]) for c in curve if c["split"] == split
                      and c["type"] == family and c["strict"] is not None]
            if points:
                xs, ys, ns = zip(*points)
                ax.plot(xs, [100 * y for y in ys], style, color=colours[family], marker="o", markersize=3,
                        linewidth=2.2 if family == "all" else 1.3, label=f"{family} (n={ns[-1]})")
        ax.set_title(split.replace("_", "-"))
        ax.set_xlabel("training step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
        ax.set_ylim(0, min(100, max(5, 1.15 * top)))  # low accuracies stay readable
    axes[0][0].set_ylabel("held-out exact accuracy (%)")
    fig.suptitle(f"proxy: {title}")
    fig.tight_layout()
    with atomic_open(path, "wb") as handle:
        fig.savefig(handle, format="png")
    plt.close(fig)
