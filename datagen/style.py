"""Solution styles: which text a record's solution shows, chosen in one place for every family.

A family's ``render`` makes the texts a style may need and asks ``styled`` for the one wanted; the
generator makes the reversed styles of every family from its contest and bare texts (``reverse_result``):

* ``contest``: the result in the contest's sentence (``A + B = R``, ``方程的解为：R``);
* ``bare``: the result alone;
* ``steps``: a chain of checkable lines (datagen/steps.py);
* ``reversed`` / ``bare_reversed``: the contest / bare text with the result's digits written backwards
  (the scorer reads them back), for small models that learn carries least-significant digit first.
"""

from __future__ import annotations

from collections.abc import Callable

from datagen.numbers import reverse_digits

STYLES = ("contest", "bare", "steps", "reversed", "bare_reversed")
# styles whose result digits are written in reverse (the scorer reads them back)
REVERSED_STYLES = ("reversed", "bare_reversed")

# a text (its policy "exact"), a (text, policy) pair, or a function making either
Choice = str | tuple[str, str] | Callable[[], "str | tuple[str, str]"]


def _made(choice: Choice) -> tuple[str, str]:
    if callable(choice):
        choice = choice()
    return (choice, "exact") if isinstance(choice, str) else choice


def styled(
    style: str, *, bare: Choice, steps: Choice, contest: str | Callable[[str], str] | None = None
) -> tuple[str, str]:
    """(solution, solution_policy) of ``style``: contest, bare or steps.

    ``bare`` and ``steps`` are made only for the styles that show them, so a costly one (the steps)
    is best a function.  ``contest`` is a text, or a function of the bare text (the result put in the
    contest's sentence), or None for the bare text itself; it has the bare text's policy."""
    if style == "steps":
        return _made(steps)
    if style not in ("bare", "contest"):
        raise ValueError(f"unknown style {style!r} for a render (choose from contest, bare, steps)")
    text, policy = _made(bare)
    if style == "bare" or contest is None:
        return text, policy
    return (contest(text) if callable(contest) else contest), policy


def reverse_result(text: str, result: str) -> str:
    """``text`` with the last occurrence of ``result`` (the bare solution) written backwards."""
    at = text.rfind(result)
    return text[:at] + reverse_digits(result) + text[at + len(result):]
