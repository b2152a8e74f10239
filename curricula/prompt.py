"""One prompt format per chat template: the single owner of how a turn is wrapped for a model.

A chat template is known here once, as a ``PromptFormat``; everything else is a view of it:

- ``training_text(turns)``: the conversation text trained on (export checks fastchat's rendering
  of ``vicuna_v1.1`` against it, the GGUF path renders its own Jinja template and derives the format
  from that rendering);
- ``prompt(turn)``: what a model is asked at inference, exactly the training text up to its answer;
- ``stops``: text that starts another turn or prompt (generation is cut there);
- ``end``: the text that closes an answer;
- ``echo_end(output, turn)``: where an echoed prompt ends, so echo removal strips exactly ``prompt(turn)``.

Formats are registered by chat-template name; a tokenizer's registry entry names its chat template,
so ``format_for_tokenizer(name)`` is the one lookup every command makes. Pure text, no extras: eval
and the proxy use a format without fastchat or jinja installed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from datagen.errors import UsageError

DEFAULT_FORMAT = "vicuna_v1.1"


@dataclass(frozen=True)
class PromptFormat:
    """``system`` once, then per round ``user + question + assistant + answer_lead + answer + end``."""

    name: str
    system: str  # text before the first round
    user: str  # opens a human turn
    assistant: str  # closes the human turn: the inference prompt ends here
    answer_lead: str  # between ``assistant`` and the answer in the training text (trained)
    end: str  # closes an answer

    def prompt(self, turn: str, history: Sequence[str] = ()) -> str:
        """The text a model reads before it answers ``turn`` (after the answered ``history`` pairs)."""
        return self.training_text(history) + self.user + turn + self.assistant

    def training_text(self, turns: Sequence[str]) -> str:
        """Human/answer pairs as trained on."""
        text = [self.system]
        for k in range(0, len(turns) - 1, 2):
            text += [self.user, turns[k], self.assistant, self.answer_lead, turns[k + 1], self.end]
        return "".join(text)

    @property
    def stops(self) -> tuple[str, ...]:
        """Where a continuation begins another turn or prompt: the human-turn marker, the system text."""
        marks = [m for m in (self.user.strip(), self.system.strip()[:30]) if m]
        return tuple(dict.fromkeys(marks))

    def echo_end(self, output: str, turn: str, at: int) -> int:
        """End of ``prompt(turn)`` in ``output`` when the turn found at ``at`` is wrapped as asked, else -1."""
        head = self.system + self.user
        start, end = at - len(head), at + len(turn)
        if start >= 0 and output.startswith(head, start) and output.startswith(self.assistant, end):
            return end + len(self.assistant)
        return -1

    def strip_echo(self, output: str, turn: str) -> str:
        """``output`` after an echoed ``prompt(turn)``; unchanged when it holds none."""
        at = output.find(turn)
        while at != -1:
            end = self.echo_end(output, turn, at)
            if end != -1:
                return output[end:]
            at = output.find(turn, at + 1)
        return output


SENTINELS = ("\x00question\x00", "\x00answer\x00")


def format_from_rendering(name: str, render: Callable[[Sequence[str], bool], str]) -> PromptFormat:
    """A format read off a renderer ``render(turns, add_generation_prompt)`` (e.g. a GGUF's Jinja template).

    One and two rounds of sentinel turns are rendered and split; the format must then reproduce both
    renderings and the generation prompt exactly, which is what makes the prompt asked the prompt trained.
    """
    question, answer = SENTINELS
    one = render([question, answer], False)
    two = render([question, answer, question, answer], False)
    asked = render([question], True)
    system_user, _, rest = one.partition(question)
    between, _, end = rest.partition(answer)
    user = two[len(one):].partition(question)[0] if two.startswith(one) else ""
    if not user or not system_user.endswith(user) or not asked.startswith(system_user + question):
        raise ChatFormatError(f"chat template {name!r}: rounds do not repeat one human-turn opener")
    assistant = asked[len(system_user) + len(question):]
    fmt = PromptFormat(name, system_user[: -len(user)], user, assistant, between[len(assistant):], end)
    if not between.startswith(assistant) or fmt.training_text([question, answer] * 2) != two or not end:
        raise ChatFormatError(f"chat template {name!r}: the answer does not follow its generation prompt")
    return fmt


class ChatFormatError(UsageError, ValueError):
    """A chat template that cannot be read as a prompt format (prompt asked ≠ prompt trained)."""


FORMATS: dict[str, PromptFormat] = {}


def register_format(fmt: PromptFormat) -> PromptFormat:
    if fmt.name in FORMATS and FORMATS[fmt.name] != fmt:
        raise ChatFormatError(f"prompt format {fmt.name!r} is registered already, differently")
    FORMATS[fmt.name] = fmt
    return fmt


def get_format(name: str = DEFAULT_FORMAT) -> PromptFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise ChatFormatError(f"unknown chat template {name!r} (registered: {', '.join(FORMATS)})",
                              field="chat_template") from None


def end_markers() -> tuple[str, ...]:
    """Every text that ends an answer: each format's closing text and each registered tokenizer's end tokens."""
    from datagen.curricula.tokenizer import TOKENIZERS

    ends = [fmt.end.strip() for fmt in FORMATS.values()]
    ends += [text for entry in TOKENIZERS.values() for text in entry.end_texts]
    return tuple(dict.fromkeys(e for e in ends if e))


def format_for_tokenizer(tokenizer: str | None) -> PromptFormat:
    """The prompt format of a registered tokenizer (its entry names its chat template)."""
    if tokenizer is None:
        return get_format()
    from datagen.curricula.tokenizer import tokenizer_entry

    return get_format(tokenizer_entry(tokenizer).chat_template)


# fastchat's vicuna_v1.1 (MindFormers' Llama3 qa preprocessing renders with it); export checks fastchat's
# text against this format, tests/test_prompt_format.py pins that they agree for every rendering used.
register_format(PromptFormat(
    "vicuna_v1.1",
    system="A chat between a curious user and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the user's questions. ",
    user="USER: ",
    assistant=" ASSISTANT:",
    answer_lead=" ",
    end="</s>",
))

# ChatML, the format of SmolLM2 and many small instruct models (curricula.chat renders it with Jinja for a
# GGUF without a template; tests check that rendering reads back as this format)
register_format(PromptFormat(
    "chatml",
    system="",
    user="<|im_start|>user\n",
    assistant="<|im_end|>\n<|im_start|>assistant\n",
    answer_lead="",
    end="<|im_end|>\n",
))
