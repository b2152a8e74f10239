"""One run never repeats a problem, for every family, even when it uses up its whole space."""

from __future__ import annotations

import dataclasses

import pytest

from datagen.family import FAMILY_ORDER, load_families
from datagen.generate import Generator, Request
from datagen.solve import canonical_key

FAMILIES = load_families()
# small spaces (a few thousand problems each) so a run can take every problem there is
SMALL = {
    "add": {"digits": (1, 2), "decimals": 0, "negative": False},
    "sub": {"digits": (1, 2), "decimals": 0, "negative": False},
    "mul": {"digits": (1, 2), "decimals": 0, "negative": False},
    "div": {"digits": (1, 2), "decimals": 0, "negative": False},
    "pow": {"digits": (1, 3), "decimals": 0, "negative": False, "exponents": (2, 4)},
    "sqrt": {"digits": (1, 4)},
    "linear_eq": {"a_digits": (1, 1), "b_digits": (1, 2)},
    "func_value": {"a_digits": (1, 1), "x_digits": (1, 2), "exponents": (2, 3)},
    "mean": {"terms": (2, 2), "digits": (1, 2)},
    "area": {"digits": (1, 2)},
    "mass": {"density_digits": (1, 1), "density_decimals": 1, "volume_digits": (1, 2)},
    "discount": {"digits": (1, 2), "decimals": 0},
    "growth": {"digits": (1, 2), "decimals": 0, "percent": (1, 50)},
    "fraction": {"max_numerator": 30, "max_denominator": 30, "factor": (2, 10)},
}


def small_config(family: str):
    return dataclasses.replace(FAMILIES[family].config(), **SMALL[family])


def capacity(family: str) -> int:
    return sum(space.size for space in FAMILIES[family].spaces(small_config(family)))


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILY_ORDER)
@pytest.mark.parametrize("share", [1.0, 0.97])
def test_a_run_to_the_size_of_the_space_never_repeats_a_problem(family, share):
    n = int(capacity(family) * share)
    assert 2_000 <= capacity(family) <= 60_000  # near the limit, yet quick
    gen = Generator(Request(types=(family,), n=n, seed=5, configs={family: small_config(family)}))
    texts, keys = set(), set()
    for i in range(n):
        record = gen.item(i)
        texts.add(record["problem"])
        keys.add(canonical_key(family, record["operands"]))
    assert len(texts) == n
    assert len(keys) == n  # not even the same numbers in another language or wording


@pytest.mark.slow
def test_mean_classes_are_disjoint_and_named_by_the_widest_number():
    config = dataclasses.replace(FAMILIES["mean"].config(), terms=(2, 3), digits=(1, 2), negative=True)
    seen: set = set()
    for space in FAMILIES["mean"].spaces(config):
        tuples = {space.decode(p) for p in range(space.size)} if space.size < 200_000 else set()
        if not tuples:
            continue
        assert len(tuples) == space.size
        assert not tuples & seen
        seen |= tuples
        widest = {max(len(str(abs(v))) for v in values) for values in tuples}
        assert widest == {space.difficulty["digits"][0]}
        assert {len(values) for values in tuples} == {space.difficulty["terms"]}
    # 2 terms: all 19**2 one-digit pairs, then 199**2 - 19**2 with a two-digit number
    assert len(seen) >= 199**2 + 19**3
