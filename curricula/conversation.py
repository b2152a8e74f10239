"""Rows to conversations, and conversations to the text a model's preprocessing tokenizes (pure, no I/O).

A row is a record (``problem`` through a prompt template from ``curricula.templates`` becomes
the human turn, ``solution`` the answer) or a conversation (``{"id", "conversations": [...]}``,
used as given, a leading non-human turn dropped as MindFormers does). ``check_row`` is the
``datagen.rows`` check that rejects what cannot become a conversation, naming the field.

Chat templates render the turns of a conversation, and say how that text is cut into rounds
and where each round's instruction ends: that is all the codec needs. ``vicuna_v1.1`` is
fastchat's (MindFormers' Llama3 ``qa`` preprocessing renders with it); ``register_chat_template``
adds another (e.g. ChatML for a model that expects it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from datagen.curricula.prompt import format_from_rendering, register_format
from datagen.curricula.templates import TemplateError, human_turn

from datagen.errors import InputError, MissingExtraError, UsageError

__all__ = [
    "CHAT_TEMPLATES",
    "DEFAULT_CHAT_TEMPLATE",
    "ChatTemplate",
    "Conversation",
    "check_row",
    "conversation_turns",
    "get_chat_template",
    "register_chat_template",
    "render_prompt",
    "to_conversation",
]

DEFAULT_CHAT_TEMPLATE = "vicuna_v1.1"


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


def _bad(field: str, reason: str) -> InputError:
    return InputError(reason, field=field)


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise _bad(name, f"must be a string, got {type(value).__name__}")
    if not value:
        raise _bad(name, "is empty")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise _bad(name, "is not valid UTF-8 text (lone surrogate)") from None
    return value


def _row_id(data: dict, default_id: str) -> str:
    value = data.get("id")
    if value is None:
        return default_id
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _bad("id", f"must be a string or an integer, got {type(value).__name__}")
    return str(value)


def conversation_turns(turns: Any) -> tuple[str, ...]:
    """Validated turn texts; a leading non-human turn is dropped, as MindFormers does."""
    if not isinstance(turns, list):
        raise _bad("conversations", f"must be a list of turns, got {type(turns).__name__}")
    start = 0
    if turns and not (isinstance(turns[0], dict) and turns[0].get("from") == "human"):
        start = 1
    texts: list[str] = []
    for k in range(start, len(turns)):
        turn = turns[k]
        if not isinstance(turn, dict):
            raise _bad(f"conversations[{k}]", f"must be an object, got {type(turn).__name__}")
        expected = "human" if (k - start) % 2 == 0 else "gpt"
        if "from" not in turn:
            raise _bad(f"conversations[{k}].from", "is missing")
        if turn["from"] != expected:
            raise _bad(f"conversations[{k}].from", f"expected {expected!r} (turns alternate), got {turn['from']!r}")
        if "value" not in turn:
            raise _bad(f"conversations[{k}].value", "is missing")
        texts.append(_text(turn["value"], f"conversations[{k}].value"))
    if not texts:
        raise _bad("conversations", "has no human turn")
    if len(texts) % 2:
        raise _bad("conversations", "ends with a human turn (no answer to train on)")
    return tuple(texts)


def to_conversation(data: dict, template: str, default_id: str) -> Conversation:
    """One row as a conversation; ``InputError`` (with ``field``) when it cannot be one."""
    if "conversations" in data:
        return Conversation(_row_id(data, default_id), conversation_turns(data["conversations"]))
    for name in ("problem", "solution"):
        if name not in data:
            raise _bad(name, "is missing")
    problem = _text(data["problem"], "problem")
    solution = _text(data["solution"], "solution")
    try:
        shown = human_turn(template, problem)
    except TemplateError as exc:  # e.g. the bare template and a problem it cannot show as an equation
        raise _bad("problem", str(exc)) from None
    return Conversation(_row_id(data, default_id), (shown, solution))


def check_row(data: dict) -> tuple[str | None, str] | None:
    """``datagen.rows`` check: None for a row that makes a conversation, else (field, reason)."""
    try:
        to_conversation(data, "raw", "")
    except InputError as exc:
        return exc.field, exc.message
    return None


@dataclass(frozen=True)
class ChatTemplate:
    """How turns become the text a preprocessing tokenizes, and how it cuts that text.

    MindFormers' ``qa`` rule, generic here: split the rendered text on ``round_separator``
    (it ends each round and occurs nowhere else; it is never tokenized: the codec closes each
    round with the tokenizer's EOS instead); in each
    round, the instruction is the text up to and including ``answer_separator``, and its
    tokens but the last ``instruction_trim`` are masked. ``heads`` and ``answer_role`` describe
    the fixed text around the question for the codec's cached path (None: no cached path):
    the first round is ``heads[0] + " " + question + answer_role + " " + answer``, later
    rounds start with ``heads[1]``.
    """

    name: str
    render: Callable[[Sequence[str]], str]
    round_separator: str
    answer_separator: str
    instruction_trim: int = 0
    heads: tuple[str, str] | None = None
    answer_role: str | None = None


CHAT_TEMPLATES: dict[str, Callable[[], ChatTemplate]] = {}
_BUILT: dict[str, ChatTemplate] = {}


def register_chat_template(name: str, factory: Callable[[], ChatTemplate]) -> None:
    """Make ``get_chat_template(name)`` build (once) and return ``factory()``."""
    CHAT_TEMPLATES[name] = factory
    _BUILT.pop(name, None)


def get_chat_template(name: str = DEFAULT_CHAT_TEMPLATE) -> ChatTemplate:
    if name not in _BUILT:
        if name not in CHAT_TEMPLATES:
            raise UsageError(f"unknown chat template {name!r} (registered: {', '.join(CHAT_TEMPLATES)})",
                             field="chat_template")
        _BUILT[name] = CHAT_TEMPLATES[name]()
    return _BUILT[name]


def render_prompt(turns: Sequence[str], chat_template: str = DEFAULT_CHAT_TEMPLATE) -> str:
    """The conversation text the preprocessing tokenizes (default: fastchat ``vicuna_v1.1``)."""
    return get_chat_template(chat_template).render(turns)


def _fastchat_template(name: str) -> ChatTemplate:
    """A fastchat template, rendered by fastchat itself so that the text is exactly MindFormers'.

    Its prompt format (``curricula.prompt``) is read off fastchat's own rendering and must equal the
    registered one, so the prompt trained on is the prompt asked and the one echo removal strips.
    """
    try:
        from fastchat.conversation import get_conv_template
    except ImportError:
        raise MissingExtraError(f"rendering conversations with {name}", "fastchat (fschat)", "data") from None
    conv = get_conv_template(name)

    def render(turns: Sequence[str | None]) -> str:
        conv.messages = []  # one object reused: rendering resets its messages every time
        for i, text in enumerate(turns):
            conv.append_message(conv.roles[i % 2], text)
        return conv.get_prompt()

    fmt = register_format(format_from_rendering(name, lambda turns, ask: render([*turns, None] if ask else turns)))
    # the cached path's cut argument needs "ROLE: " heads, role names of letters and a space separator
    user = fmt.user.rstrip(" ")
    cached = fmt.user == user + " " and fmt.answer_lead == " " and user[:-1].isalpha() and user.isascii()
    return ChatTemplate(
        name=name,
        render=render,
        round_separator=fmt.end,
        answer_separator=fmt.assistant + fmt.answer_lead,
        # MindFormers masks len(tokens("... ASSISTANT: ")) - 1: the space before the answer is trained
        instruction_trim=1,
        heads=(fmt.system + user, user) if cached else None,
        answer_role=fmt.assistant if cached else None,
    )


register_chat_template("vicuna_v1.1", lambda: _fastchat_template("vicuna_v1.1"))
