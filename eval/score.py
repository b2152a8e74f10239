"""Score one prediction: remove the echoed prompt, cut any next turn, extract, judge.

Pure: text in, verdict out.  The echo is removed with the prompt-template registry, the same
templates ``export`` used, so what is judged is only what the model added.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from datagen.curricula.prompt import FORMATS, end_markers
from datagen.curricula.templates import ALPACA_HEAD, TEMPLATES, ZH_PREFIX
from datagen.eval.compare import Gold, judge, unreverse
from datagen.eval.extract import extract, parse_number

# where a prompt begins: an unstripped echo starts with one, a continuation (next turn) at one; the chat
# formats' markers come from their one home (curricula.prompt), the templates' heads from curricula.templates
PROMPT_STARTS = tuple(dict.fromkeys((
    ALPACA_HEAD.split("\n")[0][:40],
    "### Instruction",
    *(stop for fmt in FORMATS.values() for stop in fmt.stops),
    ZH_PREFIX[:12],
)))
END_TOKENS = end_markers()
STOP = re.compile("|".join(re.escape(s) for s in PROMPT_STARTS + END_TOKENS))
# a cheap pre-check: every STOP string begins with one of these (a leading mark alone: "<", "#")
STOP_HINTS = tuple(dict.fromkeys(s[0] if not s[0].isalnum() else s[:4] for s in PROMPT_STARTS + END_TOKENS))
# the end of a prompt: "### Response:" and/or a chat format's answer marker (vicuna's Alpaca rendering has both)
RESPONSE = re.compile(r"(?:\s*(?:### Response:|"
                      + "|".join(re.escape(fmt.assistant.strip()) for fmt in FORMATS.values()) + "))+")
# inference_prompt() = system + user + human turn + assistant, per chat format
PROMPT_WRAPS = tuple((fmt.system + fmt.user, fmt.assistant) for fmt in FORMATS.values())


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




def _echo_end(output: str, problem: str, head: str, tail: str, found: list[int]) -> int:
    """Where ``strip_echo`` would cut ``output`` for one template (``found``: where the problem is).

    The first inference prompt, else the first human turn (head + problem + tail), else a leading
    problem; every one of them holds the problem, so only the places it occurs are checked.
    """
    n, h, t = len(problem), len(head), len(tail)
    for q in found:
        for wrap_head, wrap_tail in PROMPT_WRAPS:
            start, end = q - h - len(wrap_head), q + n + t
            if (start >= 0 and output.startswith(head, q - h) and output.startswith(tail, q + n)
                    and output.startswith(wrap_head, start) and output.startswith(wrap_tail, end)):
                return end + len(wrap_tail)
    if h or t:  # the raw template's human turn is the problem itself: only a leading one is cut
        for q in found:
            if q >= h and output.startswith(head, q - h) and output.startswith(tail, q + n):
                return q + n + t
    return n if found[0] == 0 else 0


def remove_echo(output: str, problem: str, template: str = "auto") -> str:
    """``output`` without the echoed prompt; any further copy of the problem is blanked too.

    The cut is ``curricula.templates.strip_echo``'s (under ``auto``, the template that removes
    most), found without building the prompts.
    """
    if not problem:
        return output
    at = output.find(problem)
    if at == -1:
        return output
    found = []
    while at != -1:
        found.append(at)
        at = output.find(problem, at + 1)
    if template == "auto":
        end = max(_echo_end(output, problem, t.head, t.tail, found) for t in TEMPLATES.values())
    else:
        t = TEMPLATES[template]
        end = _echo_end(output, problem, t.head, t.tail, found)
    rest = output[end:]
    if problem in rest:
        # the model repeated the question: its numbers are operands, not answers
        rest = rest.replace(problem, "\n")
    return rest


def cut_continuation(text: str) -> str:
    """Keep the answer turn only: skip an unstripped prompt, stop where a new turn starts."""
    head = text.lstrip()
    for hint in STOP_HINTS:
        if hint in head:
            break
    else:
        return head
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
        from datagen.eval.symbolic import score_symbolic

        return score_symbolic(text, item)
    found = extract(cut_continuation(text), item.problem)
    soft = False
    for string in item.strings:  # lenient(), inline: this runs once per prediction
        if string and string in text:
            soft = True
            break
    if item.gold is None:
        return Verdict(None, soft, found.text if found else None)
    if found is None:
        return Verdict(False, soft, None)
    number = found.number
    if item.gold.reversed:
        number = parse_number(unreverse(found.text.replace(",", "")))
    return Verdict(judge(number, item.gold), soft, found.text)
