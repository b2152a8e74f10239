"""Greedy prediction for a (LoRA-)finetuned MindFormers Llama, writing the contest's .npy format.

``datagen train plan`` copies this file verbatim to ``RUN_DIR/predict/predict.py``: it must run
on the Ascend host with only the standard library, numpy, tiktoken, MindSpore and MindFormers.
``train smoke`` imports the same decoder and writer, so the CPU smoke run and the NPU predict
produce files in one format:

* ``.npy``: ``np.save`` of a list with one ``{"text_generation_text": [text, ...]}`` per batch,
  each text echoing its prompt (what the contest's inference script writes; REFERENCE §5);
* ``.jsonl``: one ``{"id", "output"}`` per prompt, ``output`` being the continuation only.

On Ascend it calls MindFormers' ``generate``; ``--greedy`` decodes by repeated forward calls
instead (what works on a CPU, where ``generate`` fails).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import glob
import json
import os
import sys
import time
import unicodedata

import numpy as np

LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
LLAMA3_SPECIAL = (
    ["<|begin_of_text|>", "<|end_of_text|>"]
    + [f"<|reserved_special_token_{i}|>" for i in range(4)]
    + ["<|start_header_id|>", "<|end_header_id|>", "<|reserved_special_token_4|>", "<|eot_id|>"]
    + [f"<|reserved_special_token_{i}|>" for i in range(5, 251)]
)


class Llama3Tokenizer:
    """The Llama3 tiktoken tokenizer read from a ``tokenizer.model`` rank file.

    ``digits=1`` splits numbers one digit per pre-token (the variant some MindFormers releases
    use); the default groups up to 3 like Meta's.
    """

    def __init__(self, path: str, digits: int = 3) -> None:
        import tiktoken

        ranks = {}
        with open(path, "rb") as handle:
            for line in handle:
                if line.strip():
                    token, rank = line.split()
                    ranks[base64.b64decode(token)] = int(rank)
        pattern = LLAMA3_PATTERN.replace(r"\p{N}{1,3}", r"\p{N}{1," + str(digits) + "}")
        special = {token: len(ranks) + i for i, token in enumerate(LLAMA3_SPECIAL)}
        self.encoding = tiktoken.Encoding(
            name=f"llama3-d{digits}", pat_str=pattern, mergeable_ranks=ranks, special_tokens=special
        )
        self.bos_id = special["<|begin_of_text|>"]
        self.eos_id = special["<|end_of_text|>"]
        self.pad_id = special["<|reserved_special_token_0|>"]
        self.special_ids = set(special.values())

    def encode(self, text: str) -> list[int]:
        """Ids as MindFormers' Llama3 tokenizer gives them: NFC text, special spellings as specials."""
        text = unicodedata.normalize("NFC", text)
        if "<|" in text:
            return self.encoding.encode(text, allowed_special="all", disallowed_special=())
        return self.encoding.encode_ordinary(text)

    def decode(self, ids) -> str:
        return self.encoding.decode([int(i) for i in ids if int(i) not in self.special_ids])


def prompt_ids(tokenizer, prompt: str, bos_id: int) -> list[int]:
    """What MindFormers' preprocessing puts before the answer: BOS, then the prompt's tokens."""
    return [bos_id] + [int(i) for i in tokenizer.encode(prompt)]


def greedy_decode(
    model,
    prompt_ids: list[list[int]],
    max_new_tokens: int,
    eos_id: int,
    *,
    pad_id: int | None = None,
    seq_length: int | None = None,
    batch_size: int = 8,
    progress=None,
) -> list[list[int]]:
    """Greedy continuation of each prompt by repeated full forward calls (no KV cache).

    Every call has the shape (batch_size, seq_length), so graph mode compiles once; prompts are
    right-padded, and causal attention keeps the pads from touching the positions read.  A
    prompt that fills the whole window gets an empty continuation.  Returns the new ids only,
    ending at (and including) ``eos_id`` when the model emits it.
    """
    import mindspore as ms

    config = getattr(model, "config", None)
    seq_length = seq_length or int(config.seq_length)
    pad_id = int(config.pad_token_id if pad_id is None else pad_id)
    outputs: list[list[int]] = []
    model.set_train(False)
    for start in range(0, len(prompt_ids), batch_size):
        chunk = [list(p) for p in prompt_ids[start : start + batch_size]]
        rows = len(chunk)
        tokens = np.full((batch_size, seq_length), pad_id, dtype=np.int32)
        lengths = np.zeros(batch_size, dtype=np.int64)
        for row, ids in enumerate(chunk):
            ids = ids[:seq_length]
            tokens[row, : len(ids)] = ids
            lengths[row] = len(ids)
        new = [[] for _ in range(rows)]
        active = [lengths[row] < seq_length for row in range(rows)]
        for _ in range(max_new_tokens):
            if not any(active):
                break
            result = model(ms.Tensor(tokens))
            logits = result[0] if isinstance(result, (tuple, list)) else result
            logits = logits.asnumpy()
            if logits.ndim == 2:
                logits = logits.reshape(batch_size, seq_length, -1)
            for row in range(rows):
                if not active[row]:
                    continue
                position = int(lengths[row]) - 1
                token = int(np.argmax(logits[row, position]))
                new[row].append(token)
                tokens[row, lengths[row]] = token
                lengths[row] += 1
                if token == eos_id or lengths[row] >= seq_length:
                    active[row] = False
        outputs.extend(new)
        if progress:
            progress(len(outputs), len(prompt_ids))
    return outputs


def prediction_batches(texts: list[str], batch_size: int) -> list[dict]:
    """The contest's layout: one ``{"text_generation_text": [...]}`` per batch."""
    return [{"text_generation_text": texts[i : i + batch_size]} for i in range(0, len(texts), batch_size)]


@contextlib.contextmanager
def _replace(path: str, mode: str):
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": "\n"})) as handle:
            yield handle
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_predictions(
    npy_path: str | None,
    jsonl_path: str | None,
    ids: list,
    prompts: list[str],
    continuations: list[str],
    batch_size: int,
) -> None:
    """Write the .npy (texts echo their prompts) and the .jsonl (continuations), each atomically."""
    if npy_path:
        batches = prediction_batches([p + c for p, c in zip(prompts, continuations)], batch_size)
        array = np.empty(len(batches), dtype=object)
        array[:] = batches
        with _replace(npy_path, "wb") as handle:
            np.save(handle, array, allow_pickle=True)
    if jsonl_path:
        with _replace(jsonl_path, "w") as handle:
            for item_id, text in zip(ids, continuations):
                handle.write(json.dumps({"id": item_id, "output": text}, ensure_ascii=False) + "\n")


def read_inputs(path: str) -> list[dict]:
    """The prediction input: JSON Lines ``{"id", "prompt"}`` rendered with the training template."""
    items = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                item = json.loads(line)
                if "prompt" not in item:
                    raise SystemExit(f'{path}: line {number}: no "prompt"')
                items.append(item)
    return items


def find_checkpoint(path: str, strategy: str | None = None, work_dir: str | None = None) -> str:
    """A single checkpoint file from ``path``: a .ckpt, or a training output's checkpoint folder.

    A folder with several ``rank_*`` shards and a ``strategy`` file is merged first with
    MindSpore's ``transform_checkpoints`` (data-parallel LoRA runs shard the LoRA weights).
    """
    if os.path.isfile(path):
        return path
    ranks = sorted(glob.glob(os.path.join(path, "rank_*")))
    if strategy and len(ranks) > 1:
        import mindspore as ms

        merged = os.path.join(work_dir or os.path.dirname(os.path.abspath(path)), "merged_checkpoint")
        if not glob.glob(os.path.join(merged, "rank_0", "*.ckpt")):
            ms.transform_checkpoints(path, merged, "merged_", strategy, None)
        path, ranks = merged, [os.path.join(merged, "rank_0")]
    folder = ranks[0] if ranks else path
    found = sorted(glob.glob(os.path.join(folder, "*.ckpt")), key=os.path.getmtime)
    if not found:
        raise SystemExit(f"no .ckpt under {folder}")
    return found[-1]


def build_from_config(config_path: str):
    """The network a predict yaml describes, LoRA applied when it has a pet_config."""
    from mindformers import LlamaConfig, LlamaForCausalLM, MindFormerConfig
    from mindformers.pet import get_pet_model

    config = MindFormerConfig(config_path)
    model_config = {
        k: v for k, v in dict(config.model.model_config).items() if k not in ("type", "pet_config")
    }
    pet = config.model.model_config.get("pet_config")
    network = LlamaForCausalLM(LlamaConfig(**model_config))
    if pet:
        network = get_pet_model(network, dict(pet))
    return config, network


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="the predict yaml")
    parser.add_argument("--input", required=True, help="JSON Lines {id, prompt}")
    parser.add_argument("--out", required=True, help="the .npy to write")
    parser.add_argument("--jsonl", help="also write {id, output} JSON Lines here")
    parser.add_argument("--load_checkpoint", help="a .ckpt, or a training output/checkpoint folder")
    parser.add_argument("--strategy", help="ckpt_strategy file to merge a multi-card checkpoint")
    parser.add_argument("--vocab_file", help="Llama3 tokenizer.model")
    parser.add_argument("--digits", type=int, default=3, help="digits per number pre-token (3: Meta's)")
    parser.add_argument("--batch_size", type=int)
    parser.add_argument("--max_new_tokens", type=int)
    parser.add_argument("--device_target", default=None)
    parser.add_argument("--device_id", type=int, default=None)
    parser.add_argument("--greedy", action="store_true", help="decode by forward calls (CPU)")
    args = parser.parse_args(argv)

    os.environ.setdefault(
        "LOCAL_DEFAULT_PATH", os.path.join(os.path.dirname(os.path.abspath(args.out)), "output")
    )
    import mindspore as ms
    from mindformers import MindFormerConfig

    raw = MindFormerConfig(args.config)
    context = raw.get("context") or {}
    ms.set_context(
        mode=int(context.get("mode", 0)),
        device_target=args.device_target or context.get("device_target", "Ascend"),
    )
    if args.device_id is not None or context.get("device_id") is not None:
        with contextlib.suppress(Exception):
            ms.set_context(
                device_id=args.device_id if args.device_id is not None else int(context["device_id"])
            )
    config, network = build_from_config(args.config)
    model_config = config.model.model_config
    checkpoint = args.load_checkpoint or config.get("load_checkpoint")
    if checkpoint:
        strategy = args.strategy or config.get("src_strategy_path_or_dir") or None
        path = find_checkpoint(checkpoint, strategy, os.path.dirname(os.path.abspath(args.out)))
        params = ms.load_checkpoint(path)
        not_loaded, _ = ms.load_param_into_net(network, params)
        lora_missing = [name for name in not_loaded if "lora" in name]
        if lora_missing:
            raise SystemExit(f"{path} has no LoRA weights for {lora_missing[:3]}...")
        print(f"loaded {path}", file=sys.stderr)
    vocab_file = args.vocab_file or config.processor.tokenizer.vocab_file
    tokenizer = Llama3Tokenizer(vocab_file, digits=args.digits)
    batch_size = args.batch_size or int(
        config.runner_config.get("batch_size") or model_config.batch_size or 1
    )
    max_new = args.max_new_tokens or int(model_config.get("max_new_tokens") or 64)
    items = read_inputs(args.input)
    prompts = [item["prompt"] for item in items]
    ids = [prompt_ids(tokenizer, p, tokenizer.bos_id) for p in prompts]
    started = time.time()
    if args.greedy:
        new = greedy_decode(
            network,
            ids,
            max_new,
            tokenizer.eos_id,
            pad_id=tokenizer.pad_id,
            seq_length=int(model_config.seq_length),
            batch_size=batch_size,
        )
    else:
        network.set_train(False)
        new = []
        for start in range(0, len(ids), batch_size):
            chunk = ids[start : start + batch_size]
            out = network.generate(chunk, do_sample=False, max_new_tokens=max_new)
            new.extend([list(o)[len(p) :] for o, p in zip(out, chunk)])
            print(f"{len(new)}/{len(ids)} prompts", file=sys.stderr)
    continuations = [tokenizer.decode(n) for n in new]
    write_predictions(
        args.out, args.jsonl, [item.get("id") for item in items], prompts, continuations, batch_size
    )
    print(f"wrote {len(items)} predictions to {args.out} in {time.time() - started:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
