"""Token ids and labels for conversations, as MindFormers' ``llama_preprocess.py --dataset_type qa`` makes them.

Generic over a tokenizer (``curricula.tokenizer.Tokenizer``) and a chat template
(``curricula.conversation.ChatTemplate``); with the Llama3 tokenizer and ``vicuna_v1.1`` the
ids are MindFormers' own, token for token (docs/export.md has every rule). Pure: no files.

The rules: the rendered text is split into rounds on the template's round separator; each
round is tokenized on its own and closed by EOS; one BOS starts the record; the instruction
of a round (up to the answer separator) is masked with -100; records are ``width`` tokens
(seq_length + 1), padded with the pad id or cut. Speed comes from caching the tokens of the
fixed system/role text and tokenizing only the variable parts, in one call per batch, where
that provably gives the same tokens; anything else takes the direct path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from datagen.curricula.conversation import ChatTemplate, get_chat_template
from datagen.curricula.tokenizer import TOKENIZERS, Tokenizer

__all__ = ["IGNORE_ID", "OVERLONG", "Batch", "PromptCodec", "Sample", "encode_conversations", "trained_spans"]

IGNORE_ID = -100
OVERLONG = ("truncate", "drop")


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


def chat_template_for(tokenizer: Tokenizer) -> ChatTemplate:
    """The chat template registered with ``tokenizer``'s name (vicuna_v1.1 for llama3)."""
    entry = TOKENIZERS.get(getattr(tokenizer, "name", ""))
    return get_chat_template(entry.chat_template) if entry else get_chat_template()


class PromptCodec:
    """Tokens and label spans for rendered conversations, as MindFormers' preprocessing makes them.

    Per round MindFormers tokenizes the round text and, separately, the instruction up to the
    answer separator.  For a round shaped ``HEAD + " " + question + ROLE + " " + answer``
    (vicuna: ``HEAD`` ends in ``USER:``, ``ROLE`` is `` ASSISTANT:``) a tokenizer that is
    ``piecewise_safe`` for the text cuts after ``HEAD`` and before ``ROLE`` (the question ends
    in a non-space), so both tokenizations are cached head tokens + tokens of the question
    part + cached role tokens (+ the answer part).  Rounds of any other shape, and tokenizers
    without that batched path, are tokenized directly.
    """

    def __init__(self, tokenizer: Tokenizer, chat_template: ChatTemplate | str | None = None) -> None:
        if chat_template is None:
            template = chat_template_for(tokenizer)
        elif isinstance(chat_template, str):
            template = get_chat_template(chat_template)
        else:
            template = chat_template
        self.tokenizer = tokenizer
        self.template = template
        self.encode = tokenizer.encode
        self.prefix = [] if tokenizer.bos_id is None else [tokenizer.bos_id]
        self.round_sep = template.round_separator
        self.answer_sep = template.answer_separator
        self.trim = template.instruction_trim
        self.cached = (
            template.heads is not None
            and template.answer_role is not None
            and self.trim == 1  # the cached instruction count stops before the answer's leading space
            and all(hasattr(tokenizer, m) for m in ("piecewise_safe", "encode_plain", "encode_pieces"))
        )
        if self.cached:
            self.heads = template.heads
            self.head_ids = tuple(tokenizer.encode(h) for h in template.heads)
            self.assistant_ids = tokenizer.encode(template.answer_role)
        self.counts = {"cached": 0, "direct": 0}

    def render(self, turns: Sequence[str]) -> str:
        return self.template.render(turns)

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
            and self.tokenizer.piecewise_safe(text)
        ):
            return question[len(head):], " " + parts[1]
        return None

    def round_tokens(self, text: str, first: bool) -> tuple[list[int], int | None]:
        """(tokens of one round, instruction length or None where MindFormers stops labelling)."""
        pieces = self.split_round(text, first)
        if pieces is not None:
            self.counts["cached"] += 1
            head_ids = self.head_ids[0] if first else self.head_ids[1]
            asked = self.tokenizer.encode_plain(pieces[0])
            instruction = len(head_ids) + len(asked) + len(self.assistant_ids)
            return head_ids + asked + self.assistant_ids + self.tokenizer.encode_plain(pieces[1]), instruction
        self.counts["direct"] += 1
        ids = self.encode(text)
        parts = text.split(self.answer_sep)
        if len(parts) != 2:
            return ids, None
        # MindFormers: instruction tokens = len(BOS + tokens(question + " ASSISTANT: ") + EOS) - 3
        return ids, len(self.encode(parts[0] + self.answer_sep)) - self.trim

    def single_round(self, prompt: str) -> tuple[str, str] | None:
        """The two variable pieces of a one-round prompt that takes the cached path, else None."""
        text, sep, rest = prompt.partition(self.round_sep)
        if not sep or rest:
            return None
        return self.split_round(text, True)

    def sample(self, prompt: str, width: int) -> Sample:
        """Token ids and trained spans of one rendered conversation for records ``width`` long."""
        eos, pad = self.tokenizer.eos_id, self.tokenizer.pad_id
        ids = list(self.prefix)
        masked = [(0, len(ids))] if ids else []
        cursor = len(ids)
        labelling = True
        for k, text in enumerate(prompt.split(self.round_sep)):
            if text == "":
                break
            tokens, instruction = self.round_tokens(text, k == 0)
            ids += tokens
            ids.append(eos)
            if labelling and instruction is None:
                labelling = False  # MindFormers stops at the first round it cannot split
            if labelling:
                masked.append((cursor, cursor + instruction))
                cursor += len(tokens) + 1
        total = len(ids) - ids.count(pad)
        if cursor < width and cursor != total:
            return Sample(ids, [])  # round lengths don't add up: fully masked
        return Sample(ids, trained_spans(masked, min(cursor, width)))


def run_indices(starts, lengths):
    """Indices ``starts[k] .. starts[k] + lengths[k] - 1`` for every k, concatenated."""
    import numpy as np

    offsets = np.cumsum(lengths) - lengths
    return np.repeat(starts - offsets, lengths) + np.arange(int(lengths.sum()))


@dataclass
class Batch:
    """Records in compact form: the unpadded tokens and the trained spans (cheap to send between processes).

    ``fill`` pads and lays them out into any int32 row layout (``arrays`` for plain arrays;
    ``curricula.mindrecord`` for the blobs its writer stores).
    """

    tokens: Any  # int32: every kept record's ids, cut to the width, concatenated
    lengths: Any  # int64 (records,): ids per record
    spans: Any  # int64 (m, 3): (record, start, end) where labels equal ids, disjoint per record
    width: int
    pad_id: int
    truncated: int = 0
    dropped: int = 0
    full_lengths: Any = None  # int64 (input conversations,): tokens each needs, before any cut or drop
    batched: int = 0  # one-round conversations tokenized together, fixed parts cached
    per_row: int = 0  # conversations tokenized one by one (several rounds, or a shape the cut can't take)

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
        return int(len(self.tokens) - (self.tokens == self.pad_id).sum())

    def fill(self, out, ids_at: int, labels_at: int) -> None:
        """Write each record into row k of ``out`` (C-contiguous int32, (records, columns)).

        Padded ids go to columns ``ids_at .. ids_at + width``, labels (-100, or the id where
        trained) to ``labels_at ..``; other columns are left as they are.
        """
        import numpy as np

        n, width = self.records, self.width
        stride = out.shape[1]
        out[:, ids_at:ids_at + width] = self.pad_id
        out[:, labels_at:labels_at + width] = IGNORE_ID
        flat = out.reshape(-1)
        flat[run_indices(np.arange(n, dtype=np.int64) * stride + ids_at, self.lengths)] = self.tokens
        # labels copy the ids over the trained spans
        trained = run_indices(self.spans[:, 0] * stride + ids_at + self.spans[:, 1],
                              self.spans[:, 2] - self.spans[:, 1])
        flat[trained + (labels_at - ids_at)] = flat[trained]

    def arrays(self):
        """(input_ids, labels): int32 arrays of shape (records, width)."""
        import numpy as np

        out = np.empty((self.records, 2 * self.width), dtype=np.int32)
        self.fill(out, 0, self.width)
        return out[:, :self.width], out[:, self.width:]


def gather_rows(source, segments, spans, width: int, drop: bool) -> dict:
    """Records gathered from ``source`` tokens and cut to ``width``: the compact parts of a ``Batch``.

    ``segments`` is (records, k, 2): per record k (start, length) runs of ``source`` that make
    its ids in order; ``spans`` is (m, 3): (record, start, end) trained label spans within the width.
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
        "full_lengths": full,
    }


def encode_conversations(
    conversations: Sequence[Sequence[str]], codec: PromptCodec, width: int, overlong: str = "truncate"
) -> Batch:
    """Render and tokenize conversations (their turn texts) into one batch of ``width``-long records.

    One-round conversations that take the cached path are tokenized together in one call
    and assembled with numpy; any other conversation goes through ``PromptCodec.sample``.
    ``overlong``: ``truncate`` (MindFormers) cuts records to the width, ``drop`` leaves them out.
    """
    import numpy as np

    if overlong not in OVERLONG:
        raise ValueError(f"overlong must be one of {OVERLONG}, got {overlong!r}")
    pieces: list[str] = []
    order: list[int] = []  # per record: -1 for a cached one-round one, else index into ``direct``
    direct: list[Sample] = []
    for turns in conversations:
        prompt = codec.render(turns)
        split = codec.single_round(prompt) if len(turns) == 2 else None
        if split is not None:
            pieces += split
            order.append(-1)
        else:
            order.append(len(direct))
            direct.append(codec.sample(prompt, width))
    if codec.cached:
        stream, starts, lengths = codec.tokenizer.encode_pieces(pieces)
        head, role = codec.head_ids[0], codec.assistant_ids
    else:
        stream = np.zeros(0, dtype=np.int32)
        starts = lengths = np.zeros(0, dtype=np.int64)
        head, role = [], []
    prefix = codec.prefix
    constants = np.asarray([*prefix, *head, *role, codec.tokenizer.eos_id], dtype=np.int32)
    base = len(stream)
    others = [np.asarray(sample.ids, dtype=np.int32) for sample in direct]
    offsets = np.cumsum([base + len(constants)] + [len(ids) for ids in others])
    source = np.concatenate([stream, constants, *others])
    kinds = np.asarray(order, dtype=np.int64)
    cached_rows, other_rows = np.flatnonzero(kinds < 0), np.flatnonzero(kinds >= 0)
    question_len = lengths[0::2]
    # per record up to six runs of ``source``; cached ones: BOS, system+USER:, question, ASSISTANT:, answer, EOS
    runs = np.zeros((len(cached_rows), 6, 2), dtype=np.int64)
    runs[:, 0] = (base, len(prefix))
    runs[:, 1] = (base + len(prefix), len(head))
    runs[:, 2, 0], runs[:, 2, 1] = starts[0::2], question_len
    runs[:, 3] = (base + len(prefix) + len(head), len(role))
    runs[:, 4, 0], runs[:, 4, 1] = starts[1::2], lengths[1::2]
    runs[:, 5] = (base + len(constants) - 1, 1)
    segments = np.zeros((len(kinds), 6, 2), dtype=np.int64)
    segments[cached_rows] = runs
    segments[other_rows, 0, 0] = offsets[kinds[other_rows]]
    segments[other_rows, 0, 1] = [len(direct[k].ids) for k in kinds[other_rows]]
    # a cached record trains from just after "ASSISTANT:" to its end (MindFormers' one-round labels)
    full = runs[:, :, 1].sum(axis=1)
    spans = [np.stack([cached_rows, len(prefix) + len(head) + question_len + len(role), np.minimum(full, width)],
                      axis=1)]
    spans += [np.asarray([(r, start, end) for r in other_rows for start, end in direct[kinds[r]].trained],
                         dtype=np.int64).reshape(-1, 3)]
    spans = np.concatenate(spans)
    parts = gather_rows(source, segments, spans, width, overlong == "drop")
    return Batch(width=width, pad_id=codec.tokenizer.pad_id, batched=len(cached_rows), per_row=len(direct), **parts)
