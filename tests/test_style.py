"""One style switch: styled() picks the solution text and policy of a style, making only what it needs."""

import pytest

from datagen.style import reverse_result, styled


def never():
    raise AssertionError("made a choice the style does not show")


def test_each_style_shows_its_choice_and_policy():
    choices = {"bare": "12.5", "contest": "5 * 2.5 = 12.5", "steps": lambda: ("5 * 2.5\n= 12.5", "sig10")}
    assert styled("contest", **choices) == ("5 * 2.5 = 12.5", "exact")
    # a contest sentence around the bare result shares the bare text's policy
    shown = lambda: ("0.3333", "sig4")  # noqa: E731
    assert styled("contest", bare=shown, contest=lambda r: f"1 / 3 = {r}", steps=never) == ("1 / 3 = 0.3333", "sig4")
    assert styled("bare", **choices) == ("12.5", "exact")
    assert styled("steps", **choices) == ("5 * 2.5\n= 12.5", "sig10")


def test_only_the_shown_choice_is_made():
    assert styled("bare", bare="3", contest=never, steps=never) == ("3", "exact")
    assert styled("steps", bare=never, steps=lambda: "1 + 2 = 3") == ("1 + 2 = 3", "exact")


def test_contest_defaults_to_bare():
    assert styled("contest", bare="7", steps=never) == ("7", "exact")


def test_reversing_writes_the_last_result_backwards():
    # the result 120 also appears earlier in the text: only its last occurrence is reversed
    assert reverse_result("120 - 0 = 120", "120") == "120 - 0 = 021"
    assert reverse_result("-1.25", "-1.25") == "-52.1"


def test_an_unknown_style_is_refused():
    with pytest.raises(ValueError, match="unknown style 'fancy'"):
        styled("fancy", bare="1", steps=never)
    with pytest.raises(ValueError, match="unknown style 'reversed'"):
        styled("reversed", bare="1", steps=never)
