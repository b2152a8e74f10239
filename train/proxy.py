"""``datagen train proxy``: train a small Llama from scratch on a curriculum, on the CPU, and
score it on the curriculum's own held-out sets, type by type.

The model reads the stages' exported MindRecords in order (Llama3 ids, so tokenisation
effects such as ``--digits 1`` stay real) through a vocabulary compacted to the ids that
occur.  The learning rate warms up and decays over the whole step budget, the batches are
drawn by a seeded generator, and the held-out sets are decoded greedily with the training
template and judged by ``datagen eval score``: the same seed and budget give the same
accuracy twice.
"""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from curricula.templates import inference_prompt
from datagen.errors import DatagenError
from datagen.output import atomic_open
from train.curriculum import Curriculum, load_curriculum, read_heldout

IGNORE = -100


class ProxyError(DatagenError, RuntimeError):
    """A proxy run cannot go on; the message says why."""


@dataclass
class ProxyOptions:
    curriculum: str
    out: str
    steps: int = 2000
    minutes: float | None = None
    batch_size: int = 128
    learning_rate: float = 1e-3
    warmup_steps: int = 100
    weight_decay: float = 0.01
    seed: int = 0
    preset: str = "proxy"
    layers: int | None = None
    hidden: int | None = None
    eval_every: int = 500
    eval_limit: int = 300  # held-out items per split at each periodic evaluation
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
    stage_steps: list = field(default_factory=list)
    losses: list = field(default_factory=list)
    curve: list = field(default_factory=list)
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
    import numpy as np

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

    from train import model as tm
    from train.plan import render_model_config
    from train.presets import load_preset
    from train.smoke import load_tokenizer

    started = time.time()
    tm.cpu_context()
    preset = load_preset(options.preset)
    special_real = {k: int(preset.model_config[k]) for k in ("bos_token_id", "eos_token_id", "pad_token_id")}
    pad_real, bos_real = special_real["pad_token_id"], special_real["bos_token_id"]
    tokenizer = load_tokenizer(curriculum.digits, options.tokenizer)

    heldout = {}
    for held in curriculum.heldout:
        rows = read_heldout(held, options.heldout_limit)
        prompts = [[bos_real, *tokenizer.encode(inference_prompt(curriculum.template, r["problem"]))] for r in rows]
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
    seq_length = max(longest - 1, prompt_max + max_new)
    seq_length = -(-seq_length // 8) * 8
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
        return tm.build_from_model_config(model_config, None)

    total_steps = options.steps
    if options.minutes:
        total_steps = _steps_for_minutes(build, stages, options, special, started, say)
    network = build()
    result.parameters = tm.total_count(network)
    result.steps = total_steps
    say(f"{preset.name}: {result.parameters:,} parameters, vocabulary {token_map.size:,} (compacted), "
        f"window {seq_length}; {total_steps:,} steps of batch {options.batch_size}")

    stage_steps = split_steps(total_steps, [s.records for s in stages])
    step_fn = _step_function(network, total_steps, options)
    checkpoints = sorted({0, total_steps, *range(options.eval_every, total_steps, options.eval_every)}) \
        if options.eval_every else [0, total_steps]

    def evaluate(step: int, final: bool = False):
        limit = None if final else options.eval_limit
        for name, (held, rows, prompts) in heldout.items():
            picked_rows = rows if limit is None else rows[:limit]
            picked_prompts = prompts[: len(picked_rows)]
            texts = _decode(network, picked_prompts, token_map, tokenizer, special, max_new, seq_length, options)
            report = _score(out, name, step, picked_rows, texts, final)
            for family, tally in report["by_type"].items():
                result.curve.append({"step": step, "split": name, "type": family, "strict": tally["strict"],
                                     "n": tally["n"]})
            result.curve.append({"step": step, "split": name, "type": "all", "strict": report["overall"]["strict"],
                                 "n": report["overall"]["n"]})
            if final:
                result.final[name] = report
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
    result.seconds = round(time.time() - started, 1)
    write_report(result, options, curriculum, out)
    return result


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
    """One training step (MindSpore's TrainOneStepCell, AdamW) with a warm-up + cosine schedule
    over the whole budget, so the learning rate decays across the stages, not within each."""
    import mindspore as ms
    from mindspore import nn

    from train import model as tm

    lrs = tm.cosine_schedule(total_steps, options.learning_rate, min(options.warmup_steps, total_steps // 4 or 1))
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
    from train.predict_script import greedy_decode

    compact = [token_map.to_compact(p).tolist() for p in prompts]
    new = greedy_decode(network, compact, max_new, special["eos_token_id"], pad_id=special["pad_token_id"],
                        seq_length=seq_length, batch_size=options.decode_batch)
    drop = {int(token_map.ids[v]) for v in special.values()}
    network.set_train(True)
    return [tokenizer.decode([i for i in token_map.to_real(ids) if i not in drop]) for ids in new]


def _score(out: Path, split: str, step: int, rows: list[dict], texts: list[str], final: bool) -> dict:
    """Score with `datagen eval score` itself; keep the files of the final evaluation."""
    from datagen.cli import main

    folder = out if final else out / "evals"
    folder.mkdir(exist_ok=True)
    stem = f"{split}" if final else f"{split}-step{step:06d}"
    gold, pred, report = folder / f"gold_{stem}.jsonl", folder / f"predictions_{stem}.jsonl", folder / f"score_{stem}.json"
    with atomic_open(gold) as handle:
        for r in rows:
            handle.write(json.dumps(r, ensure_ascii=False) + "\n")
    with atomic_open(pred) as handle:
        for r, text in zip(rows, texts):
            handle.write(json.dumps({"id": r["id"], "output": text}, ensure_ascii=False) + "\n")
    args = ["eval", "score", "--gold", str(gold), "--pred", str(pred), "--json", str(report), "-q", "--template", "raw"]
    if main(args) != 0:
        raise ProxyError(f"datagen eval score failed on {pred}")
    data = json.loads(report.read_text(encoding="utf-8"))
    if not final:
        gold.unlink()
    return _summary(data)


def _summary(data: dict) -> dict:
    """The parts of an eval report the proxy keeps: overall, by type, by type and digits."""
    def tally(t: dict) -> dict:
        return {"strict": t.get("strict"), "lenient": t.get("lenient"), "n": t.get("n") or t.get("count")}

    return {
        "overall": tally(data["overall"]),
        "by_type": {k: tally(v) for k, v in data.get("by_type", {}).items()},
        "by_type_difficulty": data.get("by_type_difficulty", {}),
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
    lines = [f"# Proxy run: {report['curriculum']}", "",
             f"{report['parameters']:,} parameters, vocabulary {report['vocabulary']:,}, window "
             f"{report['seq_length']}, {report['steps']:,} steps of batch {report['options']['batch_size']}, "
             f"seed {report['options']['seed']}, {report['seconds']:.0f} s.", ""]
    for split, data in report["final"].items():
        lines += [f"## {split}", "", "| type | strict | lenient | n |", "|---|---:|---:|---:|"]
        for family, t in data["by_type"].items():
            lines.append(f"| {family} | {_pct(t['strict'])} | {_pct(t['lenient'])} | {t['n']} |")
        o = data["overall"]
        lines.append(f"| **all** | **{_pct(o['strict'])}** | {_pct(o['lenient'])} | {o['n']} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def plot_curve(curve: list[dict], path: Path, title: str) -> None:
    """Accuracy per type against training steps (solid: in-distribution, dashed: extrapolate)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    splits = sorted({c["split"] for c in curve})
    types = sorted({c["type"] for c in curve if c["type"] != "all"})
    colours = {t: plt.cm.tab10(k % 10) for k, t in enumerate(types + ["all"])}
    for split in splits:
        style = "-" if split == "in_distribution" else "--"
        for family in types + ["all"]:
            points = [(c["step"], c["strict"]) for c in curve if c["split"] == split and c["type"] == family
                      and c["strict"] is not None]
            if points:
                xs, ys = zip(*points)
                ax.plot(xs, [100 * y for y in ys], style, color=colours[family], marker="o", markersize=3,
                        linewidth=2.2 if family == "all" else 1.3, label=f"{family} ({split.split('_')[0]})")
    ax.set_xlabel("training step")
    ax.set_ylabel("held-out exact accuracy (%)")
    top = max([100 * c["strict"] for c in curve if c["strict"] is not None] or [0])
    ax.set_ylim(0, min(100, max(5, 1.2 * top)))  # low accuracies stay readable
    ax.set_title(f"proxy: {title}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    with atomic_open(path, "wb") as handle:
        fig.savefig(handle, format="png")
    plt.close(fig)
