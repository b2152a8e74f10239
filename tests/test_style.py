"""One style switch: styled() picks the solution text and policy of a style, making only what it needs."""

import pytest

from datagen.style import styled


def never():
    raise AssertionError("made a choice the style does not show")


def test_each_style_shows_its_choice_and_policy():
    choices = {"bare": "12.5", "contest": "5 * 2.5 = 12.5", "steps": lambda: ("5 * 2.5\n= 12.5", "sig10")}
    assert styled("contest", **choices) == ("5 * 2.5 = 12.5", "exact")
    assert styled("bare", **choices) == ("12.5", "exact")
    assert styled("steps", **choices) == ("5 * 2.5\n= 12.5", "sig10")


def test_only_the_shown_choice_is_made():
    assert styled("bare", bare="3", contest=never, steps=never) == ("3", "exact")
    assert styled("steps", bare=never, steps=lambda: "1 + 2 = 3") == ("1 + 2 = 3", "exact")


def test_reversed_styles_write_the_last_result_backwards():
    # the result 120 also appears earlier in the text: only its last occurrence is reversed
    contest = ("120 - 0 = 120", "sig28")
    assert styled("reversed", bare="120", contest=contest, steps=never) == ("120 - 0 = 021", "sig28")
    assert styled("bare_reversed", bare=("-1.25", "float64"), steps=never) == ("-52.1", "float64")
    # contest defaults to bare
    assert styled("contest", bare="7", steps=never) == ("7", "exact")


def test_an_unknown_style_is_refused():
    with pytest.raises(ValueError, match="unknown style 'fancy'"):
        styled("fancy", bare="1", steps=never)
