"""A byte-level BPE tokenizer read from a GGUF file's metadata, run by Hugging Face ``tokenizers``.

GGUF files carry their tokenizer: ``tokenizer.ggml.tokens`` (id order), ``.merges``,
``.token_type`` (3 = control token), the special ids, ``.pre`` (which pre-tokenizer split the
model was trained with) and ``tokenizer.chat_template``.  ``GGUFTokenizer`` has the interface
of ``curricula.tokenizer.Llama3Tokenizer`` (``encode``, ``encode_ordinary``, ``decode``,
``bos_id``/``eos_id``/``pad_id``, ``sha256``, ``name``, ``describe``), so code written against
one takes the other.

``tokenizers`` is imported when a tokenizer is built; the module itself needs only the
standard library.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datagen.errors import InputError, MissingExtraError

CONTROL = 3  # llama.cpp's token type for control (special) tokens
# GPT-2's split (what ByteLevel uses) and Llama3's; 'smollm' splits every digit off first
LLAMA3_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
PRE_TOKENIZERS = ("gpt2", "smollm", "llama-bpe")


class GGUFTokenizerError(InputError, ValueError):
    """The GGUF's tokenizer metadata is missing or of a kind this module does not build."""


def _pre_tokenizer(kind: str, where: str):
    from tokenizers import Regex, pre_tokenizers

    if kind == "gpt2":
        return pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if kind == "smollm":
        return pre_tokenizers.Sequence(
            [
                pre_tokenizers.Digits(individual_digits=True),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
            ]
        )
    if kind == "llama-bpe":
        return pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated"),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        )
    raise GGUFTokenizerError(
        f"pre-tokenizer {kind!r} is not supported (supported: {', '.join(PRE_TOKENIZERS)})",
        path=where,
        field="tokenizer.ggml.pre",
    )


@dataclass(frozen=True)
class GGUFTokenizer:
    name: str
    path: Path
    sha256: str
    backend: Any = field(repr=False, compare=False)  # tokenizers.Tokenizer
    ordinary: Any = field(repr=False, compare=False)  # the same without special tokens
    bos_id: int
    eos_id: int
    pad_id: int  # the id the model is built with (see train/gguf.py), not necessarily the GGUF's
    special_ids: frozenset = field(repr=False, default=frozenset())
    chat_template: str | None = field(repr=False, default=None)
    pre: str = "gpt2"

    @property
    def vocab_size(self) -> int:
        return self.backend.get_vocab_size(with_added_tokens=True)

    def encode(self, text: str) -> list[int]:
        """Token ids, special-token spellings in the text becoming their ids (no BOS/EOS added)."""
        return self.backend.encode(text, add_special_tokens=False).ids

    def encode_ordinary(self, text: str) -> list[int]:
        """Ids with special-token spellings kept as plain text."""
        return self.ordinary.encode(text, add_special_tokens=False).ids

    def decode(self, ids: Sequence[int], skip_special: bool = True) -> str:
        return self.backend.decode([int(i) for i in ids], skip_special_tokens=skip_special)

    def token(self, text: str) -> int:
        """The id of a single token spelled ``text`` (a special token, e.g. ``<|im_end|>``)."""
        found = self.backend.token_to_id(text)
        if found is None:
            raise GGUFTokenizerError(f"the vocabulary has no token {text!r}", path=self.path)
        return int(found)

    def describe(self) -> dict:
        return {
            "name": self.name,
            "path": str(self.path),
            "sha256": self.sha256,
            "pre": self.pre,
            "vocab_size": self.vocab_size,
            "bos_id": self.bos_id,
            "eos_id": self.eos_id,
            "pad_id": self.pad_id,
        }


def tokenizer_from_metadata(
    metadata: dict, path: str | Path, sha256: str, *, pad_id: int | None = None, name: str | None = None
) -> GGUFTokenizer:
    """Build the tokenizer from a GGUF's metadata (as ``gguf.GGUFReader`` field contents)."""
    try:
        from tokenizers import AddedToken, Tokenizer, decoders, models
    except ImportError:
        raise MissingExtraError("a GGUF model's tokenizer", "tokenizers", "pretrained") from None
    where = str(path)

    def need(key: str):
        if key not in metadata:
            raise GGUFTokenizerError("metadata key is missing", path=where, field=key)
        return metadata[key]

    kind = need("tokenizer.ggml.model")
    if kind != "gpt2":
        raise GGUFTokenizerError(
            f"tokenizer model {kind!r} is not supported; only byte-level BPE ('gpt2')",
            path=where,
            field="tokenizer.ggml.model",
        )
    tokens = list(need("tokenizer.ggml.tokens"))
    merges = [tuple(m.split(" ", 1)) for m in need("tokenizer.ggml.merges")]
    if any(len(m) != 2 for m in merges):
        raise GGUFTokenizerError(
            "a merge is not two space-separated tokens", path=where, field="tokenizer.ggml.merges"
        )
    types = list(metadata.get("tokenizer.ggml.token_type") or [1] * len(tokens))
    if len(types) != len(tokens):
        raise GGUFTokenizerError(
            f"{len(types)} token types for {len(tokens)} tokens",
            path=where,
            field="tokenizer.ggml.token_type",
        )
    pre = str(metadata.get("tokenizer.ggml.pre") or "gpt2")
    vocab = {token: index for index, token in enumerate(tokens)}

    def bpe():
        built = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False))
        built.pre_tokenizer = _pre_tokenizer(pre, where)
        built.decoder = decoders.ByteLevel()
        return built

    backend, ordinary = bpe(), bpe()
    special = [index for index, kind in enumerate(types) if kind == CONTROL]
    backend.add_special_tokens([AddedToken(tokens[i], special=True, normalized=False) for i in special])
    bos = int(metadata.get("tokenizer.ggml.bos_token_id", 1))
    eos = int(metadata.get("tokenizer.ggml.eos_token_id", 2))
    pad = int(metadata.get("tokenizer.ggml.padding_token_id", eos) if pad_id is None else pad_id)
    for key, value in (("bos_token_id", bos), ("eos_token_id", eos), ("padding_token_id", pad)):
        if not 0 <= value < len(tokens):
            raise GGUFTokenizerError(
                f"id {value} is outside the vocabulary of {len(tokens)}",
                path=where,
                field=f"tokenizer.ggml.{key}",
            )
    template = metadata.get("tokenizer.chat_template")
    return GGUFTokenizer(
        name=name or str(metadata.get("general.name") or Path(path).stem),
        path=Path(path),
        sha256=sha256,
        backend=backend,
        ordinary=ordinary,
        bos_id=bos,
        eos_id=eos,
        pad_id=pad,
        special_ids=frozenset(special),
        chat_template=str(template) if template else None,
        pre=pre,
    )
