"""Score one prediction: remove the echoed prompt, cut any next turn, extract, judge.

Pure: text in, verdict out.  The echo is removed with the prompt-template registry, the same
templates ``export`` used, so what is judged is only what the model added.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from curricula.templates import (
    ALPACA_HEAD,
    TEMPLATES,
    VICUNA_ROLES,
    VICUNA_SYSTEM,
    ZH_PREFIX,
    human_turn,
    inference_prompt,
)
from eval.compare import Gold, judge, lenient, unreverse
from eval.extract import extract, parse_number

# where a prompt begins: an unstripped echo starts with one, a continuation (next turn) at one
PROMPT_STARTS = (
    ALPACA_HEAD.split("\n")[0][:40],
    "### Instruction",
    VICUNA_SYSTEM[:30],
    f"{VICUNA_ROLES[0]}:",
    ZH_PREFIX[:12],
)
END_TOKENS = ("</s>", "<|end_of_text|>", "<|eot_id|>", "<|im_end|>")
STOP = re.compile("|".join(re.escape(s) for s in PROMPT_STARTS + END_TOKENS))
# the end of a prompt: "### Response:" and/or "ASSISTANT:" (the vicuna rendering of Alpaca has both)
RESPONSE = re.compile(r"(?:\s*(?:### Response:|" + re.escape(f"{VICUNA_ROLES[1]}:") + "))+")


class GoldItem(NamedTuple):
    """One held-out problem with its exact answer (``gold`` None: nothing exact to judge by)."""

    id: str | None
    line: int
    type: str
    lang: str
    problem: str
    gold: Gold | None
    strings: tuple[str, ...]  # gold number strings for the lenient check
    bucket: str | None = None
    source: str = "record"  # "record", "contest" (re-derived) or "solution" (its boxed number)


class Verdict(NamedTuple):
    strict: bool | None  # None when the item has no exact gold
    lenient: bool
    extracted: str | None


@lru_cache(maxsize=8192)
def _echoes(problem: str) -> dict[str, tuple[str, str]]:
    """Each template's (inference prompt, human turn) for ``problem`` (cached: built once per item)."""
    return {name: (inference_prompt(name, problem), human_turn(name, problem)) for name in TEMPLATES}


def _strip(prompt: str, human: str, problem: str, output: str) -> str:
    """``curricula.templates.strip_echo`` with the template's strings given."""
    for prefix in (prompt, human, problem):
        if output.startswith(prefix):
            return output[len(prefix):]
        if prefix != problem:
            at = output.find(prefix)
            if at != -1:
                return output[at + len(prefix):]
    return output


def remove_echo(output: str, problem: str, template: str = "auto") -> str:
    """``output`` without the echoed prompt; any further copy of the problem is blanked too."""
    if not problem or problem not in output:
        return output
    echoes = _echoes(problem)
    if template == "auto":
        rest = min((_strip(prompt, human, problem, output) for prompt, human in echoes.values()), key=len)
    else:
        rest = _strip(*echoes[template], problem, output)
    if problem in rest:
        # the model repeated the question: its numbers are operands, not answers
        rest = rest.replace(problem, "\n")
    return rest


def cut_continuation(text: str) -> str:
    """Keep the answer turn only: skip an unstripped prompt, stop where a new turn starts."""
    head = text.lstrip()
    if STOP.match(head):
        response = RESPONSE.search(head)
        if response is None:
            return ""
        head = head[response.end():]
    stop = STOP.search(head)
    return head if stop is None else head[:stop.start()]


def score_output(output: str, item: GoldItem, template: str = "auto") -> Verdict:
    """One output's verdict: echo removed, answer turn kept, answer extracted and judged."""
    text = remove_echo(output, item.problem, template)
    if item.gold is not None and item.gold.policy == "symbolic":  # symbolic hook: eval/symbolic.py
        from eval.symbolic import score_symbolic

        return score_symbolic(text, item)
    found = extract(cut_continuation(text), item.problem)
    soft = lenient(text, item.strings)
    if item.gold is None:
        return Verdict(None, soft, found.text if found else None)
    if found is None:
        return Verdict(False, soft, None)
    number = found.number
    if item.gold.reversed:
        number = parse_number(unreverse(found.text.replace(",", "")))
    return Verdict(judge(number, item.gold), soft, found.text)
