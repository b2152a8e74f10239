"""The suite's own set-up: CI draws derandomised hypothesis examples; the markers are registered."""

import os
import tomllib
from pathlib import Path

from hypothesis import settings


def test_hypothesis_is_derandomised_exactly_when_ci_is_true():
    assert settings.get_profile("ci").derandomize
    assert settings.default.derandomize == (os.environ.get("CI") == "true")


def test_the_markers_a_developer_selects_by_are_registered():
    config = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    markers = {line.split(":")[0] for line in config["tool"]["pytest"]["ini_options"]["markers"]}
    assert markers == {"slow", "mindspore", "walkthrough"}
