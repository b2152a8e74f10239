"""The mod family: the remainder of A divided by B, bilingual, with steps, a digits knob and an extrapolate split."""

import pytest

from datagen.family import SYMBOLIC_ORDER, ConfigError, expand_types, load_families
from datagen.generate import Generator, Request

MOD = load_families()["mod"]


def records(n: int, style: str, config=None, lang: str = "mix") -> list[dict]:
    gen = Generator(Request(types=("mod",), n=n, seed=3, style=style, lang=lang,
                            configs={"mod": config} if config else {}))
    return [gen.item(i) for i in range(n)]


def test_the_answer_is_the_remainder_of_the_operands_in_the_text():
    for record in records(200, "contest"):
        a, b = map(int, record["operands"])
        assert f" {a} " in f" {record['problem']} " and f" {b}" in record["problem"]
        assert record["answer"] == str(a % b) and 0 <= a % b < b
        assert record["solution"].endswith(record["answer"])
    assert {r["lang"] for r in records(200, "contest")} == {"zh", "en"}


def test_each_style_of_one_problem():
    render = MOD.render
    config = MOD.config()
    assert render(config, (9079, 92), "zh", 0, "contest")["problem"] == "计算 9079 除以 92 的余数。"
    assert render(config, (9079, 92), "zh", 0, "contest")["solution"] == "余数为 63"
    assert render(config, (9079, 92), "en", 1, "bare")["problem"] == "Find 9079 mod 92."
    assert render(config, (9079, 92), "en", 1, "bare")["solution"] == "63"
    steps = render(config, (9079, 92), "en", 0, "steps")["solution"]
    assert steps == "9079 = 98 * 92 + 63\n63 < 92\nThe remainder is 63"
    reversed_ = Generator(Request(types=("mod",), n=20, seed=1, style="reversed", lang="en"))
    record = reversed_.item(0)
    assert record["solution"] == f"The remainder is {record['answer'][::-1]}"


def test_every_step_line_is_true():
    for record in records(100, "steps"):
        division, bound, _ = record["solution"].split("\n")
        left, right = division.split(" = ")
        q, rest = right.split(" * ")
        b, r = rest.split(" + ")
        assert int(left) == int(q) * int(b) + int(r) and bound == f"{r} < {b}" and int(r) < int(b)


def test_digits_knob_sets_the_dividend_and_divisor_sizes():
    config = MOD.config(digits=(3, 3), divisor_digits=(1, 1))
    for record in records(50, "bare", config):
        a, b = map(int, record["operands"])
        assert 100 <= a <= 999 and 2 <= b <= 9
        assert record["difficulty"] == {"digits": [3, 1]}
    with pytest.raises(ConfigError, match="divisor_digits: 1-10 is outside the allowed 1-9"):
        MOD.config(divisor_digits=(1, 10)).validate()


def test_extrapolate_split_moves_both_sizes_past_the_trained_range():
    far = MOD.extrapolate(MOD.config())
    assert (far.digits, far.divisor_digits) == ((5, 6), (3, 4))
    for record in records(50, "contest", far):
        a, b = map(int, record["operands"])
        assert 10_000 <= a <= 999_999 and 100 <= b <= 9_999


def test_mod_is_a_symbolic_group_member_not_a_contest_family():
    assert "mod" in SYMBOLIC_ORDER and "mod" not in expand_types(["all"])
