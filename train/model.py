"""MindSpore side: build a (tiny) MindFormers Llama with LoRA, train it on a MindDataset, decode.

Reusable pieces for the smoke finetune and for training small models on a CPU:
``build_model`` (preset → ``LlamaForCausalLM`` with MindFormers' own ``get_pet_model``),
``train_steps`` (a training loop over a batched MindDataset), ``eval_loss`` and
``greedy_decode`` (repeated forward calls; ``generate()`` does not run on a CPU).
Importing this module imports MindSpore (MindFormers where used); ``train.cli`` imports it lazily.
"""

from __future__ import annotations

import datetime
import math
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# MindFormers opens its log folder at import time, under $LOCAL_DEFAULT_PATH (default ./output)
os.environ.setdefault(
    "LOCAL_DEFAULT_PATH", str(Path(os.environ.get("TMPDIR", "/tmp")) / "datagen-mindformers")
)

import mindspore as ms
from datagen.train.plan import render_model_config
from datagen.train.predict_script import greedy_decode, prompt_ids  # noqa: F401
from datagen.train.presets import Preset
from mindspore import nn, ops
from mindspore.dataset import MindDataset

IGNORE = -100


def set_seed(seed: int) -> None:
    """Seed MindSpore (parameter init, dropout), its dataset pipeline and numpy."""
    ms.set_seed(seed)
    ms.dataset.config.set_seed(seed)
    np.random.seed(seed)


def cpu_context() -> None:
    """Graph mode on the CPU (REFERENCE §6): the mode the tiny Llama trains in."""
    ms.set_context(mode=ms.GRAPH_MODE)
    if ms.get_context("device_target") == "CPU":
        return  # already; MindSpore refuses set_device once its runtime is up, even to the same device
    if hasattr(ms, "set_device"):
        ms.set_device("CPU")
    else:
        ms.set_context(device_target="CPU")


def build_from_model_config(model_config: dict, pet_config: dict | None = None):
    """``LlamaForCausalLM`` from a rendered ``model.model_config``; LoRA applied through MindFormers."""
    from mindformers import LlamaConfig, LlamaForCausalLM
    from mindformers.pet import get_pet_model

    kwargs = {k: v for k, v in dict(model_config).items() if k not in ("type", "pet_config")}
    network = LlamaForCausalLM(LlamaConfig(**kwargs))
    if pet_config:
        # get_pet_model pops keys from the mapping it is given
        network = get_pet_model(network, {k: v for k, v in dict(pet_config).items()})
    return network


def build_model(
    preset: Preset,
    pet_config: dict | None = None,
    vocab_size: int | None = None,
    seed: int = 0,
    *,
    seq_length: int | None = None,
    special_ids: dict | None = None,
):
    """A preset's model (optionally with another vocabulary size and special ids), seeded, LoRA'd."""
    set_seed(seed)
    model_config = render_model_config(preset, seq_length or preset.seq_length, cpu=True)
    if vocab_size:
        model_config["vocab_size"] = int(vocab_size)
    model_config.update(special_ids or {})
    return build_from_model_config(model_config, pet_config)


def trainable_count(model) -> int:
    return int(sum(int(np.prod(p.shape)) for p in model.trainable_params()))


def total_count(model) -> int:
    return int(sum(int(np.prod(p.shape)) for p in model.get_parameters()))


@dataclass(frozen=True)
class TokenMap:
    """A compact vocabulary: the ids a run uses, renumbered 1..n (0 stands for any other id).

    A tiny model with Llama3's 128,256-row output layer spends nearly all its time there; the
    smoke run keeps the real ids in its files and maps them only at the model's edge.
    """

    ids: np.ndarray  # compact index → real id (index 0: unknown)

    @classmethod
    def from_ids(cls, ids: Iterable[int]) -> TokenMap:
        unique = np.unique(np.fromiter((int(i) for i in ids), dtype=np.int64))
        unique = unique[unique >= 0]
        return cls(np.concatenate([[-1], unique]).astype(np.int64))

    @property
    def size(self) -> int:
        return len(self.ids)

    def to_compact(self, array: np.ndarray) -> np.ndarray:
        array = np.asarray(array)
        index = np.searchsorted(self.ids[1:], array) + 1
        index = np.clip(index, 1, self.size - 1)
        found = self.ids[index] == array
        out = np.where(found, index, 0)
        return np.where(array == IGNORE, IGNORE, out).astype(np.int32)

    def to_real(self, compact: Iterable[int]) -> list[int]:
        return [int(self.ids[int(c)]) for c in compact if 0 < int(c) < self.size]


def read_records(path: str | Path, limit: int | None = None) -> Iterable[tuple[np.ndarray, np.ndarray]]:
    """(input_ids, labels) of a MindRecord in file order."""
    dataset = MindDataset(
        str(path),
        columns_list=["input_ids", "labels"],
        shuffle=False,
        num_parallel_workers=1,
        num_samples=limit,
    )
    yield from dataset.create_tuple_iterator(output_numpy=True, num_epochs=1)


def training_dataset(
    path: str | Path,
    batch_size: int,
    token_map: TokenMap | None = None,
    shuffle: bool = True,
    num_samples: int | None = None,
):
    """The MindRecord as MindFormers reads it (MindDataset, input_ids + labels), batched."""
    dataset = MindDataset(
        str(path),
        columns_list=["input_ids", "labels"],
        shuffle=shuffle,
        num_parallel_workers=1,
        num_samples=num_samples,
    )
    if token_map is not None:
        dataset = dataset.map(operations=token_map.to_compact, input_columns=["input_ids"])
        dataset = dataset.map(operations=token_map.to_compact, input_columns=["labels"])
    return dataset.batch(batch_size, drop_remainder=True)


def cosine_schedule(steps: int, learning_rate: float, warmup_steps: int) -> np.ndarray:
    """MindFormers' CosineWithWarmUpLR shape: linear warm-up, cosine decay to zero."""
    lrs = []
    for step in range(steps):
        if step < warmup_steps:
            lrs.append(learning_rate * (step + 1) / warmup_steps)
        else:
            progress = (step - warmup_steps) / max(1, steps - warmup_steps)
            lrs.append(learning_rate * 0.5 * (1 + math.cos(math.pi * progress)))
    return np.asarray(lrs, dtype=np.float32)


def mindformers_step_line(
    epoch: int,
    epochs: int,
    step: int,
    steps_per_epoch: int,
    loss: float,
    ms_per_step: float,
    lr: float,
    global_norm: float,
) -> str:
    """A step line in the layout MindFormers' MFLossMonitor logs (so ``train logs`` reads it)."""
    return (
        f"{{ Epoch:[{epoch:3d}/{epochs:3d}], step:[{step:5d}/{steps_per_epoch:5d}], loss: {loss:5.6f}, "
        f"per_step_time: {int(ms_per_step)}ms, lr: {lr:.6e}, overflow cond: False, loss_scale: 1.0, "
        f"global_norm: [{global_norm:.6f}]"
    )


def mindformers_progress_line(percent: float, throughput: float, remaining_s: float) -> str:
    bar = int(50 * percent / 100) * "█"
    remaining = datetime.timedelta(seconds=max(0, int(remaining_s)))
    return f"  {percent:4.1f}% |{bar:<50}| {throughput:.5f} samples/s/p  {remaining} }}"


def train_steps(
    model,
    dataset,
    steps: int,
    learning_rate: float,
    *,
    warmup_steps: int = 0,
    max_grad_norm: float = 1.0,
    weight_decay: float = 0.0,
    log: Callable[[str], None] | None = None,
) -> list[float]:
    """Train ``model``'s trainable parameters for ``steps`` batches of ``dataset`` (repeated as needed).

    AdamW with warm-up and cosine decay and global-norm clipping, like MindFormers' finetune
    defaults; the optimizer starts fresh (a stage boundary: weights carry over, state does not).
    ``log`` gets MindFormers-style step and progress lines.  Returns the loss of every step.
    """
    params = model.trainable_params()
    if not params:
        raise ValueError("the model has no trainable parameters")
    lrs = cosine_schedule(steps, learning_rate, warmup_steps)
    optimizer = nn.AdamWeightDecay(params, learning_rate=ms.Tensor(lrs), weight_decay=weight_decay)

    def forward(input_ids, labels):
        return model(input_ids, labels)

    grad_fn = ms.value_and_grad(forward, None, optimizer.parameters)

    @ms.jit
    def step(input_ids, labels):
        loss, grads = grad_fn(input_ids, labels)
        grads, norm = _clip(grads, max_grad_norm)
        optimizer(grads)
        return loss, norm

    model.set_train(True)
    per_epoch = dataset.get_dataset_size()
    if per_epoch <= 0:
        raise ValueError("the dataset yields no full batch")
    epochs = math.ceil(steps / per_epoch)
    batch_size = dataset.get_batch_size()
    losses: list[float] = []
    started = time.time()
    done = 0
    iterator = dataset.create_tuple_iterator(num_epochs=epochs)
    for epoch in range(1, epochs + 1):
        for in_epoch, (input_ids, labels) in enumerate(iterator, 1):
            if done >= steps:
                break
            tick = time.time()
            loss, norm = step(input_ids, labels)
            loss = float(loss.asnumpy().reshape(-1)[0])
            losses.append(loss)
            done += 1
            if log:
                log(
                    mindformers_step_line(
                        epoch,
                        epochs,
                        in_epoch,
                        per_epoch,
                        loss,
                        (time.time() - tick) * 1000,
                        float(lrs[done - 1]),
                        float(norm.asnumpy()),
                    )
                )
                rate = done / max(1e-9, time.time() - started)
                log(mindformers_progress_line(100 * done / steps, batch_size * rate, (steps - done) / rate))
    return losses


def _clip(grads, max_norm: float):
    norm = ops.sqrt(sum(ops.reduce_sum(ops.square(g.astype(ms.float32))) for g in grads))
    return ops.clip_by_global_norm(grads, max_norm), norm


def eval_loss(model, batches: list[tuple[np.ndarray, np.ndarray]], pad_id: int) -> float:
    """Mean next-token loss over the answer tokens, with dropout off (inference mode).

    Same masking as ``LlamaForCausalLM``: a position counts where its input is not the pad id
    and its label is not −100.
    """
    model.set_train(False)
    total, count = 0.0, 0
    for input_ids, labels in batches:
        tokens = input_ids[:, :-1].astype(np.int32)
        targets = labels[:, 1:]
        result = model(ms.Tensor(tokens))
        logits = (result[0] if isinstance(result, (tuple, list)) else result).asnumpy()
        logits = logits.reshape(tokens.shape[0], tokens.shape[1], -1).astype(np.float64)
        mask = (tokens != pad_id) & (targets != IGNORE)
        if not mask.any():
            continue
        picked = logits[mask]
        gold = targets[mask]
        top = picked.max(axis=1, keepdims=True)
        log_z = np.log(np.exp(picked - top).sum(axis=1)) + top[:, 0]
        total += float((log_z - picked[np.arange(len(gold)), gold]).sum())
        count += int(mask.sum())
    if not count:
        raise ValueError("no answer tokens to measure the loss on (every label is -100)")
    return total / count
