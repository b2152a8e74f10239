"""``datagen train pretrained``: LoRA-finetune a real pretrained Llama (SmolLM2-135M) on a curriculum,
on the CPU through MindFormers, and measure what it gains and what it keeps.

The GGUF is read and dequantised (``train.gguf``) into MindFormers' ``LlamaForCausalLM``; its
own tokenizer (``curricula.gguf_tokenizer``) and chat template (``curricula.chat``) turn the
curriculum's conversations into training rows; the plan's LoRA ``pet_config`` is applied with
``get_pet_model``; the stages train in order (optimizer state and learning-rate schedule restart
at each stage, as stage k+1 of a plan loads stage k's checkpoint with ``resume_training: False``).

Before and after training it measures, teacher-forced (one forward pass per batch; ``generate()``
does not run on a CPU):

* held-out exact match by type: every answer token and the end-of-turn token are the model's
  top choice given the tokens before them — the verdict greedy decoding would give, which a
  greedy decode of a sample confirms;
* retention on a shipped bilingual probe (``train.probe``): loss per token on general texts, and
  reading comprehension scored with the gate's metric (MindFormers' ``EmF1Metric``);

and reports a miniature contest score: accuracy, retention against the base model, LoRA ratio.
"""

from __future__ import annotations

import json
import math
import resource
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from datagen.curricula.templates import human_turn
from datagen.train.curriculum import Curriculum, load_curriculum, read_heldout

from datagen.errors import DatagenError
from datagen.output import atomic_open

IGNORE = -100
GATE = 0.90  # the contest keeps 90 % of the base model's SQuAD F1 and EM
DEFAULT_MODEL = "smollm2_135m"


class PretrainedError(DatagenError, RuntimeError):
    """A pretrained run cannot go on; the message says why."""


# the model config keys a GGUF's metadata must agree on with the preset it is loaded as
SHAPE_KEYS = ("hidden_size", "num_layers", "num_heads", "n_kv_heads", "vocab_size", "intermediate_size",
              "tie_word_embeddings")


@dataclass
class PretrainedOptions:
    curriculum: str
    out: str
    model: str = DEFAULT_MODEL
    gguf: str | None = None
    gguf_sha256: str | None = None
    steps: int = 25
    batch_size: int = 8
    learning_rate: float | None = None  # default: the preset's
    warmup_ratio: float = 0.03
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    rank: int | None = None
    alpha: float | None = None
    dropout: float | None = None
    targets: str | None = None
    seed: int = 0
    max_seq_length: int = 256  # longer training rows are cut (and counted)
    heldout_limit: int = 64  # items per held-out split, balanced across types
    greedy_sample: int = 8  # items of the first split also decoded greedily, to confirm the verdicts
    probe_batch: int = 4  # rows per probe forward pass: its window is long, and each graph keeps its memory
    probe: str | None = None
    # base probe measurements are kept here, keyed by a hash of the model file and every probe token, and
    # reused by later runs of the same (model, probe); None or "" measures afresh and keeps nothing
    probe_cache: str | None = None
    seq_length: int | None = None  # train at exactly this window (default: the longest row, rounded up)


def default_probe_cache() -> str:
    """``$DATAGEN_CACHE/probe``, else ``$XDG_CACHE_HOME/datagen/probe``, else ``~/.cache/datagen/probe``."""
    import os

    if os.environ.get("DATAGEN_CACHE"):
        return str(Path(os.environ["DATAGEN_CACHE"]) / "probe")
    return str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "datagen" / "probe")


@dataclass
class Item:
    """One teacher-forced measurement: the model reads ``prompt``, then is scored on ``target``."""

    id: str
    group: str  # the type (held-out) or language (probe)
    prompt: list[int]
    target: list[int]
    text: str = ""  # the target as text


@dataclass
class Verdict:
    exact: bool
    nll: float  # summed over the target tokens
    tokens: int
    predicted: list[int] = field(default_factory=list)  # top token at each target position


@dataclass
class StageRows:
    name: str
    input_ids: object  # numpy int32 [n, seq_length + 1]
    labels: object
    records: int
    truncated: int = 0
    masked: int = 0  # rows with no trained token left in the window


@dataclass
class PretrainedResult:
    out: str
    model: dict = field(default_factory=dict)
    lora: dict = field(default_factory=dict)
    learning_rate: float = 0.0
    seq_length: int = 0
    eval_length: int = 0
    stages: list = field(default_factory=list)
    losses: list = field(default_factory=list)
    heldout: dict = field(default_factory=dict)
    greedy: dict = field(default_factory=dict)
    probe: dict = field(default_factory=dict)
    score: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)
    peak_rss_gb: float = 0.0
    probe_cache: dict = field(default_factory=dict)  # key, path, hit: the base probe measurement reused?
    cost: dict = field(default_factory=dict)  # seconds per step beside the floor this CPU allows


def step_flops(config: dict, batch: int, seq_length: int, lora_params: int) -> dict:
    """Floating-point operations one LoRA training step needs at the least (multiply-add = 2).

    Forward: every projection and FFN matmul, the LoRA factors (``lora_params`` of them in all layers),
    attention scores and weighted sum (full square, as the CPU path computes them), the output layer over
    the whole vocabulary. Backward: the activation gradients cost what the forward matmuls do; frozen
    weights need no weight gradient, so only the LoRA factors add theirs. Norms, softmax and RoPE are
    left out (a few percent).
    """
    h, f, v = config["hidden_size"], config["intermediate_size"], config["vocab_size"]
    kv = h // config["num_heads"] * config["n_kv_heads"]
    tokens = batch * seq_length
    dense = h * h + 2 * h * kv + h * h + 3 * h * f  # wq, wk, wv, wo, w1, w2, w3
    lora = lora_params / config["num_layers"]
    layer_forward = 2 * tokens * (dense + lora) + 2 * 2 * batch * seq_length**2 * h
    head = 2 * tokens * h * v
    forward = config["num_layers"] * layer_forward + head
    lora_weight_grads = 2 * tokens * lora_params
    return {"forward": int(forward), "train_step": int(2 * forward + lora_weight_grads), "tokens": tokens}


def matmul_flops_per_second(ms, rows: int = 1024, inner: int = 576, cols: int = 1536, repeats: int = 20) -> float:
    """Measured float32 matmul throughput of this CPU through MindSpore (the best of ``repeats`` calls)."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = ms.Tensor(rng.standard_normal((rows, inner), dtype=np.float32))
    b = ms.Tensor(rng.standard_normal((inner, cols), dtype=np.float32))
    ms.ops.matmul(a, b).asnumpy()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        tick = time.perf_counter()
        ms.ops.matmul(a, b).asnumpy()
        best = min(best, time.perf_counter() - tick)
    return 2 * rows * inner * cols / best


def step_cost(ms, config: dict, batch: int, seq_length: int, lora_params: int, step_seconds: list[float]) -> dict:
    """Measured seconds per training step (median, the first step's compilation left out) beside the floor:
    the step's FLOPs over the matmul FLOP/s this CPU gives MindSpore now."""
    import statistics

    flops = step_flops(config, batch, seq_length, lora_params)
    rate = matmul_flops_per_second(ms)
    timed = step_seconds[1:] or step_seconds
    measured = statistics.median(timed) if timed else None
    floor = flops["train_step"] / rate
    return {
        "batch": batch, "seq_length": seq_length, "flops_per_step": flops["train_step"],
        "matmul_gflops": round(rate / 1e9, 2), "floor_seconds_per_step": round(floor, 3),
        "seconds_per_step": None if measured is None else round(measured, 3),
        "compile_seconds": round(step_seconds[0], 1) if step_seconds else None,
        "times_floor": None if measured is None else round(measured / floor, 1),
    }


def cost_line(cost: dict) -> str:
    measured = "-" if cost["seconds_per_step"] is None else f"{cost['seconds_per_step']:.2f} s"
    gap = "" if cost["times_floor"] is None else f" ({cost['times_floor']:.1f}x the floor)"
    return (f"cost: {measured} per step of batch {cost['batch']} x seq {cost['seq_length']}{gap}; floor "
            f"{cost['floor_seconds_per_step']:.2f} s = {cost['flops_per_step'] / 1e9:.1f} GFLOP / "
            f"{cost['matmul_gflops']:.1f} GFLOP/s (a float32 matmul measured now)")


def round_up(value: int, step: int = 8) -> int:
    return -(-value // step) * step


def peak_rss_gb() -> float:
    """This process's peak resident memory (Linux reports kB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2)


def balanced(rows: list[dict], limit: int | None) -> list[dict]:
    """Up to ``limit`` rows taking the types in turn (file order within a type)."""
    by_type: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_type[str(row.get("type", "?"))].append(row)
    picked: list[dict] = []
    queues = [list(v) for v in by_type.values()]
    while queues and (limit is None or len(picked) < limit):
        for queue in list(queues):
            if limit is not None and len(picked) >= limit:
                break
            picked.append(queue.pop(0))
            if not queue:
                queues.remove(queue)
    return picked


def trained_styles(curriculum: Curriculum) -> dict[str, str]:
    """The solution style each problem type is trained in (its last stage's most common style)."""
    styles: dict[str, str] = {}
    for stage in curriculum.stages:
        train = curriculum.root / stage.dir / "train.jsonl"
        if not train.is_file():
            continue
        counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        with open(train, encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    row = json.loads(line)
                    counts[str(row.get("type"))][str(row.get("style") or "contest")] += 1
        for family, seen in counts.items():
            styles[family] = max(seen, key=seen.get)
    return styles


def answer_text(row: dict, style: str | None) -> str | None:
    """The text a model trained in ``style`` should write for held-out ``row`` (None: no fixed text)."""
    held_style = row.get("style") or "contest"
    if style == "bare":
        return str(row["answer"])
    if style == held_style or style is None:
        return str(row.get("solution") or row["answer"])
    return None  # e.g. step-by-step training: a derivation has no one text to force


def stage_conversations(curriculum: Curriculum) -> dict[str, Path]:
    """Each stage's conversation JSON (``curriculum.json`` names it; default: beside its MindRecord)."""
    manifest = json.loads((curriculum.root / "curriculum.json").read_text(encoding="utf-8"))
    paths = {}
    for stage, raw in zip(curriculum.stages, manifest["stages"]):
        rel = raw.get("conversation") or f"{stage.dir}/conversation.json"
        path = curriculum.root / rel
        if not path.is_file():
            raise PretrainedError(
                f"stage {stage.name}: conversation file {path} is missing (the model's own "
                "tokenizer reads the conversations, not the Llama3 MindRecord)"
            )
        paths[stage.name] = path
    return paths


def encode_stage(path: Path, codec, name: str) -> tuple[list, StageRows, list]:
    """A stage's conversations as (samples, rows to fill, rejects); rows are packed once the window is known.

    A malformed conversation is rejected (counted, kept with its line) rather than ending the run.
    """
    from datagen.curricula.chat import ChatTemplateError, conversation_turns

    from datagen.rows import RowReader

    def check(data: dict):
        try:
            conversation_turns(data.get("conversations"))
        except ChatTemplateError as exc:
            return exc.field, exc.message
        return None

    reader = RowReader(path, check=check, policy="collect")
    samples = []
    for row in reader:
        where = f"{path}:{row.line}"
        samples.append(codec.sample(conversation_turns(row.data["conversations"], where), where))
    if not samples:
        raise PretrainedError(
            f"stage {name}: {path} holds no usable conversation ({len(reader.rejects)} rejected)"
        )
    return samples, StageRows(name, None, None, len(samples)), list(reader.rejects)


def pack(samples: list, rows: StageRows, width: int, pad_id: int) -> StageRows:
    """Rows ``width`` long (seq_length + 1): ids padded with ``pad_id``, labels −100 outside the answers."""
    import numpy as np

    ids = np.full((len(samples), width), pad_id, dtype=np.int32)
    labels = np.full((len(samples), width), IGNORE, dtype=np.int32)
    for k, sample in enumerate(samples):
        n = min(len(sample.ids), width)
        ids[k, :n] = sample.ids[:n]
        rows.truncated += len(sample.ids) > width
        for start, end in sample.trained:
            labels[k, start : min(end, width)] = ids[k, start : min(end, width)]
        # position 0 is never a target (the model shifts by one)
        if not (labels[k, 1:] != IGNORE).any():
            rows.masked += 1
    rows.input_ids, rows.labels = ids, labels
    return rows


def teacher_forced(forward, items: list[Item], window: int, batch: int, pad_id: int) -> list[Verdict]:
    """For each item, the top token and log-loss at every target position given the true prefix."""
    import numpy as np

    verdicts: list[Verdict] = []
    for start in range(0, len(items), batch):
        chunk = items[start : start + batch]
        tokens = np.full((batch, window), pad_id, dtype=np.int32)
        for row, item in enumerate(chunk):
            seq = (item.prompt + item.target)[:window]
            tokens[row, : len(seq)] = seq
        logits = forward(tokens)
        for row, item in enumerate(chunk):
            first = len(item.prompt) - 1  # the position that predicts the first target token
            count = min(len(item.target), window - len(item.prompt))
            if count <= 0:
                verdicts.append(Verdict(False, float("nan"), 0))
                continue
            picked = logits[row, first : first + count].astype(np.float64)
            gold = np.asarray(item.target[:count])
            top = picked.max(axis=1, keepdims=True)
            log_z = np.log(np.exp(picked - top).sum(axis=1)) + top[:, 0]
            nll = float((log_z - picked[np.arange(count), gold]).sum())
            predicted = picked.argmax(axis=1).tolist()
            exact = count == len(item.target) and predicted == item.target
            verdicts.append(Verdict(bool(exact), nll, count, predicted))
    return verdicts


def greedy_prefix(target: list[int], predicted: list[int], eos_id: int) -> list[int]:
    """What greedy decoding certainly writes, known from one teacher-forced pass: the target up to the
    first position the model gets wrong, then the token it puts there (EOS left out).

    (Each position's top token on its own is no answer: under teacher forcing a model that merely
    repeats its input "predicts" the target shifted by one.)
    """
    agree = 0
    while agree < len(predicted) and predicted[agree] == target[agree]:
        agree += 1
    ids = target[:agree] + predicted[agree : agree + 1]
    return ids[: ids.index(eos_id)] if eos_id in ids else ids


PROBE_CACHE_FORMAT = 1  # bump when measure_probe's report changes


def probe_cache_key(model_sha256: str, reading: list[Item], general: list[Item], window: int, batch: int,
                    pad_id: int) -> str:
    """What decides a base probe measurement: the model file, every probe token (probe text, tokenizer and
    chat template in one), the window and batch the forward passes run at, the pad id."""
    import hashlib

    payload = {
        "format": PROBE_CACHE_FORMAT,
        "model": model_sha256,
        "window": window,
        "batch": batch,
        "pad": pad_id,
        "reading": [[i.id, i.prompt, i.target, i.text] for i in reading],
        "general": [[i.id, i.prompt, i.target] for i in general],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def write_probe_cache(path: Path, key: str, report: dict, scored: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path) as handle:
        json.dump({"key": key, "report": report, "scored": scored}, handle, ensure_ascii=False)
        handle.write("\n")


def measure_probe(forward, reading: list[Item], general: list[Item], window: int, batch: int,
                  tokenizer) -> tuple[dict, list[dict]]:
    """The retention probe on one model: (report, per-item reading scores).

    General texts: loss per token. Reading items: the greedy answer one teacher-forced pass determines
    (``greedy_prefix``), scored with the gate's metric (eval's ``mindformers_pair``), and the answer's
    loss per token beside it (the sensitive measure: it moves before an answer flips).
    """
    from datagen.eval.squad import mindformers_pair

    general_report = tally(general, teacher_forced(forward, general, window, batch, tokenizer.pad_id))
    verdicts = teacher_forced(forward, reading, window, batch, tokenizer.pad_id)
    scored = []
    for item, verdict in zip(reading, verdicts):
        text = tokenizer.decode(greedy_prefix(item.target, verdict.predicted, tokenizer.eos_id))
        f1, em = mindformers_pair(text, item.text)
        scored.append({"id": item.id, "lang": item.group, "answer": item.text, "prediction": text,
                       "f1": float(f1), "em": float(em), "loss": verdict.nll / max(1, verdict.tokens)})

    def means(group: list[dict]) -> dict:
        return {"f1": 100 * sum(s["f1"] for s in group) / len(group),
                "em": 100 * sum(s["em"] for s in group) / len(group), "n": len(group)}

    reading_report = {
        "answer_loss": sum(v.nll for v in verdicts) / max(1, sum(v.tokens for v in verdicts)),
        **means(scored),
        "by_lang": {lang: means([s for s in scored if s["lang"] == lang])
                    for lang in sorted({s["lang"] for s in scored})},
    }
    report = {
        "general_loss": general_report["overall"]["loss"],
        "general_loss_by_lang": {k: v["loss"] for k, v in general_report["by_type"].items()},
        "reading": reading_report,
    }
    return report, scored


def tally(items: list[Item], verdicts: list[Verdict]) -> dict:
    groups: dict[str, list[Verdict]] = defaultdict(list)
    for item, verdict in zip(items, verdicts):
        groups[item.group].append(verdict)

    def summary(vs: list[Verdict]) -> dict:
        tokens = sum(v.tokens for v in vs)
        return {
            "exact": sum(v.exact for v in vs) / len(vs),
            "n": len(vs),
            "loss": sum(v.nll for v in vs) / tokens if tokens else None,
        }

    return {"overall": summary(verdicts), "by_type": {g: summary(vs) for g, vs in sorted(groups.items())}}


def run_pretrained(options: PretrainedOptions, echo: Callable[[str], None] | None = None) -> PretrainedResult:
    say = echo or (lambda _m: None)
    curriculum = load_curriculum(Path(options.curriculum).resolve())
    if not curriculum.heldout:
        raise PretrainedError(f"{options.curriculum}: the curriculum has no held-out set to score")
    for name in ("steps", "batch_size", "probe_batch", "max_seq_length"):
        if getattr(options, name) <= 0:
            raise PretrainedError(f"{name.replace('_', '-')} must be positive, got {getattr(options, name)}")
    # the run works inside its folder (MindFormers writes there): paths given relative to here are fixed first
    if options.gguf:
        options = replace(options, gguf=str(Path(options.gguf).resolve()))
    if options.probe and Path(options.probe).exists():
        options = replace(options, probe=str(Path(options.probe).resolve()))
    out = Path(options.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    from datagen.train.proxy import _inside

    with _inside(out):
        return _run(options, curriculum, out, say)


def _run(options: PretrainedOptions, curriculum: Curriculum, out: Path, say) -> PretrainedResult:
    import numpy as np
    from datagen.curricula.chat import CHATML, ChatCodec, JinjaChatTemplate
    from datagen.train.gguf import preset_gguf
    from datagen.train.params import contest_score, count_lora
    from datagen.train.presets import Preset, load_preset
    from datagen.train.probe import load_probe

    from datagen import signals

    clock = {"start": time.time()}
    seconds: dict[str, float] = {}

    def lap(name: str) -> None:
        now = time.time()
        seconds[name] = round(now - clock["start"], 1)
        clock["start"] = now
        say(f"  ({name}: {seconds[name]:.0f}s, peak memory {peak_rss_gb():.1f} GB)")

    preset = load_preset(options.model)
    model_file = preset_gguf(preset.pretrained, options.gguf, options.gguf_sha256)
    tokenizer = model_file.tokenizer()
    template = JinjaChatTemplate(
        tokenizer.name if tokenizer.chat_template else "chatml", tokenizer.chat_template or CHATML
    )
    codec = ChatCodec(tokenizer, template, bos=tokenizer.bos_id if model_file.add_bos else None)
    probe = load_probe(options.probe)
    say(
        f"{model_file.name}: {model_file.path} (sha256 {model_file.sha256[:12]}…), "
        f"tokenizer {tokenizer.pre}, vocabulary {tokenizer.vocab_size:,}"
    )

    styles = trained_styles(curriculum)
    heldout: dict[str, list[Item]] = {}
    skipped: dict[str, int] = defaultdict(int)
    for held in curriculum.heldout:
        items = []
        for row in balanced(read_heldout(held), options.heldout_limit):
            family = str(row.get("type", "?"))
            text = answer_text(row, styles.get(family))
            if text is None:
                skipped[family] += 1
                continue
            prompt = codec.prompt_ids([human_turn(curriculum.template, row["problem"])])
            items.append(
                Item(str(row["id"]), family, prompt, tokenizer.encode(text) + [tokenizer.eos_id], text)
            )
        heldout[held.name] = items
    if skipped:
        say(
            "not scored teacher-forced (trained without one fixed answer text, e.g. step by step): "
            + ", ".join(f"{k} {v}" for k, v in sorted(skipped.items()))
        )
    if not any(heldout.values()):
        raise PretrainedError("no held-out item has a fixed answer text to score")
    reading = [
        Item(
            r.id,
            r.lang,
            codec.prompt_ids(probe.turns(r)),
            tokenizer.encode(r.answer) + [tokenizer.eos_id],
            r.answer,
        )
        for r in probe.reading
    ]
    eval_length = round_up(max(len(i.prompt) + len(i.target) for i in reading))
    general = []
    for text in probe.general:
        ids = (tokenizer.encode(text.text))[:eval_length]
        general.append(Item(text.id, text.lang, ids[:1], ids[1:], text.text))

    cache = {"key": probe_cache_key(model_file.sha256, reading, general, eval_length, options.probe_batch,
                                    tokenizer.pad_id), "hit": False}
    if options.probe_cache:
        cache["path"] = str(Path(options.probe_cache) / f"{cache['key']}.json")

    conversations = stage_conversations(curriculum)
    encoded = [encode_stage(conversations[s.name], codec, s.name) for s in curriculum.stages]
    # the training network also scores the held-out sets (in inference mode): its window fits both
    longest = max(
        [len(s.ids) - 1 for samples, _, _ in encoded for s in samples]
        + [len(i.prompt) + len(i.target) for items in heldout.values() for i in items]
    )
    seq_length = options.seq_length or min(round_up(longest), options.max_seq_length)
    stages = [pack(samples, rows, seq_length + 1, tokenizer.pad_id) for samples, rows, _ in encoded]
    rejects = {rows.name: found for (_, rows, found) in encoded if found}
    for name, found in rejects.items():
        with atomic_open(out / f"rejects_{name}.jsonl") as handle:
            for reject in found:
                handle.write(json.dumps(reject.as_dict(), ensure_ascii=False) + "\n")
        say(
            f"stage {name}: {len(found)} conversation(s) rejected, kept in rejects_{name}.jsonl "
            f"(first: {found[0]})"
        )
    del encoded
    for rows in stages:
        if rows.masked == rows.records:
            raise PretrainedError(
                f"stage {rows.name}: no row keeps a trained token within seq_length {seq_length}; "
                "raise --max-seq-length"
            )
    lap("read")

    config = model_file.model_config(seq_length)
    derived = Preset(
        name=preset.name if options.gguf is None else model_file.name,
        description=model_file.name,
        arch="LlamaForCausalLM",
        config_type="LlamaConfig",
        entry=preset.entry,
        trainer_model_name=preset.trainer_model_name,
        template=preset.template,
        tokenizer="gguf",
        model_config=config,
        lora=preset.lora,
        train=preset.train,
    )
    if options.gguf is None:
        differs = [k for k in SHAPE_KEYS if config[k] != preset.model_config.get(k)]
        if differs:
            raise PretrainedError(
                f"{model_file.path}: {', '.join(differs)} disagree with preset {preset.path}"
            )
    rank = options.rank or preset.lora.rank
    alpha = options.alpha if options.alpha is not None else preset.lora.alpha
    dropout = options.dropout if options.dropout is not None else preset.lora.dropout
    targets = options.targets if options.targets is not None else preset.lora.targets
    count = count_lora(derived, rank, targets, alpha)
    pet_config = {
        "pet_type": "lora",
        "lora_rank": rank,
        "lora_alpha": alpha,
        "lora_dropout": dropout,
        "target_modules": targets,
    }
    learning_rate = options.learning_rate if options.learning_rate is not None else preset.train.learning_rate

    with signals.held():  # a signal inside these imports would leave MindSpore half-initialised
        import mindformers.pet  # noqa: F401
        import mindspore as ms
        from datagen.train import model as tm
    tm.cpu_context()
    say(f"building {derived.name} in MindFormers (seq_length {seq_length}, probe window {eval_length})")
    probe_net, network = _build(tm, ms, model_file, config, pet_config, options, eval_length)
    trainable = tm.trainable_count(network)
    if trainable != count.trainable:
        raise PretrainedError(
            f"the LoRA model has {trainable:,} trainable parameters, `train params` counts "
            f"{count.trainable:,}"
        )
    result = PretrainedResult(
        out=str(out),
        learning_rate=learning_rate,
        seq_length=seq_length,
        eval_length=eval_length,
        model={
            "name": model_file.name,
            "preset": preset.name,
            "gguf": str(model_file.path),
            "sha256": model_file.sha256,
            "parameters": count.total_from_shapes,
            "config": {
                k: config[k] for k in (*SHAPE_KEYS, "theta", "pad_token_id")
            },
            "tokenizer": tokenizer.describe(),
            "chat_template": template.name,
        },
        lora={
            **pet_config,
            "trainable": trainable,
            "total": count.total_from_shapes,
            "ratio": trainable / count.total_from_shapes,
        },
    )
    lap("load")

    def forward(tokens):
        return _logits(ms, network, tokens)

    def probe_forward(tokens):
        return _logits(ms, probe_net, tokens)

    def measure(phase: str) -> None:
        for k, (split, items) in enumerate(heldout.items()):
            verdicts = teacher_forced(forward, items, seq_length, options.batch_size, tokenizer.pad_id)
            report = tally(items, verdicts)
            result.heldout.setdefault(split, {})[phase] = report
            _keep_predictions(out, split, phase, items, verdicts, tokenizer)
            say(
                f"{phase:<9} {split:<16} exact {_pct(report['overall']['exact'])} "
                + " ".join(f"{t} {_pct(v['exact'])}" for t, v in report["by_type"].items())
            )
            if options.greedy_sample and k == 0:  # greedy decoding is slow on a CPU: one split confirms
                result.greedy.setdefault(split, {})[phase] = _greedy_check(
                    network, items[: options.greedy_sample], verdicts, seq_length, options, tokenizer
                )
        if probe_net is not network:
            sync_trainable(probe_net, network)
        if phase == "base" and cache.get("path") and Path(cache["path"]).is_file():
            saved = json.loads(Path(cache["path"]).read_text(encoding="utf-8"))
            result.probe[phase], scored = saved["report"], saved["scored"]
            cache["hit"] = True
            say(f"base    probe: measured before, reused from {cache['path']}")
        else:
            result.probe[phase], scored = measure_probe(
                probe_forward, reading, general, eval_length, options.probe_batch, tokenizer
            )
            if phase == "base" and cache.get("path"):
                try:
                    write_probe_cache(Path(cache["path"]), cache["key"], result.probe[phase], scored)
                except OSError as exc:  # a cache that cannot be written costs the next run time, not this one
                    say(f"base probe measurement not kept: {cache['path']}: {exc.strerror or exc}")
                    cache.pop("path")
        with atomic_open(out / f"probe_reading_{phase}.jsonl") as handle:
            for entry in scored:
                handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
        reading_report = result.probe[phase]["reading"]
        say(
            f"{phase:<9} probe: general loss {result.probe[phase]['general_loss']:.3f}, reading F1 "
            f"{reading_report['f1']:.1f} EM {reading_report['em']:.1f}, answer loss "
            f"{reading_report['answer_loss']:.3f}"
        )

    measure("base")
    lap("measure_base")

    splits = _split_steps(options.steps, [s.records for s in stages])
    lrs, boundaries = [], []
    for steps in splits:
        boundaries.append(len(lrs))
        lrs.extend(
            tm.cosine_schedule(steps, learning_rate, max(1, round(options.warmup_ratio * steps))).tolist()
        )
    step, reset = _step_function(ms, tm, network, np.asarray(lrs, dtype=np.float32), options)
    rng = np.random.default_rng(options.seed)
    done, step_seconds = 0, []
    for rows, steps in zip(stages, splits):
        reset()  # a new stage: fresh optimizer state, the schedule restarts
        result.stages.append(
            {
                "stage": rows.name,
                "records": rows.records,
                "steps": steps,
                "start": done,
                "truncated": rows.truncated,
                "fully_masked": rows.masked,
                "rejected": len(rejects.get(rows.name, ())),
            }
        )
        order = np.empty(0, dtype=np.int64)
        for _ in range(steps):
            while len(order) < options.batch_size:
                order = np.concatenate([order, rng.permutation(rows.records)])
            batch, order = order[: options.batch_size], order[options.batch_size :]
            tick = time.time()
            loss = step(rows.input_ids[batch], rows.labels[batch])
            done += 1
            result.losses.append(round(loss, 5))
            step_seconds.append(time.time() - tick)
            say(
                f"step {done:>4}/{options.steps} ({rows.name}) loss {loss:.4f} lr {lrs[done - 1]:.2e} "
                f"({time.time() - tick:.1f}s)"
            )
    lap("train")
    result.cost = step_cost(ms, config, options.batch_size, seq_length, trainable, step_seconds)
    say(cost_line(result.cost))
    measure("finetuned")
    lap("measure_finetuned")

    result.probe_cache = cache
    result.score = contest_summary(result, contest_score)
    result.seconds = {**seconds, "total": round(sum(seconds.values()), 1)}
    result.peak_rss_gb = peak_rss_gb()
    write_report(result, options, curriculum, out)
    return result


def _split_steps(total: int, records: list[int]) -> list[int]:
    from datagen.train.proxy import split_steps

    return split_steps(total, records)


def _build(tm, ms, model_file, config: dict, pet_config: dict, options: PretrainedOptions, eval_length: int):
    """(probe network, training network): the LoRA'd model at two windows, weights loaded.

    MindFormers sizes its causal mask and RoPE tables by ``seq_length``, and prompts with a reading
    passage are longer than training rows: the probe twin has its own window, and gets the trained
    LoRA weights copied in before it measures (``sync_trainable``).  The training network scores
    the held-out sets itself, in inference mode.
    """
    from mindformers.pet import get_pet_model
    from mindspore.nn.utils import no_init_parameters

    weights = {
        name: ms.Parameter(ms.Tensor(array), name=name) for name, array in model_file.weights().items()
    }

    def build(seq_length: int, batch: int):
        with no_init_parameters():
            network = tm.build_from_model_config(
                {**config, "seq_length": seq_length, "batch_size": batch}, None
            )
        missing, _ = ms.load_param_into_net(network, weights, strict_load=True)
        if missing:
            raise PretrainedError(f"{model_file.path}: no weights for {', '.join(missing[:5])}")
        return network

    train_net = build(config["seq_length"], options.batch_size)
    tm.set_seed(options.seed)
    train_net = get_pet_model(train_net, dict(pet_config))
    if eval_length == config["seq_length"] and options.probe_batch == options.batch_size:
        return train_net, train_net
    return get_pet_model(build(eval_length, options.probe_batch), dict(pet_config)), train_net


def sync_trainable(target, source) -> None:
    """Copy ``source``'s trainable (LoRA) parameters into ``target``, a twin built at another shape."""
    params = target.parameters_dict()
    for param in source.trainable_params():
        params[param.name].set_data(param.value())


def _logits(ms, network, tokens):
    network.set_train(False)
    out = network(ms.Tensor(tokens))
    logits = out[0] if isinstance(out, (tuple, list)) else out
    return logits.asnumpy().reshape(tokens.shape[0], tokens.shape[1], -1)


def _step_function(ms, tm, network, lrs, options: PretrainedOptions):
    """A jitted LoRA step (AdamW, global-norm clipping) and a reset for stage boundaries.

    The optimizer is built once (one compiled graph); a stage boundary zeroes its moments, which is
    what a new optimizer would start from, while the learning-rate array already restarts there.
    """
    import numpy as np
    from mindspore import nn

    params = network.trainable_params()
    optimizer = nn.AdamWeightDecay(
        params,
        learning_rate=ms.Tensor(lrs),
        beta1=0.9,
        beta2=0.95,
        eps=1e-8,
        weight_decay=options.weight_decay,
    )

    def forward(ids, labels):
        return network(ids, labels)

    grad_fn = ms.value_and_grad(forward, None, optimizer.parameters)

    @ms.jit
    def train_step(ids, labels):
        loss, grads = grad_fn(ids, labels)
        grads, _ = tm._clip(grads, options.max_grad_norm)
        optimizer(grads)
        return loss

    def step(ids, labels) -> float:
        network.set_train(True)
        loss = train_step(ms.Tensor(ids, ms.int32), ms.Tensor(labels, ms.int32))
        return float(loss.asnumpy().reshape(-1)[0])

    def reset() -> None:
        for moment in (*optimizer.moments1, *optimizer.moments2):
            moment.set_data(ms.Tensor(np.zeros(moment.shape, dtype=np.float32)))

    return step, reset


def _greedy_check(
    network, items: list[Item], verdicts: list[Verdict], window: int, options, tokenizer
) -> dict:
    """Greedy decoding of a sample: its exact verdicts should equal the teacher-forced ones."""
    from datagen.train.predict_script import greedy_decode

    if not items:
        return {"n": 0, "agree": 0}
    new = greedy_decode(
        network,
        [i.prompt for i in items],
        max(len(i.target) for i in items) + 1,
        tokenizer.eos_id,
        pad_id=tokenizer.pad_id,
        seq_length=window,
        batch_size=options.batch_size,
    )
    agree = 0
    outputs = []
    for item, verdict, ids in zip(items, verdicts, new):
        greedy_exact = ids[: len(item.target)] == item.target
        agree += greedy_exact == verdict.exact
        outputs.append(
            {
                "id": item.id,
                "greedy": tokenizer.decode(ids),
                "greedy_exact": greedy_exact,
                "teacher_forced_exact": verdict.exact,
            }
        )
    return {"n": len(items), "agree": agree, "items": outputs}


def _keep_predictions(out: Path, split: str, phase: str, items, verdicts, tokenizer) -> None:
    with atomic_open(out / f"heldout_{split}_{phase}.jsonl") as handle:
        for item, verdict in zip(items, verdicts):
            written = tokenizer.decode(greedy_prefix(item.target, verdict.predicted, tokenizer.eos_id))
            handle.write(
                json.dumps(
                    {
                        "id": item.id,
                        "type": item.group,
                        "target": item.text,
                        "greedy_prefix": written,
                        "exact": verdict.exact,
                        "loss": verdict.nll / max(1, verdict.tokens),
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )


def contest_summary(result: PretrainedResult, contest_score) -> dict:
    """Accuracy, retention against the base model, the LoRA ratio and the contest formula on them."""
    split = "in_distribution" if "in_distribution" in result.heldout else next(iter(result.heldout))
    accuracy = result.heldout[split]["finetuned"]["overall"]["exact"]
    base, tuned = result.probe["base"], result.probe["finetuned"]

    def ratio(after, before):
        return after / before if before else None

    def kept(key: str) -> bool:  # the contest's rule: finetuned >= 90 % of base (0 >= 0 holds)
        return tuned["reading"][key] >= GATE * base["reading"][key]

    retention = {
        "f1": ratio(tuned["reading"]["f1"], base["reading"]["f1"]),
        "em": ratio(tuned["reading"]["em"], base["reading"]["em"]),
        # perplexity kept: exp(base loss − finetuned loss), 1.0 = unchanged
        "general_perplexity": math.exp(base["general_loss"] - tuned["general_loss"]),
        "reading_perplexity": math.exp(base["reading"]["answer_loss"] - tuned["reading"]["answer_loss"]),
    }
    passed = kept("f1") and kept("em")
    ratio_lora = result.lora["ratio"]
    return {
        "split": split,
        "accuracy": accuracy,
        "accuracy_base": result.heldout[split]["base"]["overall"]["exact"],
        "lora_ratio": ratio_lora,
        "contest_score": contest_score(ratio_lora, accuracy),
        "retention": retention,
        "gate": GATE,
        "retention_pass": passed,
    }


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def write_report(
    result: PretrainedResult, options: PretrainedOptions, curriculum: Curriculum, out: Path
) -> None:
    report = {
        "curriculum": curriculum.name,
        "curriculum_dir": str(curriculum.root),
        "template": curriculum.template,
        "options": asdict(options),
        **asdict(result),
    }
    with atomic_open(out / "pretrained.json") as handle:
        json.dump(report, handle, ensure_ascii=False, indent=1)
        handle.write("\n")
    with atomic_open(out / "pretrained.md") as handle:
        handle.write(markdown(report))
    plot(report, out / "pretrained.png")


def markdown(report: dict) -> str:
    score, lora, model = report["score"], report["lora"], report["model"]
    options = report["options"]
    lines = [
        f"# {model['name']} LoRA finetune: {report['curriculum']}",
        "",
        (
            f"{model['parameters']:,} parameters; LoRA rank {lora['lora_rank']} on "
            f"`{lora['target_modules']}`: {lora['trainable']:,} trainable "
            f"(ratio {100 * lora['ratio']:.4f} %). {options['steps']} steps of batch "
            f"{options['batch_size']}, lr {report['learning_rate']:.1e}, seed {options['seed']}, "
            f"seq_length {report['seq_length']}. Wall time {report['seconds']['total']:.0f} s, "
            f"peak memory {report['peak_rss_gb']:.1f} GB."
        ),
        "",
        "## Contest score (miniature)",
        "",
        (
            "| accuracy (base → finetuned) | reading F1 kept | reading EM kept | general perplexity kept | "
            "answer perplexity kept | LoRA ratio | score |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|",
        (
            f"| {_pct(score['accuracy_base'])} → {_pct(score['accuracy'])} | "
            f"{_ratio(score['retention']['f1'])} | {_ratio(score['retention']['em'])} | "
            f"{_ratio(score['retention']['general_perplexity'])} | "
            f"{_ratio(score['retention']['reading_perplexity'])} | {100 * score['lora_ratio']:.4f} % | "
            f"{score['contest_score']:.4f} |"
        ),
        "",
        (
            f"Retention gate (≥ {100 * score['gate']:.0f} % of the base F1 and EM on the probe): "
            f"**{'pass' if score['retention_pass'] else 'fail'}**."
        ),
        "",
    ]
    for split, phases in report["heldout"].items():
        lines += [
            f"## Held-out {split} (teacher-forced exact match)",
            "",
            "| type | base | finetuned | n |",
            "|---|---:|---:|---:|",
        ]
        for family, tuned in phases["finetuned"]["by_type"].items():
            lines.append(
                f"| {family} | {_pct(phases['base']['by_type'][family]['exact'])} | {_pct(tuned['exact'])} | "
                f"{tuned['n']} |"
            )
        o, b = phases["finetuned"]["overall"], phases["base"]["overall"]
        lines.append(f"| **all** | {_pct(b['exact'])} | **{_pct(o['exact'])}** | {o['n']} |")
        greedy = report["greedy"].get(split, {})
        if greedy:
            lines.append("")
            lines.append(
                "Greedy decoding of a sample agrees with the teacher-forced verdict on "
                + ", ".join(f"{g['agree']}/{g['n']} ({phase})" for phase, g in greedy.items())
                + "."
            )
        lines.append("")
    base, tuned = report["probe"]["base"], report["probe"]["finetuned"]
    lines += [
        "## Retention probe",
        "",
        "| measure | base | finetuned |",
        "|---|---:|---:|",
        f"| general-text loss per token | {base['general_loss']:.3f} | {tuned['general_loss']:.3f} |",
    ]
    for lang in base["general_loss_by_lang"]:
        lines.append(
            f"| general-text loss ({lang}) | {base['general_loss_by_lang'][lang]:.3f} | "
            f"{tuned['general_loss_by_lang'][lang]:.3f} |"
        )
    lines.append(
        f"| reading answer loss per token | {base['reading']['answer_loss']:.3f} | "
        f"{tuned['reading']['answer_loss']:.3f} |"
    )
    lines.append(f"| reading F1 | {base['reading']['f1']:.1f} | {tuned['reading']['f1']:.1f} |")
    lines.append(f"| reading EM | {base['reading']['em']:.1f} | {tuned['reading']['em']:.1f} |")
    for lang in base["reading"]["by_lang"]:
        b, t = base["reading"]["by_lang"][lang], tuned["reading"]["by_lang"][lang]
        lines.append(
            f"| reading F1 / EM ({lang}) | {b['f1']:.1f} / {b['em']:.1f} | {t['f1']:.1f} / {t['em']:.1f} |"
        )
    lines += ["", "Time (s): " + ", ".join(f"{k} {v:.0f}" for k, v in report["seconds"].items()), ""]
    if report.get("cost"):
        lines += [cost_line(report["cost"]) + ".", ""]
    if report.get("probe_cache", {}).get("hit"):
        lines += [f"The base probe measurement was reused from {report['probe_cache']['path']}.", ""]
    return "\n".join(lines) + "\n"


def _ratio(value) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def plot(report: dict, path: Path) -> None:
    """Three panels: held-out exact by type, retention against the gate, the training loss."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4), dpi=100)
    split = report["score"]["split"]
    phases = report["heldout"][split]
    families = [*phases["finetuned"]["by_type"], "all"]
    values = {
        phase: [
            100 * (phases[phase]["by_type"].get(f) or phases[phase]["overall"])["exact"]
            if f != "all"
            else 100 * phases[phase]["overall"]["exact"]
            for f in families
        ]
        for phase in ("base", "finetuned")
    }
    xs = range(len(families))
    axes[0].bar([x - 0.2 for x in xs], values["base"], 0.4, label="base", color="#999999")
    axes[0].bar([x + 0.2 for x in xs], values["finetuned"], 0.4, label="finetuned", color="#1f77b4")
    axes[0].set_xticks(list(xs), families)
    axes[0].set_ylabel("held-out exact match (%)")
    axes[0].set_ylim(0, max(5, 1.2 * max(values["base"] + values["finetuned"])))
    axes[0].set_title(f"accuracy ({split})")
    axes[0].legend(fontsize=8)
    retention = report["score"]["retention"]
    names = ["reading F1", "reading EM", "general ppl", "answer ppl"]
    kept = [
        100 * (retention[k] if retention[k] is not None else 0)
        for k in ("f1", "em", "general_perplexity", "reading_perplexity")
    ]
    axes[1].bar(
        names, kept, color=["#2ca02c" if v >= 100 * report["score"]["gate"] else "#d62728" for v in kept]
    )
    for x, key in enumerate(("f1", "em")):
        if retention[key] is None:  # the base model scored 0: no ratio to draw
            axes[1].text(x, 5, "n/a\n(base 0)", ha="center", fontsize=8)
    axes[1].axhline(
        100 * report["score"]["gate"], color="black", linestyle="--", linewidth=1, label="gate 90 %"
    )
    axes[1].set_ylabel("finetuned / base (%)")
    axes[1].set_title("retention")
    axes[1].legend(fontsize=8)
    axes[2].plot(range(1, len(report["losses"]) + 1), report["losses"], color="#1f77b4")
    for stage in report["stages"][1:]:
        axes[2].axvline(stage["start"] + 0.5, color="grey", linestyle=":", linewidth=1)
    axes[2].set_xlabel("step")
    axes[2].set_ylabel("training loss (answer tokens)")
    axes[2].set_title("training")
    fig.suptitle(f"{report['model']['name']}: {report['curriculum']}", fontsize=10)
    fig.tight_layout()
    with atomic_open(path, "wb") as handle:
        fig.savefig(handle, format="png")
    plt.close(fig)
