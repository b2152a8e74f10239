"""The one prompt-template registry: export, prediction inputs and echo stripping all use it.

A template turns a problem into the human turn of a conversation.  The chat template's prompt
format (``curricula.prompt``: ``vicuna_v1.1`` for MindFormers' Llama3 preprocessing) then wraps
that turn, so the text the model sees at inference is ``inference_prompt(name, problem)``.

``bare`` rewrites a two-operand arithmetic problem as its equation, ``123+456=``, for proxy
curricula whose comparison is about the answer, not the prompt (fewer tokens, same signal).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from datagen.curricula.prompt import DEFAULT_FORMAT, get_format

from datagen.errors import UsageError

ALPACA_HEAD = (
    "Below is an instruction that describes a task. "
    "Write a response that appropriately completes the request.\n\n### Instruction:\n"
)
ALPACA_TAIL = "\n\n### Response:"
ZH_PREFIX = (
    "你正在进行LoRA微调以加强你的数学处理能力，接下来，你会收到一个数学问题，你必须精准的给出这个数学问题的答案。\n"
)


BARE_OPERATORS = {"add": "+", "sub": "-", "mul": "*", "div": "/"}


class TemplateError(UsageError, KeyError):
    pass


@lru_cache(maxsize=65536)
def bare_equation(problem: str) -> str:
    """``What is 123 + 456?`` -> ``123+456=``: any phrasing the generator writes, in either language."""
    from datagen.solve import solve

    solved = solve(problem)
    if solved is None or solved.type not in BARE_OPERATORS or len(solved.operands) != 2:
        raise TemplateError(f"template bare: not a two-operand arithmetic problem: {problem[:60]!r}")
    a, b = solved.operands
    return f"{a}{BARE_OPERATORS[solved.type]}{b}="


@dataclass(frozen=True)
class Template:
    name: str
    head: str
    tail: str
    description: str
    rewrite: Callable[[str], str] | None = None  # the problem text as the template shows it

    def render(self, problem: str) -> str:
        shown = self.rewrite(problem) if self.rewrite else problem
        return f"{self.head}{shown}{self.tail}"


TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in (
        Template("raw", "", "", "the problem as it is"),
        Template("alpaca", ALPACA_HEAD, ALPACA_TAIL, "the contest converter's Alpaca prompt"),
        Template("zh_prefix", ZH_PREFIX, "", "the baseline's Chinese instruction prefix"),
        Template("alpaca_zh", ALPACA_HEAD + ZH_PREFIX, ALPACA_TAIL, "the baseline: prefix inside the Alpaca prompt"),
        Template("bare", "", "", "the equation alone, 123+456= (proxy curricula; + - * / only)",
                 bare_equation),
    )
}


def get_template(name: str) -> Template:
    try:
        return TEMPLATES[name]
    except KeyError:
        raise TemplateError(f"unknown template {name!r} (choose from {', '.join(TEMPLATES)})") from None


def human_turn(name: str, problem: str) -> str:
    """The human turn of the conversation for ``problem`` under template ``name``."""
    return get_template(name).render(problem)


def inference_prompt(name: str, problem: str, chat_template: str = DEFAULT_FORMAT) -> str:
    """The text the chat template's rendering puts before the answer (vicuna: up to ``ASSISTANT:``)."""
    return get_format(chat_template).prompt(human_turn(name, problem))


def strip_echo(name: str, problem: str, output: str, chat_template: str = DEFAULT_FORMAT) -> str:
    """Remove an echoed prompt from generated text (the prediction keeps only the answer part)."""
    try:
        prefixes: tuple[str, ...] = (
            inference_prompt(name, problem, chat_template), human_turn(name, problem), problem)
    except TemplateError:  # a template that cannot show this problem cannot have been echoed
        prefixes = (problem,)
    for prefix in prefixes:
        if output.startswith(prefix):
            return output[len(prefix):]
        at = output.find(prefix)
        if prefix and at != -1 and prefix != problem:
            return output[at + len(prefix):]
    return output
