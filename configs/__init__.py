"""Data, not code: model presets, MindFormers yaml templates, curriculum specs, probes.

The one home for finding them: ``configs_dir()`` is this folder (installed as ``datagen.configs``,
or the checkout's ``configs/``), unless ``$DATAGEN_CONFIGS`` names another; ``shipped()`` finds a
file of one kind by its name, from any working folder.
"""

from __future__ import annotations

import os
from pathlib import Path

HOME = Path(__file__).resolve().parent


def configs_dir() -> Path:
    """``$DATAGEN_CONFIGS`` when set, else the folder this package is."""
    override = os.environ.get("DATAGEN_CONFIGS")
    return Path(override) if override else HOME


def names(kind: str, suffix: str = ".yaml") -> list[str]:
    """The shipped files of ``kind`` (a subfolder: ``curricula``, ``models``, ...), by name."""
    return sorted(p.name.removesuffix(suffix) for p in (configs_dir() / kind).glob(f"*{suffix}"))


def shipped(kind: str, name: str, suffix: str = ".yaml") -> Path | None:
    """The shipped file of ``kind`` called ``name`` (with or without ``suffix``), or None."""
    stem = name.removesuffix(suffix)
    if not stem or "/" in stem or os.sep in stem:
        return None
    path = configs_dir() / kind / f"{stem}{suffix}"
    return path if path.is_file() else None
