"""The family is the unit: the registry refuses a taken name, and every family table is derived from it."""

from dataclasses import replace
from fractions import Fraction

import pytest

from datagen import family as family_module
from datagen.family import REGISTRY, load_families, register
from datagen.solve import solvable, solve


def test_register_refuses_a_family_name_already_taken():
    add = load_families()["add"]
    with pytest.raises(ValueError, match="family add: the name is taken"):
        register(add)
    assert REGISTRY["add"] is add


def test_register_refuses_a_group_name_and_an_unknown_group():
    add = load_families()["add"]
    with pytest.raises(ValueError, match="family symbolic: the name is taken"):
        register(replace(add, name="symbolic"))
    with pytest.raises(ValueError, match="unknown group 'school'"):
        register(replace(add, name="add2", group="school"))
    assert "add2" not in REGISTRY


def test_family_tables_are_the_registry_in_registration_order():
    registry = load_families()
    contest = [name for name, f in registry.items() if f.group == "contest"]
    assert family_module.FAMILY_ORDER == contest
    assert family_module.ALL_FAMILIES == list(registry)
    assert family_module.SYMBOLIC_ORDER == [name for name in registry if name not in contest]
    assert family_module.GROUPS["all"] == family_module.GROUPS["contest"] == contest
    assert family_module.OPS == {"+": "add", "-": "sub", "*": "mul", "/": "div"}
    # the contest's 14 come first, in the contest's order
    assert contest == "add sub mul div pow sqrt linear_eq func_value mean area mass discount growth fraction".split()


def test_the_resolver_reads_the_families_that_give_a_value():
    registry = load_families()
    assert solvable() == tuple(name for name, f in registry.items() if f.value is not None)
    growth = registry["growth"]
    # one formula: the exact value, in the units the phrasing states (English: yuan)
    assert growth.value(("1.23", "10"), Fraction) == Fraction("1.353")
    assert growth.value(("1.23", "10"), Fraction, "en", 0) == 13530
    assert solve("去年销售额为 1.23 万元，今年销售额增加了 10%，请计算今年的销售额。").answer == "1.353"


def test_extrapolation_moves_digit_ranges_unless_the_config_says_itself():
    registry = load_families()
    add = registry["add"]
    assert add.extrapolate(add.config(digits=(1, 3))).digits == (4, 5)
    prime = registry["prime"]
    assert prime.extrapolate(prime.config(digits=(2, 4))).digits == (5, 5)
    fraction = registry["fraction"]
    assert fraction.extrapolate(fraction.config()) is None
