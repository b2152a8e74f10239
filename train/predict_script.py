"""Greedy prediction for a (LoRA-)finetuned MindFormers Llama, writing the contest's .npy format.

``datagen train plan`` copies this file verbatim to ``RUN_DIR/predict/predict.py``: it must run
on the Ascend host with only the standard library, numpy, tiktoken, MindSpore and MindFormers.
``train smoke`` imports the same decoder and writer, so the CPU smoke run and the NPU predict
produce files in one format:

* ``.npy``: ``np.save`` of a list with one ``{"text_generation_text": [text, ...]}`` per batch,
  each text echoing its prompt (what the contest's inference script writes; REFERENCE §5);
* ``.jsonl``: one ``{"id", "output"}`` per prompt, ``output`` being the continuation only.

On Ascend it calls MindFormers' ``generate`` with each batch right-padded to one length with the
pad id (``generate`` finds a row's end as its last non-pad token and refuses rows of different
lengths) and cuts each output at its prompt's length; ``--greedy`` decodes by repeated forward
calls instead (what works on a CPU, where ``generate``'s argmax has no kernel).  The SQuAD entry
(``mindformers_entry.py``) imports this file for ``register_mindformers_tokenizer``, on releases
that have no ``Llama3Tokenizer`` of their own.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import glob
import json
import os
import re
import shutil
import sys
import time
import unicodedata
from typing import ClassVar

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
        self.special_tokens = special
        self.special_ids = set(special.values())

    def encode(self, text: str) -> list[int]:
        """Ids as MindFormers' Llama3 tokenizer gives them: NFC text, special spellings as specials."""
        text = unicodedata.normalize("NFC", text)
        if "<|" in text:
            return self.encoding.encode(text, allowed_special="all", disallowed_special=())
        return self.encoding.encode_ordinary(text)

    def decode(self, ids) -> str:
        return self.encoding.decode([int(i) for i in ids if int(i) not in self.special_ids])

    def token_strings(self) -> dict[str, int]:
        """Every token as a string (its bytes read as Latin-1; specials as spelt) and its id."""
        if not hasattr(self, "_token_strings"):
            strings = {
                self.encoding.decode_single_token_bytes(i).decode("latin-1"): i
                for i in range(self.encoding.n_vocab)
                if i not in self.special_ids
            }
            strings.update(self.special_tokens)
            self._token_strings = strings
        return self._token_strings


def register_mindformers_tokenizer(name: str = "Llama3Tokenizer"):
    """Register this file's Llama3 tokenizer in MindFormers' TOKENIZER registry under ``name``.

    For releases without a ``Llama3Tokenizer`` of their own (1.9 has none; r1.6-r1.8 keep one
    only in ``research/llama3_1``); ``build_tokenizer`` then makes it from a yaml's
    ``processor.tokenizer`` (``vocab_file``, ``pad_token``...).  Ids are the ones above.
    """
    from mindformers.models.tokenization_utils import PreTrainedTokenizer
    from mindformers.tools.register import MindFormerModuleType, MindFormerRegister

    class MindFormersLlama3Tokenizer(PreTrainedTokenizer):
        vocab_files_names: ClassVar[dict] = {"vocab_file": "tokenizer.model"}
        model_input_names: ClassVar[list] = ["input_ids", "attention_mask"]

        def __init__(
            self,
            vocab_file: str,
            bos_token: str = "<|begin_of_text|>",
            eos_token: str = "<|end_of_text|>",
            pad_token: str = "<|reserved_special_token_0|>",
            digits: int = 3,
            **kwargs,
        ) -> None:
            self.vocab_file = vocab_file
            self.core = Llama3Tokenizer(vocab_file, digits=digits)
            self.id_to_string = {i: t for t, i in self.core.token_strings().items()}
            super().__init__(bos_token=bos_token, eos_token=eos_token, pad_token=pad_token, **kwargs)

        @property
        def vocab_size(self) -> int:
            return self.core.encoding.n_vocab

        def get_vocab(self) -> dict[str, int]:
            return dict(self.core.token_strings())

        def _tokenize(self, text, **kwargs):
            return [self.id_to_string[i] for i in self.core.encode(text)]

        def _convert_token_to_id(self, token):
            return self.core.token_strings()[token]

        def _convert_id_to_token(self, index):
            return self.id_to_string[int(index)]

        def convert_tokens_to_string(self, tokens):
            ids = [self.core.token_strings()[t] for t in tokens]
            return self.core.encoding.decode(ids)

        def _decode(self, token_ids, skip_special_tokens=False, **kwargs):
            ids = [int(i) for i in token_ids]
            if skip_special_tokens:
                ids = [i for i in ids if i not in self.core.special_ids]
            return self.core.encoding.decode(ids)

        def save_vocabulary(self, save_directory, filename_prefix=None):
            target = os.path.join(save_directory, (filename_prefix or "") + "tokenizer.model")
            if os.path.abspath(target) != os.path.abspath(self.vocab_file):
                shutil.copyfile(self.vocab_file, target)
            return (target,)

    MindFormerRegister.register_cls(
        MindFormersLlama3Tokenizer, module_type=MindFormerModuleType.TOKENIZER, alias=name
    )
    return MindFormersLlama3Tokenizer


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


def pad_batch(rows: list[list[int]], pad_id: int) -> np.ndarray:
    """Rows right-padded with ``pad_id`` to the longest one: the layout ``generate`` takes."""
    width = max(len(row) for row in rows)
    batch = np.full((len(rows), width), pad_id, dtype=np.int32)
    for number, row in enumerate(rows):
        batch[number, : len(row)] = row
    return batch


def generate_continuations(
    network,
    prompt_ids: list[list[int]],
    *,
    batch_size: int,
    max_new_tokens: int,
    pad_id: int,
    progress=None,
) -> list[list[int]]:
    """New ids per prompt from MindFormers' ``generate``, greedy, ``batch_size`` prompts a call.

    Each call gets a full batch (the model is built for ``batch_size`` rows: a short last batch is
    filled with copies of its first prompt, whose outputs are dropped), padded with ``pad_id``;
    ``generate`` returns each row as prompt + continuation, so the continuation starts at the
    prompt's own length.
    """
    network.set_train(False)
    outputs: list[list[int]] = []
    for start in range(0, len(prompt_ids), batch_size):
        chunk = [list(map(int, p)) for p in prompt_ids[start : start + batch_size]]
        filled = chunk + [chunk[0]] * (batch_size - len(chunk))
        result = network.generate(
            pad_batch(filled, pad_id), do_sample=False, max_new_tokens=max_new_tokens, pad_token_id=pad_id
        )
        outputs.extend([int(t) for t in list(row)[len(prompt) :]] for row, prompt in zip(result, chunk))
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


CHECKPOINT_NAME = re.compile(r"-(\d+)_(\d+)\.ckpt$")  # MindSpore's <prefix>-<epoch>_<step>.ckpt


def checkpoint_order(path: str) -> tuple:
    """Sort key: (epoch, step) read from the name, then the file's time; unnumbered names first."""
    match = CHECKPOINT_NAME.search(os.path.basename(path))
    numbers = (int(match.group(1)), int(match.group(2))) if match else (-1, -1)
    return (*numbers, os.path.getmtime(path))


def last_checkpoint(folder: str) -> str:
    """The newest .ckpt of one rank's folder: the highest epoch, then step (epoch 10 after epoch 9)."""
    found = glob.glob(os.path.join(folder, "*.ckpt"))
    if not found:
        raise SystemExit(f"no .ckpt under {folder}")
    return max(found, key=checkpoint_order)


def named_checkpoints(folder: str, name: str, ranks: int) -> list[str]:
    """Each rank's checkpoint the plan names (``name`` may hold ``{rank}``), or an error listing what is there."""
    files = []
    for rank in range(ranks):
        rank_dir = os.path.join(folder, f"rank_{rank}")
        path = os.path.join(rank_dir, name.format(rank=rank))
        if not os.path.isfile(path):
            found = sorted(os.path.basename(f) for f in glob.glob(os.path.join(rank_dir, "*.ckpt")))
            raise SystemExit(
                f"{path}: the checkpoint the plan names is missing (found: {', '.join(found) or 'none'}); "
                "did the stage finish?"
            )
        files.append(path)
    return files


def checkpoint_key(files: list[str], strategy: str | None) -> str:
    """Identifies a merge's source: each file's name, size and modification time, and the strategy's."""
    import hashlib

    digest = hashlib.sha256()
    for path in [*files, *([strategy] if strategy else [])]:
        stat = os.stat(path)
        digest.update(f"{os.path.abspath(path)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def merge_checkpoints(files: list[str], strategy: str, work_dir: str) -> str:
    """One checkpoint merged from exactly ``files`` (rank r's shard at index r), rebuilt when they change.

    ``transform_checkpoints`` takes the alphabetically last ``.ckpt`` of each ``rank_*`` folder
    (``-75_2`` after ``-150_2``), so it reads a merge input folder holding only the chosen file per
    rank (links).  The result lives under a key of the sources' names, sizes and times: a re-trained
    stage gets a new merge, never a stale one; older merges are removed once the new one is whole.
    """
    import mindspore as ms

    key = checkpoint_key(files, strategy)
    root = os.path.join(work_dir, "merged_checkpoint")
    merged_dir = os.path.join(root, key)
    found = glob.glob(os.path.join(merged_dir, "rank_0", "*.ckpt"))
    if not found:
        tmp = os.path.join(root, f".{key}.tmp-{os.getpid()}")
        inputs = os.path.join(tmp, "input")
        try:
            for rank, path in enumerate(files):
                os.makedirs(os.path.join(inputs, f"rank_{rank}"))
                os.symlink(os.path.abspath(path), os.path.join(inputs, f"rank_{rank}", os.path.basename(path)))
            ms.transform_checkpoints(inputs, os.path.join(tmp, "merged"), "merged_", strategy, None)
            shutil.rmtree(inputs)
            os.replace(os.path.join(tmp, "merged"), merged_dir)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        for stale in os.listdir(root):
            if stale != key and not stale.startswith("."):
                shutil.rmtree(os.path.join(root, stale), ignore_errors=True)
        found = glob.glob(os.path.join(merged_dir, "rank_0", "*.ckpt"))
        print(f"merged {len(files)} shards ({os.path.basename(files[0])} ...) into {found[0]}", file=sys.stderr)
    return found[0]


def find_checkpoint(
    path: str,
    strategy: str | None = None,
    work_dir: str | None = None,
    name: str | None = None,
    ranks: int | None = None,
) -> str:
    """A single checkpoint file from ``path``: a .ckpt, or a training output's checkpoint folder.

    With ``name`` (and ``ranks``) the folder's ``rank_<r>/<name>`` files are the ones taken, as the
    plan names them; without, each rank's newest by epoch and step.  Several ranks with a
    ``strategy`` file are merged (model-parallel runs split the weights across ranks).
    """
    if os.path.isfile(path):
        return path
    rank_dirs = sorted(glob.glob(os.path.join(path, "rank_*")), key=lambda d: int(d.rsplit("_", 1)[-1]))
    if name:
        files = named_checkpoints(path, name, ranks or max(1, len(rank_dirs)))
    elif rank_dirs:
        files = [last_checkpoint(d) for d in rank_dirs]
    else:
        return last_checkpoint(path)
    if strategy and len(files) > 1:
        return merge_checkpoints(files, strategy, work_dir or os.path.dirname(os.path.abspath(path)))
    return files[0]


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
    parser.add_argument("--config", help="the predict yaml")
    parser.add_argument("--input", help="JSON Lines {id, prompt}")
    parser.add_argument("--out", help="the .npy to write")
    parser.add_argument("--jsonl", help="also write {id, output} JSON Lines here")
    parser.add_argument("--load_checkpoint", help="a .ckpt, or a training output/checkpoint folder")
    parser.add_argument("--strategy", help="ckpt_strategy file to merge a multi-card checkpoint")
    parser.add_argument("--checkpoint_name", help="the file each rank_<r>/ holds to load ({rank}: r)")
    parser.add_argument("--ranks", type=int, help="how many rank folders --checkpoint_name names")
    parser.add_argument("--work_dir", help="where merges are kept (default: beside --out)")
    parser.add_argument(
        "--print_checkpoint", action="store_true", help="only resolve (and merge) the checkpoint; print its path"
    )
    parser.add_argument("--vocab_file", help="Llama3 tokenizer.model")
    parser.add_argument("--digits", type=int, default=3, help="digits per number pre-token (3: Meta's)")
    parser.add_argument("--batch_size", type=int)
    parser.add_argument("--max_new_tokens", type=int)
    parser.add_argument("--device_target", default=None)
    parser.add_argument("--device_id", type=int, default=None)
    parser.add_argument("--greedy", action="store_true", help="decode by forward calls (CPU)")
    args = parser.parse_args(argv)
    if args.print_checkpoint:
        if not args.load_checkpoint:
            parser.error("--print_checkpoint needs --load_checkpoint")
        work_dir = args.work_dir or os.path.dirname(os.path.abspath(args.load_checkpoint))
        print(find_checkpoint(args.load_checkpoint, args.strategy, work_dir, args.checkpoint_name, args.ranks))
        return 0
    missing = [flag for flag in ("config", "input", "out") if not getattr(args, flag)]
    if missing:
        parser.error("the following arguments are required: " + ", ".join(f"--{m}" for m in missing))

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
        work_dir = args.work_dir or os.path.dirname(os.path.abspath(args.out))
        path = find_checkpoint(checkpoint, strategy, work_dir, args.checkpoint_name, args.ranks)
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
        new = generate_continuations(
            network,
            ids,
            batch_size=batch_size,
            max_new_tokens=max_new,
            pad_id=tokenizer.pad_id,
            progress=lambda done, total: print(f"{done}/{total} prompts", file=sys.stderr),
        )
    continuations = [tokenizer.decode(n) for n in new]
    write_predictions(
        args.out, args.jsonl, [item.get("id") for item in items], prompts, continuations, batch_size
    )
    print(f"wrote {len(items)} predictions to {args.out} in {time.time() - started:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
