"""Conversations in a model's own chat template (the GGUF's ``tokenizer.chat_template``), as tokens
and trained spans, for models other than Llama3 (whose vicuna rendering lives in ``export``).

``ChatCodec`` is the chat-template counterpart of ``curricula.export.PromptCodec``: ``sample``
gives a conversation's ids and the ``[start, end)`` spans that carry labels, ``prompt_ids`` the
ids a model sees before it answers.  Each piece of the rendered text is tokenized on its own
(prompt up to the generation prompt, then the answer), so the prompt a finetuned model is trained
on is token for token the prompt it is asked at inference.  Trained tokens: the answer and the
template's end-of-turn token (the tokenizer's EOS); the template's text after that is context.

The template is Jinja, rendered in ``jinja2``'s immutable sandbox (it comes from a model file).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from datagen.curricula.prompt import PromptFormat, format_from_rendering

from datagen.errors import InputError, MissingExtraError

ROLES = ("user", "assistant")
# ChatML, the template of SmolLM2 and many other small instruct models (used when a GGUF has none)
CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] "
    "+ '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}"
    "{% endif %}"
)


class ChatTemplateError(InputError, ValueError):
    """The chat template does not render, or renders a conversation in a way that cannot be labelled."""


class Sample(NamedTuple):
    ids: list[int]  # every token of the conversation, before padding or truncation
    trained: list[tuple[int, int]]  # [start, end) spans whose labels equal the ids


def conversation_turns(turns: Any, where: str = "conversation") -> tuple[str, ...]:
    """Turn texts of a ``[{"from": "human"|"gpt", "value": ...}]`` list; a leading non-human turn is
    dropped (as MindFormers does), the rest must alternate and end with an answer."""
    if not isinstance(turns, list):
        raise ChatTemplateError(
            f"must be a list of turns, got {type(turns).__name__}", path=where, field="conversations"
        )
    start = 1 if turns and not (isinstance(turns[0], dict) and turns[0].get("from") == "human") else 0
    texts: list[str] = []
    for k in range(start, len(turns)):
        turn = turns[k]
        expected = "human" if (k - start) % 2 == 0 else "gpt"
        if (
            not isinstance(turn, dict)
            or turn.get("from") != expected
            or not isinstance(turn.get("value"), str)
        ):
            raise ChatTemplateError(
                f"expected {{'from': {expected!r}, 'value': text}} (turns alternate)",
                path=where,
                field=f"conversations[{k}]",
            )
        texts.append(turn["value"])
    if not texts or len(texts) % 2:
        raise ChatTemplateError(
            "needs human/gpt pairs ending with an answer", path=where, field="conversations"
        )
    return tuple(texts)


@dataclass(frozen=True)
class JinjaChatTemplate:
    """A model's own Jinja chat template; ``prompt_format`` is its one prompt format (``curricula.prompt``)."""

    name: str
    source: str

    @property
    def prompt_format(self) -> PromptFormat:
        """The format read off this template's rendering (the same text, as one ``PromptFormat``)."""
        if self.source not in _FORMATS:
            _FORMATS[self.source] = format_from_rendering(
                self.name, lambda turns, ask: self.render(turns, add_generation_prompt=ask))
        return _FORMATS[self.source]

    def render(self, turns: Sequence[str], add_generation_prompt: bool = False) -> str:
        """The template's text for alternating user/assistant ``turns``."""
        try:
            import jinja2
            from jinja2.sandbox import ImmutableSandboxedEnvironment
        except ImportError:
            raise MissingExtraError("rendering a chat template", "jinja2", "pretrained") from None
        messages = [{"role": ROLES[k % 2], "content": text} for k, text in enumerate(turns)]
        try:
            template = _compiled(self.source, ImmutableSandboxedEnvironment)
            return template.render(
                messages=messages, add_generation_prompt=add_generation_prompt, bos_token="", eos_token=""
            )
        except jinja2.TemplateError as exc:
            raise ChatTemplateError(
                f"chat template {self.name!r} does not render ({exc})", field="tokenizer.chat_template"
            ) from None


_COMPILED: dict[str, Any] = {}
_FORMATS: dict[str, PromptFormat] = {}


def _compiled(source: str, environment):
    if source not in _COMPILED:
        _COMPILED[source] = environment(trim_blocks=True, lstrip_blocks=True).from_string(source)
    return _COMPILED[source]


class ChatCodec:
    """Ids and trained spans of conversations under a chat template, for one tokenizer.

    ``tokenizer`` has the ``encode``/``eos_id`` interface of ``curricula.tokenizer.Llama3Tokenizer``
    (``curricula.gguf_tokenizer.GGUFTokenizer`` does); ``bos`` is prepended once when given.
    """

    def __init__(self, tokenizer, template: JinjaChatTemplate, bos: int | None = None) -> None:
        self.tokenizer = tokenizer
        self.template = template
        self.head = [] if bos is None else [int(bos)]

    def prompt_ids(self, turns: Sequence[str]) -> list[int]:
        """What the model reads before it writes the answer to the last of ``turns`` (a human turn)."""
        return self.head + self.tokenizer.encode(self.template.prompt_format.prompt(turns[-1], turns[:-1]))

    def sample(self, turns: Sequence[str], where: str = "conversation") -> Sample:
        """Every token of a conversation (human/gpt pairs) and the spans trained: each answer + EOS."""
        ids = list(self.head)
        trained: list[tuple[int, int]] = []
        done = ""
        eos = int(self.tokenizer.eos_id)
        for k in range(1, len(turns), 2):
            asked = self.template.render(turns[:k], add_generation_prompt=True)
            through = self.template.render(turns[: k + 1])
            answer = turns[k]
            if not asked.startswith(done) or not through.startswith(asked + answer):
                raise ChatTemplateError(
                    f"the chat template {self.template.name!r} does not render turn {k} "
                    "after the turns before it",
                    path=where,
                    field="conversations",
                )
            ids += self.tokenizer.encode(asked[len(done) :])
            answer_ids = self.tokenizer.encode(answer)
            rest = self.tokenizer.encode(through[len(asked) + len(answer) :])
            if eos not in rest:
                raise ChatTemplateError(
                    f"the chat template {self.template.name!r} does not close an answer "
                    f"with the EOS token {eos}",
                    path=where,
                    field="conversations",
                )
            trained.append((len(ids), len(ids) + len(answer_ids) + rest.index(eos) + 1))
            ids += answer_ids + rest
            done = through
        return Sample(ids, trained)
