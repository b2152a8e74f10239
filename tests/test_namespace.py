"""The wheel installs one top-level name, ``datagen``: no generic ``eval``/``train``/``curricula``/``configs``."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_has_one_top_level_package(tmp_path):
    pytest.importorskip("setuptools")
    source = tmp_path / "source"  # a copy: building in the checkout would leave build/ there
    for name in ("pyproject.toml", "README.md"):
        source.mkdir(exist_ok=True)
        shutil.copy(ROOT / name, source / name)
    for name in ("datagen", "curricula", "eval", "train", "configs"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path), str(source)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    wheel = next(tmp_path.glob("*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"datagen"}
    for module in ("curricula/build.py", "eval/score.py", "train/plan.py", "configs/models/tiny.yaml",
                   "configs/curricula/arith_staged.yaml"):
        assert f"datagen/{module}" in names


@pytest.mark.slow
def test_a_users_eval_folder_does_not_shadow_ours(tmp_path):
    """A folder holding the user's own ``eval/`` and ``train.py``: the CLI still finds its subcommands."""
    (tmp_path / "eval").mkdir()
    (tmp_path / "eval" / "__init__.py").write_text("raise RuntimeError('the user eval package')\n")
    (tmp_path / "train.py").write_text("raise RuntimeError('the user train module')\n")
    env = {"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", "from datagen.cli import main; main(['eval', '--help'])"],
                          cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "score" in done.stdout
